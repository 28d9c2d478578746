// Implements BackupDir (checkpoint, describe, BackupEngine) and RestoreBackup.
#include "common/storage/backup.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/utilities/checkpoint.h"

namespace triad::storage {
namespace {

namespace fs = std::filesystem;

constexpr char kCheckpointDir[] = ".checkpoint";

BackupRecord ToRecord(const rocksdb::BackupInfo& info) {
  BackupRecord r;
  r.id = info.backup_id;
  r.create_time = absl::FromUnixSeconds(info.timestamp);
  r.size_bytes = info.size;
  r.file_count = info.number_files;
  r.metadata = info.app_metadata;
  return r;
}

absl::Status NotFoundBackup(uint32_t id, const std::string& dir) {
  return absl::NotFoundError(absl::StrCat("no backup ", id, " in ", dir));
}

// IsEmptyDir is true for a directory with no entries (false when it does not exist).
bool IsEmptyDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec) && !ec;
}

}  // namespace

BackupDir::~BackupDir() = default;

absl::StatusOr<std::unique_ptr<BackupDir>> BackupDir::Open(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("backup directory is empty");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::unique_ptr<BackupDir> out(new BackupDir(dir));
  rocksdb::BackupEngine* engine = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngine::Open(rocksdb::BackupEngineOptions(dir),
                                                    rocksdb::Env::Default(), &engine);
  if (!s.ok()) return ToStatus(s);
  out->engine_.reset(engine);
  return out;
}

absl::StatusOr<std::unique_ptr<BackupDir>> BackupDir::OpenReadOnly(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no backup directory ", dir));
  }
  std::unique_ptr<BackupDir> out(new BackupDir(dir));
  rocksdb::BackupEngineReadOnly* engine = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(rocksdb::BackupEngineOptions(dir),
                                                            rocksdb::Env::Default(), &engine);
  if (!s.ok()) return ToStatus(s);
  out->read_only_.reset(engine);
  return out;
}

rocksdb::BackupEngineReadOnlyBase* BackupDir::reader() const {
  if (engine_) return engine_.get();
  return read_only_.get();
}

absl::StatusOr<BackupRecord> BackupDir::Create(Store& store, const DescribeFn& describe) {
  if (!engine_) return absl::FailedPreconditionError("backup directory opened read-only");
  if (store.db() == nullptr) return absl::FailedPreconditionError("store: closed");
  const fs::path checkpoint = fs::path(dir_) / kCheckpointDir;
  std::error_code ec;
  fs::remove_all(checkpoint, ec);  // left over by a crash
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot remove ", checkpoint.string(), ": ", ec.message()));
  }
  // 1. Freeze: hard links to the SST files and a copy of the live WAL; no flush.
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(store.db(), &raw);
  if (!s.ok()) return ToStatus(s);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  s = cp->CreateCheckpoint(checkpoint.string(), std::numeric_limits<uint64_t>::max());
  if (!s.ok()) return ToStatus(s);
  absl::StatusOr<BackupRecord> result = [&]() -> absl::StatusOr<BackupRecord> {
    // 2. Open the frozen copy and describe it.
    StoreOptions so;
    so.path = checkpoint.string();
    so.frozen_copy = true;
    so.block_cache_bytes = 8 << 20;
    absl::StatusOr<std::unique_ptr<Store>> frozen = Store::Open(so);
    if (!frozen.ok()) return frozen.status();
    absl::StatusOr<std::string> metadata =
        describe(**frozen, (*frozen)->db()->GetLatestSequenceNumber());
    if (!metadata.ok()) return metadata.status();
    // 3. Copy it into the backup directory (only the files no earlier backup has).
    rocksdb::CreateBackupOptions options;
    options.flush_before_backup = false;
    rocksdb::BackupID id = 0;
    rocksdb::IOStatus io =
        engine_->CreateNewBackupWithMetadata(options, (*frozen)->db(), *metadata, &id);
    absl::Status closed = (*frozen)->Close();
    if (!io.ok()) return ToStatus(io);
    if (!closed.ok()) return closed;
    return Get(id);
  }();
  fs::remove_all(checkpoint, ec);
  return result;
}

void BackupDir::Stop() {
  if (engine_) engine_->StopBackup();
}

absl::StatusOr<std::vector<BackupRecord>> BackupDir::List() const {
  std::vector<rocksdb::BackupInfo> infos;
  reader()->GetBackupInfo(&infos);
  std::vector<BackupRecord> out;
  out.reserve(infos.size());
  for (const rocksdb::BackupInfo& info : infos) out.push_back(ToRecord(info));
  std::sort(out.begin(), out.end(),
            [](const BackupRecord& a, const BackupRecord& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<BackupRecord> BackupDir::Get(uint32_t id) const {
  rocksdb::BackupInfo info;
  rocksdb::Status s = reader()->GetBackupInfo(id, &info);
  if (s.IsNotFound()) return NotFoundBackup(id, dir_);
  if (!s.ok()) return ToStatus(s);
  return ToRecord(info);
}

absl::Status BackupDir::Delete(uint32_t id) {
  if (!engine_) return absl::FailedPreconditionError("backup directory opened read-only");
  absl::StatusOr<BackupRecord> existing = Get(id);
  if (!existing.ok()) return existing.status();
  return ToStatus(engine_->DeleteBackup(id));
}

absl::Status BackupDir::PurgeOld(uint32_t keep_last) {
  if (keep_last == 0) return absl::OkStatus();
  if (!engine_) return absl::FailedPreconditionError("backup directory opened read-only");
  return ToStatus(engine_->PurgeOldBackups(keep_last));
}

absl::Status BackupDir::Verify(uint32_t id) const {
  absl::StatusOr<BackupRecord> existing = Get(id);
  if (!existing.ok()) return existing.status();
  rocksdb::IOStatus s = reader()->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("backup ", id, " is damaged: ", s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status BackupDir::RestoreTo(uint32_t id, const std::string& db_dir) const {
  absl::StatusOr<BackupRecord> existing = Get(id);
  if (!existing.ok()) return existing.status();
  std::error_code ec;
  if (fs::exists(db_dir, ec) && !IsEmptyDir(db_dir)) {
    return absl::FailedPreconditionError(absl::StrCat(db_dir, " is not empty"));
  }
  return ToStatus(reader()->RestoreDBFromBackup(rocksdb::RestoreOptions(), id, db_dir, db_dir));
}

bool IsLocked(const std::string& db_dir) {
  const std::string lock_file = (fs::path(db_dir) / "LOCK").string();
  std::error_code ec;
  if (!fs::exists(lock_file, ec)) return false;
  rocksdb::Env* env = rocksdb::Env::Default();
  rocksdb::FileLock* lock = nullptr;
  rocksdb::Status s = env->LockFile(lock_file, &lock);
  if (!s.ok()) return true;
  env->UnlockFile(lock).PermitUncheckedError();
  return false;
}

absl::StatusOr<RestoreOutcome> RestoreBackup(const std::string& backup_dir, uint32_t backup_id,
                                             const std::string& data_dir, bool force) {
  if (data_dir.empty()) return absl::InvalidArgumentError("--data_dir is required");
  absl::StatusOr<std::unique_ptr<BackupDir>> dir = BackupDir::OpenReadOnly(backup_dir);
  if (!dir.ok()) return dir.status();
  RestoreOutcome outcome;
  if (backup_id == 0) {
    absl::StatusOr<std::vector<BackupRecord>> all = (*dir)->List();
    if (!all.ok()) return all.status();
    if (all->empty()) return absl::NotFoundError(absl::StrCat("no backups in ", backup_dir));
    backup_id = all->back().id;
  }
  absl::StatusOr<BackupRecord> record = (*dir)->Get(backup_id);
  if (!record.ok()) return record.status();
  outcome.backup_id = backup_id;

  fs::path target = fs::absolute(fs::path(data_dir)).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "x/" is "x"
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  if (exists && !fs::is_directory(target, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(target.string(), " is not a directory"));
  }
  if (exists && IsLocked(target.string())) {
    return absl::FailedPreconditionError(absl::StrCat(
        target.string(), " is in use (its RocksDB LOCK is held): stop the service first"));
  }
  const bool empty = !exists || IsEmptyDir(target);
  if (!empty && !force) {
    return absl::FailedPreconditionError(
        absl::StrCat(target.string(), " is not empty; --force moves it aside before restoring"));
  }
  // Restore next to the target, then swap it into place.
  const fs::path staging = target.string() + ".restoring";
  fs::remove_all(staging, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot remove ", staging.string(), ": ", ec.message()));
  }
  absl::Status s = (*dir)->RestoreTo(backup_id, staging.string());
  if (!s.ok()) {
    fs::remove_all(staging, ec);
    return s;
  }
  if (exists && !empty) {
    const fs::path aside =
        absl::StrCat(target.string(), ".replaced-",
                     absl::FormatTime("%Y%m%dT%H%M%S%E3fZ", absl::Now(), absl::UTCTimeZone()));
    fs::rename(target, aside, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat("cannot move ", target.string(), " to ",
                                                        aside.string(), ": ", ec.message()));
    }
    outcome.moved_aside = aside.string();
  } else if (exists) {
    fs::remove(target, ec);  // empty
  }
  fs::rename(staging, target, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot move the restored ", staging.string(), " to ",
                                            target.string(), ": ", ec.message()));
  }
  return outcome;
}

}  // namespace triad::storage
