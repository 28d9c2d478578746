// Tests of the outbox's writer side: state and events are committed atomically and stamped.
#include <string>

#include "common/events/outbox.h"
#include "common/storage/key_codec.h"
#include "gtest/gtest.h"
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
  std::string last;
  ASSERT_TRUE(store
                  ->ScanPrefixReverse(Outbox::kColumnFamily, "",
                                      [&](std::string_view k, std::string_view) {
                                        last = std::string(k);
                                        return false;
                                      })
                  .ok());
  storage::KeyReader r(last);
  EXPECT_EQ(*r.U64(), 2u);
}

TEST(OutboxCommitTest, RequiresTheOutboxColumnFamily) {
  testing::TempDir dir;
  storage::StoreOptions o;
  o.path = dir.path();
  auto store = storage::Store::Open(o);
  auto outbox = Outbox::Create(store->get(), {.source = "triad/test"});
  EXPECT_TRUE(absl::IsFailedPrecondition(outbox.status()));
}

}  // namespace
}  // namespace triad::events
