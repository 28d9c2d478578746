// Implements Backups: one backup at a time on its own thread, metadata read from the frozen
// copy, keep_last purge, a cached listing, metrics.
#include "common/server/backups.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/events/consumer_offsets.h"
#include "common/events/outbox.h"
#include "common/server/metrics.h"
#include "common/util/proto_time.h"
#include "google/protobuf/util/json_util.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace triad::server {
namespace {

struct BackupMetrics {
  prometheus::Gauge& last_success;
  prometheus::Histogram& duration;
  prometheus::Counter& failures;
};

BackupMetrics& Metrics() {
  static BackupMetrics* m = [] {
    auto& last = prometheus::BuildGauge()
                     .Name("triad_backup_last_success_timestamp_seconds")
                     .Help("Unix time of the last successful backup of the store.")
                     .Register(metrics::Registry());
    auto& duration = prometheus::BuildHistogram()
                         .Name("triad_backup_duration_seconds")
                         .Help("Duration of successful backups of the store.")
                         .Register(metrics::Registry());
    auto& failures = prometheus::BuildCounter()
                         .Name("triad_backup_failures_total")
                         .Help("Backups of the store that failed.")
                         .Register(metrics::Registry());
    return new BackupMetrics{
        last.Add({}),
        duration.Add({}, prometheus::Histogram::BucketBoundaries{0.1, 0.5, 1, 2.5, 5, 10, 30, 60,
                                                                 120, 300, 600, 1800}),
        failures.Add({})};
  }();
  return *m;
}

}  // namespace

absl::StatusOr<admin::v1::Backup> BackupFromRecord(const storage::BackupRecord& record) {
  admin::v1::Backup b;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!record.metadata.empty() &&
      !google::protobuf::util::JsonStringToMessage(record.metadata, &b, options).ok()) {
    return absl::DataLossError(
        absl::StrCat("backup ", record.id, ": its metadata does not decode"));
  }
  b.set_backup_id(record.id);
  b.set_size_bytes(record.size_bytes);
  b.set_file_count(record.file_count);
  if (!b.has_create_time()) *b.mutable_create_time() = util::ToProto(record.create_time);
  return b;
}

std::string OffsetsKey(const std::string& default_group, const std::string& group,
                       const std::string& topic, int32_t partition) {
  if (group == default_group) return absl::StrCat(topic, "/", partition);
  return absl::StrCat(group, ":", topic, "/", partition);
}

std::optional<absl::StatusOr<admin::v1::Backup>> BackupJob::Wait(
    absl::Time deadline, const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!result_.has_value()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || (cancelled && cancelled())) return std::nullopt;
    cv_.wait_for(lock, absl::ToChronoMilliseconds(std::min(left, absl::Milliseconds(100))) +
                           std::chrono::milliseconds(1));
  }
  return result_;
}

void BackupJob::Finish(absl::StatusOr<admin::v1::Backup> result) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(result);
  }
  cv_.notify_all();
}

Backups::Backups(storage::Store* store, BackupsOptions options)
    : store_(store), options_(std::move(options)) {
  Metrics();  // registered (at zero) before the first backup
}

Backups::~Backups() { Stop(); }

absl::Status Backups::EnsureOpenLocked(bool create) {
  if (dir_) return absl::OkStatus();
  if (options_.backup_dir.empty()) {
    return absl::FailedPreconditionError("no backup directory is configured (--backup_dir)");
  }
  if (!create) {
    std::error_code ec;
    if (!std::filesystem::exists(options_.backup_dir, ec)) return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<storage::BackupDir>> dir =
      storage::BackupDir::Open(options_.backup_dir);
  if (!dir.ok()) return dir.status();
  dir_ = std::move(*dir);
  return RefreshLocked();
}

absl::Status Backups::RefreshLocked() {
  absl::StatusOr<std::vector<storage::BackupRecord>> records = dir_->List();
  if (!records.ok()) return records.status();
  std::vector<admin::v1::Backup> list;
  for (auto it = records->rbegin(); it != records->rend(); ++it) {
    absl::StatusOr<admin::v1::Backup> b = BackupFromRecord(*it);
    if (!b.ok()) {
      // Listed with what the directory knows, so it can still be seen and deleted.
      logging::Warn("backup metadata does not decode", {{"backup_id", it->id}});
      admin::v1::Backup bare;
      bare.set_backup_id(it->id);
      bare.set_size_bytes(it->size_bytes);
      bare.set_file_count(it->file_count);
      *bare.mutable_create_time() = util::ToProto(it->create_time);
      list.push_back(std::move(bare));
      continue;
    }
    list.push_back(*std::move(b));
  }
  cache_ = std::move(list);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<BackupJob>> Backups::Start(
    std::string request_id, uint32_t keep_last,
    std::function<void(const admin::v1::Backup&)> on_success) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return absl::UnavailableError("the service is shutting down");
  if (running_) {
    if (!request_id.empty() && running_->request_id() == request_id) return running_;
    return absl::AbortedError("a backup is running already; retry once it has finished");
  }
  if (absl::Status s = EnsureOpenLocked(/*create=*/true); !s.ok()) return s;
  if (thread_.joinable()) thread_.join();  // the previous backup's thread, finished
  running_ = std::make_shared<BackupJob>(std::move(request_id));
  thread_ = std::thread([this, job = running_, keep_last, on_success = std::move(on_success)] {
    Run(job, keep_last, on_success);
  });
  return running_;
}

absl::StatusOr<std::string> Backups::Describe(const storage::Store& frozen, uint64_t sequence,
                                              const std::string& request_id) const {
  if (options_.on_frozen) options_.on_frozen();
  admin::v1::Backup b;
  b.set_service(options_.service);
  *b.mutable_create_time() = util::ToProto(absl::Now());
  b.set_sequence(sequence);
  b.set_request_id(request_id);
  absl::StatusOr<std::vector<events::StoredOffset>> offsets = events::ReadStoredOffsets(frozen);
  if (!offsets.ok()) return offsets.status();
  for (const events::StoredOffset& o : *offsets) {
    (*b.mutable_consumer_offsets())[OffsetsKey(options_.consumer_group, o.group, o.topic,
                                               o.partition)] = o.next_offset;
  }
  uint64_t pending = 0;
  if (frozen.Cf(events::Outbox::kColumnFamily) != nullptr) {
    absl::Status s = frozen.ScanPrefix(events::Outbox::kColumnFamily, "",
                                       [&](std::string_view, std::string_view) {
                                         ++pending;
                                         return true;
                                       });
    if (!s.ok()) return s;
  }
  b.set_outbox_pending(pending);
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(b, &json).ok()) {
    return absl::InternalError("backup metadata does not encode as JSON");
  }
  return json;
}

void Backups::Run(std::shared_ptr<BackupJob> job, uint32_t keep_last,
                  std::function<void(const admin::v1::Backup&)> on_success) {
  const absl::Time started = absl::Now();
  absl::StatusOr<admin::v1::Backup> result = [&]() -> absl::StatusOr<admin::v1::Backup> {
    absl::StatusOr<storage::BackupRecord> record =
        dir_->Create(*store_, [&](const storage::Store& frozen, uint64_t sequence) {
          return Describe(frozen, sequence, job->request_id());
        });
    if (!record.ok()) return record.status();
    return BackupFromRecord(*record);
  }();
  const absl::Duration took = absl::Now() - started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::Status purged = result.ok() ? dir_->PurgeOld(keep_last) : absl::OkStatus();
    if (!purged.ok()) logging::Warn("purging old backups failed", {{"error", purged}});
    absl::Status refreshed = RefreshLocked();
    if (!refreshed.ok()) logging::Warn("listing backups failed", {{"error", refreshed}});
  }
  if (result.ok()) {
    Metrics().last_success.Set(static_cast<double>(absl::ToUnixSeconds(absl::Now())));
    Metrics().duration.Observe(absl::ToDoubleSeconds(took));
    logging::Info("backup taken",
                  {{"backup_id", result->backup_id()},
                   {"request_id", job->request_id()},
                   {"sequence", static_cast<int64_t>(result->sequence())},
                   {"size_bytes", static_cast<int64_t>(result->size_bytes())},
                   {"outbox_pending", static_cast<int64_t>(result->outbox_pending())},
                   {"duration_ms", absl::ToInt64Milliseconds(took)}});
    if (on_success) on_success(*result);
  } else {
    Metrics().failures.Increment();
    logging::Error("backup failed",
                   {{"request_id", job->request_id()}, {"error", result.status()}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.reset();
  }
  job->Finish(std::move(result));
}

absl::StatusOr<std::vector<admin::v1::Backup>> Backups::List() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!running_) {
    if (absl::Status s = EnsureOpenLocked(/*create=*/false); !s.ok()) return s;
  }
  return cache_;
}

absl::Status Backups::Delete(uint32_t backup_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return absl::AbortedError("a backup is running; retry once it has finished");
  if (absl::Status s = EnsureOpenLocked(/*create=*/false); !s.ok()) return s;
  if (!dir_) return absl::NotFoundError(absl::StrCat("no backup ", backup_id));
  absl::Status s = dir_->Delete(backup_id);
  if (!s.ok()) return s;
  logging::Info("backup deleted", {{"backup_id", backup_id}});
  return RefreshLocked();
}

void Backups::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (running_ && dir_) dir_->Stop();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace triad::server
