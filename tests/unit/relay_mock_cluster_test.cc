// Unit tests of the outbox relay against librdkafka's MOCK cluster (in-process, not a real
// broker; allowed here because the relay's lanes need a partition without a leader, which a
// one-broker real cluster cannot produce): a partition Kafka cannot take holds back only its
// own events — never the other partitions', even past the relay's global in-flight limit —
// and once it has a leader again its events arrive in commit order; a restarted relay does
// not scan again over the rows it deleted; a commit passed by a faster one is still published,
// before it.
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/events/outbox.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"
#include "librdkafka/rdkafkacpp.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/testing/v1/test_events.pb.h"

namespace triad::events {
namespace {

using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::v1::Ticked;

// MockCluster owns a librdkafka mock cluster of one broker.
class MockCluster {
 public:
  MockCluster() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  rd_kafka_mock_cluster_t* get() { return cluster_; }

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* cluster_;
};

// ReadSeqs reads partition 0 of `topic` from the start until `want` messages came.
std::vector<int64_t> ReadSeqs(const std::string& bootstrap, const std::string& topic, size_t want,
                              absl::Duration timeout) {
  KafkaConfig config;
  config.bootstrap_servers = bootstrap;
  auto conf = MakeConf(config, {{"group.id", "reader"}, {"enable.auto.commit", "false"}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), err));
  std::unique_ptr<RdKafka::TopicPartition> tp(
      RdKafka::TopicPartition::create(topic, 0, RdKafka::Topic::OFFSET_BEGINNING));
  std::vector<RdKafka::TopicPartition*> list = {tp.get()};
  c->assign(list);
  std::vector<int64_t> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < want && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    Ticked t;
    t.ParseFromArray(m->payload(), static_cast<int>(m->len()));
    out.push_back(t.seq());
  }
  c->close();
  return out;
}

// OpenOutboxStore opens a store with the outbox column family in `dir`.
std::unique_ptr<storage::Store> OpenOutboxStore(const TempDir& dir) {
  storage::StoreOptions so;
  so.path = dir.path();
  so.column_families = {Outbox::kColumnFamily};
  return std::move(*storage::Store::Open(so));
}

// MockOptions are the options of an outbox publishing to `mock`.
OutboxOptions MockOptions(MockCluster& mock) {
  OutboxOptions options;
  options.source = "triad/test";
  options.kafka.bootstrap_servers = mock.bootstrap();
  return options;
}

// CommitTick commits one Ticked event numbered `seq` under key `key` to `topic`.
absl::Status CommitTick(Outbox& outbox, const std::string& topic, const std::string& key, int seq) {
  Transaction txn;
  Ticked t;
  t.set_key(key);
  t.set_seq(seq);
  txn.Emit(topic, key, "triad.test.tick.ticked.v1", t);
  return outbox.Commit(txn);
}

TEST(RelayMockClusterTest, ALeaderlessPartitionHoldsBackOnlyItselfThenDeliversInOrder) {
  MockCluster mock;
  rd_kafka_mock_topic_create(mock.get(), "triad.test.stuck", 1, 1);
  rd_kafka_mock_topic_create(mock.get(), "triad.test.flowing", 1, 1);
  rd_kafka_mock_partition_set_leader(mock.get(), "triad.test.stuck", 0, -1);

  TempDir dir;
  auto store = OpenOutboxStore(dir);
  OutboxOptions options = MockOptions(mock);
  options.max_in_flight = 100;
  options.max_in_flight_per_partition = 20;
  auto outbox = std::move(*Outbox::Create(store.get(), options));
  ASSERT_TRUE(outbox->Start().ok());
  auto emit = [&](const std::string& topic, const std::string& key, int seq) {
    ASSERT_TRUE(CommitTick(*outbox, topic, key, seq).ok());
  };
  constexpr int kStuck = 150;  // more than max_in_flight
  for (int i = 1; i <= kStuck; ++i) emit("triad.test.stuck", "k", i);
  for (int i = 1; i <= 50; ++i) emit("triad.test.flowing", "n", i);

  EXPECT_EQ(ReadSeqs(mock.bootstrap(), "triad.test.flowing", 50, absl::Seconds(30)).size(), 50u)
      << "the leaderless partition blocked the others";
  ASSERT_TRUE(PollUntil([&] { return outbox->Depth() == kStuck; }, absl::Seconds(30)))
      << "depth " << outbox->Depth();

  rd_kafka_mock_partition_set_leader(mock.get(), "triad.test.stuck", 0, 1);
  ASSERT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(60))) << "depth " << outbox->Depth();
  std::vector<int64_t> seqs =
      ReadSeqs(mock.bootstrap(), "triad.test.stuck", kStuck, absl::Seconds(30));
  std::vector<int64_t> first;
  std::set<int64_t> seen;
  for (int64_t s : seqs) {
    if (seen.insert(s).second) first.push_back(s);
  }
  ASSERT_EQ(first.size(), static_cast<size_t>(kStuck));
  for (int i = 0; i < kStuck; ++i) ASSERT_EQ(first[i], i + 1) << "out of order at " << i;
  outbox->Stop();
}

// A relay started on an outbox whose rows were all published and deleted begins its scans
// after them, and new rows are numbered above them: the deleted rows (tombstones until
// compaction) are not walked again by every scan.
TEST(RelayMockClusterTest, ARestartedRelayScansFromTheEndOfAnEmptyOutbox) {
  MockCluster mock;
  rd_kafka_mock_topic_create(mock.get(), "triad.test.flowing", 1, 1);
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  OutboxOptions options = MockOptions(mock);
  options.idle_poll = absl::Milliseconds(20);
  constexpr int kRows = 300;
  {
    auto outbox = std::move(*Outbox::Create(store.get(), options));
    ASSERT_TRUE(outbox->Start().ok());
    for (int i = 1; i <= kRows; ++i) {
      ASSERT_TRUE(CommitTick(*outbox, "triad.test.flowing", "k", i).ok());
    }
    ASSERT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(30))) << "depth " << outbox->Depth();
    outbox->Stop();
  }
  {
    auto outbox = std::move(*Outbox::Create(store.get(), options));
    EXPECT_EQ(outbox->Depth(), 0);
    ASSERT_TRUE(outbox->Start().ok());
    EXPECT_TRUE(
        PollUntil([&] { return outbox->RelayScanStartForTesting() > kRows; }, absl::Seconds(10)))
        << "the relay still scans from " << outbox->RelayScanStartForTesting();
    outbox->Stop();
  }
  // Sequences continue above the deleted rows, and a row committed now is still published.
  auto outbox = std::move(*Outbox::Create(store.get(), options));
  ASSERT_TRUE(CommitTick(*outbox, "triad.test.flowing", "k", kRows + 1).ok());
  EXPECT_EQ(triad::testing::OutboxSequences(*store), std::vector<uint64_t>{kRows + 1});
  ASSERT_TRUE(outbox->Start().ok());
  EXPECT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(30))) << "depth " << outbox->Depth();
  std::vector<int64_t> seqs =
      ReadSeqs(mock.bootstrap(), "triad.test.flowing", kRows + 1, absl::Seconds(30));
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.back(), kRows + 1);
  outbox->Stop();
}

// A commit that took its sequence first but writes after a faster commit is published, and
// before it, even though the relay scanned the outbox while only the faster row was there.
TEST(RelayMockClusterTest, ACommitPassedByAFasterOneIsPublishedBeforeIt) {
  MockCluster mock;
  rd_kafka_mock_topic_create(mock.get(), "triad.test.flowing", 1, 1);
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  absl::Notification slow_took_its_sequence;
  absl::Notification release_slow;
  OutboxOptions options = MockOptions(mock);
  options.idle_poll = absl::Milliseconds(10);
  options.before_write_for_testing = [&](uint64_t first) {
    if (first != 1) return;
    slow_took_its_sequence.Notify();
    release_slow.WaitForNotification();
  };
  auto outbox = std::move(*Outbox::Create(store.get(), options));
  ASSERT_TRUE(outbox->Start().ok());
  absl::Status slow_status;
  std::thread slow([&] { slow_status = CommitTick(*outbox, "triad.test.flowing", "k", 1); });
  slow_took_its_sequence.WaitForNotification();
  ASSERT_TRUE(CommitTick(*outbox, "triad.test.flowing", "k", 2).ok());
  // Let the relay scan (twice, so at least one scan began after the fast row was written).
  const uint64_t scans = outbox->RelayScansForTesting();
  ASSERT_TRUE(
      PollUntil([&] { return outbox->RelayScansForTesting() >= scans + 2; }, absl::Seconds(10)));
  EXPECT_EQ(outbox->Depth(), 1) << "the fast row was published ahead of the slow one";
  release_slow.Notify();
  slow.join();
  ASSERT_TRUE(slow_status.ok()) << slow_status;
  ASSERT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(30))) << "depth " << outbox->Depth();
  EXPECT_EQ(ReadSeqs(mock.bootstrap(), "triad.test.flowing", 2, absl::Seconds(30)),
            (std::vector<int64_t>{1, 2}));
  outbox->Stop();
}

}  // namespace
}  // namespace triad::events
