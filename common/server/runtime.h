// ServiceRuntime bundles what every Triad service process runs: its RocksDB store (with the
// outbox, inbox and request column families), the outbox relay, its idempotent consumers, the
// topics it owns (created with their .dlq) and the gRPC ServiceHost, wired for ordered
// shutdown. A service's main.cc builds one, registers its gRPC service and handlers, and calls
// Run().
//
// Kafka is not needed to start: the gRPC server serves at once (writes wait in the outbox),
// and a background connector creates the topics, takes the service's single-instance lease
// (see events::Lease) and starts the relay and the consumers once the cluster answers. An
// instance that cannot take the lease stops with an error: each service runs one replica.
#ifndef TRIAD_COMMON_SERVER_RUNTIME_H_
#define TRIAD_COMMON_SERVER_RUNTIME_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/auth/call_security.h"
#include "common/events/consumer.h"
#include "common/events/kafka.h"
#include "common/events/lease.h"
#include "common/events/outbox.h"
#include "common/server/backups.h"
#include "common/server/denial_log.h"
#include "common/server/service_host.h"
#include "common/storage/store.h"
#include "common/util/thread.h"

namespace triad::server {

struct RuntimeOptions {
  // Service name, e.g. "clients": ce_source is "triad/<service>", the default consumer group
  // "triad-<service>".
  std::string service;
  // The service's own column families (outbox and inbox are added).
  std::vector<std::string> column_families;
  // Topics this service writes (each is created with its .dlq).
  std::vector<std::string> topics;
  // Consumer group of AddConsumer's consumers ("" means "triad-<service>").
  std::string consumer_group;

  // Filled from flags by CreateFromFlags; set directly in tests.
  std::string data_dir;
  // Directory of the store's backups ("" means "<data_dir>-backups").
  std::string backup_dir;
  events::KafkaConfig kafka;
  ServerOptions server;
  int topic_partitions = 6;
  int topic_replication = 1;
  // min.insync.replicas of created topics (0: the broker's default); capped at replication.
  int topic_min_insync_replicas = 0;
  size_t block_cache_bytes = 64 << 20;
  bool sync_writes = false;
  // Event batching (see OutboxOptions::linger and ConsumerOptions::fetch_wait).
  absl::Duration outbox_linger = events::kDefaultOutboxLinger;
  absl::Duration consumer_fetch_wait = events::kDefaultFetchWait;
  int32_t consumer_fetch_min_bytes = events::kDefaultFetchMinBytes;
  // How many nice values below the request handlers the background threads run: the outbox
  // relay, the event consumers and the periodic tasks (0 to 19; 0: the same priority).
  int background_nice = util::kDefaultBackgroundNice;
  // Retention of the dedupe records (consumed events, request ids) and how often they are
  // compacted away (0 disables the periodic compaction).
  absl::Duration dedupe_retention = absl::Hours(24 * 7);
  absl::Duration dedupe_compaction_interval = absl::Hours(1);
  // How long the connector waits for the single-instance lease (longer than the session
  // timeout of an instance killed without leaving).
  absl::Duration lease_wait = absl::Seconds(25);
  // Who calls: null means authentication disabled (in-process tests); RunService builds it
  // from the --auth_* flags (server/auth_config.h).
  std::shared_ptr<const auth::Authenticator> authenticator;
  // Clock of the dedupe records (tests move it).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

class ServiceRuntime {
 public:
  // CreateFromFlags fills data_dir, kafka, server and storage settings from the shared flags.
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> CreateFromFlags(RuntimeOptions options);

  // Create opens the store and the outbox; nothing talks to Kafka until Start.
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Create(RuntimeOptions options);
  ~ServiceRuntime();

  storage::Store& store() { return *store_; }
  events::Outbox& outbox() { return *outbox_; }
  ServiceHost& host() { return *host_; }
  // backups takes and lists the store's backups (AdminService serves it).
  Backups& backups() { return *backups_; }
  const RuntimeOptions& options() const { return options_; }

  // call_security is what the request guards of the service's gRPC adapters need: the
  // authenticator and where denials are kept. The service adds its ResourceAccess, if any.
  auth::CallSecurity call_security() const;

  // denials keeps the calls the service refused (AdminService.ListAccessDenials lists them).
  DenialLog& denials() { return *denials_; }

  // consumer_group is the group AddConsumer uses when none is given (resolved at Create).
  const std::string& consumer_group() const { return options_.consumer_group; }

  // AddConsumer creates a consumer (group defaults to consumer_group()) to register handlers
  // on; it starts with Start and its source topics are created (with .dlq) if missing. Its
  // handlers must be of contracted types (ConsumerOptions::require_contracts): each event is
  // applied only from its contract's topic and producer.
  events::IdempotentConsumer& AddConsumer(events::ConsumerOptions options);

  // AddPeriodicTask runs `task` every `interval` on its own thread, from Start until shutdown
  // (a zero or negative interval disables it). At shutdown the tasks stop first — a run in
  // progress finishes — before the consumers, the relay and the store.
  void AddPeriodicTask(std::string name, absl::Duration interval, std::function<void()> task);

  // Start starts the gRPC server and the periodic tasks, and the connector that (as soon as
  // Kafka answers) creates the topics, takes the lease and starts the relay and consumers.
  absl::Status Start();

  // Connected is true once the connector has started the relay and the consumers.
  bool Connected() const { return connected_.load(); }

  // Failed is the fatal error that stopped the runtime (e.g. the lease is held by another
  // instance), or OK.
  absl::Status Failed() const;

  // Run blocks until SIGTERM/SIGINT or a fatal error, then shuts down in order. Returns the
  // process exit code: 0, or 1 after a fatal error.
  int Run();

  // Shutdown runs the ordered shutdown (for tests and embedding).
  void Shutdown() { host_->Shutdown(); }

 private:
  explicit ServiceRuntime(RuntimeOptions options) : options_(std::move(options)) {}

  RuntimeOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Backups> backups_;
  std::unique_ptr<DenialLog> denials_;
  std::vector<std::unique_ptr<events::IdempotentConsumer>> consumers_;
  std::vector<std::string> consumed_topics_;
  std::unique_ptr<ServiceHost> host_;

  struct PeriodicTask {
    std::string name;
    absl::Duration interval;
    std::function<void()> task;
    std::thread thread;
  };
  void StopPeriodicTasks();
  void StartPeriodicTasks();
  void Connect();
  void StopConnector();
  void Fail(absl::Status status);
  std::vector<std::string> AllTopics() const;
  std::vector<std::unique_ptr<PeriodicTask>> periodic_tasks_;
  std::mutex tasks_mu_;
  std::condition_variable tasks_cv_;
  bool tasks_stopping_ = false;

  std::thread connector_;
  std::atomic<bool> connector_stop_{false};
  std::atomic<bool> connected_{false};
  std::unique_ptr<events::Lease> lease_;
  mutable std::mutex fail_mu_;
  absl::Status failed_;
};

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_RUNTIME_H_
