// Broker outage on a real broker: the test runs a private broker (scripts/kafka-local.sh on its
// own port and state) so it can stop and restart it mid-stream. Nothing is lost, nothing is
// applied twice, and the relay and the consumer resume by themselves.
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/event_test_util.h"

namespace triad::events {
namespace {

using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::UniqueName;
using triad::testing::v1::Ticked;

class PrivateBroker {
 public:
  PrivateBroker(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  ~PrivateBroker() { Run("stop"); }
  bool Run(const std::string& verb) {
    std::string cmd = absl::StrCat("env -u KAFKA_BOOTSTRAP_SERVERS TRIAD_KAFKA_PORT=", port_,
                                   " TRIAD_KAFKA_DIR=", dir_, " ", TRIAD_SOURCE_DIR,
                                   "/scripts/kafka-local.sh ", verb, " >&2");
    return std::system(cmd.c_str()) == 0;
  }
  KafkaConfig Config() const {
    return KafkaConfig{.bootstrap_servers = absl::StrCat("127.0.0.1:", port_)};
  }

 private:
  std::string dir_;
  int port_;
};

void CommitTicks(Outbox& outbox, storage::Store& store, const std::string& topic, int from,
                 int to) {
  for (int i = from; i <= to; ++i) {
    Transaction txn;
    Ticked t;
    t.set_key("key-" + std::to_string(i % 7));
    t.set_seq(i);
    txn.batch().Put(store.Cf("state"), storage::KeyBuilder().U64(i).Build(), "c");
    txn.Emit(topic, t.key(), testutil::kTickType, t);
    ASSERT_TRUE(outbox.Commit(txn).ok());
  }
}

TEST(BrokerRestartTest, NothingIsLostAndTheRelayResumesByItself) {
  TempDir dir;
  const int port = 19392 + static_cast<int>(getpid() % 200) * 2;
  PrivateBroker broker(dir.Sub("kafka"), port);
  ASSERT_TRUE(broker.Run("start"));
  const std::string topic = "triad.test." + UniqueName("restart");
  ASSERT_TRUE(EnsureTopics(broker.Config(), {topic, DlqTopic(topic)}, 2).ok());

  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto consumer_store = testutil::OpenEventStore(dir.Sub("consumer"));
  OutboxOptions oo{
      .source = "triad/test", .kafka = broker.Config(), .retry_backoff = absl::Milliseconds(200)};
  auto outbox = Outbox::Create(producer_store.get(), oo);
  ASSERT_TRUE((*outbox)->Start().ok());
  IdempotentConsumer consumer(consumer_store.get(), nullptr, broker.Config(),
                              {.group_id = UniqueName("g-"), .topics = {topic}});
  consumer.OnMessage<Ticked>(testutil::kTickType, testutil::LedgerHandler(consumer_store.get()));
  ASSERT_TRUE(consumer.Start().ok());

  CommitTicks(**outbox, *producer_store, topic, 1, 300);
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied >= 300; }, absl::Seconds(90)));

  ASSERT_TRUE(broker.Run("stop"));
  CommitTicks(**outbox, *producer_store, topic, 301, 600);  // committed while Kafka is down
  EXPECT_GT((*outbox)->Depth(), 0);
  ASSERT_TRUE(broker.Run("start"));

  ASSERT_TRUE((*outbox)->WaitUntilEmpty(absl::Seconds(120))) << "depth " << (*outbox)->Depth();
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied >= 600; }, absl::Seconds(120)))
      << "applied " << consumer.Stats().applied;
  consumer.Stop();
  (*outbox)->Stop();
  std::map<int64_t, int> ledger = testutil::LedgerCounts(*consumer_store);
  ASSERT_EQ(ledger.size(), 600u);
  for (const auto& [seq, n] : ledger) ASSERT_EQ(n, 1) << "event " << seq;
}

}  // namespace
}  // namespace triad::events
