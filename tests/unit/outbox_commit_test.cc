// Tests of the outbox's writer side: state and events are committed atomically and stamped,
// and commits from many threads write side by side without the relay's bound passing a
// commit still writing.
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/events/outbox.h"
#include "common/storage/key_codec.h"
#include "gtest/gtest.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"
#include "triad/testing/v1/test_events.pb.h"

namespace triad::events {
namespace {

std::unique_ptr<storage::Store> OpenStore(const std::string& path) {
  storage::StoreOptions o;
  o.path = path;
  o.column_families = {"state", Outbox::kColumnFamily};
  return std::move(*storage::Store::Open(o));
}

TEST(OutboxCommitTest, StateAndEventsAreWrittenTogetherAndStamped) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  OutboxOptions options;
  options.source = "triad/test";
  auto outbox = Outbox::Create(store.get(), options);
  ASSERT_TRUE(outbox.ok()) << outbox.status();

  Transaction txn;
  txn.batch().Put(store->Cf("state"), "k", "v");
  triad::testing::v1::Ticked tick;
  tick.set_key("k");
  tick.set_seq(1);
  txn.Emit("triad.test.tick", "k", "triad.test.tick.ticked.v1", tick);
  txn.Emit("triad.test.tick", "k", "triad.test.tick.ticked.v1", tick);
  ASSERT_TRUE((*outbox)->Commit(txn).ok());

  EXPECT_EQ(*store->Get("state", "k"), "v");
  EXPECT_EQ((*outbox)->Depth(), 2);
  ASSERT_EQ(txn.events().size(), 2u);
  EXPECT_NE(txn.events()[0].id, txn.events()[1].id);
  EXPECT_EQ(txn.events()[0].source, "triad/test");

  std::vector<uint64_t> seqs;
  ASSERT_TRUE(store
                  ->ScanPrefix(Outbox::kColumnFamily, "",
                               [&](std::string_view key, std::string_view value) {
                                 storage::KeyReader r(key);
                                 seqs.push_back(*r.U64());
                                 common::v1::OutboxRecord rec;
                                 EXPECT_TRUE(rec.ParseFromArray(value.data(), value.size()));
                                 EXPECT_EQ(rec.topic(), "triad.test.tick");
                                 EXPECT_EQ(rec.ce_type(), "triad.test.tick.ticked.v1");
                                 triad::testing::v1::Ticked decoded;
                                 EXPECT_TRUE(decoded.ParseFromString(rec.payload()));
                                 EXPECT_EQ(decoded.seq(), 1);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2}));
}

TEST(OutboxCommitTest, SequenceAndDepthContinueAfterReopen) {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    auto outbox = Outbox::Create(store.get(), {.source = "triad/test"});
    Transaction txn;
    txn.EmitRaw("triad.test.tick", "a", "t.v1", "x");
    ASSERT_TRUE((*outbox)->Commit(txn).ok());
  }
  auto store = OpenStore(dir.path());
  auto outbox = Outbox::Create(store.get(), {.source = "triad/test"});
  EXPECT_EQ((*outbox)->Depth(), 1);
  Transaction txn;
  txn.EmitRaw("triad.test.tick", "a", "t.v1", "y");
  ASSERT_TRUE((*outbox)->Commit(txn).ok());
  EXPECT_EQ(testing::OutboxSequences(*store), (std::vector<uint64_t>{1, 2}));
}

TEST(OutboxCommitTest, RequiresTheOutboxColumnFamily) {
  testing::TempDir dir;
  storage::StoreOptions o;
  o.path = dir.path();
  auto store = storage::Store::Open(o);
  auto outbox = Outbox::Create(store->get(), {.source = "triad/test"});
  EXPECT_TRUE(absl::IsFailedPrecondition(outbox.status()));
}

// A commit that took its sequence first and writes last holds the relay's bound below its
// row: the faster commit after it is written, but not yet publishable.
TEST(OutboxCommitTest, ASlowCommitHoldsTheBoundBelowItUntilWritten) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  absl::Notification slow_took_its_sequence;
  absl::Notification release_slow;
  OutboxOptions options;
  options.source = "triad/test";
  options.before_write_for_testing = [&](uint64_t first) {
    if (first != 1) return;
    slow_took_its_sequence.Notify();
    release_slow.WaitForNotification();
  };
  auto outbox = std::move(*Outbox::Create(store.get(), options));
  EXPECT_EQ(outbox->PublishableBelow(), 1u);

  absl::Status slow_status;
  std::thread slow([&] {
    Transaction txn;
    txn.EmitRaw("triad.test.tick", "slow", "t.v1", "slow");
    slow_status = outbox->Commit(txn);
  });
  slow_took_its_sequence.WaitForNotification();
  Transaction fast;
  fast.batch().Put(store->Cf("state"), "fast", "1");
  fast.EmitRaw("triad.test.tick", "fast", "t.v1", "fast");
  ASSERT_TRUE(outbox->Commit(fast).ok());
  EXPECT_EQ(*store->Get("state", "fast"), "1") << "the fast commit waited for the slow one";
  EXPECT_EQ(outbox->PublishableBelow(), 1u) << "the bound passed a commit still writing";

  release_slow.Notify();
  slow.join();
  ASSERT_TRUE(slow_status.ok()) << slow_status;
  EXPECT_EQ(outbox->PublishableBelow(), 3u);
  EXPECT_EQ(outbox->Depth(), 2);
}

// An event over the size limit is refused before it takes a sequence: nothing is written and
// the next commit's row follows the last written one, leaving no gap.
TEST(OutboxCommitTest, ARefusedEventTakesNoSequence) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto outbox =
      std::move(*Outbox::Create(store.get(), {.source = "triad/test", .max_event_bytes = 200}));
  Transaction big;
  big.batch().Put(store->Cf("state"), "big", "1");
  big.EmitRaw("triad.test.tick", "k", "t.v1", std::string(500, 'x'));
  EXPECT_TRUE(absl::IsInvalidArgument(outbox->Commit(big)));
  EXPECT_TRUE(absl::IsNotFound(store->Get("state", "big").status()));
  EXPECT_EQ(outbox->PublishableBelow(), 1u);

  Transaction small;
  small.EmitRaw("triad.test.tick", "k", "t.v1", "y");
  ASSERT_TRUE(outbox->Commit(small).ok());
  EXPECT_EQ(outbox->PublishableBelow(), 2u);
  EXPECT_EQ(outbox->Depth(), 1);
}

// Commits from many threads at once each get their own run of sequences: every event is
// written under a distinct sequence, with none missing, and the bound ends above them all.
TEST(OutboxCommitTest, ConcurrentCommitsGetDistinctSequencesWithoutGaps) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto outbox = std::move(*Outbox::Create(store.get(), {.source = "triad/test"}));
  constexpr int kThreads = 8;
  constexpr int kCommits = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommits; ++i) {
        Transaction txn;
        const std::string key = absl::StrCat(t, "-", i);
        txn.batch().Put(store->Cf("state"), key, "v");
        txn.EmitRaw("triad.test.tick", key, "t.v1", "a");
        txn.EmitRaw("triad.test.tick", key, "t.v1", "b");
        ASSERT_TRUE(outbox->Commit(txn).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  constexpr uint64_t kEvents = 2 * kThreads * kCommits;
  const std::vector<uint64_t> seqs = testing::OutboxSequences(*store);
  const std::set<uint64_t> distinct(seqs.begin(), seqs.end());
  ASSERT_EQ(distinct.size(), kEvents);
  EXPECT_EQ(*distinct.begin(), 1u);
  EXPECT_EQ(*distinct.rbegin(), kEvents);
  EXPECT_EQ(outbox->PublishableBelow(), kEvents + 1);
  EXPECT_EQ(outbox->Depth(), static_cast<int64_t>(kEvents));
}

}  // namespace
}  // namespace triad::events
