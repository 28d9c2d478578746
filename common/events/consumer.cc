// Implements the idempotent consumer: dedupe by ce_id in the effect's WriteBatch, offsets
// committed after a WAL sync, dead letters for poison messages, rebalance handling.
#include "common/events/consumer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/server/metrics.h"
#include "common/storage/key_codec.h"
#include "librdkafka/rdkafkacpp.h"
#include "prometheus/counter.h"

namespace triad::events {
namespace {

prometheus::Family<prometheus::Counter>& ConsumedFamily() {
  static auto& family = prometheus::BuildCounter()
                            .Name("triad_consumer_messages_total")
                            .Help(
                                "Consumed messages by group and result "
                                "(applied, duplicate, dead_lettered, ignored).")
                            .Register(metrics::Registry());
  return family;
}

bool IsPermanent(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsDataLoss(s);
}

}  // namespace

std::string InboxKey(std::string_view group_id, std::string_view event_id) {
  return storage::KeyBuilder().Str(group_id).Str(event_id).Build();
}

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
        ignored_(ConsumedFamily().Add({{"group", options_.group_id}, {"result", "ignored"}})) {}

  ~Impl() override { Stop(); }

  std::map<std::string, Handler> handlers;

  absl::Status Start() {
    if (options_.group_id.empty()) return absl::InvalidArgumentError("consumer: group_id is empty");
    if (options_.topics.empty()) return absl::InvalidArgumentError("consumer: no topics");
    if (store_->Cf(IdempotentConsumer::kInboxColumnFamily) == nullptr) {
      return absl::FailedPreconditionError("consumer: the store has no \"inbox\" column family");
    }
    std::map<std::string, std::string> defaults = {{"group.id", options_.group_id},
                                                   {"enable.auto.commit", "false"},
                                                   {"enable.auto.offset.store", "false"},
                                                   {"auto.offset.reset", "earliest"},
                                                   {"session.timeout.ms", "10000"},
                                                   {"heartbeat.interval.ms", "1000"},
                                                   {"fetch.wait.max.ms", "20"},
                                                   {"isolation.level", "read_committed"},
                                                   {"log_level", "3"}};
    if (!options_.group_instance_id.empty()) {
      defaults["group.instance.id"] = options_.group_instance_id;
    }
    for (const auto& [k, v] : options_.properties) defaults[k] = v;
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeConf(kafka_, defaults);
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        (*conf)->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      return absl::InternalError("consumer: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer_) return absl::InternalError("consumer: cannot create: " + err);

    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> pconf =
        MakeConf(kafka_, {{"enable.idempotence", "true"}, {"acks", "all"}, {"log_level", "3"}});
    if (!pconf.ok()) return pconf.status();
    if ((*pconf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
        RdKafka::Conf::CONF_OK) {
      return absl::InternalError("consumer dlq producer: " + err);
    }
    dlq_producer_.reset(RdKafka::Producer::create(pconf->get(), err));
    if (!dlq_producer_) return absl::InternalError("consumer: cannot create DLQ producer: " + err);

    RdKafka::ErrorCode code = consumer_->subscribe(options_.topics);
    if (code != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("consumer: subscribe: ", RdKafka::err2str(code)));
    }
    running_ = true;
    last_commit_ = absl::Now();
    thread_ = std::thread([this] { Loop(); });
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
                         stats_ignored_.load()};
  }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      consumer->assign(partitions);
      assigned_->store(static_cast<int>(partitions.size()));
      logging::Info("consumer: partitions assigned",
                    {{"group", options_.group_id}, {"count", partitions.size()}});
    } else {
      CommitPending();
      consumer->unassign();
      pending_.clear();
      assigned_->store(0);
      logging::Info("consumer: partitions revoked", {{"group", options_.group_id}});
    }
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
  void Loop() {
    while (running_) {
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

  void MarkDone(const RdKafka::Message& m) {
    pending_[{m.topic_name(), m.partition()}] = m.offset() + 1;
  }

  void CommitPending() {
    if (pending_.empty() || !consumer_) return;
    // The effects must be durable before Kafka forgets the messages.
    absl::Status s = store_->SyncWal();
    if (!s.ok()) {
      logging::Error("consumer: WAL sync failed; offsets not committed", {{"error", s}});
      return;
    }
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [tp, offset] : pending_) {
      RdKafka::TopicPartition* p = RdKafka::TopicPartition::create(tp.first, tp.second);
      p->set_offset(offset);
      offsets.push_back(p);
    }
    RdKafka::ErrorCode err = consumer_->commitSync(offsets);
    RdKafka::TopicPartition::destroy(offsets);
    last_commit_ = absl::Now();
    if (err == RdKafka::ERR_NO_ERROR || err == RdKafka::ERR__NO_OFFSET) {
      pending_.clear();
    } else {
      logging::Warn("consumer: offset commit failed (will retry; redelivery is deduped)",
                    {{"group", options_.group_id}, {"error", RdKafka::err2str(err)}});
    }
  }

  void Handle(const RdKafka::Message& m) {
    absl::StatusOr<Event> event = FromMessage(m);
    if (!event.ok()) {
      if (DeadLetter(m, event.status())) MarkDone(m);
      return;
    }
    auto it = handlers.find(event->type);
    if (it == handlers.end()) {
      ++stats_ignored_;
      ignored_.Increment();
      MarkDone(m);
      return;
    }
    const std::string inbox_key = InboxKey(options_.group_id, event->id);
    absl::StatusOr<bool> seen = store_->Exists(IdempotentConsumer::kInboxColumnFamily, inbox_key);
    if (seen.ok() && *seen) {
      ++stats_duplicates_;
      duplicate_.Increment();
      MarkDone(m);
      return;
    }
    absl::Status last = seen.status();
    for (int attempt = 1; attempt <= std::max(1, options_.max_attempts) && running_; ++attempt) {
      if (!seen.ok()) break;
      {
        std::unique_lock<std::mutex> lock;
        if (options_.apply_mutex != nullptr)
          lock = std::unique_lock<std::mutex>(*options_.apply_mutex);
        Transaction txn;
        last = it->second(*event, txn);
        if (last.ok()) {
          txn.batch().Put(store_->Cf(IdempotentConsumer::kInboxColumnFamily), inbox_key, "");
          last = outbox_ != nullptr ? outbox_->Commit(txn) : CommitWithoutOutbox(txn);
        }
      }
      if (last.ok()) {
        ++stats_applied_;
        applied_.Increment();
        MarkDone(m);
        return;
      }
      if (IsPermanent(last)) break;
      if (attempt < options_.max_attempts) absl::SleepFor(options_.retry_backoff * attempt);
    }
    if (!running_ && !IsPermanent(last)) return;  // stopping: redelivered after restart
    if (DeadLetter(m, last)) MarkDone(m);
  }

  absl::Status CommitWithoutOutbox(Transaction& txn) {
    if (!txn.events().empty()) {
      return absl::FailedPreconditionError("consumer has no outbox but the handler emitted events");
    }
    return store_->Write(txn.batch());
  }

  // DeadLetter publishes the message to <topic>.dlq with the reason; true once confirmed.
  bool DeadLetter(const RdKafka::Message& m, const absl::Status& reason) {
    const std::string dlq = DlqTopic(m.topic_name());
    while (true) {
      RdKafka::Headers* headers = RdKafka::Headers::create();
      RdKafka::Headers* original = const_cast<RdKafka::Message&>(m).headers();
      if (original != nullptr) {
        for (const RdKafka::Headers::Header& h : original->get_all()) {
          headers->add(h.key(), h.value(), h.value_size());
        }
      }
      headers->add(kHeaderDlqReason, reason.ToString());
      headers->add(kHeaderDlqTopic, m.topic_name());
      headers->add(kHeaderDlqPartition, std::to_string(m.partition()));
      headers->add(kHeaderDlqOffset, std::to_string(m.offset()));
      headers->add(kHeaderDlqGroup, options_.group_id);
      dlq_reported_ = false;
      RdKafka::ErrorCode err =
          dlq_producer_->produce(dlq, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<void*>(m.payload()), m.len(), m.key_pointer(),
                                 m.key_len(), 0, headers, nullptr);
      if (err != RdKafka::ERR_NO_ERROR) {
        delete headers;
      } else {
        absl::Time deadline = absl::Now() + absl::Seconds(30);
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
                         {"reason", reason.ToString()}});
          return true;
        }
        err = dlq_reported_ ? dlq_result_ : RdKafka::ERR__TIMED_OUT;
      }
      logging::Error(
          "consumer: cannot dead-letter; retrying",
          {{"group", options_.group_id}, {"dlq", dlq}, {"error", RdKafka::err2str(err)}});
      if (!running_) return false;
      absl::SleepFor(absl::Seconds(1));
    }
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
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> dlq_producer_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::map<std::pair<std::string, int32_t>, int64_t> pending_;
  absl::Time last_commit_;
  absl::Time last_error_log_ = absl::InfinitePast();
  bool dlq_reported_ = false;
  RdKafka::ErrorCode dlq_result_ = RdKafka::ERR_NO_ERROR;
  std::atomic<int64_t> stats_applied_{0}, stats_duplicates_{0}, stats_dead_{0}, stats_ignored_{0};
};

IdempotentConsumer::IdempotentConsumer(storage::Store* store, Outbox* outbox, KafkaConfig kafka,
                                       ConsumerOptions options)
    : impl_(std::make_unique<Impl>(store, outbox, std::move(kafka), std::move(options),
                                   &assigned_)) {}

IdempotentConsumer::~IdempotentConsumer() { impl_->Stop(); }

void IdempotentConsumer::On(std::string type, Handler handler) {
  impl_->handlers[std::move(type)] = std::move(handler);
}

absl::Status IdempotentConsumer::Start() { return impl_->Start(); }

void IdempotentConsumer::Stop() { impl_->Stop(); }

ConsumerStats IdempotentConsumer::Stats() const { return impl_->Stats(); }

}  // namespace triad::events
