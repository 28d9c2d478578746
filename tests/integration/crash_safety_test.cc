// Crash safety on the real broker: a producing process and a consuming process are SIGKILLed at
// random points of their progress and restarted; every committed event is still applied exactly
// once (the consumer's ledger of applied events is compared with the producer's committed
// records). The kills are synchronised on what the processes report having done (their progress
// files), so each consumer kill provably lands mid-stream; its restart resumes at the offsets
// stored with the effects (Kafka's committed ones lag by the commit interval) and skips the
// events the killed producer published twice.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

// ReadProgress reads the numbers of a progress file (see outbox_crash_tool.cc); empty when the
// process has not written it yet.
std::vector<int64_t> ReadProgress(const std::string& path) {
  std::ifstream in(path);
  std::vector<int64_t> out;
  for (int64_t v; in >> v;) out.push_back(v);
  return out;
}

TEST(CrashSafetyTest, KilledProducerAndConsumerStillApplyEveryCommittedEventOnce) {
  constexpr int64_t kCount = 3000;
  constexpr int kRounds = 4;
  const std::string topic = "triad.test." + UniqueName("crash");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 3).ok());
  TempDir dir;
  const std::string tool = TRIAD_CRASH_TOOL;
  const std::string bootstrap = triad::testing::KafkaBootstrap();
  const std::string group = UniqueName("crash-g-");
  const std::string count = std::to_string(kCount);
  // Each process incarnation reports to a progress file of its own.
  int producer_runs = 0, consumer_runs = 0;
  std::vector<std::string> consumer_progress;
  std::string producer_progress;
  auto producer = [&] {
    producer_progress = dir.Sub(absl::StrCat("producer-", producer_runs++, ".progress"));
    return Spawn(
        {tool, "produce", dir.Sub("producer"), bootstrap, topic, count, producer_progress});
  };
  auto consumer = [&] {
    consumer_progress.push_back(dir.Sub(absl::StrCat("consumer-", consumer_runs++, ".progress")));
    return Spawn({tool, "consume", dir.Sub("consumer"), bootstrap, topic, group, count,
                  consumer_progress.back()});
  };
  // Progress reports the first number of a progress file (-1 before the process wrote one).
  auto progress = [](const std::string& path) -> int64_t {
    std::vector<int64_t> p = ReadProgress(path);
    return p.empty() ? -1 : p[0];
  };

  // Kill points, drawn from the seed: the producer is killed for the r-th time once it has
  // committed a random number of events in [100 + 650r, 500 + 650r]; the consumer once its
  // ledger holds a random number in [150 + 650r, 550 + 650r] and at least 50 more than at its
  // previous kill (so every consumer incarnation that is killed has joined the group and applied
  // events). The two sequences run independently: each process is killed when it reaches its
  // own next point, observed by polling its progress file.
  const uint64_t seed = triad::testing::RandomTestSeed();
  std::mt19937_64 rng(seed);
  std::vector<int64_t> producer_targets, consumer_targets;
  for (int r = 0; r < kRounds; ++r) {
    producer_targets.push_back(std::uniform_int_distribution<int64_t>(100, 500)(rng) + 650 * r);
    consumer_targets.push_back(std::uniform_int_distribution<int64_t>(150, 550)(rng) + 650 * r);
  }
  pid_t p = producer();
  pid_t c = consumer();
  int producer_kills = 0, consumer_kills = 0, mid_stream_consumer_kills = 0;
  int64_t ledger_at_last_kill = 0;
  size_t pr = 0, cr = 0;
  const bool all_kills_done = triad::testing::PollUntil(
      [&] {
        if (pr < producer_targets.size() && progress(producer_progress) >= producer_targets[pr]) {
          if (KillNow(p)) ++producer_kills;
          auto store = testutil::OpenEventStore(dir.Sub("producer"));
          std::cerr << "producer kill " << pr << ": " << testutil::CountKeys(*store, "state")
                    << " committed, " << testutil::CountKeys(*store, Outbox::kColumnFamily)
                    << " in the outbox\n";
          store.reset();
          p = producer();
          ++pr;
        }
        if (cr < consumer_targets.size() &&
            progress(consumer_progress.back()) >=
                std::max(consumer_targets[cr], ledger_at_last_kill + 50)) {
          if (KillNow(c)) ++consumer_kills;
          // The ledger as the killed process left it: applied some but not all events?
          auto store = testutil::OpenEventStore(dir.Sub("consumer"));
          ledger_at_last_kill = testutil::CountKeys(*store, "ledger");
          store.reset();
          std::cerr << "consumer kill " << cr << ": " << ledger_at_last_kill << " applied\n";
          if (ledger_at_last_kill > 0 && ledger_at_last_kill < kCount) {
            ++mid_stream_consumer_kills;
          }
          c = consumer();
          ++cr;
        }
        return pr == producer_targets.size() && cr == consumer_targets.size();
      },
      absl::Seconds(240), absl::Milliseconds(2));
  if (!all_kills_done) {  // do not leave the processes running
    KillNow(p);
    KillNow(c);
  }
  ASSERT_TRUE(all_kills_done) << "kill points not reached: producer " << pr << "/" << kRounds
                              << " (at " << progress(producer_progress) << "), consumer " << cr
                              << "/" << kRounds << " (at " << progress(consumer_progress.back())
                              << ")";
  EXPECT_EQ(WaitExit(p, absl::Seconds(180)), 0) << "producer did not finish";
  EXPECT_EQ(WaitExit(c, absl::Seconds(180)), 0) << "consumer did not apply everything";
  EXPECT_EQ(producer_kills, kRounds) << "a producer kill found the producer already exited";
  EXPECT_EQ(consumer_kills, kRounds) << "a consumer kill found the consumer already exited";
  EXPECT_GE(mid_stream_consumer_kills, 1)
      << "no consumer kill landed while it had applied some but not all events";

  // The restarted consumers applied the events the killed ones had not. They resume at the
  // offsets stored with the effects, so they see an event again only when a killed producer
  // published it twice (and skip it).
  int64_t duplicates = 0, applied_after_restart = 0;
  for (size_t i = 1; i < consumer_progress.size(); ++i) {
    std::vector<int64_t> progress = ReadProgress(consumer_progress[i]);
    const bool last = i + 1 == consumer_progress.size();
    if (!last && progress.empty()) continue;  // killed before it reported anything
    ASSERT_EQ(progress.size(), 3u) << consumer_progress[i];
    applied_after_restart += progress[1];
    duplicates += progress[2];
  }
  std::cerr << "after restarts: " << applied_after_restart << " applied, " << duplicates
            << " redeliveries skipped\n";
  EXPECT_GT(applied_after_restart, 0);

  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto consumer_store = testutil::OpenEventStore(dir.Sub("consumer"));
  EXPECT_EQ(testutil::CountKeys(*producer_store, "state"), kCount);
  EXPECT_EQ(testutil::CountKeys(*producer_store, Outbox::kColumnFamily), 0);
  std::map<int64_t, int> ledger = testutil::LedgerCounts(*consumer_store);
  ASSERT_EQ(ledger.size(), static_cast<size_t>(kCount));
  int64_t expected = 1;
  for (const auto& [seq, n] : ledger) {
    ASSERT_EQ(seq, expected++) << "an event was applied that was never committed";
    ASSERT_EQ(n, 1) << "event " << seq << " applied " << n << " times";
  }
  // The offsets stored with the effects reached the end of every partition.
  auto stored = ReadStoredOffsets(*consumer_store);
  ASSERT_TRUE(stored.ok()) << stored.status();
  int64_t stored_total = 0, end_total = 0;
  for (const StoredOffset& o : *stored) {
    if (o.group == group && o.topic == topic) stored_total += o.next_offset;
  }
  auto conf = MakeConf(TestKafkaConfig(), {{"group.id", UniqueName("crash-watermarks-")}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> watermarks(
      RdKafka::KafkaConsumer::create(conf->get(), err));
  ASSERT_NE(watermarks, nullptr) << err;
  for (int32_t partition = 0; partition < 3; ++partition) {
    int64_t low = 0, high = 0;
    ASSERT_EQ(watermarks->query_watermark_offsets(topic, partition, &low, &high, 10000),
              RdKafka::ERR_NO_ERROR);
    end_total += high;
  }
  watermarks->close();
  EXPECT_EQ(stored_total, end_total) << "stored offsets short of the log end";
}

}  // namespace
}  // namespace triad::events
