// Integration tests of outbox -> Kafka -> idempotent consumer on the real broker: exactly-once
// application in per-key order over several partitions, redelivery skipped, poison messages
// dead-lettered while the consumer keeps going.
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/util/locks.h"
#include "tests/integration/event_test_util.h"

namespace triad::events {
namespace {

using testutil::kTickType;
using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;
using triad::testing::v1::Ticked;

TEST(EventsIntegrationTest, TenThousandEventsAppliedExactlyOnceInPerKeyOrder) {
  const std::string topic = "triad.test." + UniqueName("tick");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 4).ok());
  TempDir dir;
  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto consumer_store = testutil::OpenEventStore(dir.Sub("consumer"));

  auto outbox =
      Outbox::Create(producer_store.get(), {.source = "triad/test", .kafka = TestKafkaConfig()});
  ASSERT_TRUE(outbox.ok());
  ASSERT_TRUE((*outbox)->Start().ok());

  ConsumerOptions co{.group_id = UniqueName("g-"), .topics = {topic}};
  IdempotentConsumer consumer(consumer_store.get(), nullptr, TestKafkaConfig(), co);
  std::mutex mu;
  std::map<std::string, int64_t> last_seq;
  std::vector<Event> seen;
  int order_violations = 0;
  auto ledger = testutil::LedgerHandler(consumer_store.get());
  consumer.OnMessage<Ticked>(kTickType, [&](const Event& e, const Ticked& t, Transaction& txn) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (t.seq() <= last_seq[t.key()]) ++order_violations;
      last_seq[t.key()] = t.seq();
      if (seen.size() < 50) seen.push_back(e);
    }
    return ledger(e, t, txn);
  });
  ASSERT_TRUE(consumer.Start().ok());

  constexpr int kEvents = 10000;
  constexpr int kKeys = 50;
  for (int i = 1; i <= kEvents; ++i) {
    Transaction txn;
    Ticked t;
    t.set_key("key-" + std::to_string(i % kKeys));
    t.set_seq(i);
    txn.batch().Put(producer_store->Cf("state"), storage::KeyBuilder().U64(i).Build(), "c");
    txn.Emit(topic, t.key(), kTickType, t);
    ASSERT_TRUE((*outbox)->Commit(txn).ok());
  }
  ASSERT_TRUE((*outbox)->WaitUntilEmpty(absl::Seconds(120))) << "depth " << (*outbox)->Depth();
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied >= kEvents; }, absl::Seconds(120)))
      << "applied " << consumer.Stats().applied;

  std::map<int64_t, int> counts = testutil::LedgerCounts(*consumer_store);
  ASSERT_EQ(counts.size(), static_cast<size_t>(kEvents));
  for (const auto& [seq, n] : counts) ASSERT_EQ(n, 1) << "event " << seq;
  EXPECT_EQ(order_violations, 0);
  EXPECT_EQ(testutil::CountKeys(*producer_store, Outbox::kColumnFamily), 0);

  // Redeliver 50 events (same ce_id, as after a producer crash): recognised and skipped.
  testutil::RawProducer raw;
  std::vector<Event> again;
  {
    std::lock_guard<std::mutex> lock(mu);
    again = seen;
  }
  for (const Event& e : again) ASSERT_TRUE(raw.Send(topic, e.key, e.payload, &e));
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().duplicates >= 50; }, absl::Seconds(60)));
  consumer.Stop();
  counts = testutil::LedgerCounts(*consumer_store);
  for (const auto& [seq, n] : counts) ASSERT_EQ(n, 1) << "event " << seq << " applied twice";
  EXPECT_EQ(consumer.Stats().applied, kEvents);
  (*outbox)->Stop();
}

TEST(EventsIntegrationTest, PoisonMessagesGoToTheDlqAndTheConsumerKeepsGoing) {
  const std::string topic = "triad.test." + UniqueName("poison");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 1).ok());
  TempDir dir;
  auto store = testutil::OpenEventStore(dir.path());
  ConsumerOptions co{
      .group_id = UniqueName("g-"), .topics = {topic}, .retry_backoff = absl::Milliseconds(10)};
  IdempotentConsumer consumer(store.get(), nullptr, TestKafkaConfig(), co);
  consumer.OnMessage<Ticked>(kTickType, testutil::LedgerHandler(store.get()));
  std::atomic<int> failing_calls{0};
  consumer.On("triad.test.tick.always_fails.v1", [&](const Event&, Transaction&) {
    ++failing_calls;
    return PermanentError(absl::UnavailableError("the handler says this event can never apply"));
  });
  ASSERT_TRUE(consumer.Start().ok());

  testutil::RawProducer raw;
  Event e{.id = NewEventId(), .type = kTickType, .source = "triad/test", .time = absl::Now()};
  ASSERT_TRUE(raw.Send(topic, "k", "\xff\xff\xff not protobuf", &e));  // undecodable payload
  ASSERT_TRUE(raw.Send(topic, "k", "no headers at all", nullptr));     // not a CloudEvent
  Event failing = e;
  failing.id = NewEventId();
  failing.type = "triad.test.tick.always_fails.v1";
  ASSERT_TRUE(raw.Send(topic, "k", "", &failing));  // handler keeps failing
  Ticked good;
  good.set_key("k");
  good.set_seq(7);
  Event ok = e;
  ok.id = NewEventId();
  ASSERT_TRUE(raw.Send(topic, "k", good.SerializeAsString(), &ok));

  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 1; }, absl::Seconds(60)));
  EXPECT_EQ(consumer.Stats().dead_lettered, 3);
  EXPECT_EQ(failing_calls.load(), 1);  // a permanent error is not retried
  EXPECT_EQ(testutil::LedgerCounts(*store)[7], 1);

  auto dead = testutil::ReadAll(DlqTopic(topic), 3, absl::Seconds(30));
  ASSERT_EQ(dead.size(), 3u);
  std::vector<std::string> reasons;
  for (auto& m : dead) {
    reasons.push_back(m.headers[kHeaderDlqReason]);
    EXPECT_EQ(m.headers[kHeaderDlqTopic], topic);
    EXPECT_EQ(m.headers[kHeaderDlqGroup], co.group_id);
  }
  EXPECT_NE(reasons[0].find("does not decode"), std::string::npos) << reasons[0];
  EXPECT_NE(reasons[1].find("no CloudEvents headers"), std::string::npos) << reasons[1];
  EXPECT_NE(reasons[2].find("can never apply"), std::string::npos) << reasons[2];
  consumer.Stop();
}

TEST(EventsIntegrationTest, EventsOfUnhandledTypesAreSkippedNotDeadLettered) {
  const std::string topic = "triad.test." + UniqueName("mixed");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 1).ok());
  TempDir dir;
  auto store = testutil::OpenEventStore(dir.path());
  IdempotentConsumer consumer(store.get(), nullptr, TestKafkaConfig(),
                              {.group_id = UniqueName("g-"), .topics = {topic}});
  consumer.OnMessage<Ticked>(kTickType, testutil::LedgerHandler(store.get()));
  ASSERT_TRUE(consumer.Start().ok());
  testutil::RawProducer raw;
  Event other{.id = NewEventId(), .type = "triad.test.tick.other.v1", .source = "triad/test"};
  ASSERT_TRUE(raw.Send(topic, "k", "x", &other));
  Ticked t;
  t.set_seq(1);
  Event e{.id = NewEventId(), .type = kTickType, .source = "triad/test"};
  ASSERT_TRUE(raw.Send(topic, "k", t.SerializeAsString(), &e));
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 1; }, absl::Seconds(60)));
  EXPECT_EQ(consumer.Stats().ignored, 1);
  EXPECT_EQ(consumer.Stats().dead_lettered, 0);
  consumer.Stop();
}

}  // namespace
}  // namespace triad::events

namespace triad::events {
namespace {

// Two members of one consumer group share the partitions; when one leaves mid-stream the other
// takes its partitions over (the leaving member commits before revocation) and every event is
// still applied exactly once.
// Two members of one group, each with its own store (so its own dedupe records): what one member
// applied the other cannot recognise, and only offsets committed before a partition changes
// hands keep an event from being applied twice (or skipped). Offsets are committed on a long
// interval, so the commit at revocation (when a second member joins) and at Stop (it leaves) is
// what the handover depends on. The union of the two members' effects must be exactly-once.
TEST(EventsIntegrationTest, GroupMembersSharePartitionsAndHandOverOnRebalance) {
  using triad::testing::PollUntil;
  using triad::testing::TestKafkaConfig;
  using triad::testing::UniqueName;
  const std::string topic = "triad.test." + UniqueName("group");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 4).ok());
  triad::testing::TempDir dir;
  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto store_a = testutil::OpenEventStore(dir.Sub("consumer-a"));
  auto store_b = testutil::OpenEventStore(dir.Sub("consumer-b"));
  auto outbox =
      Outbox::Create(producer_store.get(), {.source = "triad/test", .kafka = TestKafkaConfig()});
  ASSERT_TRUE((*outbox)->Start().ok());

  const std::string group = UniqueName("g-");
  // No periodic commit within the test's time: only the rebalance and Stop commit offsets.
  ConsumerOptions co{.group_id = group, .topics = {topic}, .commit_interval = absl::Hours(1)};
  IdempotentConsumer a(store_a.get(), nullptr, TestKafkaConfig(), co);
  IdempotentConsumer b(store_b.get(), nullptr, TestKafkaConfig(), co);
  a.OnMessage<triad::testing::v1::Ticked>(testutil::kTickType,
                                          testutil::LedgerHandler(store_a.get()));
  b.OnMessage<triad::testing::v1::Ticked>(testutil::kTickType,
                                          testutil::LedgerHandler(store_b.get()));
  auto commit = [&](int from, int to) {
    for (int i = from; i <= to; ++i) {
      Transaction txn;
      triad::testing::v1::Ticked t;
      t.set_key("key-" + std::to_string(i % 40));
      t.set_seq(i);
      txn.Emit(topic, t.key(), testutil::kTickType, t);
      ASSERT_TRUE((*outbox)->Commit(txn).ok());
    }
  };
  // Distinct events in the union of both members' ledgers.
  auto applied = [&] {
    std::map<int64_t, int> all = testutil::LedgerCounts(*store_a);
    for (const auto& [seq, n] : testutil::LedgerCounts(*store_b)) all[seq] += n;
    return all;
  };

  // a alone applies the first 1,000 events; none of their offsets is committed yet.
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(PollUntil([&] { return a.Assigned() == 4; }, absl::Seconds(60)));
  commit(1, 1000);
  ASSERT_TRUE(PollUntil([&] { return a.Stats().applied >= 1000; }, absl::Seconds(60)))
      << "a applied " << a.Stats().applied;

  // b joins: a's partitions are revoked and shared; b resumes where a left off.
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(PollUntil(
      [&] { return a.Assigned() + b.Assigned() == 4 && a.Assigned() > 0 && b.Assigned() > 0; },
      absl::Seconds(60)))
      << "a=" << a.Assigned() << " b=" << b.Assigned();
  commit(1001, 2000);
  ASSERT_TRUE(PollUntil([&] { return applied().size() >= 2000; }, absl::Seconds(60)))
      << "applied " << applied().size();
  EXPECT_GT(b.Stats().applied, 0) << "b never applied anything";
  const int64_t a_before_leave = a.Stats().applied;
  EXPECT_GT(a_before_leave, 1000) << "a applied nothing after b joined";

  b.Stop();  // leaves the group: a gets all four partitions, resuming where b left off
  ASSERT_TRUE(PollUntil([&] { return a.Assigned() == 4; }, absl::Seconds(60)));
  commit(2001, 3000);
  ASSERT_TRUE(PollUntil([&] { return applied().size() >= 3000; }, absl::Seconds(90)))
      << "applied " << applied().size();
  a.Stop();
  (*outbox)->Stop();

  std::map<int64_t, int> counts = applied();
  ASSERT_EQ(counts.size(), 3000u);
  int64_t expected = 1;
  for (const auto& [seq, n] : counts) {
    ASSERT_EQ(seq, expected++) << "an event was applied that was never committed";
    ASSERT_EQ(n, 1) << "event " << seq << " applied " << n << " times across the two members";
  }
  EXPECT_EQ(a.Stats().applied + b.Stats().applied, 3000);
}

}  // namespace
}  // namespace triad::events

namespace triad::events {
namespace {

// ConsumerOptions::apply_mutex is held while the handler runs and while its transaction is
// committed, so a service's RPCs and its consumed events never interleave a read-modify-write.
TEST(EventsIntegrationTest, ApplyMutexIsHeldAcrossHandlerAndCommit) {
  using triad::testing::PollUntil;
  using triad::testing::TestKafkaConfig;
  using triad::testing::UniqueName;
  const std::string topic = "triad.test." + UniqueName("locked");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(), {topic, DlqTopic(topic)}, 1).ok());
  triad::testing::TempDir dir;
  auto store = testutil::OpenEventStore(dir.path());
  triad::util::SharedMutex domain_mu;
  std::atomic<int> handler_unlocked{0}, commit_unlocked{0}, commits{0};
  // Runs right after each successful write, i.e. inside the consumer's commit.
  store->AddWriteListener([&] {
    ++commits;
    if (domain_mu.try_lock()) {
      domain_mu.unlock();
      ++commit_unlocked;
    }
  });
  ConsumerOptions co{.group_id = UniqueName("g-"), .topics = {topic}};
  co.apply_mutex = &domain_mu;
  IdempotentConsumer consumer(store.get(), nullptr, TestKafkaConfig(), co);
  auto ledger = testutil::LedgerHandler(store.get());
  consumer.OnMessage<triad::testing::v1::Ticked>(
      testutil::kTickType,
      [&](const Event& e, const triad::testing::v1::Ticked& t, Transaction& txn) {
        if (domain_mu.try_lock()) {
          domain_mu.unlock();
          ++handler_unlocked;
        }
        return ledger(e, t, txn);
      });
  ASSERT_TRUE(consumer.Start().ok());
  testutil::RawProducer raw;
  for (int i = 1; i <= 20; ++i) {
    triad::testing::v1::Ticked t;
    t.set_seq(i);
    Event e{.id = NewEventId(), .type = testutil::kTickType, .source = "triad/test"};
    ASSERT_TRUE(raw.Send(topic, "k", t.SerializeAsString(), &e));
  }
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 20; }, absl::Seconds(60)));
  consumer.Stop();
  EXPECT_GE(commits.load(), 20);
  EXPECT_EQ(handler_unlocked.load(), 0);
  EXPECT_EQ(commit_unlocked.load(), 0);
}

}  // namespace
}  // namespace triad::events
