// Implements the transactional outbox's writer side (Commit, quarantine listing and requeue)
// and its lifecycle; the relay itself is in outbox_relay.h.
#include "common/events/outbox.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/events/outbox_relay.h"
#include "common/util/proto_time.h"
#include "google/protobuf/message_lite.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::events {

std::map<std::string, std::string> RelayProducerDefaults(const OutboxOptions& options) {
  // Retry through broker outages inside librdkafka (no message timeout): it keeps each
  // partition's order; a partition that cannot take events holds back only itself.
  return {{"message.timeout.ms", "0"},
          {"linger.ms", absl::StrCat(absl::ToInt64Milliseconds(options.linger))},
          {"batch.num.messages", "10000"},
          {"queue.buffering.max.messages", "200000"},
          {"reconnect.backoff.max.ms", "1000"},
          {"log_level", "3"}};
}

void Transaction::Emit(std::string_view topic, std::string_view key, std::string_view type,
                       const google::protobuf::MessageLite& payload, std::string_view subject) {
  EmitRaw(topic, key, type, payload.SerializeAsString(), subject,
          DataSchemaOf(payload.GetTypeName()));
}

void Transaction::EmitRaw(std::string_view topic, std::string_view key, std::string_view type,
                          std::string payload, std::string_view subject,
                          std::string_view dataschema) {
  Event e;
  e.dataschema = std::string(dataschema);
  e.topic = std::string(topic);
  e.key = std::string(key);
  e.type = std::string(type);
  e.subject = std::string(subject);
  e.payload = std::move(payload);
  events_.push_back(std::move(e));
}

Outbox::Outbox(storage::Store* store, OutboxOptions options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Create(storage::Store* store,
                                                       OutboxOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("outbox: store is null");
  if (options.source.empty()) return absl::InvalidArgumentError("outbox: source is empty");
  if (options.max_event_bytes == 0 || options.max_in_flight == 0 ||
      options.max_in_flight_per_partition == 0) {
    return absl::InvalidArgumentError("outbox: limits must be positive");
  }
  std::unique_ptr<Outbox> outbox(new Outbox(store, std::move(options)));
  outbox->cf_ = store->Cf(kColumnFamily);
  if (outbox->cf_ == nullptr) {
    return absl::FailedPreconditionError("outbox: the store has no \"outbox\" column family");
  }
  absl::Status ensured = store->EnsureColumnFamily(kQuarantineColumnFamily);
  if (!ensured.ok()) return ensured;
  outbox->quarantine_cf_ = store->Cf(kQuarantineColumnFamily);
  ensured = store->EnsureColumnFamily(kStateColumnFamily);
  if (!ensured.ok()) return ensured;
  outbox->state_cf_ = store->Cf(kStateColumnFamily);
  uint64_t last = 0;
  absl::StatusOr<std::string> deleted_below = store->Get(kStateColumnFamily, kDeletedBelowKey);
  if (deleted_below.ok()) {
    absl::StatusOr<uint64_t> seq = SeqOfKey(*deleted_below);
    if (!seq.ok()) {
      return absl::DataLossError("outbox: the stored high-water sequence does not decode");
    }
    outbox->deleted_below_ = *seq;
    last = *seq > 0 ? *seq - 1 : 0;
  } else if (!absl::IsNotFound(deleted_below.status())) {
    return deleted_below.status();
  }
  int64_t quarantined = 0;
  absl::Status counted =
      store->ScanPrefix(kQuarantineColumnFamily, "", [&](std::string_view key, std::string_view) {
        absl::StatusOr<uint64_t> seq = SeqOfKey(key);
        if (seq.ok()) last = std::max(last, *seq);
        ++quarantined;
        return true;
      });
  if (!counted.ok()) return counted;
  outbox->quarantined_ = quarantined;
  int64_t depth = 0;
  absl::Status s =
      store->ScanPrefix(kColumnFamily, "", [&](std::string_view key, std::string_view) {
        absl::StatusOr<uint64_t> seq = SeqOfKey(key);
        if (seq.ok()) last = std::max(last, *seq);
        ++depth;
        return true;
      });
  if (!s.ok()) return s;
  outbox->next_seq_ = last + 1;
  outbox->written_below_ = last + 1;
  outbox->depth_ = depth;
  return outbox;
}

Outbox::~Outbox() { Stop(absl::ZeroDuration()); }

uint64_t Outbox::TakeSequences(uint64_t n) {
  std::lock_guard<std::mutex> lock(seq_mu_);
  const uint64_t first = next_seq_;
  next_seq_ += n;
  writing_.insert(first);
  return first;
}

void Outbox::Written(uint64_t first) {
  std::lock_guard<std::mutex> lock(seq_mu_);
  writing_.erase(first);
  written_below_.store(writing_.empty() ? next_seq_ : *writing_.begin(), std::memory_order_release);
}

absl::Status Outbox::Commit(Transaction& txn) {
  if (!txn.events_.empty()) {
    // Everything but the sequences is made before taking them, so the short lock covers only
    // the allocation and a refused event leaves no gap.
    const absl::Time now = absl::Now();
    std::vector<std::string> rows;
    rows.reserve(txn.events_.size());
    uint64_t index = 0;
    for (Event& e : txn.events_) {
      e.id = txn.id_seed_.empty() ? NewEventId() : DerivedEventId(txn.id_seed_, index);
      ++index;
      e.source = options_.source;
      e.time = now;
      common::v1::OutboxRecord record;
      record.set_topic(e.topic);
      record.set_key(e.key);
      record.set_ce_id(e.id);
      record.set_ce_type(e.type);
      record.set_ce_source(e.source);
      record.set_ce_subject(e.subject);
      record.set_ce_dataschema(e.dataschema);
      *record.mutable_ce_time() = util::ToProto(now);
      record.set_payload(e.payload);
      const size_t bytes = record.ByteSizeLong();
      if (bytes > options_.max_event_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("event ", e.type, " for ", e.key, " would be ", bytes, " bytes, over the ",
                         options_.max_event_bytes,
                         "-byte event limit: a text field of the request is too long"));
      }
      rows.push_back(record.SerializeAsString());
    }
    const uint64_t first = TakeSequences(rows.size());
    if (options_.before_write_for_testing) options_.before_write_for_testing(first);
    absl::Status s;
    for (size_t i = 0; i < rows.size() && s.ok(); ++i) {
      s = storage::ToStatus(txn.batch_.Put(cf_, SeqKey(first + i), rows[i]));
    }
    if (s.ok()) s = store_->Write(txn.batch_);
    // Counted before the relay may see the rows, so it never confirms more than are counted.
    if (s.ok()) depth_.fetch_add(static_cast<int64_t>(rows.size()));
    // A failed write leaves its sequences unused: a gap the relay passes over.
    Written(first);
    if (!s.ok()) return s;
    if (relay_) {
      relay_->UpdateGauges();
      relay_->Wake();
    }
  } else {
    absl::Status s = store_->Write(txn.batch_);
    if (!s.ok()) return s;
  }
  for (auto& fn : txn.after_commit_) fn();
  txn.after_commit_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<QuarantinedEvent>> Outbox::ListQuarantined(size_t limit,
                                                                      uint64_t after_seq) const {
  std::vector<QuarantinedEvent> out;
  const std::string after = after_seq == 0 ? std::string() : SeqKey(after_seq);
  absl::Status s = store_->ScanPrefix(
      kQuarantineColumnFamily, "",
      [&](std::string_view key, std::string_view value) {
        if (out.size() >= limit) return false;
        absl::StatusOr<uint64_t> seq = SeqOfKey(key);
        common::v1::QuarantinedRecord q;
        if (!seq.ok() || !q.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return true;
        }
        QuarantinedEvent e;
        e.seq = *seq;
        e.error = q.error();
        e.quarantine_time = util::FromProto(q.quarantine_time());
        e.event.topic = q.record().topic();
        e.event.key = q.record().key();
        e.event.id = q.record().ce_id();
        e.event.type = q.record().ce_type();
        e.event.source = q.record().ce_source();
        e.event.subject = q.record().ce_subject();
        e.event.dataschema = q.record().ce_dataschema();
        e.event.time = util::FromProto(q.record().ce_time());
        e.event.payload = q.record().payload();
        out.push_back(std::move(e));
        return true;
      },
      after);
  if (!s.ok()) return s;
  return out;
}

absl::Status Outbox::Requeue(uint64_t seq) {
  std::lock_guard<std::mutex> lock(requeue_mu_);
  absl::StatusOr<std::string> raw = store_->Get(kQuarantineColumnFamily, SeqKey(seq));
  if (absl::IsNotFound(raw.status())) {
    return absl::NotFoundError(absl::StrCat("no quarantined event with sequence ", seq));
  }
  if (!raw.ok()) return raw.status();
  common::v1::QuarantinedRecord q;
  if (!q.ParseFromString(*raw) || !q.has_record()) {
    return absl::FailedPreconditionError(
        absl::StrCat("quarantined row ", seq, " holds no decodable event; it cannot be sent"));
  }
  rocksdb::WriteBatch batch;
  batch.Delete(quarantine_cf_, SeqKey(seq));
  const uint64_t new_seq = TakeSequences(1);
  batch.Put(cf_, SeqKey(new_seq), q.record().SerializeAsString());
  absl::Status s = store_->Write(batch);
  if (s.ok()) depth_.fetch_add(1);
  Written(new_seq);
  if (!s.ok()) return s;
  quarantined_.fetch_sub(1);
  if (relay_) {
    relay_->UpdateGauges();
    relay_->Wake();
  }
  return absl::OkStatus();
}

absl::Status Outbox::Start() {
  if (relay_) return absl::FailedPreconditionError("outbox relay already started");
  relay_ = std::make_unique<Relay>(this);
  relay_->Start();
  logging::Info("outbox relay started", {{"source", options_.source},
                                         {"bootstrap", options_.kafka.bootstrap_servers},
                                         {"depth", Depth()}});
  return absl::OkStatus();
}

void Outbox::Stop(absl::Duration flush_timeout) {
  if (!relay_) return;
  relay_->StopAndJoin(flush_timeout);
  relay_.reset();
  logging::Info("outbox relay stopped", {{"source", options_.source}, {"depth", Depth()}});
}

uint64_t Outbox::RelayScanStartForTesting() const { return relay_ ? relay_->scan_start() : 0; }

uint64_t Outbox::RelayScansForTesting() const { return relay_ ? relay_->scans() : 0; }

bool Outbox::WaitUntilEmpty(absl::Duration timeout) {
  if (Depth() == 0) return true;
  if (!relay_) return false;
  return relay_->WaitUntilEmpty(timeout);
}

}  // namespace triad::events
