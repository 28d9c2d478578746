// The kit of the event-flow benchmark (bench/flow): real service processes started and stopped
// by this process (their PIDs only), free loopback ports, Prometheus /metrics scraping, a Kafka
// producer of contract-valid events, record purging between runs, and latency statistics.
#ifndef TRIAD_BENCH_FLOW_FLOW_KIT_H_
#define TRIAD_BENCH_FLOW_FLOW_KIT_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "triad/common/v1/types.pb.h"

namespace RdKafka {
class Producer;
}  // namespace RdKafka

namespace triad::bench_flow {

// FreePort returns a loopback TCP port nobody listens on (bound once, then released).
int FreePort();

// ServiceProcess is one real Triad service binary run by this process on free loopback ports,
// with authentication disabled, logging to <work_dir>/<name>.log.
class ServiceProcess {
 public:
  // `binary` is the path of triad-<name>; `data_dir` survives Stop() and a later Start().
  ServiceProcess(std::string name, std::string binary, std::string data_dir, std::string log_path,
                 std::string bootstrap, std::vector<std::string> extra_flags);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Start launches the process (new free ports on the first start, the same ones after) and
  // returns at once; the launch time is start_time().
  absl::Status Start();
  // Stop sends SIGTERM and waits up to `timeout`, then SIGKILL; returns the exit status.
  int Stop(absl::Duration timeout = absl::Seconds(30));
  bool Alive();
  pid_t pid() const { return pid_; }
  absl::Time start_time() const { return start_time_; }
  const std::string& name() const { return name_; }
  std::string address() const;
  int admin_port() const { return admin_port_; }
  const std::string& log_path() const { return log_path_; }
  // Channel returns a plaintext channel to the gRPC port (made once per start).
  std::shared_ptr<grpc::Channel> Channel();
  // LogTail returns the last `lines` lines of the log.
  std::string LogTail(int lines = 30) const;

 private:
  std::string name_, binary_, data_dir_, log_path_, bootstrap_;
  std::vector<std::string> extra_flags_;
  int grpc_port_ = 0;
  int admin_port_ = 0;
  pid_t pid_ = -1;
  absl::Time start_time_;
  std::shared_ptr<grpc::Channel> channel_;
};

// WaitUntil calls `ready` every `interval` until it returns true or `timeout` passes
// (DEADLINE_EXCEEDED naming `what`).
absl::Status WaitUntil(const std::function<bool()>& ready, absl::Duration timeout,
                       std::string_view what, absl::Duration interval = absl::Milliseconds(20));

// ScrapeMetric returns the sum of the samples of `name` on http://127.0.0.1:<port>/metrics whose
// label set contains every `labels` pair.
absl::StatusOr<double> ScrapeMetric(int port, std::string_view name,
                                    const std::map<std::string, std::string>& labels);

// Actor is the actor of every write of the benchmark.
common::v1::Actor Actor();

// EventProducer publishes contract events as their producer would: CloudEvents headers
// (ce_id UUIDv7, ce_source and topic from the contract of the ce_type), key = aggregate id,
// Java-compatible murmur2 partitioning, idempotent producer.
class EventProducer {
 public:
  static absl::StatusOr<std::unique_ptr<EventProducer>> Create(const std::string& bootstrap);
  ~EventProducer();
  // Produce queues one event of contract type `type`; `payload` must be its message.
  absl::Status Produce(std::string_view type, std::string_view key,
                       const google::protobuf::Message& payload);
  // Flush waits until every queued event is acknowledged; an error names the first failure.
  absl::Status Flush(absl::Duration timeout = absl::Seconds(60));

 private:
  explicit EventProducer(std::unique_ptr<RdKafka::Producer> producer);
  std::unique_ptr<RdKafka::Producer> producer_;
  struct DeliveryState;
  std::unique_ptr<DeliveryState> state_;
};

// PurgeTopics deletes every record of `topics` (Kafka DeleteRecords up to the high watermark),
// so that a consumer group starting from the earliest offset sees only what is produced next.
// A topic that does not exist is skipped.
absl::Status PurgeTopics(const std::string& bootstrap, const std::vector<std::string>& topics);

// Percentile returns the p-th percentile (0..100, nearest rank) of `v` (sorted in place);
// 0 for an empty vector.
double Percentile(std::vector<double>& v, double p);

}  // namespace triad::bench_flow

#endif  // TRIAD_BENCH_FLOW_FLOW_KIT_H_
