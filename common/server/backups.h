// Backups: the online backups of a service's store as the runtime runs them — one at a time,
// each on a thread of its own while the service keeps serving, into the service's backup
// directory (storage::BackupDir: RocksDB BackupEngine, incremental), with the metadata an
// operator needs to know what a restore brings back: the service, the time, the store's
// sequence number, the consumers' stored offsets (where a restored service resumes reading)
// and the outbox rows not yet published (which it publishes again). Exports
// triad_backup_last_success_timestamp_seconds, triad_backup_duration_seconds and
// triad_backup_failures_total.
#ifndef TRIAD_COMMON_SERVER_BACKUPS_H_
#define TRIAD_COMMON_SERVER_BACKUPS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/backup.h"
#include "common/storage/store.h"
#include "triad/admin/v1/admin_service.pb.h"

namespace triad::server {

// BackupFromRecord is the Backup a backup directory's record describes (its metadata is the
// Backup written as JSON when it was taken). DATA_LOSS when the metadata does not decode.
absl::StatusOr<admin::v1::Backup> BackupFromRecord(const storage::BackupRecord& record);

// OffsetsKey is the key of a stored offset in Backup.consumer_offsets: "topic/partition" for
// `default_group`, "group:topic/partition" for any other group.
std::string OffsetsKey(const std::string& default_group, const std::string& group,
                       const std::string& topic, int32_t partition);

// BackupJob is one backup, running or done.
class BackupJob {
 public:
  explicit BackupJob(std::string request_id) : request_id_(std::move(request_id)) {}

  // Wait blocks until the backup is done (its result), or `deadline` passes or `cancelled`
  // (checked every 100 ms when given) returns true (nullopt).
  std::optional<absl::StatusOr<admin::v1::Backup>> Wait(
      absl::Time deadline, const std::function<bool()>& cancelled = nullptr);

  const std::string& request_id() const { return request_id_; }

  // Finish sets the result and wakes the waiters.
  void Finish(absl::StatusOr<admin::v1::Backup> result);

 private:
  const std::string request_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<absl::StatusOr<admin::v1::Backup>> result_;
};

struct BackupsOptions {
  // The service name recorded in each backup.
  std::string service;
  // The backup directory (storage::BackupDir).
  std::string backup_dir;
  // The consumer group whose offsets are keyed "topic/partition" (see OffsetsKey).
  std::string consumer_group;
  // Called on the backup's thread once the store is frozen, before it is copied (tests hold
  // a backup there to act while it runs). Optional.
  std::function<void()> on_frozen;
};

class Backups {
 public:
  Backups(storage::Store* store, BackupsOptions options);
  ~Backups();

  // Start starts a backup on a thread of its own and returns its job. ABORTED when a backup is
  // running already, unless it was started with the same non-empty request_id: then that job
  // is returned. Afterwards it keeps the `keep_last` newest backups (0 keeps all), then runs
  // `on_success` (on the backup's thread, also when no one waits any more). UNAVAILABLE once
  // stopped.
  absl::StatusOr<std::shared_ptr<BackupJob>> Start(
      std::string request_id, uint32_t keep_last,
      std::function<void(const admin::v1::Backup&)> on_success = nullptr);

  // List returns every backup, newest first. It never waits for a running backup.
  absl::StatusOr<std::vector<admin::v1::Backup>> List();

  // Delete removes one backup: NOT_FOUND when there is none with that id, ABORTED while a
  // backup is running.
  absl::Status Delete(uint32_t backup_id);

  // Stop cancels a running backup and waits for its thread. Idempotent.
  void Stop();

  const BackupsOptions& options() const { return options_; }

 private:
  absl::Status EnsureOpenLocked(bool create);
  absl::Status RefreshLocked();
  absl::StatusOr<std::string> Describe(const storage::Store& frozen, uint64_t sequence,
                                       const std::string& request_id) const;
  void Run(std::shared_ptr<BackupJob> job, uint32_t keep_last,
           std::function<void(const admin::v1::Backup&)> on_success);

  storage::Store* store_;
  BackupsOptions options_;
  std::mutex mu_;
  std::unique_ptr<storage::BackupDir> dir_;
  // Newest first; refreshed after every change, so List never touches a busy engine.
  std::vector<admin::v1::Backup> cache_;
  std::shared_ptr<BackupJob> running_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_BACKUPS_H_
