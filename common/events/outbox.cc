// Implements the transactional outbox and its relay to Kafka.
#include "common/events/outbox.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/server/metrics.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "google/protobuf/message_lite.h"
#include "librdkafka/rdkafkacpp.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::events {
namespace {

std::string SeqKey(uint64_t seq) { return storage::KeyBuilder().U64(seq).Build(); }

struct OutboxMetrics {
  prometheus::Gauge& depth;
  prometheus::Counter& published;
  prometheus::Counter& failures;
};

OutboxMetrics MakeMetrics(const std::string& source) {
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
  return OutboxMetrics{depth.Add({{"source", source}}), published.Add({{"source", source}}),
                       failures.Add({{"source", source}})};
}

}  // namespace

void Transaction::Emit(std::string_view topic, std::string_view key, std::string_view type,
                       const google::protobuf::MessageLite& payload, std::string_view subject) {
  EmitRaw(topic, key, type, payload.SerializeAsString(), subject);
}

void Transaction::EmitRaw(std::string_view topic, std::string_view key, std::string_view type,
                          std::string payload, std::string_view subject) {
  Event e;
  e.topic = std::string(topic);
  e.key = std::string(key);
  e.type = std::string(type);
  e.subject = std::string(subject);
  e.payload = std::move(payload);
  events_.push_back(std::move(e));
}

// Relay publishes outbox entries in sequence order and deletes them once confirmed. It runs on
// one thread; delivery reports arrive on that thread through Producer::poll.
class Outbox::Relay : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit Relay(Outbox* outbox) : outbox_(outbox), metrics_(MakeMetrics(outbox->options_.source)) {
    metrics_.depth.Set(static_cast<double>(outbox_->Depth()));
  }

  ~Relay() override { StopAndJoin(absl::ZeroDuration()); }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }

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

  void UpdateDepthGauge() { metrics_.depth.Set(static_cast<double>(outbox_->Depth())); }

  void dr_cb(RdKafka::Message& message) override {
    uint64_t seq = reinterpret_cast<uintptr_t>(message.msg_opaque());
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      delivered_.push_back(seq);
    } else {
      failed_.push_back(seq);
      last_error_ = message.errstr();
    }
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

 private:
  absl::Status CreateProducer() {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeConf(
        outbox_->options_.kafka, {{"enable.idempotence", "true"},
                                  {"acks", "all"},
                                  // Retry through broker outages: never give up on an event.
                                  {"message.timeout.ms", "0"},
                                  {"linger.ms", "2"},
                                  {"batch.num.messages", "10000"},
                                  {"queue.buffering.max.messages", "200000"},
                                  {"reconnect.backoff.max.ms", "1000"},
                                  {"log_level", "3"}});
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

  // SendSome hands up to `budget` entries from the cursor on to the producer. Returns how many.
  int SendSome(int budget) {
    int sent = 0;
    bool blocked = false;
    storage::Store* store = outbox_->store_;
    absl::Status s = store->ScanRange(
        Outbox::kColumnFamily, SeqKey(cursor_), "",
        [&](std::string_view key, std::string_view value) {
          storage::KeyReader reader(key);
          absl::StatusOr<uint64_t> seq = reader.U64();
          if (!seq.ok()) return true;  // not an outbox key; skip
          if (in_flight_.count(*seq) != 0) {
            cursor_ = *seq + 1;
            return true;
          }
          if (in_flight_.size() >= outbox_->options_.max_in_flight || sent >= budget) return false;
          common::v1::OutboxRecord record;
          if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            logging::Error("outbox relay: undecodable entry dropped",
                           {{"source", outbox_->options_.source}, {"seq", *seq}});
            drop_.push_back(*seq);
            cursor_ = *seq + 1;
            return true;
          }
          Event e;
          e.id = record.ce_id();
          e.type = record.ce_type();
          e.source = record.ce_source();
          e.subject = record.ce_subject();
          e.time = util::FromProto(record.ce_time());
          RdKafka::Headers* headers = ToHeaders(e);
          RdKafka::ErrorCode err = producer_->produce(
              record.topic(), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
              const_cast<char*>(record.payload().data()), record.payload().size(),
              record.key().data(), record.key().size(), 0, headers,
              reinterpret_cast<void*>(static_cast<uintptr_t>(*seq)));
          if (err != RdKafka::ERR_NO_ERROR) {
            delete headers;  // not taken over on failure
            if (err != RdKafka::ERR__QUEUE_FULL) {
              logging::Warn("outbox relay: produce refused", {{"source", outbox_->options_.source},
                                                              {"topic", record.topic()},
                                                              {"error", RdKafka::err2str(err)}});
            }
            blocked = true;
            return false;
          }
          in_flight_.insert(*seq);
          cursor_ = *seq + 1;
          ++sent;
          return true;
        });
    if (!s.ok()) {
      logging::Error("outbox relay: scan failed",
                     {{"source", outbox_->options_.source}, {"error", s}});
    }
    if (blocked) backoff_ = true;
    return sent;
  }

  // ApplyReports deletes confirmed entries and rewinds the cursor to failed ones.
  void ApplyReports() {
    if (delivered_.empty() && failed_.empty() && drop_.empty()) return;
    if (!delivered_.empty() || !drop_.empty()) {
      rocksdb::WriteBatch batch;
      for (uint64_t seq : delivered_) batch.Delete(outbox_->cf_, SeqKey(seq));
      for (uint64_t seq : drop_) batch.Delete(outbox_->cf_, SeqKey(seq));
      absl::Status s = outbox_->store_->Write(batch);
      if (!s.ok()) {
        // The entries stay and are sent again later: at-least-once, never lost.
        logging::Error("outbox relay: cannot delete confirmed entries", {{"error", s}});
      } else {
        int64_t n = static_cast<int64_t>(delivered_.size() + drop_.size());
        outbox_->depth_.fetch_sub(n);
        outbox_->published_.fetch_add(static_cast<int64_t>(delivered_.size()));
        metrics_.published.Increment(static_cast<double>(delivered_.size()));
      }
      for (uint64_t seq : delivered_) in_flight_.erase(seq);
      delivered_.clear();
      drop_.clear();
    }
    if (!failed_.empty()) {
      uint64_t first = *std::min_element(failed_.begin(), failed_.end());
      for (uint64_t seq : failed_) in_flight_.erase(seq);
      metrics_.failures.Increment(static_cast<double>(failed_.size()));
      logging::Warn("outbox relay: delivery failed; will resend",
                    {{"source", outbox_->options_.source},
                     {"count", failed_.size()},
                     {"error", last_error_}});
      cursor_ = std::min(cursor_, first);
      failed_.clear();
      backoff_ = true;
    }
    UpdateDepthGauge();
    if (outbox_->Depth() == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      empty_cv_.notify_all();
    }
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
                         {{"source", outbox_->options_.source}});
          producer_.reset();
        }
        in_flight_.clear();
        cursor_ = 0;
        absl::Status s = CreateProducer();
        if (!s.ok()) {
          logging::Error("outbox relay: producer", {{"error", s}});
          WaitFor(outbox_->options_.retry_backoff);
          continue;
        }
      }
      int sent = SendSome(5000);
      producer_->poll(0);
      ApplyReports();
      if (backoff_) {
        backoff_ = false;
        producer_->poll(0);
        WaitFor(outbox_->options_.retry_backoff);
        continue;
      }
      if (sent > 0) continue;
      if (!in_flight_.empty()) {
        producer_->poll(5);  // wait for delivery reports
        ApplyReports();
        continue;
      }
      WaitFor(outbox_->options_.idle_poll);
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

 public:
  bool WaitUntilEmpty(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return empty_cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                              [this] { return outbox_->Depth() == 0; });
  }

 private:
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
  std::unordered_set<uint64_t> in_flight_;
  std::vector<uint64_t> delivered_, failed_, drop_;
  std::string last_error_;
  bool fatal_ = false;
  bool backoff_ = false;
  absl::Time last_error_log_ = absl::InfinitePast();
};

Outbox::Outbox(storage::Store* store, OutboxOptions options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Create(storage::Store* store,
                                                       OutboxOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("outbox: store is null");
  if (options.source.empty()) return absl::InvalidArgumentError("outbox: source is empty");
  std::unique_ptr<Outbox> outbox(new Outbox(store, std::move(options)));
  outbox->cf_ = store->Cf(kColumnFamily);
  if (outbox->cf_ == nullptr) {
    return absl::FailedPreconditionError("outbox: the store has no \"outbox\" column family");
  }
  int64_t depth = 0;
  uint64_t last = 0;
  absl::Status s =
      store->ScanPrefix(kColumnFamily, "", [&](std::string_view key, std::string_view) {
        storage::KeyReader reader(key);
        absl::StatusOr<uint64_t> seq = reader.U64();
        if (seq.ok()) last = std::max(last, *seq);
        ++depth;
        return true;
      });
  if (!s.ok()) return s;
  outbox->next_seq_ = last + 1;
  outbox->depth_ = depth;
  return outbox;
}

Outbox::~Outbox() { Stop(absl::ZeroDuration()); }

absl::Status Outbox::Commit(Transaction& txn) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  const absl::Time now = absl::Now();
  uint64_t seq = next_seq_;
  for (Event& e : txn.events_) {
    e.id = NewEventId();
    e.source = options_.source;
    e.time = now;
    common::v1::OutboxRecord record;
    record.set_topic(e.topic);
    record.set_key(e.key);
    record.set_ce_id(e.id);
    record.set_ce_type(e.type);
    record.set_ce_source(e.source);
    record.set_ce_subject(e.subject);
    *record.mutable_ce_time() = util::ToProto(now);
    record.set_payload(e.payload);
    rocksdb::Status put = txn.batch_.Put(cf_, SeqKey(seq++), record.SerializeAsString());
    if (!put.ok()) return storage::ToStatus(put);
  }
  absl::Status s = store_->Write(txn.batch_);
  if (!s.ok()) return s;
  if (!txn.events_.empty()) {
    next_seq_ = seq;
    depth_.fetch_add(static_cast<int64_t>(txn.events_.size()));
    if (relay_) {
      relay_->UpdateDepthGauge();
      relay_->Wake();
    }
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

bool Outbox::WaitUntilEmpty(absl::Duration timeout) {
  if (Depth() == 0) return true;
  if (!relay_) return false;
  return relay_->WaitUntilEmpty(timeout);
}

}  // namespace triad::events
