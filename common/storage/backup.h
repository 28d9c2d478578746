// Backups of a Store in a RocksDB BackupEngine directory (incremental: SST files shared
// between backups are copied once; every file checksummed), and their restore.
//
// A backup is consistent and online: the store is first frozen by a RocksDB checkpoint (hard
// links to the live SST files plus a copy of the write-ahead log; no memtable is flushed), the
// frozen copy is opened on its own to read the metadata recorded with the backup (so the
// metadata describes exactly the backed-up state), and the BackupEngine copies it. Writes to
// the live store go on meanwhile. The checkpoint is made in `<backup_dir>/.checkpoint` (hard
// links when the backup directory is on the data directory's file system, a copy otherwise).
#ifndef TRIAD_COMMON_STORAGE_BACKUP_H_
#define TRIAD_COMMON_STORAGE_BACKUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/store.h"
#include "rocksdb/utilities/backup_engine.h"

namespace triad::storage {

// BackupRecord is one backup of a backup directory.
struct BackupRecord {
  uint32_t id = 0;
  absl::Time create_time;
  uint64_t size_bytes = 0;
  uint32_t file_count = 0;
  // What the DescribeFn returned when the backup was taken.
  std::string metadata;
};

// DescribeFn returns the metadata to keep with a backup, read from the frozen copy of the
// store being backed up (`sequence` is its last sequence number). At most 1 MB.
using DescribeFn =
    std::function<absl::StatusOr<std::string>(const Store& frozen, uint64_t sequence)>;

class BackupDir {
 public:
  // Open opens (creating it when missing) a backup directory for backups and deletions.
  static absl::StatusOr<std::unique_ptr<BackupDir>> Open(const std::string& dir);
  // OpenReadOnly opens an existing backup directory to list, verify and restore.
  static absl::StatusOr<std::unique_ptr<BackupDir>> OpenReadOnly(const std::string& dir);
  ~BackupDir();

  // Create backs up `store` (see the file comment) with the metadata `describe` returns.
  absl::StatusOr<BackupRecord> Create(Store& store, const DescribeFn& describe);

  // Stop makes a Create in progress on another thread fail soon (for shutdown).
  void Stop();

  // List returns the backups, oldest (lowest id) first.
  absl::StatusOr<std::vector<BackupRecord>> List() const;

  // Get returns one backup; NOT_FOUND when there is none with that id.
  absl::StatusOr<BackupRecord> Get(uint32_t id) const;

  // Delete removes a backup (the files no other backup shares); NOT_FOUND when absent.
  absl::Status Delete(uint32_t id);

  // PurgeOld keeps the `keep_last` newest backups and removes the others (0 keeps all).
  absl::Status PurgeOld(uint32_t keep_last);

  // Verify checks that every file of backup `id` is present with its size and checksum.
  absl::Status Verify(uint32_t id) const;

  // RestoreTo writes backup `id` as a database into `db_dir`, which must not exist or be
  // empty (see RestoreBackup for the checks a tool needs).
  absl::Status RestoreTo(uint32_t id, const std::string& db_dir) const;

  const std::string& dir() const { return dir_; }

 private:
  explicit BackupDir(std::string dir) : dir_(std::move(dir)) {}
  rocksdb::BackupEngineReadOnlyBase* reader() const;

  std::string dir_;
  std::unique_ptr<rocksdb::BackupEngine> engine_;
  std::unique_ptr<rocksdb::BackupEngineReadOnly> read_only_;
};

// RestoreOutcome says what RestoreBackup did.
struct RestoreOutcome {
  uint32_t backup_id = 0;
  // Where the directory that was in the way went ("" when there was none).
  std::string moved_aside;
};

// RestoreBackup restores backup `backup_id` (0: the newest) of `backup_dir` into `data_dir`.
// It refuses (FAILED_PRECONDITION) a data directory whose database is open (its RocksDB LOCK
// is held, e.g. by a running service) and a non-empty data directory unless `force`, which
// moves the old directory aside to `<data_dir>.replaced-<UTC time>` (never deletes it). The
// backup is restored into `<data_dir>.restoring` first and renamed into place, so a failed
// restore leaves no half-written data directory.
absl::StatusOr<RestoreOutcome> RestoreBackup(const std::string& backup_dir, uint32_t backup_id,
                                             const std::string& data_dir, bool force);

// IsLocked is true when the RocksDB database in `db_dir` is open (by this or another
// process).
bool IsLocked(const std::string& db_dir);

}  // namespace triad::storage

#endif  // TRIAD_COMMON_STORAGE_BACKUP_H_
