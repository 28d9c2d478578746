// Tests of group commit (common/storage/durability.h) on a real RocksDB database whose file
// system counts — and can hold back or fail — the syncs of the write-ahead log.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/storage/durability.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/testing/test_env.h"

namespace triad::storage {
namespace {

// WalSyncs counts the syncs of WAL files (*.log); a sync can be held at a gate (until opened)
// or made to fail.
struct WalSyncs {
  std::atomic<int> count{0};
  std::atomic<bool> fail{false};
  std::mutex mu;
  std::condition_variable cv;
  bool gate_closed = false;
  int held = 0;  // syncs waiting at the closed gate

  rocksdb::IOStatus OnSync() {
    {
      std::unique_lock<std::mutex> lock(mu);
      ++held;
      cv.notify_all();
      cv.wait(lock, [&] { return !gate_closed; });
      --held;
    }
    ++count;
    if (fail) return rocksdb::IOStatus::IOError("injected WAL sync failure");
    return rocksdb::IOStatus::OK();
  }
  void CloseGate() {
    std::lock_guard<std::mutex> lock(mu);
    gate_closed = true;
  }
  void OpenGate() {
    std::lock_guard<std::mutex> lock(mu);
    gate_closed = false;
    cv.notify_all();
  }
  int Held() {
    std::lock_guard<std::mutex> lock(mu);
    return held;
  }
};

class CountingWal : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CountingWal(std::unique_ptr<rocksdb::FSWritableFile> f, WalSyncs* syncs)
      : FSWritableFileOwnerWrapper(std::move(f)), syncs_(syncs) {}
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    rocksdb::IOStatus s = syncs_->OnSync();
    return s.ok() ? target()->Sync(o, d) : s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    rocksdb::IOStatus s = syncs_->OnSync();
    return s.ok() ? target()->Fsync(o, d) : s;
  }

 private:
  WalSyncs* syncs_;
};

class CountingFs : public rocksdb::FileSystemWrapper {
 public:
  CountingFs(std::shared_ptr<rocksdb::FileSystem> base, WalSyncs* syncs)
      : FileSystemWrapper(std::move(base)), syncs_(syncs) {}
  const char* Name() const override { return "CountingFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* d) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, o, result, d);
    if (s.ok() && absl::EndsWith(name, ".log")) {
      *result = std::make_unique<CountingWal>(std::move(*result), syncs_);
    }
    return s;
  }

 private:
  WalSyncs* syncs_;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = rocksdb::NewCompositeEnv(
        std::make_shared<CountingFs>(rocksdb::FileSystem::Default(), &syncs_));
  }
  std::unique_ptr<Store> Open(bool sync_writes) {
    StoreOptions o;
    o.path = dir_.path();
    o.column_families = {"items"};
    o.block_cache_bytes = 1 << 20;
    o.sync_writes = sync_writes;
    o.env = env_.get();
    auto store = Store::Open(o);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  absl::Status Put(Store& store, const std::string& key) {
    rocksdb::WriteBatch batch;
    batch.Put(store.Cf("items"), key, "v");
    return store.Write(batch);
  }

  testing::TempDir dir_;
  WalSyncs syncs_;
  std::unique_ptr<rocksdb::Env> env_;
};

TEST_F(GroupCommitTest, WriteDoesNotSyncAndAwaitDurableSyncsOnce) {
  auto store = Open(/*sync_writes=*/true);
  const int before = syncs_.count;
  ASSERT_TRUE(Put(*store, "a").ok());
  EXPECT_EQ(syncs_.count, before) << "Write must not fsync (it may run under a domain lock)";
  EXPECT_TRUE(HasPendingWrites());
  const uint64_t seq = store->db()->GetLatestSequenceNumber();
  ASSERT_TRUE(AwaitDurable().ok());
  EXPECT_EQ(syncs_.count, before + 1);
  EXPECT_GE(store->group_commit().durable_sequence(), seq);
  EXPECT_FALSE(HasPendingWrites());
  // Nothing new written: nothing to sync.
  ASSERT_TRUE(AwaitDurable().ok());
  EXPECT_EQ(syncs_.count, before + 1);
}

TEST_F(GroupCommitTest, WithoutSyncWritesNothingIsAwaited) {
  auto store = Open(/*sync_writes=*/false);
  const int before = syncs_.count;
  ASSERT_TRUE(Put(*store, "a").ok());
  EXPECT_FALSE(HasPendingWrites());
  ASSERT_TRUE(AwaitDurable().ok());
  EXPECT_EQ(syncs_.count, before);
}

// Sixteen writers serialised by a domain lock, as an RPC does: while the first writer's fsync
// is held back, the other fifteen take the lock, write and wait; when the disk answers, one
// more fsync covers all fifteen.
TEST_F(GroupCommitTest, ConcurrentWritersShareOneSyncOutsideTheDomainLock) {
  auto store = Open(/*sync_writes=*/true);
  const int before = syncs_.count;
  std::shared_mutex domain_mu;
  syncs_.CloseGate();
  std::atomic<int> written{0}, acknowledged{0};
  auto writer = [&](int i) {
    {
      std::lock_guard lock(domain_mu);
      ASSERT_TRUE(Put(*store, absl::StrCat("k", i)).ok());
    }
    ++written;
    ASSERT_TRUE(AwaitDurable().ok());
    ++acknowledged;
  };
  std::vector<std::thread> threads;
  threads.emplace_back(writer, 0);
  ASSERT_TRUE(testing::PollUntil([&] { return syncs_.Held() == 1; }, absl::Seconds(10)));
  for (int i = 1; i < 16; ++i) threads.emplace_back(writer, i);
  // All fifteen get the domain lock and write while the fsync is outstanding.
  ASSERT_TRUE(testing::PollUntil([&] { return written == 16; }, absl::Seconds(10)));
  EXPECT_EQ(acknowledged, 0) << "no write may be acknowledged before its fsync";
  syncs_.OpenGate();
  for (auto& t : threads) t.join();
  EXPECT_EQ(acknowledged, 16);
  EXPECT_EQ(syncs_.count - before, 2) << "one fsync for the first writer, one for the other 15";
  EXPECT_GE(store->group_commit().durable_sequence(), store->db()->GetLatestSequenceNumber());
}

TEST_F(GroupCommitTest, AFailedSyncIsReportedToEveryWaiterAndNothingIsAcknowledged) {
  auto store = Open(/*sync_writes=*/true);
  syncs_.fail = true;
  ASSERT_TRUE(Put(*store, "a").ok());
  absl::Status s = AwaitDurable();
  EXPECT_FALSE(s.ok());
  EXPECT_LT(store->group_commit().durable_sequence(), store->db()->GetLatestSequenceNumber());
}

TEST_F(GroupCommitTest, SyncWalJoinsTheGroupAndCloseReleasesWaiters) {
  auto store = Open(/*sync_writes=*/true);
  ASSERT_TRUE(Put(*store, "a").ok());
  ASSERT_TRUE(store->SyncWal().ok());
  const int after_sync = syncs_.count;
  // The pending write of this thread is already covered: no second fsync.
  ASSERT_TRUE(AwaitDurable().ok());
  EXPECT_EQ(syncs_.count, after_sync);
  // A write awaited after the store is gone: Close synced it; nothing to do, no crash.
  ASSERT_TRUE(Put(*store, "b").ok());
  ASSERT_TRUE(store->Close().ok());
  store.reset();
  EXPECT_TRUE(AwaitDurable().ok());
}

}  // namespace
}  // namespace triad::storage
