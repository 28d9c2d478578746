// Crash safety on the real broker: a producing process and a consuming process are SIGKILLed at
// random points and restarted; every committed event is still applied exactly once (the
// consumer's ledger of applied events is compared with the producer's committed records).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <random>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "tests/integration/event_test_util.h"

extern char** environ;

namespace triad::events {
namespace {

using triad::testing::TempDir;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

// WaitExit waits up to `timeout` for the process; returns its exit code, or -1 on timeout.
int WaitExit(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// KillNow SIGKILLs the process and reaps it; true if it was still running.
bool KillNow(pid_t pid) {
  bool running = kill(pid, SIGKILL) == 0;
  int status = 0;
  waitpid(pid, &status, 0);
  return running && WIFSIGNALED(status);
}

TEST(CrashSafetyTest, KilledProducerAndConsumerStillApplyEveryCommittedEventOnce) {
  const std::string topic = "triad.test." + UniqueName("crash");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 3).ok());
  TempDir dir;
  const std::string tool = TRIAD_CRASH_TOOL;
  const std::string bootstrap = triad::testing::KafkaBootstrap();
  const std::string group = UniqueName("crash-g-");
  const std::string count = "3000";
  auto producer = [&] {
    return Spawn({tool, "produce", dir.Sub("producer"), bootstrap, topic, count});
  };
  auto consumer = [&] {
    return Spawn({tool, "consume", dir.Sub("consumer"), bootstrap, topic, group, count});
  };

  std::mt19937 rng(std::random_device{}());
  // Kill points: 4 rounds of two delays of 100-400 ms, all within ~3.2 s, while the producer
  // (throttled to ~3 s for 3,000 events, plus restarts) and hence the consumer are still busy.
  std::uniform_int_distribution<int> delay_ms(100, 400);
  pid_t p = producer();
  pid_t c = consumer();
  int producer_kills = 0, consumer_kills = 0;
  for (int round = 0; round < 4; ++round) {
    absl::SleepFor(absl::Milliseconds(delay_ms(rng)));  // a random crash point, not a sync
    if (KillNow(p)) ++producer_kills;
    p = producer();
    absl::SleepFor(absl::Milliseconds(delay_ms(rng)));
    if (KillNow(c)) ++consumer_kills;
    c = consumer();
  }
  EXPECT_EQ(WaitExit(p, absl::Seconds(180)), 0) << "producer did not finish";
  EXPECT_EQ(WaitExit(c, absl::Seconds(180)), 0) << "consumer did not apply everything";
  EXPECT_GE(producer_kills, 1) << "the producer was never killed mid-run";
  EXPECT_GE(consumer_kills, 1) << "the consumer was never killed mid-run";

  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto consumer_store = testutil::OpenEventStore(dir.Sub("consumer"));
  EXPECT_EQ(testutil::CountKeys(*producer_store, "state"), 3000);
  EXPECT_EQ(testutil::CountKeys(*producer_store, Outbox::kColumnFamily), 0);
  std::map<int64_t, int> ledger = testutil::LedgerCounts(*consumer_store);
  ASSERT_EQ(ledger.size(), 3000u);
  int64_t expected = 1;
  for (const auto& [seq, n] : ledger) {
    ASSERT_EQ(seq, expected++) << "an event was applied that was never committed";
    ASSERT_EQ(n, 1) << "event " << seq << " applied " << n << " times";
  }
}

}  // namespace
}  // namespace triad::events
