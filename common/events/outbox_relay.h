// Internal to common/events (included by outbox.cc only): the outbox relay, which publishes
// the rows Outbox::Commit wrote. Split from outbox.cc so the writer side and the relay each
// read on their own.
#ifndef TRIAD_COMMON_EVENTS_OUTBOX_RELAY_H_
#define TRIAD_COMMON_EVENTS_OUTBOX_RELAY_H_

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/events/kafka.h"
#include "common/events/outbox.h"
#include "common/server/metrics.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "common/util/thread.h"
#include "librdkafka/rdkafkacpp.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::events {
namespace outbox_internal {

// SeqKey is the outbox (and quarantine) key of sequence number `seq`.
inline std::string SeqKey(uint64_t seq) { return storage::KeyBuilder().U64(seq).Build(); }

// SeqOfKey reads the sequence number back from a SeqKey (DataLoss if `key` is not one).
inline absl::StatusOr<uint64_t> SeqOfKey(std::string_view key) {
  return storage::KeyReader(key).U64();
}

// kDeletedBelowKey is the key, in the state column family, of the sequence above every row the
// relay has deleted (encoded as SeqKey).
inline constexpr char kDeletedBelowKey[] = "deleted_below";

struct OutboxMetrics {
  prometheus::Gauge& depth;
  prometheus::Counter& published;
  prometheus::Counter& failures;
  prometheus::Gauge& quarantined;
  prometheus::Gauge& blocked_partitions;
};

inline OutboxMetrics MakeMetrics(const std::string& source) {
  auto& reg = metrics::Registry();
  static auto& depth = prometheus::BuildGauge()
                           .Name("triad_outbox_depth")
                           .Help("Events committed to the outbox and not yet confirmed by Kafka.")
                           .Register(reg);
  static auto& published = prometheus::BuildCounter()
                               .Name("triad_outbox_published_total")
                               .Help("Events confirmed by Kafka and removed from the outbox.")
                               .Register(reg);
  static auto& failures = prometheus::BuildCounter()
                              .Name("triad_outbox_delivery_failures_total")
                              .Help("Failed delivery reports (the events are sent again).")
                              .Register(reg);
  static auto& quarantined =
      prometheus::BuildGauge()
          .Name("triad_outbox_quarantined")
          .Help("Events Kafka refused permanently, held in the outbox quarantine.")
          .Register(reg);
  static auto& blocked = prometheus::BuildGauge()
                             .Name("triad_outbox_blocked_partitions")
                             .Help("Partitions whose delivery failed and waits for a retry.")
                             .Register(reg);
  return OutboxMetrics{depth.Add({{"source", source}}), published.Add({{"source", source}}),
                       failures.Add({{"source", source}}), quarantined.Add({{"source", source}}),
                       blocked.Add({{"source", source}})};
}

// IsPermanent is true for produce errors that retrying the same event can never cure: the
// event is quarantined. Everything else (no leader, too few replicas, timeouts, a broker down)
// is retried, holding back only the partition concerned.
inline bool IsPermanent(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
    case RdKafka::ERR_INVALID_RECORD:
    case RdKafka::ERR_INVALID_MSG:
    case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
    case RdKafka::ERR_TOPIC_EXCEPTION:
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
    case RdKafka::ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

}  // namespace outbox_internal

using outbox_internal::IsPermanent;
using outbox_internal::kDeletedBelowKey;
using outbox_internal::MakeMetrics;
using outbox_internal::OutboxMetrics;
using outbox_internal::SeqKey;
using outbox_internal::SeqOfKey;

// Relay publishes outbox rows and deletes them once Kafka has confirmed them. Each row goes to
// the partition Kafka's Java clients would choose for its key, and rows are handed to the
// producer in sequence order per partition ("lane"). A lane whose delivery fails sends nothing
// more until its in-flight rows have reported and its backoff has passed, then resends from
// its oldest unconfirmed row, so per-key order holds and the other lanes never wait. A row
// Kafka refuses permanently is quarantined (after one retry on its own, since a broker refuses
// a whole batch for one bad record). It runs on one thread; delivery reports arrive on that
// thread through Producer::poll.
class Outbox::Relay : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit Relay(Outbox* outbox) : outbox_(outbox), metrics_(MakeMetrics(outbox->options_.source)) {
    UpdateGauges();
  }

  ~Relay() override { StopAndJoin(absl::ZeroDuration()); }

  void Start() {
    thread_ = std::thread([this] {
      util::RunAsBackgroundThread("triad-relay", options().relay_nice);
      Loop();
    });
  }

  // scan_start is the sequence the last scan of the outbox began at.
  uint64_t scan_start() const { return scan_start_.load(std::memory_order_relaxed); }

  // scans is how many scans of the outbox this relay has made.
  uint64_t scans() const { return scans_.load(std::memory_order_relaxed); }

  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
    cv_.notify_one();
  }

  void StopAndJoin(absl::Duration flush_timeout) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      flush_timeout_ = flush_timeout;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  void UpdateGauges() {
    metrics_.depth.Set(static_cast<double>(outbox_->Depth()));
    metrics_.quarantined.Set(static_cast<double>(outbox_->Quarantined()));
  }

  void dr_cb(RdKafka::Message& message) override {
    uint64_t seq = reinterpret_cast<uintptr_t>(message.msg_opaque());
    reports_.push_back(Report{seq, message.err(), message.errstr()});
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    if (event.fatal()) fatal_ = true;
    absl::Time now = absl::Now();
    if (now - last_error_log_ > absl::Seconds(5)) {
      last_error_log_ = now;
      logging::Warn("outbox relay: kafka error", {{"source", outbox_->options_.source},
                                                  {"error", RdKafka::err2str(event.err())},
                                                  {"detail", event.str()},
                                                  {"fatal", event.fatal()}});
    }
  }

  bool WaitUntilEmpty(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return empty_cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                              [this] { return outbox_->Depth() == 0; });
  }

 private:
  static constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
  // A lane is one partition of one topic; partition -1 stands for a topic whose metadata is
  // not known yet, and the lane {"", -1} for rows whose quarantine write failed.
  using LaneId = std::pair<std::string, int32_t>;
  struct Lane {
    size_t in_flight = 0;
    // A delivery failed: nothing more is sent until in_flight is 0 and retry_at has passed.
    bool failed = false;
    // A suspect row is in flight alone: nothing else is sent until it reports.
    bool solo = false;
    absl::Time retry_at = absl::InfinitePast();
    // The lowest sequence passed over while the lane was held; the scan resumes there.
    uint64_t first_skipped = kNone;
  };
  struct Report {
    uint64_t seq;
    RdKafka::ErrorCode err;
    std::string errstr;
  };
  struct TopicInfo {
    int32_t partitions = 0;
    absl::Time fetched = absl::InfinitePast();
    absl::Status status;
    absl::Time missing_since = absl::InfiniteFuture();
  };

  const OutboxOptions& options() const { return outbox_->options_; }

  absl::Status CreateProducer() {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeConf(
        options().kafka, RelayProducerDefaults(options()),
        {{"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"}});
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        (*conf)->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      return absl::InternalError("outbox relay: " + err);
    }
    producer_.reset(RdKafka::Producer::create(conf->get(), err));
    if (!producer_) return absl::InternalError("outbox relay: cannot create producer: " + err);
    fatal_ = false;
    return absl::OkStatus();
  }

  // Partitions returns the partition count of `topic` (cached for a minute; a stale count is
  // used while the cluster cannot be asked). NotFound when the topic does not exist.
  absl::StatusOr<int32_t> Partitions(const std::string& topic) {
    TopicInfo& info = topics_[topic];
    const absl::Time now = absl::Now();
    if (info.partitions > 0 && now - info.fetched < absl::Minutes(1)) return info.partitions;
    if (!info.status.ok() && now - info.fetched < options().retry_backoff) return info.status;
    info.fetched = now;
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(producer_.get(), topic, nullptr, err));
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode code =
        handle ? producer_->metadata(false, handle.get(), &raw, 5000) : RdKafka::ERR__INVALID_ARG;
    std::unique_ptr<RdKafka::Metadata> md(raw);
    absl::Status status =
        absl::UnavailableError(absl::StrCat("metadata of ", topic, ": ", RdKafka::err2str(code)));
    int32_t count = 0;
    if (code == RdKafka::ERR_NO_ERROR && md) {
      for (const RdKafka::TopicMetadata* t : *md->topics()) {
        if (t->topic() != topic) continue;
        if (t->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
          status = absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
        } else if (t->err() == RdKafka::ERR_NO_ERROR && !t->partitions()->empty()) {
          count = static_cast<int32_t>(t->partitions()->size());
        } else {
          status = absl::UnavailableError(
              absl::StrCat("metadata of ", topic, ": ", RdKafka::err2str(t->err())));
        }
      }
    }
    if (count > 0) {
      info.partitions = count;
      info.status = absl::OkStatus();
      info.missing_since = absl::InfiniteFuture();
      return count;
    }
    info.status = status;
    if (absl::IsNotFound(status)) {
      info.missing_since = std::min(info.missing_since, now);
      // A topic just created may briefly look missing; only a lasting absence is permanent.
      if (now - info.missing_since < absl::Seconds(30)) {
        info.status = absl::UnavailableError(status.message());
      }
    }
    if (info.partitions > 0 && !absl::IsNotFound(info.status)) return info.partitions;
    return info.status;
  }

  void Hold(Lane& lane, uint64_t seq, bool fail) {
    lane.first_skipped = std::min(lane.first_skipped, seq);
    if (fail) {
      lane.failed = true;
      lane.retry_at = absl::Now() + options().retry_backoff;
    }
  }

  // Quarantine moves row `seq` out of the outbox with the reason; the relay goes on.
  void Quarantine(uint64_t seq, const common::v1::OutboxRecord* record, std::string_view raw,
                  const std::string& error) {
    common::v1::QuarantinedRecord q;
    if (record != nullptr) {
      *q.mutable_record() = *record;
    } else {
      q.set_raw(std::string(raw));
    }
    q.set_error(error);
    *q.mutable_quarantine_time() = util::ToProto(absl::Now());
    rocksdb::WriteBatch batch;
    batch.Put(outbox_->quarantine_cf_, SeqKey(seq), q.SerializeAsString());
    batch.Delete(outbox_->cf_, SeqKey(seq));
    absl::Status s = outbox_->store_->Write(batch);
    if (!s.ok()) {
      logging::Error("outbox relay: cannot quarantine an event; will try again",
                     {{"source", options().source}, {"seq", seq}, {"error", s}});
      Hold(lanes_[{"", -1}], seq, true);
      return;
    }
    outbox_->depth_.fetch_sub(1);
    outbox_->quarantined_.fetch_add(1);
    UpdateGauges();
    logging::Error("outbox relay: event quarantined (Kafka refused it permanently)",
                   {{"source", options().source},
                    {"seq", seq},
                    {"topic", record ? record->topic() : std::string()},
                    {"ce_type", record ? record->ce_type() : std::string()},
                    {"ce_id", record ? record->ce_id() : std::string()},
                    {"error", error}});
  }

  // SendSome hands up to `budget` rows from the cursor on to the producer. Returns how many.
  int SendSome(int budget) {
    int sent = 0;
    bool synced = !options().sync_before_publish;
    storage::Store* store = outbox_->store_;
    // Every row below `written` is in the store now, and the scan stops there: rows above it
    // may be of commits that passed a slower one still writing below them, and the cursor
    // must not pass that one. When the scan meets no row at all, the cursor moves up to
    // `written`, so later scans do not walk again over the deleted rows (RocksDB tombstones,
    // until compaction) between the old cursor and the end.
    const uint64_t written = outbox_->PublishableBelow();
    scan_start_.store(cursor_, std::memory_order_relaxed);
    scans_.fetch_add(1, std::memory_order_relaxed);
    if (cursor_ >= written) return 0;
    bool met_a_row = false;
    absl::Status s = store->ScanRange(
        Outbox::kColumnFamily, SeqKey(cursor_), SeqKey(written),
        [&](std::string_view key, std::string_view value) {
          met_a_row = true;
          absl::StatusOr<uint64_t> seq = SeqOfKey(key);
          if (!seq.ok()) return true;  // not an outbox key; skip
          if (in_flight_.count(*seq) != 0 || confirmed_.count(*seq) != 0) {
            cursor_ = *seq + 1;
            return true;
          }
          if (in_flight_.size() >= options().max_in_flight || sent >= budget) return false;
          common::v1::OutboxRecord record;
          if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            Quarantine(*seq, nullptr, value, "undecodable outbox row");
            cursor_ = *seq + 1;
            return true;
          }
          absl::StatusOr<int32_t> partitions = Partitions(record.topic());
          if (!partitions.ok()) {
            if (absl::IsNotFound(partitions.status())) {
              Quarantine(*seq, &record, {}, std::string(partitions.status().message()));
            } else {
              Hold(lanes_[{record.topic(), -1}], *seq, true);
            }
            cursor_ = *seq + 1;
            return true;
          }
          const int32_t partition = KafkaDefaultPartition(record.key(), *partitions);
          Lane& lane = lanes_[{record.topic(), partition}];
          const bool suspect = suspects_.count(*seq) != 0;
          if (lane.failed || lane.solo || lane.in_flight >= options().max_in_flight_per_partition ||
              (suspect && lane.in_flight > 0)) {
            Hold(lane, *seq, false);
            cursor_ = *seq + 1;
            return true;
          }
          if (!synced) {
            // The rows read so far are in the WAL; make them durable before Kafka sees them.
            absl::Status sync = store->SyncWal();
            if (!sync.ok()) {
              logging::Error("outbox relay: WAL sync failed; not publishing",
                             {{"source", options().source}, {"error", sync}});
              backoff_ = true;
              return false;
            }
            synced = true;
          }
          Event e;
          e.id = record.ce_id();
          e.type = record.ce_type();
          e.source = record.ce_source();
          e.subject = record.ce_subject();
          e.dataschema = record.ce_dataschema();
          e.time = util::FromProto(record.ce_time());
          RdKafka::Headers* headers = ToHeaders(e);
          RdKafka::ErrorCode err =
              producer_->produce(record.topic(), partition, RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<char*>(record.payload().data()),
                                 record.payload().size(), record.key().data(), record.key().size(),
                                 0, headers, reinterpret_cast<void*>(static_cast<uintptr_t>(*seq)));
          if (err != RdKafka::ERR_NO_ERROR) {
            delete headers;  // not taken over on failure
            if (err == RdKafka::ERR__QUEUE_FULL) return false;
            if (IsPermanent(err)) {
              Quarantine(*seq, &record, {}, RdKafka::err2str(err));
            } else {
              if (err == RdKafka::ERR__UNKNOWN_PARTITION) topics_.erase(record.topic());
              logging::Warn("outbox relay: produce refused; partition held for a retry",
                            {{"source", options().source},
                             {"topic", record.topic()},
                             {"partition", partition},
                             {"error", RdKafka::err2str(err)}});
              Hold(lane, *seq, true);
            }
            cursor_ = *seq + 1;
            return true;
          }
          in_flight_[*seq] = {record.topic(), partition};
          ++lane.in_flight;
          if (suspect) lane.solo = true;
          cursor_ = *seq + 1;
          ++sent;
          return true;
        });
    if (!s.ok()) {
      logging::Error("outbox relay: scan failed", {{"source", options().source}, {"error", s}});
      backoff_ = true;
    } else if (!met_a_row) {
      cursor_ = std::max(cursor_, written);
    }
    return sent;
  }

  // ApplyReports deletes confirmed rows, holds the lanes of failed ones and reopens the lanes
  // whose hold is over.
  void ApplyReports() {
    std::vector<Report> reports;
    reports.swap(reports_);
    for (const Report& r : reports) {
      auto it = in_flight_.find(r.seq);
      if (it == in_flight_.end()) continue;
      const LaneId lane_id = it->second;
      Lane& lane = lanes_[lane_id];
      in_flight_.erase(it);
      --lane.in_flight;
      const bool was_suspect = suspects_.erase(r.seq) > 0;
      if (was_suspect) lane.solo = false;
      if (r.err == RdKafka::ERR_NO_ERROR) {
        confirmed_.insert(r.seq);
        continue;
      }
      metrics_.failures.Increment();
      if (IsPermanent(r.err) && was_suspect) {
        absl::StatusOr<std::string> raw =
            outbox_->store_->Get(Outbox::kColumnFamily, SeqKey(r.seq));
        common::v1::OutboxRecord record;
        if (raw.ok() && record.ParseFromString(*raw)) {
          Quarantine(r.seq, &record, {}, r.errstr);
          continue;
        }
      }
      if (IsPermanent(r.err)) suspects_.insert(r.seq);  // retried alone before quarantine
      logging::Warn("outbox relay: delivery failed; partition held for a retry",
                    {{"source", options().source},
                     {"topic", lane_id.first},
                     {"partition", lane_id.second},
                     {"seq", r.seq},
                     {"error", r.errstr}});
      Hold(lane, r.seq, true);
    }
    DeleteConfirmed();
    const absl::Time now = absl::Now();
    int blocked = 0;
    for (auto& [id, lane] : lanes_) {
      if (lane.failed) {
        if (lane.in_flight > 0 || now < lane.retry_at) {
          ++blocked;
          continue;
        }
        lane.failed = false;
      }
      if (lane.first_skipped != kNone && !lane.solo &&
          lane.in_flight < options().max_in_flight_per_partition) {
        cursor_ = std::min(cursor_, lane.first_skipped);
        lane.first_skipped = kNone;
      }
    }
    metrics_.blocked_partitions.Set(blocked);
    UpdateGauges();
    if (outbox_->Depth() == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      empty_cv_.notify_all();
    }
  }

  // DeleteConfirmed removes the confirmed rows; when the delete fails they stay marked as
  // confirmed (never resent) and the delete is tried again on the next round.
  void DeleteConfirmed() {
    if (confirmed_.empty()) return;
    rocksdb::WriteBatch batch;
    for (uint64_t seq : confirmed_) batch.Delete(outbox_->cf_, SeqKey(seq));
    // With the deletes, the sequence above them: the next outbox continues above it.
    const uint64_t deleted_below = std::max(outbox_->deleted_below_, *confirmed_.rbegin() + 1);
    batch.Put(outbox_->state_cf_, kDeletedBelowKey, SeqKey(deleted_below));
    absl::Status s = outbox_->store_->Write(batch);
    if (!s.ok()) {
      logging::Error("outbox relay: cannot delete confirmed entries; will retry",
                     {{"source", options().source}, {"error", s}});
      return;
    }
    const int64_t n = static_cast<int64_t>(confirmed_.size());
    outbox_->depth_.fetch_sub(n);
    outbox_->published_.fetch_add(n);
    metrics_.published.Increment(static_cast<double>(n));
    confirmed_.clear();
    outbox_->deleted_below_ = deleted_below;
  }

  absl::Duration NextWait() const {
    absl::Duration wait = options().idle_poll;
    const absl::Time now = absl::Now();
    for (const auto& [id, lane] : lanes_) {
      if (lane.failed && lane.in_flight == 0) {
        wait = std::min(wait, std::max(absl::Milliseconds(1), lane.retry_at - now));
      }
    }
    if (!confirmed_.empty()) wait = std::min(wait, options().retry_backoff);
    return wait;
  }

  void Loop() {
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) break;
      }
      if (!producer_ || fatal_) {
        if (producer_) {
          logging::Error("outbox relay: fatal producer error; recreating the producer",
                         {{"source", options().source}});
          producer_.reset();
        }
        // Everything unconfirmed is sent again, in order, by the new producer.
        in_flight_.clear();
        lanes_.clear();
        reports_.clear();
        cursor_ = 0;
        absl::Status s = CreateProducer();
        if (!s.ok()) {
          logging::Error("outbox relay: producer", {{"error", s}});
          WaitFor(options().retry_backoff);
          continue;
        }
      }
      int sent = SendSome(5000);
      producer_->poll(0);
      ApplyReports();
      if (backoff_) {
        backoff_ = false;
        WaitFor(options().retry_backoff);
        continue;
      }
      if (sent > 0) continue;
      if (!in_flight_.empty()) {
        producer_->poll(5);  // wait for delivery reports
        ApplyReports();
        continue;
      }
      WaitFor(NextWait());
    }
    if (producer_) {
      producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(flush_timeout_)));
      ApplyReports();
      producer_.reset();  // unconfirmed entries stay in the outbox for the next start
    }
    std::lock_guard<std::mutex> lock(mu_);
    empty_cv_.notify_all();
  }

  void WaitFor(absl::Duration d) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return wake_ || stopping_; });
    wake_ = false;
  }

  Outbox* outbox_;
  OutboxMetrics metrics_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable empty_cv_;
  bool wake_ = false;
  bool stopping_ = false;
  absl::Duration flush_timeout_ = absl::ZeroDuration();
  uint64_t cursor_ = 0;
  std::atomic<uint64_t> scan_start_{0};  // cursor_ when the last scan began (for tests)
  std::atomic<uint64_t> scans_{0};       // scans made (for tests)
  std::map<LaneId, Lane> lanes_;
  std::unordered_map<uint64_t, LaneId> in_flight_;
  std::set<uint64_t> confirmed_;
  std::set<uint64_t> suspects_;
  std::map<std::string, TopicInfo> topics_;
  std::vector<Report> reports_;
  std::atomic<bool> fatal_{false};
  bool backoff_ = false;
  absl::Time last_error_log_ = absl::InfinitePast();
};

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_OUTBOX_RELAY_H_
