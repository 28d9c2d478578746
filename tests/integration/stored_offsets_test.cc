// Integration tests of the stored consumer offsets on the real broker, under the eager and the
// cooperative-sticky rebalance protocols: a consumer whose store is rolled back to a backup
// re-reads from the offsets in the backup (Kafka's committed offsets are further) and applies
// exactly the events the store lost; two members with stores of their own hand partitions back
// and forth and the union of their effects stays exactly-once.
#include <map>
#include <string>

#include "common/events/consumer.h"
#include "common/events/consumer_offsets.h"
#include "common/storage/backup.h"
#include "gtest/gtest.h"
#include "tests/integration/event_test_util.h"

namespace triad::events {
namespace {

using triad::testing::PollUntil;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;

class StoredOffsetsTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Options of a consumer of `topic` in `group` with the parameter's assignment strategy.
  ConsumerOptions Options(const std::string& group, const std::string& topic) {
    ConsumerOptions co{.group_id = group, .topics = {topic}};
    co.properties["partition.assignment.strategy"] = GetParam();
    return co;
  }

  void Commit(Outbox& outbox, const std::string& topic, int from, int to) {
    for (int i = from; i <= to; ++i) {
      Transaction txn;
      triad::testing::v1::Ticked t;
      t.set_key("key-" + std::to_string(i % 25));
      t.set_seq(i);
      txn.Emit(topic, t.key(), testutil::kTickType, t);
      ASSERT_TRUE(outbox.Commit(txn).ok());
    }
  }
};

TEST_P(StoredOffsetsTest, ARestoredStoreReadsAgainFromItsOwnOffsets) {
  const std::string topic = "triad.test." + UniqueName("stored");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 3).ok());
  triad::testing::TempDir dir;
  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto outbox =
      Outbox::Create(producer_store.get(), {.source = "triad/test", .kafka = TestKafkaConfig()});
  ASSERT_TRUE((*outbox)->Start().ok());
  const std::string group = UniqueName("g-");

  uint32_t backup_id = 0;
  std::vector<StoredOffset> offsets_in_backup;
  {
    auto store = testutil::OpenEventStore(dir.Sub("db"));
    IdempotentConsumer c(store.get(), nullptr, TestKafkaConfig(), Options(group, topic));
    c.OnMessage<triad::testing::v1::Ticked>(testutil::kTickType,
                                            testutil::LedgerHandler(store.get()));
    ASSERT_TRUE(c.Start().ok());
    Commit(**outbox, topic, 1, 150);
    ASSERT_TRUE(PollUntil([&] { return c.Stats().applied == 150; }, absl::Seconds(60)))
        << c.Stats().applied;
    // Backup A, taken while the consumer runs.
    auto backups = storage::BackupDir::Open(dir.Sub("backups"));
    ASSERT_TRUE(backups.ok()) << backups.status();
    auto a = (*backups)->Create(*store, [&](const storage::Store& frozen, uint64_t) {
      offsets_in_backup = *ReadStoredOffsets(frozen);
      return absl::StatusOr<std::string>("A");
    });
    ASSERT_TRUE(a.ok()) << a.status();
    backup_id = a->id;
    Commit(**outbox, topic, 151, 300);
    ASSERT_TRUE(PollUntil([&] { return c.Stats().applied == 300; }, absl::Seconds(60)))
        << c.Stats().applied;
    c.Stop();  // commits offset 300 to Kafka
  }
  int64_t stored_in_a = 0;
  for (const StoredOffset& o : offsets_in_backup) {
    EXPECT_EQ(o.group, group);
    EXPECT_EQ(o.topic, topic);
    stored_in_a += o.next_offset;
  }
  EXPECT_EQ(stored_in_a, 150) << "the backup holds the offsets of the 150 applied events";

  // Restore A over the store (which had applied all 300) and start a consumer on it.
  auto restored = storage::RestoreBackup(dir.Sub("backups"), backup_id, dir.Sub("db"), true);
  ASSERT_TRUE(restored.ok()) << restored.status();
  auto store = testutil::OpenEventStore(dir.Sub("db"));
  ASSERT_EQ(testutil::LedgerCounts(*store).size(), 150u);
  IdempotentConsumer c(store.get(), nullptr, TestKafkaConfig(), Options(group, topic));
  c.OnMessage<triad::testing::v1::Ticked>(testutil::kTickType,
                                          testutil::LedgerHandler(store.get()));
  ASSERT_TRUE(c.Start().ok());
  ASSERT_TRUE(
      PollUntil([&] { return testutil::LedgerCounts(*store).size() == 300; }, absl::Seconds(60)))
      << testutil::LedgerCounts(*store).size();
  // A marker after the 300 shows everything before it was read.
  Commit(**outbox, topic, 301, 303);
  ASSERT_TRUE(
      PollUntil([&] { return testutil::LedgerCounts(*store).size() == 303; }, absl::Seconds(60)));
  c.Stop();
  (*outbox)->Stop();
  EXPECT_EQ(c.Stats().applied, 153) << "exactly the 150 lost events and the 3 markers";
  EXPECT_EQ(c.Stats().duplicates, 0) << "nothing before the backup's offsets was read again";
  int64_t expected = 1;
  for (const auto& [seq, n] : testutil::LedgerCounts(*store)) {
    ASSERT_EQ(seq, expected++);
    ASSERT_EQ(n, 1) << "event " << seq << " applied " << n << " times";
  }
}

TEST_P(StoredOffsetsTest, PartitionsHandedBackAndForthStayExactlyOnceAcrossTwoStores) {
  const std::string topic = "triad.test." + UniqueName("handback");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 4).ok());
  triad::testing::TempDir dir;
  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto store_a = testutil::OpenEventStore(dir.Sub("a"));
  auto store_b = testutil::OpenEventStore(dir.Sub("b"));
  auto outbox =
      Outbox::Create(producer_store.get(), {.source = "triad/test", .kafka = TestKafkaConfig()});
  ASSERT_TRUE((*outbox)->Start().ok());
  const std::string group = UniqueName("g-");
  IdempotentConsumer a(store_a.get(), nullptr, TestKafkaConfig(), Options(group, topic));
  IdempotentConsumer b(store_b.get(), nullptr, TestKafkaConfig(), Options(group, topic));
  a.OnMessage<triad::testing::v1::Ticked>(testutil::kTickType,
                                          testutil::LedgerHandler(store_a.get()));
  b.OnMessage<triad::testing::v1::Ticked>(testutil::kTickType,
                                          testutil::LedgerHandler(store_b.get()));
  auto applied = [&] {
    std::map<int64_t, int> all = testutil::LedgerCounts(*store_a);
    for (const auto& [seq, n] : testutil::LedgerCounts(*store_b)) all[seq] += n;
    return all;
  };

  // a alone stores offsets for all four partitions.
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(PollUntil([&] { return a.Assigned() == 4; }, absl::Seconds(60)));
  Commit(**outbox, topic, 1, 400);
  ASSERT_TRUE(PollUntil([&] { return applied().size() >= 400; }, absl::Seconds(60)));
  // b takes some partitions and applies events in its own store ...
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(PollUntil(
      [&] { return a.Assigned() > 0 && b.Assigned() > 0 && a.Assigned() + b.Assigned() == 4; },
      absl::Seconds(60)));
  Commit(**outbox, topic, 401, 800);
  ASSERT_TRUE(PollUntil([&] { return applied().size() >= 800; }, absl::Seconds(60)));
  EXPECT_GT(b.Stats().applied, 0);
  // ... and hands them back: a's stored offsets of those partitions are stale, Kafka's
  // (committed by b's store) are further and win.
  b.Stop();
  ASSERT_TRUE(PollUntil([&] { return a.Assigned() == 4; }, absl::Seconds(60)));
  Commit(**outbox, topic, 801, 1200);
  ASSERT_TRUE(PollUntil([&] { return applied().size() >= 1200; }, absl::Seconds(90)));
  a.Stop();
  (*outbox)->Stop();
  std::map<int64_t, int> counts = applied();
  ASSERT_EQ(counts.size(), 1200u);
  for (const auto& [seq, n] : counts) {
    ASSERT_EQ(n, 1) << "event " << seq << " applied " << n << " times across the two stores";
  }
  EXPECT_EQ(a.Stats().applied + b.Stats().applied, 1200);
}

INSTANTIATE_TEST_SUITE_P(Protocols, StoredOffsetsTest,
                         ::testing::Values("range,roundrobin", "cooperative-sticky"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "cooperative-sticky" ? std::string("Cooperative")
                                                                     : std::string("Eager");
                         });

}  // namespace
}  // namespace triad::events
