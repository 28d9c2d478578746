// Unit tests of backups (no Kafka, real RocksDB on disk): storage::BackupDir (a consistent
// backup of a store that keeps taking writes, its metadata, verify, delete, purge) and
// RestoreBackup (refuses a locked or non-empty target, --force moves the old one aside).
#include "common/storage/backup.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::storage {
namespace {

namespace fs = std::filesystem;
using triad::testing::PollUntil;
using triad::testing::TempDir;

std::unique_ptr<Store> OpenStore(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.column_families = {"state"};
  auto s = Store::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

void Put(Store& store, const std::string& key, const std::string& value) {
  rocksdb::WriteBatch batch;
  batch.Put(store.Cf("state"), key, value);
  ASSERT_TRUE(store.Write(batch).ok());
}

int CountKeys(const Store& store) {
  int n = 0;
  EXPECT_TRUE(store
                  .ScanPrefix("state", "",
                              [&](std::string_view, std::string_view) {
                                ++n;
                                return true;
                              })
                  .ok());
  return n;
}

// Describe records the number of keys the frozen copy holds.
DescribeFn CountingDescribe() {
  return [](const Store& frozen, uint64_t sequence) -> absl::StatusOr<std::string> {
    return absl::StrCat(CountKeys(frozen), " keys at ", sequence);
  };
}

TEST(BackupDirTest, ABackupIsTheStoreAsFrozenWhileWritesGoOn) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  for (int i = 0; i < 500; ++i) Put(*store, absl::StrCat("before-", i), "v");
  auto backups = BackupDir::Open(dir.Sub("backups"));
  ASSERT_TRUE(backups.ok()) << backups.status();

  // A writer keeps writing to the live store during the backup.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      rocksdb::WriteBatch batch;
      batch.Put(store->Cf("state"), absl::StrCat("during-", i), "v");
      if (store->Write(batch).ok()) ++written;
    }
  });
  ASSERT_TRUE(PollUntil([&] { return written.load() > 0; }, absl::Seconds(10)));
  int frozen_keys = -1;
  uint64_t frozen_sequence = 0;
  auto record = (*backups)->Create(
      *store, [&](const Store& frozen, uint64_t sequence) -> absl::StatusOr<std::string> {
        frozen_keys = CountKeys(frozen);
        frozen_sequence = sequence;
        // The store is frozen for the backup, yet the live store keeps taking writes.
        const int at_freeze = written.load();
        EXPECT_TRUE(PollUntil([&] { return written.load() >= at_freeze + 200; }, absl::Seconds(20)))
            << "writes stalled during the backup";
        return absl::StrCat(frozen_keys, " keys at ", sequence);
      });
  stop = true;
  writer.join();
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_GE(frozen_keys, 500);
  EXPECT_GT(CountKeys(*store), frozen_keys) << "the writes during the backup are in the store";
  EXPECT_EQ(record->metadata, absl::StrCat(frozen_keys, " keys at ", frozen_sequence));
  EXPECT_GT(record->size_bytes, 0u);
  EXPECT_GT(record->file_count, 0u);
  EXPECT_TRUE((*backups)->Verify(record->id).ok());
  EXPECT_FALSE(fs::exists(fs::path(dir.Sub("backups")) / ".checkpoint"));

  // Restored, it holds exactly what the metadata described.
  auto restored = RestoreBackup(dir.Sub("backups"), record->id, dir.Sub("restored"), false);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->backup_id, record->id);
  EXPECT_TRUE(restored->moved_aside.empty());
  auto copy = OpenStore(dir.Sub("restored"));
  EXPECT_EQ(CountKeys(*copy), frozen_keys);
  EXPECT_EQ(copy->db()->GetLatestSequenceNumber(), frozen_sequence);
  EXPECT_TRUE(copy->Get("state", "before-499").ok());
}

TEST(BackupDirTest, ListDeletePurgeAndNotFound) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  auto backups = BackupDir::Open(dir.Sub("backups"));
  ASSERT_TRUE(backups.ok());
  std::vector<uint32_t> ids;
  for (int i = 0; i < 4; ++i) {
    Put(*store, absl::StrCat("k", i), "v");
    auto r = (*backups)->Create(*store, CountingDescribe());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->metadata.substr(0, r->metadata.find(' ')), absl::StrCat(i + 1));
    ids.push_back(r->id);
  }
  auto list = (*backups)->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ(list->front().id, ids[0]);
  EXPECT_EQ(list->back().id, ids[3]);

  ASSERT_TRUE((*backups)->Delete(ids[1]).ok());
  EXPECT_TRUE(absl::IsNotFound((*backups)->Delete(ids[1])));
  EXPECT_TRUE(absl::IsNotFound((*backups)->Get(ids[1]).status()));
  EXPECT_TRUE(absl::IsNotFound((*backups)->Verify(999)));
  ASSERT_TRUE((*backups)->PurgeOld(2).ok());
  list = (*backups)->List();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, ids[2]);
  EXPECT_EQ((*list)[1].id, ids[3]);
  ASSERT_TRUE((*backups)->PurgeOld(0).ok());  // keeps all
  EXPECT_EQ((*backups)->List()->size(), 2u);

  // A read-only handle sees the same and cannot change anything.
  auto ro = BackupDir::OpenReadOnly(dir.Sub("backups"));
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->List()->size(), 2u);
  EXPECT_TRUE(absl::IsFailedPrecondition((*ro)->Delete(ids[2])));
  EXPECT_TRUE(absl::IsNotFound(BackupDir::OpenReadOnly(dir.Sub("nothing")).status()));
}

TEST(BackupDirTest, VerifyFindsADamagedFile) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  for (int i = 0; i < 100; ++i) Put(*store, absl::StrCat("k", i), std::string(100, 'x'));
  ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), store->Cf("state")).ok());  // an SST
  auto backups = BackupDir::Open(dir.Sub("backups"));
  auto r = (*backups)->Create(*store, CountingDescribe());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*backups)->Verify(r->id).ok());
  int damaged = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.Sub("backups"))) {
    if (e.path().extension() != ".sst") continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x5a');
    f.put('\xa5');
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  absl::Status s = (*backups)->Verify(r->id);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST(RestoreBackupTest, RefusesALockedOrNonEmptyTargetAndForceMovesTheOldOneAside) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("db"));
  Put(*store, "in-backup", "v");
  auto backups = BackupDir::Open(dir.Sub("backups"));
  auto r = (*backups)->Create(*store, CountingDescribe());
  ASSERT_TRUE(r.ok()) << r.status();
  Put(*store, "after-backup", "v");

  // The live database is locked: refused even with --force.
  EXPECT_TRUE(IsLocked(dir.Sub("db")));
  auto refused = RestoreBackup(dir.Sub("backups"), 0, dir.Sub("db"), /*force=*/true);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("in use"), std::string::npos);
  ASSERT_TRUE(store->Close().ok());
  EXPECT_FALSE(IsLocked(dir.Sub("db")));

  // Not empty: refused without --force, and nothing is touched.
  refused = RestoreBackup(dir.Sub("backups"), 0, dir.Sub("db"), /*force=*/false);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("--force"), std::string::npos);
  EXPECT_TRUE(OpenStore(dir.Sub("db"))->Get("state", "after-backup").ok());

  // An unknown backup id.
  EXPECT_TRUE(
      absl::IsNotFound(RestoreBackup(dir.Sub("backups"), 77, dir.Sub("db"), true).status()));

  // --force: the old directory is moved aside, whole; the backup (0 = newest) takes its place.
  auto done = RestoreBackup(dir.Sub("backups"), 0, dir.Sub("db"), /*force=*/true);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->backup_id, r->id);
  ASSERT_FALSE(done->moved_aside.empty());
  EXPECT_FALSE(fs::exists(dir.Sub("db") + ".restoring"));
  auto restored = OpenStore(dir.Sub("db"));
  EXPECT_TRUE(restored->Get("state", "in-backup").ok());
  EXPECT_FALSE(restored->Get("state", "after-backup").ok());
  auto old = OpenStore(done->moved_aside);
  EXPECT_TRUE(old->Get("state", "after-backup").ok());

  // An empty target directory is fine without --force.
  fs::create_directories(dir.Sub("empty"));
  EXPECT_TRUE(RestoreBackup(dir.Sub("backups"), r->id, dir.Sub("empty"), false).ok());
  EXPECT_TRUE(OpenStore(dir.Sub("empty"))->Get("state", "in-backup").ok());
}

}  // namespace
}  // namespace triad::storage
