// Unit tests of the consumer offsets kept in the store (no Kafka): ApplyOnce writes the next
// offset in the effect's batch (and nothing for a duplicate or a failed handler), the store's
// identity survives a reopen, and ChooseStartOffset's rule.
#include "common/events/consumer_offsets.h"

#include <optional>
#include <string>

#include "common/events/consumer.h"
#include "common/events/envelope.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::events {
namespace {

using triad::testing::TempDir;

std::unique_ptr<storage::Store> OpenStore(const std::string& path) {
  storage::StoreOptions o;
  o.path = path;
  o.column_families = {"state", IdempotentConsumer::kInboxColumnFamily, kOffsetsColumnFamily};
  auto s = storage::Store::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

TEST(StoredOffsetTest, ApplyOnceStoresTheNextOffsetInTheEffectsBatch) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  rocksdb::ColumnFamilyHandle* state = store->Cf("state");
  Handler put = [state](const Event& e, Transaction& txn) {
    txn.batch().Put(state, e.id, "applied");
    return absl::OkStatus();
  };
  Event first{.id = NewEventId(), .type = "t", .source = "triad/x"};
  ConsumedPosition at41{"triad.x.thing", 3, 41};
  ASSERT_EQ(*ApplyOnce(*store, nullptr, "g", first, put, nullptr, &at41), ApplyOutcome::kApplied);
  EXPECT_EQ(*store->Get("state", first.id), "applied");
  auto stored = ReadStoredOffset(*store, "g", "triad.x.thing", 3);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->value_or(-1), 42);
  // Another group and partition are kept apart.
  EXPECT_FALSE(ReadStoredOffset(*store, "other", "triad.x.thing", 3)->has_value());
  EXPECT_FALSE(ReadStoredOffset(*store, "g", "triad.x.thing", 4)->has_value());

  // A redelivered event (same id) later in the log writes nothing, not even its offset: the
  // consumer stores the offsets of skipped messages in a batch of their own.
  ConsumedPosition at50{"triad.x.thing", 3, 50};
  ASSERT_EQ(*ApplyOnce(*store, nullptr, "g", first, put, nullptr, &at50), ApplyOutcome::kDuplicate);
  EXPECT_EQ(ReadStoredOffset(*store, "g", "triad.x.thing", 3)->value_or(-1), 42);

  // A failing handler writes neither its effect nor the offset.
  Event second{.id = NewEventId(), .type = "t", .source = "triad/x"};
  Handler fail = [state](const Event& e, Transaction& txn) {
    txn.batch().Put(state, e.id, "half");
    return absl::UnavailableError("disk full");
  };
  ConsumedPosition at42{"triad.x.thing", 3, 42};
  EXPECT_FALSE(ApplyOnce(*store, nullptr, "g", second, fail, nullptr, &at42).ok());
  EXPECT_FALSE(store->Get("state", second.id).ok());
  EXPECT_EQ(ReadStoredOffset(*store, "g", "triad.x.thing", 3)->value_or(-1), 42);

  // Without a position (a tool applying an event by hand) no offset is written.
  Event third{.id = NewEventId(), .type = "t", .source = "triad/x"};
  ASSERT_EQ(*ApplyOnce(*store, nullptr, "h", third, put, nullptr), ApplyOutcome::kApplied);
  auto all = ReadStoredOffsets(*store);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].group, "g");
  EXPECT_EQ((*all)[0].topic, "triad.x.thing");
  EXPECT_EQ((*all)[0].partition, 3);
  EXPECT_EQ((*all)[0].next_offset, 42);
}

TEST(StoredOffsetTest, PutNeedsTheColumnFamilyAndAGroup) {
  TempDir dir;
  storage::StoreOptions o;
  o.path = dir.path();
  auto store = storage::Store::Open(o);
  ASSERT_TRUE(store.ok());
  rocksdb::WriteBatch batch;
  EXPECT_TRUE(absl::IsFailedPrecondition(PutStoredOffset(**store, batch, "g", "t", 0, 1)));
  EXPECT_TRUE(ReadStoredOffsets(**store)->empty());
  auto with_cf = OpenStore(dir.Sub("b"));
  EXPECT_TRUE(absl::IsInvalidArgument(PutStoredOffset(*with_cf, batch, "", "t", 0, 1)));
}

TEST(StoredOffsetTest, TheStoreIdentityIsKeptAcrossAReopen) {
  TempDir dir;
  std::string identity;
  {
    auto store = OpenStore(dir.path());
    auto id = StoreIdentity(*store);
    ASSERT_TRUE(id.ok()) << id.status();
    identity = *id;
    EXPECT_FALSE(identity.empty());
    EXPECT_EQ(*StoreIdentity(*store), identity);
    // The identity record is not listed as an offset.
    EXPECT_TRUE(ReadStoredOffsets(*store)->empty());
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(*StoreIdentity(*store), identity);
  auto other = OpenStore(dir.Sub("other"));
  EXPECT_NE(*StoreIdentity(*other), identity);
}

TEST(ChooseStartOffsetTest, TheStoreWinsUnlessAnotherStoreCommittedFurther) {
  const std::string me = "store-a";
  const CommittedOffset mine{.offset = 900, .metadata = CommitMetadata(me)};
  const CommittedOffset theirs{.offset = 900, .metadata = CommitMetadata("store-b")};
  const CommittedOffset untagged{.offset = 900, .metadata = ""};
  // Stored: the store, also when this store had committed further (restored from a backup).
  EXPECT_EQ(ChooseStartOffset(500, std::nullopt, me, false), (StartOffset{500, false}));
  EXPECT_EQ(ChooseStartOffset(500, mine, me, false), (StartOffset{500, false}));
  EXPECT_EQ(ChooseStartOffset(950, mine, me, false), (StartOffset{950, false}));
  // Another store (another member of the group) committed further: it applied those.
  EXPECT_EQ(ChooseStartOffset(500, theirs, me, false), (StartOffset{900, true}));
  EXPECT_EQ(ChooseStartOffset(500, untagged, me, false), (StartOffset{900, true}));
  // ... but never backwards past what this store applied.
  EXPECT_EQ(ChooseStartOffset(950, theirs, me, false), (StartOffset{950, false}));
  // Nothing stored: another store's (or a release's before stored offsets) committed offset.
  EXPECT_EQ(ChooseStartOffset(std::nullopt, theirs, me, false), (StartOffset{900, true}));
  EXPECT_EQ(ChooseStartOffset(std::nullopt, untagged, me, true), (StartOffset{900, true}));
  // Nothing stored but this store had committed: restored to before it first read the
  // partition, so it reads all of it again.
  EXPECT_EQ(ChooseStartOffset(std::nullopt, mine, me, true), (StartOffset{kLogStart, true}));
  // Nothing anywhere: auto.offset.reset, recorded once resolved.
  EXPECT_EQ(ChooseStartOffset(std::nullopt, std::nullopt, me, false),
            (StartOffset{kLogStart, true}));
  EXPECT_EQ(ChooseStartOffset(std::nullopt, std::nullopt, me, true), (StartOffset{kLogEnd, true}));
}

}  // namespace
}  // namespace triad::events
