// events_bench: measured throughput and latency of the event runtime on the local broker.
//   1. outbox relay throughput: events/s from commit to delivery report (outbox emptied);
//   2. consumer apply throughput with dedupe (effect + inbox record per event);
//   3. end-to-end latency p50/p99 (commit -> applied) at a fixed rate of 1,000 events/s.
// Prints the setup and the numbers; it asserts nothing.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/key_codec.h"
#include "tests/testing/test_env.h"
#include "triad/testing/v1/test_events.pb.h"

namespace triad::events {
namespace {

constexpr char kType[] = "triad.bench.tick.ticked.v1";

std::unique_ptr<storage::Store> OpenStore(const std::string& path) {
  storage::StoreOptions o;
  o.path = path;
  o.column_families = {"state", Outbox::kColumnFamily, IdempotentConsumer::kInboxColumnFamily};
  return std::move(*storage::Store::Open(o));
}

void CommitTicks(Outbox& outbox, const std::string& topic, int n, int payload_bytes) {
  std::string padding(payload_bytes, 'x');
  for (int i = 0; i < n; ++i) {
    Transaction txn;
    triad::testing::v1::Ticked t;
    t.set_key("key-" + std::to_string(i % 64));
    t.set_seq(i);
    t.set_committed_unix_nanos(absl::GetCurrentTimeNanos());
    t.set_padding(padding);
    txn.Emit(topic, t.key(), kType, t);
    (void)outbox.Commit(txn);
  }
}

int Run() {
  logging::Init("bench", "error");
  KafkaConfig kafka = triad::testing::TestKafkaConfig();
  const int partitions = 6;
  const int payload = 200;
  std::printf(
      "setup: Kafka %s (single local broker, KRaft), %d partitions, %d-byte payloads, "
      "RocksDB on local disk (sync=false), idempotent producer acks=all\n",
      kafka.bootstrap_servers.c_str(), partitions, payload);

  // 1. Relay throughput, without and with the WAL sync before publishing (the default when
  //    writes are not synced one by one).
  for (bool sync : {false, true}) {
    triad::testing::TempDir dir;
    const std::string topic = "triad.bench." + triad::testing::UniqueName("relay");
    (void)EnsureTopics(kafka, {topic}, partitions);
    auto store = OpenStore(dir.path());
    auto outbox = std::move(*Outbox::Create(
        store.get(), {.source = "triad/bench", .kafka = kafka, .sync_before_publish = sync}));
    const int n = 100000;
    CommitTicks(*outbox, topic, n, payload);  // committed first: measures the relay alone
    absl::Time start = absl::Now();
    (void)outbox->Start();
    bool drained = outbox->WaitUntilEmpty(absl::Seconds(300));
    double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "relay (WAL sync before publishing: %s): %d events committed, relayed and deleted in "
        "%.2f s = %.0f events/s%s\n",
        sync ? "on" : "off", n, secs, n / secs, drained ? "" : " (NOT drained)");
    outbox->Stop();
  }
  // 1b. The relay while commits arrive one by one (the WAL sync happens per relay batch, so
  //     it is paid often): commit -> deleted for 20,000 events committed as fast as possible.
  for (bool sync : {false, true}) {
    triad::testing::TempDir dir;
    const std::string topic = "triad.bench." + triad::testing::UniqueName("relay-live");
    (void)EnsureTopics(kafka, {topic}, partitions);
    auto store = OpenStore(dir.path());
    auto outbox = std::move(*Outbox::Create(
        store.get(), {.source = "triad/bench", .kafka = kafka, .sync_before_publish = sync}));
    (void)outbox->Start();
    const int n = 20000;
    absl::Time start = absl::Now();
    CommitTicks(*outbox, topic, n, payload);
    bool drained = outbox->WaitUntilEmpty(absl::Seconds(300));
    double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "relay while committing (WAL sync before publishing: %s): %d events in %.2f s = %.0f "
        "events/s%s\n",
        sync ? "on" : "off", n, secs, n / secs, drained ? "" : " (NOT drained)");
    outbox->Stop();
  }

  // 2 and 3 share a topic: events are produced, then consumed by a fresh group.
  triad::testing::TempDir dir;
  const std::string topic = "triad.bench." + triad::testing::UniqueName("apply");
  (void)EnsureTopics(kafka, {topic, DlqTopic(topic)}, partitions);
  auto producer_store = OpenStore(dir.Sub("p"));
  auto outbox =
      std::move(*Outbox::Create(producer_store.get(), {.source = "triad/bench", .kafka = kafka}));
  (void)outbox->Start();
  const int n = 100000;
  CommitTicks(*outbox, topic, n, payload);
  outbox->WaitUntilEmpty(absl::Seconds(300));
  {
    auto consumer_store = OpenStore(dir.Sub("c"));
    IdempotentConsumer consumer(
        consumer_store.get(), nullptr, kafka,
        {.group_id = triad::testing::UniqueName("bench-"), .topics = {topic}});
    storage::Store* st = consumer_store.get();
    consumer.OnMessage<triad::testing::v1::Ticked>(
        kType, [st](const Event&, const triad::testing::v1::Ticked& t, Transaction& txn) {
          txn.batch().Put(st->Cf("state"), storage::KeyBuilder().Str(t.key()).Build(),
                          std::to_string(t.seq()));
          return absl::OkStatus();
        });
    (void)consumer.Start();
    // Time from the first applied event, so that group join is not counted.
    triad::testing::PollUntil([&] { return consumer.Stats().applied > 0; }, absl::Seconds(60),
                              absl::Milliseconds(1));
    absl::Time start = absl::Now();
    int64_t first = consumer.Stats().applied;
    triad::testing::PollUntil([&] { return consumer.Stats().applied >= n; }, absl::Seconds(300),
                              absl::Milliseconds(1));
    double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("apply: %lld events applied with dedupe in %.2f s = %.0f events/s\n",
                static_cast<long long>(consumer.Stats().applied - first), secs,
                (consumer.Stats().applied - first) / secs);
    consumer.Stop();
  }

  // 3. End-to-end latency at 1,000 events/s for 10 s.
  {
    auto consumer_store = OpenStore(dir.Sub("lat"));
    std::mutex mu;
    std::vector<int64_t> latencies;
    const std::string lat_topic = "triad.bench." + triad::testing::UniqueName("latency");
    (void)EnsureTopics(kafka, {lat_topic, DlqTopic(lat_topic)}, partitions);
    IdempotentConsumer consumer(
        consumer_store.get(), nullptr, kafka,
        {.group_id = triad::testing::UniqueName("lat-"), .topics = {lat_topic}});
    consumer.OnMessage<triad::testing::v1::Ticked>(
        kType, [&](const Event&, const triad::testing::v1::Ticked& t, Transaction&) {
          std::lock_guard<std::mutex> lock(mu);
          latencies.push_back(absl::GetCurrentTimeNanos() - t.committed_unix_nanos());
          return absl::OkStatus();
        });
    (void)consumer.Start();
    triad::testing::PollUntil([&] { return consumer.Assigned() > 0; }, absl::Seconds(30));
    const int rate = 1000, seconds = 10;
    // Warm-up (not measured): the first fetches of a freshly assigned partition wait for the
    // consumer's position lookup; measure the steady state.
    CommitTicks(*outbox, lat_topic, 200, payload);
    triad::testing::PollUntil([&] { return consumer.Stats().applied >= 200; }, absl::Seconds(60));
    {
      std::lock_guard<std::mutex> lock(mu);
      latencies.clear();
    }
    const int64_t warmup = consumer.Stats().applied;
    absl::Time next = absl::Now();
    for (int i = 0; i < rate * seconds; ++i) {
      next += absl::Microseconds(1000000 / rate);
      absl::Time now = absl::Now();
      if (next > now) absl::SleepFor(next - now);  // pacing the producer, not synchronisation
      CommitTicks(*outbox, lat_topic, 1, payload);
    }
    triad::testing::PollUntil([&] { return consumer.Stats().applied >= warmup + rate * seconds; },
                              absl::Seconds(60));
    consumer.Stop();
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      return latencies.empty() ? 0.0
                               : latencies[std::min(latencies.size() - 1,
                                                    static_cast<size_t>(p * latencies.size()))] /
                                     1e6;
    };
    std::printf(
        "end-to-end (commit -> applied) at %d events/s for %d s: n=%zu p50=%.2f ms "
        "p99=%.2f ms max=%.2f ms\n",
        rate, seconds, latencies.size(), pct(0.50), pct(0.99), pct(1.0));
  }
  outbox->Stop();
  return 0;
}

}  // namespace
}  // namespace triad::events

int main() { return triad::events::Run(); }
