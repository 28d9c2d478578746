// Implements the single-instance lease on a one-partition topic's consumer group.
#include "common/events/lease.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::events {

class Lease::Impl : public RdKafka::RebalanceCb {
 public:
  Impl(KafkaConfig kafka, std::string group, std::string topic, std::atomic<bool>* held)
      : kafka_(std::move(kafka)), group_(std::move(group)), topic_(std::move(topic)), held_(held) {}

  ~Impl() override { Release(); }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      delete consumer->incremental_assign(partitions);
      if (!partitions.empty()) {
        held_->store(true);
        lost_at_ = absl::InfiniteFuture();
      }
    } else {
      delete consumer->incremental_unassign(partitions);
      if (!partitions.empty()) {
        held_->store(false);
        lost_at_ = absl::Now();
        if (releasing_) {
          // Leaving the group on shutdown hands the lease on: not a loss to warn about.
          logging::Info("lease: released", {{"group", group_}});
        } else {
          logging::Warn("lease: lost; waiting to get it back", {{"group", group_}});
        }
      }
    }
  }

  absl::Status Acquire(absl::Duration wait, const std::function<bool()>& cancelled,
                       std::function<void()> on_lost) {
    releasing_ = false;
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeConf(
        kafka_,
        {{"session.timeout.ms", "10000"}, {"heartbeat.interval.ms", "1000"}, {"log_level", "3"}},
        {{"group.id", group_},
         {"partition.assignment.strategy", "cooperative-sticky"},
         {"enable.auto.commit", "false"}});
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
        RdKafka::Conf::CONF_OK) {
      return absl::InternalError("lease: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer_) return absl::InternalError("lease: cannot create consumer: " + err);
    RdKafka::ErrorCode code = consumer_->subscribe({topic_});
    if (code != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("lease: subscribe: ", RdKafka::err2str(code)));
    }
    const absl::Time start = absl::Now();
    while (!held_->load()) {
      if (cancelled()) return absl::CancelledError("lease: stopping");
      ProbeBrokers();
      // `wait` of reachable brokers without the lease: another member holds it.
      if (absl::Now() >= std::max(start, BrokerTroubleAt()) + wait) {
        consumer_->close();
        consumer_.reset();
        return absl::FailedPreconditionError(absl::StrCat(
            "another instance holds the lease of consumer group ", group_,
            ": each service runs exactly one replica (a second one would split its data)"));
      }
      delete consumer_->consume(200);
    }
    wait_ = wait;
    on_lost_ = std::move(on_lost);
    running_ = true;
    thread_ = std::thread([this] { Keep(); });
    return absl::OkStatus();
  }

  void Release() {
    releasing_ = true;
    if (running_.exchange(false) && thread_.joinable()) thread_.join();
    if (consumer_) {
      consumer_->close();
      consumer_.reset();
    }
    held_->store(false);
  }

 private:
  // Keep polls the group (heartbeats and rebalances happen in consume) and reports a lease
  // that stayed lost.
  void Keep() {
    bool reported = false;
    while (running_) {
      delete consumer_->consume(200);
      if (!held_->load()) ProbeBrokers();
      if (!held_->load() && !reported &&
          absl::Now() - std::max(lost_at_, BrokerTroubleAt()) > wait_) {
        reported = true;
        logging::Error("lease: lost for good (another instance may run)", {{"group", group_}});
        if (on_lost_) on_lost_();
      }
    }
  }

  // ProbeBrokers asks the cluster for metadata (every 2 s at most, while the lease is not
  // held): librdkafka reports a lost broker once, so a failed request is what marks the whole
  // outage.
  void ProbeBrokers() {
    const absl::Time now = absl::Now();
    if (now < next_probe_) return;
    next_probe_ = now + absl::Seconds(2);
    RdKafka::Metadata* md = nullptr;
    const RdKafka::ErrorCode err = consumer_->metadata(false, nullptr, &md, 500);
    delete md;
    if (err != RdKafka::ERR_NO_ERROR) broker_trouble_at_ns_.store(absl::ToUnixNanos(absl::Now()));
  }

  absl::Time BrokerTroubleAt() const { return absl::FromUnixNanos(broker_trouble_at_ns_.load()); }

  KafkaConfig kafka_;
  std::string group_;
  std::string topic_;
  std::atomic<bool>* held_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  // Set by Release: the revocation that follows is this instance leaving, not a loss.
  std::atomic<bool> releasing_{false};
  absl::Duration wait_;
  absl::Time lost_at_ = absl::InfiniteFuture();
  std::function<void()> on_lost_;
  // When a metadata probe last failed (ProbeBrokers; written on the polling thread).
  std::atomic<int64_t> broker_trouble_at_ns_{0};
  absl::Time next_probe_ = absl::InfinitePast();
};

std::string Lease::LeaseTopic(std::string_view service) {
  return absl::StrCat("triad.", std::string(service), ".lease");
}

Lease::Lease(KafkaConfig kafka, std::string group, std::string topic)
    : impl_(std::make_unique<Impl>(std::move(kafka), std::move(group), std::move(topic), &held_)) {}

Lease::~Lease() { impl_->Release(); }

absl::Status Lease::Acquire(absl::Duration wait, const std::function<bool()>& cancelled,
                            std::function<void()> on_lost) {
  return impl_->Acquire(wait, cancelled, std::move(on_lost));
}

void Lease::Release() { impl_->Release(); }

}  // namespace triad::events
