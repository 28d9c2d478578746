// Implements ServiceRuntime: store, outbox relay, consumers, topics and host, wired in order.
#include "common/server/runtime.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "common/util/idempotency.h"

namespace triad::server {

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::CreateFromFlags(
    RuntimeOptions options) {
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("--data_dir (or TRIAD_DATA_DIR) is required");
  }
  options.kafka = events::KafkaConfigFromFlags();
  options.server = ServerOptionsFromFlags(options.service);
  options.topic_partitions = absl::GetFlag(FLAGS_topic_partitions);
  options.block_cache_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  options.consumer_group = absl::GetFlag(FLAGS_consumer_group);
  return Create(std::move(options));
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(RuntimeOptions options) {
  if (options.service.empty()) return absl::InvalidArgumentError("runtime: service is empty");
  for (const std::string& t : options.topics) {
    absl::Status s = events::ValidateTopicName(t);
    if (!s.ok()) return s;
  }
  if (options.server.service_name.empty()) options.server.service_name = options.service;
  if (options.consumer_group.empty())
    options.consumer_group = absl::StrCat("triad-", options.service);
  std::unique_ptr<ServiceRuntime> rt(new ServiceRuntime(std::move(options)));
  storage::StoreOptions so;
  so.path = rt->options_.data_dir;
  so.column_families = rt->options_.column_families;
  for (const char* cf :
       {events::Outbox::kColumnFamily, events::IdempotentConsumer::kInboxColumnFamily,
        util::kRequestsColumnFamily}) {
    if (std::find(so.column_families.begin(), so.column_families.end(), cf) ==
        so.column_families.end()) {
      so.column_families.push_back(cf);
    }
  }
  so.block_cache_bytes = rt->options_.block_cache_bytes;
  so.sync_writes = rt->options_.sync_writes;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(so);
  if (!store.ok()) return store.status();
  rt->store_ = std::move(*store);
  events::OutboxOptions oo;
  oo.source = absl::StrCat("triad/", rt->options_.service);
  oo.kafka = rt->options_.kafka;
  absl::StatusOr<std::unique_ptr<events::Outbox>> outbox =
      events::Outbox::Create(rt->store_.get(), std::move(oo));
  if (!outbox.ok()) return outbox.status();
  rt->outbox_ = std::move(*outbox);
  rt->host_ = std::make_unique<ServiceHost>(rt->options_.server);
  ServiceRuntime* self = rt.get();
  rt->host_->OnStop("stop periodic tasks", [self] { self->StopPeriodicTasks(); });
  rt->host_->OnStop("stop consumers and commit offsets", [self] {
    for (auto& c : self->consumers_) c->Stop();
  });
  rt->host_->OnStop("flush the outbox relay", [self] { self->outbox_->Stop(absl::Seconds(5)); });
  rt->host_->OnStop("close the store", [self] {
    absl::Status s = self->store_->Close();
    if (!s.ok()) logging::Error("closing the store", {{"error", s}});
  });
  return rt;
}

ServiceRuntime::~ServiceRuntime() {
  if (host_) host_->Shutdown();
  StopPeriodicTasks();
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
  for (const std::string& t : options.topics) consumed_topics_.push_back(t);
  consumers_.push_back(std::make_unique<events::IdempotentConsumer>(
      store_.get(), outbox_.get(), options_.kafka, std::move(options)));
  return *consumers_.back();
}

absl::Status ServiceRuntime::Start() {
  std::vector<std::string> topics;
  for (const auto& list : {options_.topics, consumed_topics_}) {
    for (const std::string& t : list) {
      for (const std::string& name : {t, events::DlqTopic(t)}) {
        if (std::find(topics.begin(), topics.end(), name) == topics.end()) topics.push_back(name);
      }
    }
  }
  absl::Status s = events::EnsureTopics(options_.kafka, topics, options_.topic_partitions);
  if (!s.ok()) return s;
  if (s = outbox_->Start(); !s.ok()) return s;
  for (auto& c : consumers_) {
    if (s = c->Start(); !s.ok()) return s;
  }
  if (s = host_->Start(); !s.ok()) return s;
  for (auto& t : periodic_tasks_) {
    PeriodicTask* task = t.get();
    task->thread = std::thread([this, task] {
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
  return absl::OkStatus();
}

}  // namespace triad::server
