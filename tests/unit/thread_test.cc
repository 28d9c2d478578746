// Unit tests of common/util/thread (a thread's name and CPU priority) and of the background
// threads that use it: the outbox relay's and an event consumer's threads, and librdkafka's
// threads they create, run under their names and below the priority of the thread that started
// them (no broker: the bootstrap address is never reached).
#include "common/util/thread.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::util {
namespace {

int NiceOf(pid_t tid) {
  errno = 0;
  return getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
}

pid_t ThisTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// ThreadNamed finds a thread of this process by name.
std::optional<pid_t> ThreadNamed(const std::string& name) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    if (ReadLine(entry.path().string() + "/comm") == name) {
      int tid = 0;
      if (absl::SimpleAtoi(entry.path().filename().string(), &tid)) return tid;
    }
  }
  return std::nullopt;
}

// InThread runs `fn` on a new thread (so lowering its priority leaves the test's thread alone).
void InThread(const std::function<void()>& fn) { std::thread(fn).join(); }

TEST(ThreadTest, NamesTheThreadCuttingTheNameToFifteenBytes) {
  InThread([] {
    NameThisThread("a-very-long-thread-name");
    EXPECT_EQ(ReadLine(absl::StrCat("/proc/self/task/", ThisTid(), "/comm")), "a-very-long-thr");
  });
}

TEST(ThreadTest, LowersOnlyTheCallingThreadByTheSteps) {
  const int mine = NiceOf(ThisTid());
  InThread([mine] {
    ASSERT_TRUE(LowerThisThreadPriority(0).ok());
    EXPECT_EQ(NiceOf(ThisTid()), mine);
    ASSERT_TRUE(LowerThisThreadPriority(3).ok());
    EXPECT_EQ(NiceOf(ThisTid()), std::min(mine + 3, kMaxNiceSteps));
    // Lower again: never past the lowest priority.
    ASSERT_TRUE(LowerThisThreadPriority(kMaxNiceSteps).ok());
    EXPECT_EQ(NiceOf(ThisTid()), kMaxNiceSteps);
  });
  EXPECT_EQ(NiceOf(ThisTid()), mine) << "the calling thread's priority changed";
}

TEST(ThreadTest, RefusesStepsOutOfRange) {
  InThread([] {
    const int before = NiceOf(ThisTid());
    EXPECT_EQ(LowerThisThreadPriority(-1).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(LowerThisThreadPriority(20).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(NiceOf(ThisTid()), before);
  });
}

TEST(ThreadTest, TheRelayAndConsumerThreadsRunNamedBelowTheirStarter) {
  testing::TempDir dir;
  storage::StoreOptions so;
  so.path = dir.path();
  so.column_families = {events::Outbox::kColumnFamily,
                        events::IdempotentConsumer::kInboxColumnFamily};
  auto store = storage::Store::Open(so);
  ASSERT_TRUE(store.ok()) << store.status();
  events::KafkaConfig kafka;
  kafka.bootstrap_servers = "127.0.0.1:1";  // never reached
  auto outbox = events::Outbox::Create(store->get(),
                                       {.source = "triad/test", .kafka = kafka, .relay_nice = 4});
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  events::IdempotentConsumer consumer(
      store->get(), outbox->get(), kafka,
      {.group_id = "g", .topics = {"triad.test.t"}, .thread_nice = 2});
  const int mine = NiceOf(ThisTid());
  ASSERT_TRUE((*outbox)->Start().ok());
  ASSERT_TRUE(consumer.Start().ok());
  std::optional<pid_t> relay, consuming;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        relay = ThreadNamed("triad-relay");
        consuming = ThreadNamed("triad-consumer");
        return relay && consuming;
      },
      absl::Seconds(10)))
      << "no thread named triad-relay and triad-consumer";
  // The name is set before the priority: wait for the priority too.
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        return NiceOf(*relay) == std::min(mine + 4, kMaxNiceSteps) &&
               NiceOf(*consuming) == std::min(mine + 2, kMaxNiceSteps);
      },
      absl::Seconds(10)))
      << "relay at " << NiceOf(*relay) << ", consumer at " << NiceOf(*consuming) << ", starter at "
      << mine;
  // librdkafka's threads, created by the relay's thread and for the consumer, run low too.
  int rdkafka_threads = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    if (!ReadLine(entry.path().string() + "/comm").starts_with("rdk:")) continue;
    int tid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(entry.path().filename().string(), &tid));
    ++rdkafka_threads;
    EXPECT_GE(NiceOf(tid), std::min(mine + 2, kMaxNiceSteps)) << "librdkafka thread " << tid;
  }
  EXPECT_GT(rdkafka_threads, 0);
  EXPECT_EQ(NiceOf(ThisTid()), mine);
  consumer.Stop();
  (*outbox)->Stop(absl::ZeroDuration());
}

}  // namespace
}  // namespace triad::util
