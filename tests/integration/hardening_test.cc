// Real-broker tests of the event core under faults: an event Kafka refuses permanently is
// quarantined while the stream goes on; a failed delivery keeps per-key order; a storage fault
// pauses consumption (nothing is dead-lettered) and every event is applied exactly once after
// recovery; a service starts and serves while Kafka is down and relays once it is back; a second
// instance of a service is refused; a clean shutdown releases the lease without a warning.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/logging.h"
#include "common/server/runtime.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/integration/event_test_util.h"

namespace triad::events {
namespace {

using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;
using triad::testing::v1::Ticked;

void Emit(Outbox& outbox, const std::string& topic, const std::string& key, int seq,
          size_t pad = 0) {
  Transaction txn;
  Ticked t;
  t.set_key(key + std::string(pad, 'p'));
  t.set_seq(seq);
  txn.Emit(topic, key, testutil::kTickType, t);
  ASSERT_TRUE(outbox.Commit(txn).ok());
}

// Seqs returns the seq of each Ticked read from `topic`, in the order read (one partition).
std::vector<int64_t> Seqs(const std::vector<testutil::ReadMessage>& msgs) {
  std::vector<int64_t> out;
  for (const auto& m : msgs) {
    Ticked t;
    t.ParseFromString(m.payload);
    out.push_back(t.seq());
  }
  return out;
}

TEST(HardeningTest, APermanentlyRefusedEventIsQuarantinedAndTheStreamGoesOn) {
  const std::string small = "triad.test." + UniqueName("small");  // refuses records > 1 KB
  const std::string normal = "triad.test." + UniqueName("normal");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {small}, 1, 1, 0, absl::Seconds(30),
                           {{"max.message.bytes", "1024"}})
                  .ok());
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {normal}, 1).ok());
  TempDir dir;
  auto store = testutil::OpenEventStore(dir.path());
  auto outbox = std::move(*Outbox::Create(store.get(), {.source = "triad/test",
                                                        .kafka = TestKafkaConfig(),
                                                        .retry_backoff = absl::Milliseconds(100)}));
  ASSERT_TRUE(outbox->Start().ok());
  Emit(*outbox, normal, "a", 1);
  Emit(*outbox, small, "b", 2, 4000);  // too large for its topic
  Emit(*outbox, normal, "a", 3);
  Emit(*outbox, small, "c", 4);
  Emit(*outbox, normal, "a", 5);

  ASSERT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(60)))
      << "depth " << outbox->Depth() << ": one refused event blocked the stream";
  EXPECT_EQ(outbox->Quarantined(), 1);
  EXPECT_EQ(Seqs(testutil::ReadAll(normal, 3, absl::Seconds(30))), (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(Seqs(testutil::ReadAll(small, 1, absl::Seconds(30))), (std::vector<int64_t>{4}));
  auto quarantined = outbox->ListQuarantined(10);
  ASSERT_TRUE(quarantined.ok());
  ASSERT_EQ(quarantined->size(), 1u);
  EXPECT_EQ((*quarantined)[0].event.topic, small);
  EXPECT_FALSE((*quarantined)[0].error.empty());

  // Once the operator raises the topic's limit, a requeued event is delivered.
  ASSERT_TRUE(AlterTopicConfig(TestKafkaConfig(), small, {{"max.message.bytes", "1048588"}}).ok());
  ASSERT_TRUE(outbox->Requeue((*quarantined)[0].seq).ok());
  ASSERT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(60)));
  EXPECT_EQ(outbox->Quarantined(), 0);
  auto all = Seqs(testutil::ReadAll(small, 2, absl::Seconds(30)));
  EXPECT_EQ(all, (std::vector<int64_t>{4, 2}));
  outbox->Stop();
}

TEST(HardeningTest, AFailedDeliveryKeepsPerKeyOrder) {
  // One oversized record makes the broker refuse the whole batch it travels in: every event
  // of the batch gets a failed delivery. The relay retries them one by one, in commit order,
  // quarantines only the oversized one, and the key's other events arrive in order.
  const std::string topic = "triad.test." + UniqueName("order");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic}, 1, 1, 0, absl::Seconds(30),
                           {{"max.message.bytes", "2048"}})
                  .ok());
  TempDir dir;
  auto store = testutil::OpenEventStore(dir.path());
  auto outbox = std::move(*Outbox::Create(store.get(), {.source = "triad/test",
                                                        .kafka = TestKafkaConfig(),
                                                        .retry_backoff = absl::Milliseconds(100)}));
  for (int i = 1; i <= 20; ++i) Emit(*outbox, topic, "k", i, i == 7 ? 5000 : 0);
  ASSERT_TRUE(outbox->Start().ok());  // all 20 are waiting: they go out in few batches
  ASSERT_TRUE(outbox->WaitUntilEmpty(absl::Seconds(60))) << "depth " << outbox->Depth();
  EXPECT_EQ(outbox->Quarantined(), 1);
  auto seqs = Seqs(testutil::ReadAll(topic, 19, absl::Seconds(30)));
  std::vector<int64_t> want;
  for (int i = 1; i <= 20; ++i) {
    if (i != 7) want.push_back(i);
  }
  EXPECT_EQ(seqs, want);
  outbox->Stop();
}

// FaultyFileSystem fails every write while `fail` is set, as a full disk does.
class FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
      : rocksdb::FileSystemWrapper(std::move(base)) {}
  const char* Name() const override { return "FaultyFileSystem"; }
  std::atomic<bool> fail{false};

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, const FaultyFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->fail) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->fail) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Append(data, o, v, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->fail) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Sync(o, dbg);
    }

   private:
    const FaultyFileSystem* fs_;
  };

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), this);
    return s;
  }
};

TEST(HardeningTest, AStorageFaultPausesConsumptionAndEveryEventAppliesOnceAfterRecovery) {
  const std::string topic = "triad.test." + UniqueName("disk");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 2).ok());
  auto fs = std::make_shared<FaultyFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  TempDir dir;
  storage::StoreOptions so;
  so.path = dir.path();
  so.column_families = {"state", "ledger", Outbox::kColumnFamily,
                        IdempotentConsumer::kInboxColumnFamily};
  so.env = env.get();
  auto store = std::move(*storage::Store::Open(so));
  IdempotentConsumer consumer(store.get(), nullptr, TestKafkaConfig(),
                              {.group_id = UniqueName("g-"),
                               .topics = {topic},
                               .retry_backoff = absl::Milliseconds(50),
                               .max_retry_backoff = absl::Milliseconds(500)});
  consumer.OnMessage<Ticked>(testutil::kTickType, testutil::LedgerHandler(store.get()));
  ASSERT_TRUE(consumer.Start().ok());
  testutil::RawProducer raw;
  auto send = [&](int seq) {
    Ticked t;
    t.set_key(absl::StrCat("k", seq % 5));
    t.set_seq(seq);
    Event e{.id = NewEventId(), .type = testutil::kTickType, .source = "triad/test"};
    ASSERT_TRUE(raw.Send(topic, t.key(), t.SerializeAsString(), &e));
  };
  for (int i = 1; i <= 20; ++i) send(i);
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 20; }, absl::Seconds(60)));

  fs->fail = true;  // the disk is full
  for (int i = 21; i <= 40; ++i) send(i);
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().retried >= 3; }, absl::Seconds(60)));
  EXPECT_EQ(consumer.Stats().dead_lettered, 0) << "a storage fault dead-lettered good events";
  EXPECT_EQ(consumer.Stats().applied, 20);

  fs->fail = false;  // space freed
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 40; }, absl::Seconds(90)))
      << "applied " << consumer.Stats().applied;
  consumer.Stop();
  EXPECT_EQ(consumer.Stats().dead_lettered, 0);
  auto counts = testutil::LedgerCounts(*store);
  for (int i = 1; i <= 40; ++i) EXPECT_EQ(counts[i], 1) << "seq " << i;
}

// Forwarder accepts on a local port and pipes each connection to the broker (Kafka clients
// learn the broker's own address from metadata, so only bootstrapping goes through it).
class Forwarder {
 public:
  explicit Forwarder(int target_port) : target_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Forwarder() {
    running_ = false;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    if (accept_.joinable()) accept_.join();
    for (auto& t : pumps_) t.join();
  }
  int port() const { return port_; }
  // Open starts accepting (before it, connections are refused: "Kafka is down").
  void Open() {
    listen(listen_fd_, 16);
    accept_ = std::thread([this] {
      while (running_) {
        int c = accept(listen_fd_, nullptr, nullptr);
        if (c < 0) return;
        int b = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(target_));
        if (connect(b, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
          close(c);
          close(b);
          continue;
        }
        pumps_.emplace_back([c, b] { Pump(c, b); });
        pumps_.emplace_back([c, b] { Pump(b, c); });
      }
    });
  }

 private:
  static void Pump(int from, int to) {
    char buf[16384];
    while (true) {
      ssize_t n = read(from, buf, sizeof(buf));
      if (n <= 0 || write(to, buf, static_cast<size_t>(n)) != n) break;
    }
    shutdown(to, SHUT_WR);
  }
  int target_;
  int listen_fd_;
  int port_ = 0;
  std::atomic<bool> running_{true};
  std::thread accept_;
  std::vector<std::thread> pumps_;
};

int BrokerPort() {
  const std::string& b = TestKafkaConfig().bootstrap_servers;
  return std::stoi(b.substr(b.rfind(':') + 1, b.find(',') == std::string::npos
                                                  ? std::string::npos
                                                  : b.find(',') - b.rfind(':') - 1));
}

server::RuntimeOptions RuntimeFor(const std::string& service, const std::string& dir,
                                  const std::string& group, KafkaConfig kafka) {
  server::RuntimeOptions o;
  o.service = service;
  o.column_families = {"state", "ledger"};
  o.topics = {absl::StrCat("triad.", service, ".tick")};
  o.data_dir = dir;
  o.kafka = std::move(kafka);
  o.server.admin_port = -1;
  o.topic_partitions = 1;
  o.consumer_group = group;
  o.lease_wait = absl::Seconds(15);
  return o;
}

TEST(HardeningTest, AServiceStartsAndServesWhileKafkaIsDownAndRelaysOnceItIsBack) {
  Forwarder kafka(BrokerPort());
  KafkaConfig config = TestKafkaConfig();
  config.bootstrap_servers = absl::StrCat("127.0.0.1:", kafka.port());
  const std::string service = UniqueName("down");
  TempDir dir;
  auto rt = std::move(
      *server::ServiceRuntime::Create(RuntimeFor(service, dir.path(), UniqueName("g-"), config)));
  ASSERT_TRUE(rt->Start().ok());  // Kafka is unreachable: the server starts all the same
  const std::string topic = absl::StrCat("triad.", service, ".tick");
  for (int i = 1; i <= 10; ++i) Emit(rt->outbox(), topic, "k", i);  // writes are accepted
  absl::SleepFor(absl::Seconds(2));  // give a (wrong) connection a chance to happen
  EXPECT_FALSE(rt->Connected());
  EXPECT_EQ(rt->outbox().Depth(), 10);

  kafka.Open();  // Kafka is back
  ASSERT_TRUE(PollUntil([&] { return rt->Connected(); }, absl::Seconds(90))) << rt->Failed();
  ASSERT_TRUE(rt->outbox().WaitUntilEmpty(absl::Seconds(60)));
  EXPECT_EQ(Seqs(testutil::ReadAll(topic, 10, absl::Seconds(30))).size(), 10u);
  rt->Shutdown();
}

TEST(HardeningTest, ASecondInstanceOfAServiceIsRefused) {
  const std::string service = UniqueName("lease");
  const std::string group = UniqueName("g-");
  TempDir a_dir, b_dir;
  auto a = std::move(
      *server::ServiceRuntime::Create(RuntimeFor(service, a_dir.path(), group, TestKafkaConfig())));
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(PollUntil([&] { return a->Connected(); }, absl::Seconds(60))) << a->Failed();
  auto b = std::move(
      *server::ServiceRuntime::Create(RuntimeFor(service, b_dir.path(), group, TestKafkaConfig())));
  ASSERT_TRUE(b->Start().ok());
  ASSERT_TRUE(PollUntil([&] { return !b->Failed().ok(); }, absl::Seconds(60)));
  EXPECT_TRUE(absl::IsFailedPrecondition(b->Failed())) << b->Failed();
  EXPECT_FALSE(b->Connected());
  EXPECT_TRUE(a->Connected());
  EXPECT_TRUE(a->Failed().ok());
  b->Shutdown();
  a->Shutdown();
}

// A clean shutdown hands the single-instance lease on: logged as released, not as a loss (a
// warning on every rolling restart would teach operators to ignore the real one).
TEST(HardeningTest, ACleanShutdownReleasesTheLeaseWithoutAWarning) {
  const std::string service = UniqueName("lease-release");
  TempDir dir;
  auto rt = std::move(*server::ServiceRuntime::Create(
      RuntimeFor(service, dir.path(), UniqueName("g-"), TestKafkaConfig())));
  ASSERT_TRUE(rt->Start().ok());
  ASSERT_TRUE(PollUntil([&] { return rt->Connected(); }, absl::Seconds(60))) << rt->Failed();
  std::mutex mu;
  std::vector<std::string> lines;
  logging::SetLineObserver([&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  });
  rt->Shutdown();
  logging::SetLineObserver(nullptr);
  bool released = false;
  for (const std::string& line : lines) {
    EXPECT_FALSE(absl::StrContains(line, "lease: lost")) << line;
    released = released || absl::StrContains(line, "lease: released");
  }
  EXPECT_TRUE(released) << "no 'lease: released' line among " << lines.size();
}

}  // namespace
}  // namespace triad::events
