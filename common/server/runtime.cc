// Implements ServiceRuntime: store, outbox relay, consumers, topics and host, wired in order.
#include "common/server/runtime.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "common/events/kafka_security.h"
#include "common/server/denial_log.h"
#include "common/util/idempotency.h"

namespace triad::server {

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::CreateFromFlags(
    RuntimeOptions options) {
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.backup_dir = absl::GetFlag(FLAGS_backup_dir);
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("--data_dir (or TRIAD_DATA_DIR) is required");
  }
  absl::StatusOr<events::KafkaConfig> kafka = events::KafkaConfigFromFlags();
  if (!kafka.ok()) return kafka.status();
  options.kafka = std::move(*kafka);
  options.server = ServerOptionsFromFlags(options.service);
  options.topic_partitions = absl::GetFlag(FLAGS_topic_partitions);
  options.topic_replication = absl::GetFlag(FLAGS_topic_replication);
  options.topic_min_insync_replicas =
      std::min(absl::GetFlag(FLAGS_topic_min_insync_replicas), options.topic_replication);
  options.dedupe_retention = absl::GetFlag(FLAGS_dedupe_retention);
  options.dedupe_compaction_interval = absl::GetFlag(FLAGS_dedupe_compaction_interval);
  options.block_cache_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  options.outbox_linger = absl::GetFlag(FLAGS_outbox_linger);
  options.consumer_fetch_wait = absl::GetFlag(FLAGS_consumer_fetch_wait);
  options.consumer_fetch_min_bytes = absl::GetFlag(FLAGS_consumer_fetch_min_bytes);
  options.background_nice = absl::GetFlag(FLAGS_background_nice);
  options.consumer_group = absl::GetFlag(FLAGS_consumer_group);
  return Create(std::move(options));
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(RuntimeOptions options) {
  if (options.service.empty()) return absl::InvalidArgumentError("runtime: service is empty");
  if (options.topic_replication < 1) {
    return absl::InvalidArgumentError("--topic_replication must be at least 1");
  }
  if (options.topic_min_insync_replicas > options.topic_replication) {
    return absl::InvalidArgumentError(
        "--topic_min_insync_replicas must not exceed --topic_replication");
  }
  if (options.outbox_linger < absl::ZeroDuration() || options.outbox_linger > absl::Seconds(1)) {
    return absl::InvalidArgumentError("--outbox_linger must be in [0, 1s]");
  }
  if (options.consumer_fetch_wait < absl::Milliseconds(1) ||
      options.consumer_fetch_wait > absl::Seconds(5)) {
    return absl::InvalidArgumentError("--consumer_fetch_wait must be in [1ms, 5s]");
  }
  if (options.consumer_fetch_min_bytes < 1 || options.consumer_fetch_min_bytes > (64 << 20)) {
    return absl::InvalidArgumentError("--consumer_fetch_min_bytes must be in [1, 67108864]");
  }
  if (options.background_nice < 0 || options.background_nice > util::kMaxNiceSteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("--background_nice must be in [0, ", util::kMaxNiceSteps, "]"));
  }
  if (options.dedupe_retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--dedupe_retention must be positive");
  }
  for (const std::string& t : options.topics) {
    absl::Status s = events::ValidateTopicName(t);
    if (!s.ok()) return s;
  }
  if (options.server.service_name.empty()) options.server.service_name = options.service;
  if (options.backup_dir.empty() && !options.data_dir.empty()) {
    std::string data_dir = options.data_dir;
    while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
    options.backup_dir = absl::StrCat(data_dir, "-backups");
  }
  if (options.consumer_group.empty())
    options.consumer_group = absl::StrCat("triad-", options.service);
  std::unique_ptr<ServiceRuntime> rt(new ServiceRuntime(std::move(options)));
  storage::StoreOptions so;
  so.path = rt->options_.data_dir;
  so.name = rt->options_.service;  // the `store` label of its metrics
  so.column_families = rt->options_.column_families;
  for (const char* cf :
       {events::Outbox::kColumnFamily, events::IdempotentConsumer::kInboxColumnFamily,
        util::kRequestsColumnFamily, events::kOffsetsColumnFamily}) {
    if (std::find(so.column_families.begin(), so.column_families.end(), cf) ==
        so.column_families.end()) {
      so.column_families.push_back(cf);
    }
  }
  so.block_cache_bytes = rt->options_.block_cache_bytes;
  so.sync_writes = rt->options_.sync_writes;
  so.retention[events::IdempotentConsumer::kInboxColumnFamily] = rt->options_.dedupe_retention;
  so.retention[util::kRequestsColumnFamily] = rt->options_.dedupe_retention;
  so.clock = rt->options_.clock;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(so);
  if (!store.ok()) return store.status();
  rt->store_ = std::move(*store);
  events::OutboxOptions oo;
  oo.source = absl::StrCat("triad/", rt->options_.service);
  oo.kafka = rt->options_.kafka;
  oo.linger = rt->options_.outbox_linger;
  oo.relay_nice = rt->options_.background_nice;
  // Always: with sync_writes the fsync is shared with the RPCs' group commit (usually done).
  oo.sync_before_publish = true;
  absl::StatusOr<std::unique_ptr<events::Outbox>> outbox =
      events::Outbox::Create(rt->store_.get(), std::move(oo));
  if (!outbox.ok()) return outbox.status();
  rt->outbox_ = std::move(*outbox);
  rt->backups_ = std::make_unique<Backups>(
      rt->store_.get(), BackupsOptions{.service = rt->options_.service,
                                       .backup_dir = rt->options_.backup_dir,
                                       .consumer_group = rt->options_.consumer_group});
  absl::StatusOr<std::unique_ptr<DenialLog>> denials = DenialLog::Open(rt->store_.get());
  if (!denials.ok()) return denials.status();
  rt->denials_ = std::move(*denials);
  rt->host_ = std::make_unique<ServiceHost>(rt->options_.server);
  ServiceRuntime* self = rt.get();
  rt->host_->OnStop("stop connecting to Kafka", [self] { self->StopConnector(); });
  rt->host_->OnStop("stop periodic tasks", [self] { self->StopPeriodicTasks(); });
  rt->host_->OnStop("stop consumers and commit offsets", [self] {
    for (auto& c : self->consumers_) c->Stop();
  });
  rt->host_->OnStop("flush the outbox relay", [self] { self->outbox_->Stop(absl::Seconds(5)); });
  rt->host_->OnStop("release the lease", [self] {
    if (self->lease_) self->lease_->Release();
  });
  rt->host_->OnStop("stop backups", [self] { self->backups_->Stop(); });
  rt->host_->OnStop("close the store", [self] {
    absl::Status s = self->store_->Close();
    if (!s.ok()) logging::Error("closing the store", {{"error", s}});
  });
  return rt;
}

ServiceRuntime::~ServiceRuntime() {
  if (host_) host_->Shutdown();
  StopConnector();
  StopPeriodicTasks();
}

auth::CallSecurity ServiceRuntime::call_security() const {
  return auth::CallSecurity{.authenticator = options_.authenticator, .denials = denials_.get()};
}

absl::Status ServiceRuntime::Failed() const {
  std::lock_guard<std::mutex> lock(fail_mu_);
  return failed_;
}

void ServiceRuntime::Fail(absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(fail_mu_);
    if (!failed_.ok()) return;
    failed_ = status;
  }
  logging::Error("runtime: fatal; shutting down", {{"error", status}});
  // Shutdown joins the connector and the lease thread: run it from a thread of its own.
  std::thread([this] { host_->Shutdown(); }).detach();
}

int ServiceRuntime::Run() {
  host_->Run();
  return Failed().ok() ? 0 : 1;
}

void ServiceRuntime::StopConnector() {
  connector_stop_ = true;
  if (connector_.joinable() && connector_.get_id() != std::this_thread::get_id()) {
    connector_.join();
  }
}

std::vector<std::string> ServiceRuntime::AllTopics() const {
  std::vector<std::string> topics;
  for (const auto& list : {options_.topics, consumed_topics_}) {
    for (const std::string& t : list) {
      for (const std::string& name : {t, events::DlqTopic(t)}) {
        if (std::find(topics.begin(), topics.end(), name) == topics.end()) topics.push_back(name);
      }
    }
  }
  return topics;
}

void ServiceRuntime::Connect() {
  // 1. Topics (and the lease topic), retried with backoff while Kafka is unreachable.
  absl::Duration backoff = absl::Milliseconds(500);
  const std::string lease_topic = events::Lease::LeaseTopic(options_.service);
  while (!connector_stop_) {
    absl::Status s = events::EnsureTopics(options_.kafka, AllTopics(), options_.topic_partitions,
                                          options_.topic_replication,
                                          options_.topic_min_insync_replicas, absl::Seconds(15));
    if (s.ok()) {
      s = events::EnsureTopics(options_.kafka, {lease_topic}, 1, options_.topic_replication,
                               options_.topic_min_insync_replicas, absl::Seconds(15));
    }
    if (s.ok()) break;
    if (absl::IsInvalidArgument(s)) {
      Fail(s);
      return;
    }
    logging::Warn("runtime: Kafka not ready; serving RPCs, events wait in the outbox",
                  {{"error", s}, {"retry_in_ms", absl::ToInt64Milliseconds(backoff)}});
    for (absl::Time until = absl::Now() + backoff; !connector_stop_ && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
  if (connector_stop_) return;
  // 2. The single-instance lease.
  logging::Info("runtime: taking the single-instance lease",
                {{"group", absl::StrCat(options_.consumer_group, ".lease")},
                 {"wait_s", absl::ToDoubleSeconds(options_.lease_wait)}});
  lease_ = std::make_unique<events::Lease>(
      options_.kafka, absl::StrCat(options_.consumer_group, ".lease"), lease_topic);
  absl::Status s = lease_->Acquire(
      options_.lease_wait, [this] { return connector_stop_.load(); },
      [this] { Fail(absl::FailedPreconditionError("the single-instance lease was lost")); });
  if (absl::IsCancelled(s)) return;
  if (!s.ok()) {
    Fail(s);
    return;
  }
  // 3. The relay and the consumers.
  if (s = outbox_->Start(); !s.ok()) {
    Fail(s);
    return;
  }
  for (auto& c : consumers_) {
    if (connector_stop_) return;
    if (s = c->Start(); !s.ok()) {
      Fail(s);
      return;
    }
  }
  connected_ = true;
  logging::Info("runtime: connected to Kafka",
                {{"service", options_.service},
                 {"bootstrap", options_.kafka.bootstrap_servers},
                 {"security", events::DescribeKafkaSecurity(options_.kafka)}});
}

void ServiceRuntime::AddPeriodicTask(std::string name, absl::Duration interval,
                                     std::function<void()> task) {
  if (interval <= absl::ZeroDuration()) return;
  auto t = std::make_unique<PeriodicTask>();
  t->name = std::move(name);
  t->interval = interval;
  t->task = std::move(task);
  periodic_tasks_.push_back(std::move(t));
}

void ServiceRuntime::StopPeriodicTasks() {
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    tasks_stopping_ = true;
  }
  tasks_cv_.notify_all();
  for (auto& t : periodic_tasks_) {
    if (t->thread.joinable()) t->thread.join();
  }
}

events::IdempotentConsumer& ServiceRuntime::AddConsumer(events::ConsumerOptions options) {
  if (options.group_id.empty()) options.group_id = options_.consumer_group;
  // A service applies only events whose origin its contracts declare.
  options.require_contracts = true;
  options.fetch_wait = options_.consumer_fetch_wait;
  options.fetch_min_bytes = options_.consumer_fetch_min_bytes;
  options.thread_nice = options_.background_nice;
  for (const std::string& t : options.topics) consumed_topics_.push_back(t);
  consumers_.push_back(std::make_unique<events::IdempotentConsumer>(
      store_.get(), outbox_.get(), options_.kafka, std::move(options)));
  return *consumers_.back();
}

absl::Status ServiceRuntime::Start() {
  absl::Status s = host_->Start();
  if (!s.ok()) return s;
  StartPeriodicTasks();
  connector_ = std::thread([this] { Connect(); });
  return absl::OkStatus();
}

void ServiceRuntime::StartPeriodicTasks() {
  if (options_.dedupe_compaction_interval > absl::ZeroDuration()) {
    storage::Store* store = store_.get();
    AddPeriodicTask("expire dedupe records", options_.dedupe_compaction_interval, [store] {
      absl::Status s = store->CompactExpired();
      if (!s.ok()) logging::Warn("expiring dedupe records failed", {{"error", s}});
    });
  }
  for (auto& t : periodic_tasks_) {
    PeriodicTask* task = t.get();
    task->thread = std::thread([this, task] {
      util::RunAsBackgroundThread("triad-task", options_.background_nice);
      while (true) {
        {
          std::unique_lock<std::mutex> lock(tasks_mu_);
          if (tasks_cv_.wait_for(lock, absl::ToChronoMilliseconds(task->interval),
                                 [this] { return tasks_stopping_; })) {
            return;
          }
        }
        logging::Debug("periodic task", {{"task", task->name}});
        task->task();
      }
    });
  }
}

}  // namespace triad::server
