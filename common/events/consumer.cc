// Implements the idempotent consumer: dedupe by ce_source + ce_id and the stored offset in the
// effect's WriteBatch, offsets committed to Kafka after a WAL sync, dead letters for poison
// only, paused partitions retried with backoff for transient failures, rebalance handling
// (eager and cooperative) that starts each assigned partition at its stored offset.
#include "common/events/consumer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/server/metrics.h"
#include "common/util/thread.h"
#include "librdkafka/rdkafkacpp.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"

namespace triad::events {

std::map<std::string, std::string> ConsumerKafkaDefaults(const ConsumerOptions& options) {
  std::map<std::string, std::string> defaults = {
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "10000"},
      {"heartbeat.interval.ms", "1000"},
      {"fetch.wait.max.ms", absl::StrCat(absl::ToInt64Milliseconds(options.fetch_wait))},
      {"fetch.min.bytes", absl::StrCat(options.fetch_min_bytes)},
      {"log_level", "3"}};
  if (!options.group_instance_id.empty()) defaults["group.instance.id"] = options.group_instance_id;
  for (const auto& [k, v] : options.properties) defaults[k] = v;
  return defaults;
}

namespace {

prometheus::Family<prometheus::Counter>& ConsumedFamily() {
  static auto& family = prometheus::BuildCounter()
                            .Name("triad_consumer_messages_total")
                            .Help(
                                "Consumed messages by group and result (applied, duplicate, "
                                "dead_lettered, ignored, retried: a transient failure that "
                                "paused the partition).")
                            .Register(metrics::Registry());
  return family;
}

prometheus::Family<prometheus::Gauge>& PausedFamily() {
  static auto& family =
      prometheus::BuildGauge()
          .Name("triad_consumer_paused_partitions")
          .Help("Partitions paused after a transient failure, waiting to retry a message.")
          .Register(metrics::Registry());
  return family;
}

}  // namespace

class IdempotentConsumer::Impl : public RdKafka::RebalanceCb,
                                 public RdKafka::EventCb,
                                 public RdKafka::DeliveryReportCb {
 public:
  Impl(storage::Store* store, Outbox* outbox, KafkaConfig kafka, ConsumerOptions options,
       std::atomic<int>* assigned)
      : store_(store),
        outbox_(outbox),
        kafka_(std::move(kafka)),
        options_(std::move(options)),
        assigned_(assigned),
        applied_(ConsumedFamily().Add({{"group", options_.group_id}, {"result", "applied"}})),
        duplicate_(ConsumedFamily().Add({{"group", options_.group_id}, {"result", "duplicate"}})),
        dead_(ConsumedFamily().Add({{"group", options_.group_id}, {"result", "dead_lettered"}})),
        ignored_(ConsumedFamily().Add({{"group", options_.group_id}, {"result", "ignored"}})),
        retried_(ConsumedFamily().Add({{"group", options_.group_id}, {"result", "retried"}})),
        paused_(PausedFamily().Add({{"group", options_.group_id}})) {}

  ~Impl() override { Stop(); }

  // A handler and the origin its events must come from (resolved at Start).
  struct Registration {
    Handler handler;
    std::optional<EventOrigin> origin;
  };
  std::map<std::string, Registration> handlers;

  absl::Status Start() {
    if (options_.group_id.empty()) return absl::InvalidArgumentError("consumer: group_id is empty");
    if (options_.topics.empty()) return absl::InvalidArgumentError("consumer: no topics");
    if (absl::Status s = ResolveOrigins(); !s.ok()) return s;
    if (store_->Cf(IdempotentConsumer::kInboxColumnFamily) == nullptr) {
      return absl::FailedPreconditionError("consumer: the store has no \"inbox\" column family");
    }
    if (store_->Cf(kOffsetsColumnFamily) == nullptr) {
      return absl::FailedPreconditionError(
          "consumer: the store has no \"consumer_offsets\" column family");
    }
    absl::StatusOr<std::string> identity = [&] {
      std::unique_lock<util::SharedMutex> lock = LockApply();
      return StoreIdentity(*store_);
    }();
    if (!identity.ok()) return identity.status();
    identity_ = *identity;
    std::map<std::string, std::string> defaults = ConsumerKafkaDefaults(options_);
    const std::string reset = defaults["auto.offset.reset"];
    reset_to_end_ = reset == "latest" || reset == "largest" || reset == "end";
    // Offsets are committed by hand after the effects are durable; only committed
    // transactions are read.
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
        MakeConf(kafka_, defaults,
                 {{"group.id", options_.group_id},
                  {"enable.auto.commit", "false"},
                  {"enable.auto.offset.store", "false"},
                  {"isolation.level", "read_committed"}});
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        (*conf)->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      return absl::InternalError("consumer: " + err);
    }
    // librdkafka's threads (created with the client) run as low as the consumer's own.
    util::RunOnLoweredThread(options_.thread_nice, [&] {
      consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    });
    if (!consumer_) return absl::InternalError("consumer: cannot create: " + err);

    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> pconf = MakeConf(
        kafka_, {{"log_level", "3"}, {"message.timeout.ms", "10000"}},
        {{"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"}});
    if (!pconf.ok()) return pconf.status();
    if ((*pconf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
        RdKafka::Conf::CONF_OK) {
      return absl::InternalError("consumer dlq producer: " + err);
    }
    util::RunOnLoweredThread(options_.thread_nice, [&] {
      dlq_producer_.reset(RdKafka::Producer::create(pconf->get(), err));
    });
    if (!dlq_producer_) return absl::InternalError("consumer: cannot create DLQ producer: " + err);

    RdKafka::ErrorCode code = consumer_->subscribe(options_.topics);
    if (code != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("consumer: subscribe: ", RdKafka::err2str(code)));
    }
    running_ = true;
    last_commit_ = absl::Now();
    thread_ = std::thread([this] {
      util::RunAsBackgroundThread("triad-consumer", options_.thread_nice);
      Loop();
    });
    logging::Info("consumer started",
                  {{"group", options_.group_id}, {"topics", absl::StrJoin(options_.topics, ",")}});
    return absl::OkStatus();
  }

  void Stop() {
    if (!running_.exchange(false)) return;
    if (thread_.joinable()) thread_.join();
    logging::Info("consumer stopped", {{"group", options_.group_id},
                                       {"applied", stats_applied_.load()},
                                       {"duplicates", stats_duplicates_.load()}});
  }

  ConsumerStats Stats() const {
    return ConsumerStats{stats_applied_.load(), stats_duplicates_.load(), stats_dead_.load(),
                         stats_ignored_.load(), stats_retried_.load(),    stats_rejected_.load()};
  }

  // ResolveOrigins gives every handler registered without an origin its contract's.
  absl::Status ResolveOrigins() {
    for (auto& [type, r] : handlers) {
      absl::StatusOr<std::optional<EventOrigin>> origin =
          ResolveOrigin(options_.group_id, type, r.origin, options_.require_contracts);
      if (!origin.ok()) return origin.status();
      r.origin = *std::move(origin);
    }
    return absl::OkStatus();
  }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      rocksdb::WriteBatch records;
      SetStartOffsets(consumer, *store_, options_.group_id, identity_, reset_to_end_, partitions,
                      records);
      if (records.Count() > 0) {
        absl::Status s = WriteLocked(records);
        if (!s.ok()) logging::Error("consumer: cannot record the start offsets", {{"error", s}});
      }
      if (cooperative) {
        LogError("incremental assign", consumer->incremental_assign(partitions));
        assigned_->fetch_add(static_cast<int>(partitions.size()));
      } else {
        consumer->assign(partitions);
        assigned_->store(static_cast<int>(partitions.size()));
      }
      logging::Info("consumer: partitions assigned", {{"group", options_.group_id},
                                                      {"count", partitions.size()},
                                                      {"cooperative", cooperative}});
      return;
    }
    // Revoked (or lost): store and commit what was applied; the next owner starts there.
    CommitPending();
    if (cooperative && err == RdKafka::ERR__REVOKE_PARTITIONS) {
      LogError("incremental unassign", consumer->incremental_unassign(partitions));
      for (const RdKafka::TopicPartition* p : partitions) {
        const Tp tp{p->topic(), p->partition()};
        pending_.erase(tp);
        retrying_.erase(tp);
        unstored_.erase(tp);
      }
      assigned_->fetch_sub(static_cast<int>(partitions.size()));
    } else {
      consumer->unassign();
      pending_.clear();
      retrying_.clear();
      unstored_.clear();
      assigned_->store(0);
    }
    UpdatePausedGauge();
    logging::Info("consumer: partitions revoked",
                  {{"group", options_.group_id}, {"count", partitions.size()}});
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    absl::Time now = absl::Now();
    if (now - last_error_log_ < absl::Seconds(5)) return;
    last_error_log_ = now;
    logging::Warn("consumer: kafka error", {{"group", options_.group_id},
                                            {"error", RdKafka::err2str(event.err())},
                                            {"detail", event.str()}});
  }

  void dr_cb(RdKafka::Message& message) override {
    dlq_result_ = message.err();
    dlq_reported_ = true;
  }

 private:
  using Tp = std::pair<std::string, int32_t>;
  // Retry is the state of a partition paused after a transient failure at `offset`.
  struct Retry {
    int64_t offset = 0;
    int attempts = 0;
    absl::Time retry_at;
    bool paused = true;
  };

  void Loop() {
    while (running_) {
      ResumeDue();
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
      if (m->err() == RdKafka::ERR_NO_ERROR) {
        Handle(*m);
      } else if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF) {
        absl::Time now = absl::Now();
        if (now - last_error_log_ > absl::Seconds(5)) {
          last_error_log_ = now;
          logging::Warn("consumer: consume error",
                        {{"group", options_.group_id}, {"error", m->errstr()}});
        }
      }
      if (absl::Now() - last_commit_ >= options_.commit_interval) CommitPending();
    }
    CommitPending();
    consumer_->close();  // leaves the group (revoke callback commits too)
    consumer_.reset();
    if (dlq_producer_) {
      dlq_producer_->flush(5000);
      dlq_producer_.reset();
    }
  }

  // ResumeDue rewinds and resumes the paused partitions whose backoff has passed.
  void ResumeDue() {
    const absl::Time now = absl::Now();
    for (auto& [tp, r] : retrying_) {
      if (!r.paused || now < r.retry_at) continue;
      std::unique_ptr<RdKafka::TopicPartition> p(
          RdKafka::TopicPartition::create(tp.first, tp.second, r.offset));
      std::vector<RdKafka::TopicPartition*> list = {p.get()};
      consumer_->resume(list);
      RdKafka::ErrorCode err = consumer_->seek(*p, 2000);
      if (err != RdKafka::ERR_NO_ERROR) {
        // Paused again and retried later: a seek that did not happen must not skip anything.
        consumer_->pause(list);
        r.retry_at = now + options_.retry_backoff;
        continue;
      }
      r.paused = false;
    }
    UpdatePausedGauge();
  }

  // LockApply locks the apply mutex (when there is one): every write of the consumer happens
  // under it, its bookkeeping (identity, offsets) as well as the effects.
  std::unique_lock<util::SharedMutex> LockApply() {
    if (options_.apply_mutex == nullptr) return std::unique_lock<util::SharedMutex>();
    return std::unique_lock<util::SharedMutex>(*options_.apply_mutex);
  }

  absl::Status WriteLocked(rocksdb::WriteBatch& batch) {
    std::unique_lock<util::SharedMutex> lock = LockApply();
    return store_->Write(batch);
  }

  void LogError(std::string_view what, RdKafka::Error* error) {
    if (error == nullptr) return;
    logging::Error("consumer: rebalance step failed",
                   {{"group", options_.group_id}, {"step", what}, {"error", error->str()}});
    delete error;
  }

  void UpdatePausedGauge() {
    int paused = 0;
    for (const auto& [tp, r] : retrying_) paused += r.paused ? 1 : 0;
    paused_.Set(paused);
  }

  // RetryLater pauses the message's partition and schedules it to be read again from `m`.
  void RetryLater(const RdKafka::Message& m, const absl::Status& why) {
    ++stats_retried_;
    retried_.Increment();
    Retry& r = retrying_[{m.topic_name(), m.partition()}];
    r.offset = m.offset();
    ++r.attempts;
    absl::Duration backoff = options_.retry_backoff;
    for (int i = 1; i < r.attempts && backoff < options_.max_retry_backoff; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.max_retry_backoff);
    r.retry_at = absl::Now() + backoff;
    r.paused = true;
    std::unique_ptr<RdKafka::TopicPartition> p(
        RdKafka::TopicPartition::create(m.topic_name(), m.partition()));
    std::vector<RdKafka::TopicPartition*> list = {p.get()};
    consumer_->pause(list);
    UpdatePausedGauge();
    logging::Warn("consumer: transient failure; partition paused for a retry",
                  {{"group", options_.group_id},
                   {"topic", m.topic_name()},
                   {"partition", m.partition()},
                   {"offset", static_cast<int64_t>(m.offset())},
                   {"attempt", r.attempts},
                   {"backoff_ms", absl::ToInt64Milliseconds(backoff)},
                   {"error", why.ToString()}});
  }

  // MarkDone records that `m` is done: its offset is committed to Kafka with the next commit
  // and, unless `stored` (the effect's batch stored it), written to the store then.
  void MarkDone(const RdKafka::Message& m, bool stored) {
    const Tp tp{m.topic_name(), m.partition()};
    pending_[tp] = m.offset() + 1;
    if (stored) {
      unstored_.erase(tp);
    } else {
      unstored_[tp] = m.offset() + 1;
    }
    auto it = retrying_.find({m.topic_name(), m.partition()});
    if (it != retrying_.end() && !it->second.paused && m.offset() >= it->second.offset) {
      retrying_.erase(it);
      UpdatePausedGauge();
    }
  }

  // StoreSkipped writes the offsets of the messages done without an effect batch (duplicates,
  // ignored types, dead letters) in one batch. Losing them costs nothing but a re-read.
  absl::Status StoreSkipped() {
    if (unstored_.empty()) return absl::OkStatus();
    rocksdb::WriteBatch batch;
    for (const auto& [tp, offset] : unstored_) {
      absl::Status s =
          PutStoredOffset(*store_, batch, options_.group_id, tp.first, tp.second, offset);
      if (!s.ok()) return s;
    }
    absl::Status s = WriteLocked(batch);
    if (s.ok()) unstored_.clear();
    return s;
  }

  void CommitPending() {
    if (pending_.empty() || !consumer_) return;
    last_commit_ = absl::Now();
    absl::Status s = StoreSkipped();
    // The effects must be durable before Kafka forgets the messages.
    if (s.ok()) s = store_->SyncWal();
    if (!s.ok()) {
      logging::Error("consumer: storing offsets failed; offsets not committed",
                     {{"group", options_.group_id}, {"error", s}});
      return;
    }
    // Tagged with the store's identity (see ChooseStartOffset).
    const int err = CommitOffsets(consumer_.get(), pending_, identity_);
    if (err == RdKafka::ERR_NO_ERROR || err == RdKafka::ERR__NO_OFFSET) {
      pending_.clear();
    } else {
      logging::Warn("consumer: offset commit failed (will retry; the store has the offsets)",
                    {{"group", options_.group_id},
                     {"error", RdKafka::err2str(static_cast<RdKafka::ErrorCode>(err))}});
    }
  }

  void Handle(const RdKafka::Message& m) {
    auto retry = retrying_.find({m.topic_name(), m.partition()});
    if (retry != retrying_.end()) {
      // Messages fetched before the pause, or past the one being retried, are read again
      // after the rewind; never skip ahead of it.
      if (retry->second.paused) return;
      if (m.offset() != retry->second.offset) {
        if (m.offset() > retry->second.offset) {
          retry->second.paused = true;
          retry->second.retry_at = absl::Now();
        }
        return;
      }
    }
    absl::StatusOr<Event> event = FromMessage(m);
    if (!event.ok()) {
      DeadLetterOrRetry(m, event.status());
      return;
    }
    auto it = handlers.find(event->type);
    if (it == handlers.end()) {
      ++stats_ignored_;
      ignored_.Increment();
      MarkDone(m, /*stored=*/false);
      return;
    }
    const std::string topic = m.topic_name();
    if (it->second.origin.has_value()) {
      absl::Status origin = CheckOrigin(*it->second.origin, event->type, topic, event->source);
      if (!origin.ok()) {
        // Counted once, when the dead letter is written (a DLQ outage retries the message).
        const int64_t dead_before = stats_dead_.load();
        DeadLetterOrRetry(m, origin);
        if (stats_dead_.load() > dead_before) {
          CountOriginRejected(options_.group_id, event->type);
          ++stats_rejected_;
        }
        return;
      }
    }
    const ConsumedPosition position{topic, m.partition(), m.offset()};
    absl::StatusOr<ApplyOutcome> outcome =
        ApplyOnce(*store_, outbox_, options_.group_id, *event, it->second.handler,
                  options_.apply_mutex, &position);
    if (!outcome.ok()) {
      DeadLetterOrRetry(m, outcome.status());
      return;
    }
    if (*outcome == ApplyOutcome::kDuplicate) {
      ++stats_duplicates_;
      duplicate_.Increment();
    } else {
      ++stats_applied_;
      applied_.Increment();
    }
    MarkDone(m, /*stored=*/*outcome == ApplyOutcome::kApplied);
  }

  void DeadLetterOrRetry(const RdKafka::Message& m, const absl::Status& why) {
    if (!IsPermanentError(why)) {
      RetryLater(m, why);
      return;
    }
    absl::Status dlq = DeadLetter(m, why);
    if (dlq.ok()) {
      MarkDone(m, /*stored=*/false);
    } else {
      RetryLater(m, dlq);  // the DLQ is unavailable: keep the message, retry later
    }
  }

  // DeadLetter publishes the message to <topic>.dlq with the reason and waits (a bounded
  // time, far below max.poll.interval.ms) for the confirmation.
  absl::Status DeadLetter(const RdKafka::Message& m, const absl::Status& reason) {
    const std::string dlq = DlqTopic(m.topic_name());
    RdKafka::Headers* headers = RdKafka::Headers::create();
    RdKafka::Headers* original = const_cast<RdKafka::Message&>(m).headers();
    if (original != nullptr) {
      for (const RdKafka::Headers::Header& h : original->get_all()) {
        headers->add(h.key(), h.value(), h.value_size());
      }
    }
    headers->add(kHeaderDlqReason, reason.ToString(absl::StatusToStringMode::kWithNoExtraData));
    headers->add(kHeaderDlqTopic, m.topic_name());
    headers->add(kHeaderDlqPartition, std::to_string(m.partition()));
    headers->add(kHeaderDlqOffset, std::to_string(m.offset()));
    headers->add(kHeaderDlqGroup, options_.group_id);
    dlq_reported_ = false;
    RdKafka::ErrorCode err = dlq_producer_->produce(
        dlq, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<void*>(m.payload()), m.len(), m.key_pointer(), m.key_len(), 0, headers, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;
    } else {
      absl::Time deadline = absl::Now() + absl::Seconds(12);
      while (!dlq_reported_ && absl::Now() < deadline) dlq_producer_->poll(50);
      if (dlq_reported_ && dlq_result_ == RdKafka::ERR_NO_ERROR) {
        ++stats_dead_;
        dead_.Increment();
        logging::Warn("consumer: message dead-lettered",
                      {{"group", options_.group_id},
                       {"topic", m.topic_name()},
                       {"partition", m.partition()},
                       {"offset", static_cast<int64_t>(m.offset())},
                       {"dlq", dlq},
                       {"reason", reason.ToString(absl::StatusToStringMode::kWithNoExtraData)}});
        return absl::OkStatus();
      }
      err = dlq_reported_ ? dlq_result_ : RdKafka::ERR__TIMED_OUT;
    }
    return absl::UnavailableError(
        absl::StrCat("cannot dead-letter to ", dlq, ": ", RdKafka::err2str(err)));
  }

  storage::Store* store_;
  Outbox* outbox_;
  KafkaConfig kafka_;
  ConsumerOptions options_;
  std::atomic<int>* assigned_;
  prometheus::Counter& applied_;
  prometheus::Counter& duplicate_;
  prometheus::Counter& dead_;
  prometheus::Counter& ignored_;
  prometheus::Counter& retried_;
  prometheus::Gauge& paused_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> dlq_producer_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  // Next offsets to commit to Kafka, and those not yet written to the store.
  std::map<Tp, int64_t> pending_;
  std::map<Tp, int64_t> unstored_;
  std::string identity_;
  bool reset_to_end_ = false;
  std::map<Tp, Retry> retrying_;
  absl::Time last_commit_;
  absl::Time last_error_log_ = absl::InfinitePast();
  bool dlq_reported_ = false;
  RdKafka::ErrorCode dlq_result_ = RdKafka::ERR_NO_ERROR;
  std::atomic<int64_t> stats_applied_{0}, stats_duplicates_{0}, stats_dead_{0}, stats_ignored_{0},
      stats_retried_{0}, stats_rejected_{0};
};

IdempotentConsumer::IdempotentConsumer(storage::Store* store, Outbox* outbox, KafkaConfig kafka,
                                       ConsumerOptions options)
    : impl_(
          std::make_unique<Impl>(store, outbox, std::move(kafka), std::move(options), &assigned_)) {
  // Created here, before the consumer runs: a store opened without it (tests, tools) gets it.
  if (store != nullptr && store->Cf(kOffsetsColumnFamily) == nullptr) {
    absl::Status s = store->EnsureColumnFamily(kOffsetsColumnFamily);
    if (!s.ok())
      logging::Error("consumer: cannot create the offsets column family", {{"error", s}});
  }
}

IdempotentConsumer::~IdempotentConsumer() { impl_->Stop(); }

void IdempotentConsumer::On(std::string type, Handler handler, std::optional<EventOrigin> origin) {
  impl_->handlers[std::move(type)] = {std::move(handler), std::move(origin)};
}

absl::Status IdempotentConsumer::Start() { return impl_->Start(); }

void IdempotentConsumer::Stop() { impl_->Stop(); }

ConsumerStats IdempotentConsumer::Stats() const { return impl_->Stats(); }

}  // namespace triad::events
