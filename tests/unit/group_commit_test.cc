// Tests of group commit (common/storage/durability.h) on a real RocksDB database whose file
// system counts — and can hold back or fail — the syncs of the write-ahead log, and of the
// metrics it exports.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/metrics.h"
#include "common/storage/durability.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
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

// StoreSeries are the group-commit series of one store, as /metrics shows them.
struct StoreSeries {
  double syncs = 0;
  double waits = 0;
  uint64_t sync_count = 0;
  double sync_sum = 0;
  // How many of the three families have a series for the store.
  int found = 0;
};

// ReadSeries collects the process-wide registry and picks the series labelled store=`store`.
StoreSeries ReadSeries(const std::string& store) {
  StoreSeries out;
  for (const prometheus::MetricFamily& family : metrics::Registry().Collect()) {
    for (const prometheus::ClientMetric& m : family.metric) {
      bool match = false;
      for (const prometheus::ClientMetric::Label& l : m.label) {
        match = match || (l.name == "store" && l.value == store);
      }
      if (!match) continue;
      if (family.name == "triad_store_log_syncs_total") {
        EXPECT_EQ(family.type, prometheus::MetricType::Counter);
        out.syncs = m.counter.value;
        ++out.found;
      } else if (family.name == "triad_store_durable_waits_total") {
        EXPECT_EQ(family.type, prometheus::MetricType::Counter);
        out.waits = m.counter.value;
        ++out.found;
      } else if (family.name == "triad_store_log_sync_seconds") {
        EXPECT_EQ(family.type, prometheus::MetricType::Histogram);
        out.sync_count = m.histogram.sample_count;
        out.sync_sum = m.histogram.sample_sum;
        ++out.found;
      }
    }
  }
  return out;
}

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = rocksdb::NewCompositeEnv(
        std::make_shared<CountingFs>(rocksdb::FileSystem::Default(), &syncs_));
    // One store label per test (the registry is the process's); tests compare against the
    // values read before, so a repeated run (--gtest_repeat) passes too.
    name_ = absl::StrCat("group_commit_test.",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    before_ = ReadSeries(name_);
  }
  // Delta is how far the test's store series moved since SetUp.
  StoreSeries Delta() const {
    StoreSeries now = ReadSeries(name_);
    now.syncs -= before_.syncs;
    now.waits -= before_.waits;
    now.sync_count -= before_.sync_count;
    now.sync_sum -= before_.sync_sum;
    return now;
  }
  std::unique_ptr<Store> Open(bool sync_writes) { return Open(sync_writes, dir_.path(), name_); }
  std::unique_ptr<Store> Open(bool sync_writes, const std::string& path, const std::string& name) {
    StoreOptions o;
    o.path = path;
    o.name = name;
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
  std::string name_;
  StoreSeries before_;
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
  // One wait, one sync, one duration; the call without writes is no wait.
  const StoreSeries d = Delta();
  EXPECT_EQ(d.found, 3);
  EXPECT_EQ(d.waits, 1);
  EXPECT_EQ(d.syncs, 1);
  EXPECT_EQ(d.sync_count, 1u);
  EXPECT_EQ(store->group_commit().syncs(), 1u);
}

TEST_F(GroupCommitTest, WithoutSyncWritesNothingIsAwaited) {
  auto store = Open(/*sync_writes=*/false);
  const int before = syncs_.count;
  ASSERT_TRUE(Put(*store, "a").ok());
  EXPECT_FALSE(HasPendingWrites());
  ASSERT_TRUE(AwaitDurable().ok());
  EXPECT_EQ(syncs_.count, before);
  const StoreSeries d = Delta();
  EXPECT_EQ(d.waits, 0);
  EXPECT_EQ(d.syncs, 0);
  EXPECT_EQ(d.sync_count, 0u);
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
  // The held fsync lasts at least this long: its duration is what the histogram observes.
  absl::SleepFor(absl::Milliseconds(50));
  syncs_.OpenGate();
  for (auto& t : threads) t.join();
  EXPECT_EQ(acknowledged, 16);
  EXPECT_EQ(syncs_.count - before, 2) << "one fsync for the first writer, one for the other 15";
  EXPECT_GE(store->group_commit().durable_sequence(), store->db()->GetLatestSequenceNumber());
  // Sixteen waits share two syncs (8 writes per sync); one observation per sync, not per
  // waiter.
  const StoreSeries d = Delta();
  EXPECT_EQ(d.waits, 16);
  EXPECT_EQ(d.syncs, 2);
  EXPECT_EQ(d.sync_count, 2u);
  EXPECT_GE(d.sync_sum, 0.05);
  EXPECT_LT(d.sync_sum, 60);
}

// Writers racing without a domain lock: every AwaitDurable is one wait, at most one sync each
// and at least one in all, and the histogram observes each sync once.
TEST_F(GroupCommitTest, MetricsCountEveryWaitAndEverySyncOnce) {
  auto store = Open(/*sync_writes=*/true);
  constexpr int kWriters = 8;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (!go) std::this_thread::yield();
      ASSERT_TRUE(Put(*store, absl::StrCat("k", i)).ok());
      ASSERT_TRUE(AwaitDurable().ok());
    });
  }
  ASSERT_TRUE(testing::PollUntil([&] { return ready == kWriters; }, absl::Seconds(10)));
  go = true;
  for (auto& t : threads) t.join();
  const StoreSeries d = Delta();
  EXPECT_EQ(d.waits, kWriters);
  EXPECT_GE(d.syncs, 1);
  EXPECT_LE(d.syncs, kWriters);
  EXPECT_EQ(d.sync_count, static_cast<uint64_t>(d.syncs));
  EXPECT_EQ(d.syncs, static_cast<double>(store->group_commit().syncs()));
  EXPECT_GE(d.sync_sum, 0);
}

TEST_F(GroupCommitTest, AFailedSyncIsReportedToEveryWaiterAndNothingIsAcknowledged) {
  auto store = Open(/*sync_writes=*/true);
  syncs_.fail = true;
  ASSERT_TRUE(Put(*store, "a").ok());
  absl::Status s = AwaitDurable();
  EXPECT_FALSE(s.ok());
  EXPECT_LT(store->group_commit().durable_sequence(), store->db()->GetLatestSequenceNumber());
  // A failed sync is a sync run all the same.
  const StoreSeries d = Delta();
  EXPECT_EQ(d.waits, 1);
  EXPECT_EQ(d.syncs, 1);
  EXPECT_EQ(d.sync_count, 1u);
}

TEST_F(GroupCommitTest, SyncWalJoinsTheGroupAndCloseReleasesWaiters) {
  auto store = Open(/*sync_writes=*/true);
  ASSERT_TRUE(Put(*store, "a").ok());
  ASSERT_TRUE(store->SyncWal().ok());
  const int after_sync = syncs_.count;
  // SyncWal runs a sync and is no wait.
  StoreSeries d = Delta();
  EXPECT_EQ(d.syncs, 1);
  EXPECT_EQ(d.waits, 0);
  // The pending write of this thread is already covered: no second fsync, but a wait.
  ASSERT_TRUE(AwaitDurable().ok());
  EXPECT_EQ(syncs_.count, after_sync);
  d = Delta();
  EXPECT_EQ(d.syncs, 1);
  EXPECT_EQ(d.sync_count, 1u);
  EXPECT_EQ(d.waits, 1);
  // A write awaited after the store is gone: Close synced it; nothing to do, no crash.
  ASSERT_TRUE(Put(*store, "b").ok());
  ASSERT_TRUE(store->Close().ok());
  store.reset();
  EXPECT_TRUE(AwaitDurable().ok());
  // Close syncs the log itself and a store gone is nobody's wait.
  d = Delta();
  EXPECT_EQ(d.syncs, 1);
  EXPECT_EQ(d.waits, 1);
}

TEST_F(GroupCommitTest, WithoutANameTheStoreLabelIsTheLastComponentOfThePath) {
  const std::string label = "group_commit_test_path_label";
  const StoreSeries before = ReadSeries(label);
  auto store = Open(/*sync_writes=*/true, dir_.Sub(label) + "/", /*name=*/"");
  ASSERT_TRUE(Put(*store, "a").ok());
  ASSERT_TRUE(AwaitDurable().ok());
  const StoreSeries after = ReadSeries(label);
  EXPECT_EQ(after.found, 3);
  EXPECT_EQ(after.waits - before.waits, 1);
  EXPECT_EQ(after.syncs - before.syncs, 1);
}

TEST_F(GroupCommitTest, AFrozenCopyExportsNoSeries) {
  const std::string label = "group_commit_test_frozen_copy";
  const std::string path = dir_.Sub(label);
  Open(/*sync_writes=*/false, path, /*name=*/"").reset();  // creates the database
  EXPECT_EQ(ReadSeries(label).found, 3);
  StoreOptions o;
  o.path = path;
  o.name = "group_commit_test_frozen_copy_itself";
  o.column_families = {"items"};
  o.block_cache_bytes = 1 << 20;
  o.frozen_copy = true;
  auto frozen = Store::Open(o);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  EXPECT_EQ(ReadSeries(o.name).found, 0);
}

}  // namespace
}  // namespace triad::storage
