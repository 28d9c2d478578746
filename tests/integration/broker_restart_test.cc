// Broker outage on a real broker: the test runs a private broker (scripts/kafka-local.sh on its
// own port and state) so it can stop it gracefully, and SIGKILL it while messages are in flight,
// and restart it mid-stream. Nothing is lost, nothing is applied twice, every key's events are
// applied in order, and the relay and the consumer resume by themselves.
//
// The private broker's port is TRIAD_TEST_RESTART_KAFKA_PORT when set (its controller listens on
// the next port), else one derived from the process id.
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// The consumer's effects, in its store: "ledger" counts the applications of each event (as
// testutil::LedgerHandler does); "state" holds per key the last seq applied ("last/<key>") and a
// record of each event applied after a later one of its key ("late/<seq>").
std::function<absl::Status(const Event&, const Ticked&, Transaction&)> OrderedLedgerHandler(
    storage::Store* store) {
  auto ledger = testutil::LedgerHandler(store);
  return [store, ledger](const Event& e, const Ticked& tick, Transaction& txn) {
    const std::string last_key = "last/" + tick.key();
    absl::StatusOr<std::string> last = store->Get("state", last_key);
    if (last.ok() && std::stoll(*last) > tick.seq()) {
      txn.batch().Put(store->Cf("state"), absl::StrCat("late/", tick.seq()), *last);
    } else {
      txn.batch().Put(store->Cf("state"), last_key, std::to_string(tick.seq()));
    }
    return ledger(e, tick, txn);
  };
}

int PrivateBrokerPort() {
  const char* env = std::getenv("TRIAD_TEST_RESTART_KAFKA_PORT");
  if (env != nullptr && *env != '\0') return std::atoi(env);
  return 19392 + static_cast<int>(getpid() % 200) * 2;
}

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
  const int port = PrivateBrokerPort();
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
  consumer.OnMessage<Ticked>(testutil::kTickType, OrderedLedgerHandler(consumer_store.get()));
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

  // A crash: the broker is SIGKILLed while the relay is publishing. A committer thread keeps
  // committing events; once the consumer has applied some of them (so the relay is mid-stream),
  // the broker is killed with later ones committed but not yet confirmed, and the committer
  // goes on while it is down, 300 events past the kill.
  std::atomic<int> committed{600};
  std::atomic<int> stop_at{0};  // 0: not decided yet
  std::atomic<bool> commit_failed{false};
  std::thread committer([&] {
    for (int i = 601; stop_at.load() == 0 || i <= stop_at.load(); ++i) {
      Transaction txn;
      Ticked t;
      t.set_key("key-" + std::to_string(i % 7));
      t.set_seq(i);
      txn.batch().Put(producer_store->Cf("state"), storage::KeyBuilder().U64(i).Build(), "c");
      txn.Emit(topic, t.key(), testutil::kTickType, t);
      if (!(*outbox)->Commit(txn).ok() || i > 100000) {
        commit_failed = true;
        return;
      }
      committed = i;
    }
  });
  const bool mid_stream =
      PollUntil([&] { return consumer.Stats().applied >= 700; }, absl::Seconds(60));
  const int64_t depth_before_kill = (*outbox)->Depth();
  const bool killed = mid_stream && broker.Run("kill");
  const int64_t depth_at_kill = (*outbox)->Depth();
  stop_at = committed.load() + 300;
  committer.join();
  ASSERT_FALSE(commit_failed);
  ASSERT_TRUE(mid_stream) << "the consumer never applied events committed after 600";
  ASSERT_TRUE(killed);
  std::cerr << "broker SIGKILLed with " << consumer.Stats().applied
            << " events applied; outbox depth " << depth_before_kill << " before, " << depth_at_kill
            << " after the kill\n";
  EXPECT_GT(depth_at_kill, 0) << "the broker was killed with nothing in flight";
  const int total = stop_at.load();
  ASSERT_TRUE(broker.Run("start"));

  ASSERT_TRUE((*outbox)->WaitUntilEmpty(absl::Seconds(120))) << "depth " << (*outbox)->Depth();
  ASSERT_TRUE(PollUntil([&] { return testutil::CountKeys(*consumer_store, "ledger") >= total; },
                        absl::Seconds(120)))
      << "applied " << consumer.Stats().applied;
  consumer.Stop();
  (*outbox)->Stop();
  std::map<int64_t, int> ledger = testutil::LedgerCounts(*consumer_store);
  ASSERT_EQ(ledger.size(), static_cast<size_t>(total));
  int64_t expected = 1;
  for (const auto& [seq, n] : ledger) {
    ASSERT_EQ(seq, expected++) << "an event was applied that was never committed";
    ASSERT_EQ(n, 1) << "event " << seq << " applied " << n << " times";
  }
  std::vector<std::string> late;
  (void)consumer_store->ScanPrefix("state", "late/", [&](std::string_view k, std::string_view v) {
    late.push_back(std::string(k) + " (after " + std::string(v) + ")");
    return true;
  });
  EXPECT_TRUE(late.empty()) << "events applied out of order within their key: "
                            << absl::StrJoin(late, ", ");
  for (int k = 0; k < 7; ++k) {  // each key's last applied event is its last committed one
    int last = total - (total - k) % 7;
    EXPECT_EQ(*consumer_store->Get("state", "last/key-" + std::to_string(k)), std::to_string(last));
  }
}

}  // namespace
}  // namespace triad::events
