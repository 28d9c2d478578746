// outbox_crash_tool: a producing or consuming process for the crash-safety test, which SIGKILLs
// it at random points and restarts it.
//
//   outbox_crash_tool produce <data_dir> <bootstrap> <topic> <count> [<progress_file>]
//     Commits events 1..count (each with a "committed" state record in the same batch),
//     resuming after the last committed one, then waits until the outbox is empty; exits 0.
//     The progress file holds "<committed>" (the highest event committed so far).
//   outbox_crash_tool consume <data_dir> <bootstrap> <topic> <group> <count> [<progress_file>]
//     Applies events, counting applications per event in a ledger column family (effect and
//     dedupe record in one batch; at most about 5,000 a second); exits 0 once `count` distinct
//     events are applied.
//     The progress file holds "<ledger_events> <applied> <duplicates>": the distinct events in
//     the ledger and this process's consumer stats (events applied, redeliveries skipped).
//
// The progress file is rewritten atomically (write, then rename) as the process advances, so
// the test synchronises its kills on what the process has actually done, never on sleeps.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/key_codec.h"
#include "triad/testing/v1/test_events.pb.h"

namespace {

using triad::events::Event;
using triad::events::Transaction;

constexpr char kType[] = "triad.test.tick.ticked.v1";

std::unique_ptr<triad::storage::Store> Open(const std::string& dir) {
  triad::storage::StoreOptions o;
  o.path = dir;
  o.column_families = {"state", "ledger", triad::events::Outbox::kColumnFamily,
                       triad::events::IdempotentConsumer::kInboxColumnFamily};
  auto store = triad::storage::Store::Open(o);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    std::exit(3);
  }
  return std::move(*store);
}

int64_t CountKeys(triad::storage::Store& store, const char* cf) {
  int64_t n = 0;
  (void)store.ScanPrefix(cf, "", [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

// WriteProgress replaces `path` (when not empty) with `line`, atomically.
void WriteProgress(const std::string& path, const std::string& line) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << line << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

int Produce(const std::string& dir, const std::string& bootstrap, const std::string& topic,
            int64_t count, const std::string& progress) {
  auto store = Open(dir);
  triad::events::OutboxOptions oo;
  oo.source = "triad/crash-test";
  oo.kafka.bootstrap_servers = bootstrap;
  auto outbox = triad::events::Outbox::Create(store.get(), oo);
  if (!outbox.ok()) return 3;
  if (!(*outbox)->Start().ok()) return 3;
  int64_t next = CountKeys(*store, "state") + 1;  // events are committed in order 1..count
  WriteProgress(progress, std::to_string(next - 1));
  for (int64_t i = next; i <= count; ++i) {
    Transaction txn;
    std::string key = triad::storage::KeyBuilder().U64(static_cast<uint64_t>(i)).Build();
    txn.batch().Put(store->Cf("state"), key, "committed");
    triad::testing::v1::Ticked tick;
    tick.set_key("k" + std::to_string(i % 16));
    tick.set_seq(i);
    txn.Emit(topic, tick.key(), kType, tick);
    absl::Status s = (*outbox)->Commit(txn);
    if (!s.ok()) {
      std::fprintf(stderr, "commit: %s\n", s.ToString().c_str());
      return 4;
    }
    if (i % 10 == 0 || i == count) WriteProgress(progress, std::to_string(i));
    // Spread the commits over about 3 s, so that the test (which kills at progress points it
    // observes every few milliseconds) sees the stream well before its end.
    if (i % 5 == 0) absl::SleepFor(absl::Milliseconds(5));
  }
  if (!(*outbox)->WaitUntilEmpty(absl::Seconds(120))) return 5;
  (*outbox)->Stop();
  return 0;
}

int Consume(const std::string& dir, const std::string& bootstrap, const std::string& topic,
            const std::string& group, int64_t count, const std::string& progress) {
  auto store = Open(dir);
  triad::events::ConsumerOptions co;
  co.group_id = group;
  co.topics = {topic};
  // Offsets are committed once a second: a kill then (all but surely) leaves applied events whose
  // offsets are not committed yet, and the next process must recognise their redelivery.
  co.commit_interval = absl::Seconds(1);
  triad::events::KafkaConfig kafka;
  kafka.bootstrap_servers = bootstrap;
  triad::events::IdempotentConsumer consumer(store.get(), nullptr, kafka, co);
  triad::storage::Store* st = store.get();
  consumer.OnMessage<triad::testing::v1::Ticked>(
      kType, [st](const Event&, const triad::testing::v1::Ticked& tick, Transaction& txn) {
        std::string key =
            triad::storage::KeyBuilder().U64(static_cast<uint64_t>(tick.seq())).Build();
        int64_t applied = 0;
        absl::StatusOr<std::string> prev = st->Get("ledger", key);
        if (prev.ok()) applied = std::stoll(*prev);
        txn.batch().Put(st->Cf("ledger"), key, std::to_string(applied + 1));
        // Spread the applying too (at most about 5,000 events a second): a restarted consumer
        // catching up on a backlog would otherwise apply it between two progress reports, past
        // the test's next kill points.
        if (tick.seq() % 5 == 0) absl::SleepFor(absl::Milliseconds(1));
        return absl::OkStatus();
      });
  if (!consumer.Start().ok()) return 3;
  auto report = [&](int64_t ledger) {
    triad::events::ConsumerStats stats = consumer.Stats();
    WriteProgress(progress, std::to_string(ledger) + " " + std::to_string(stats.applied) + " " +
                                std::to_string(stats.duplicates));
  };
  absl::Time deadline = absl::Now() + absl::Seconds(240);
  for (int64_t ledger = CountKeys(*store, "ledger"); ledger < count;
       ledger = CountKeys(*store, "ledger")) {
    report(ledger);
    if (absl::Now() > deadline) return 5;
    absl::SleepFor(absl::Milliseconds(10));
  }
  consumer.Stop();
  report(CountKeys(*store, "ledger"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  triad::logging::Init("crash-tool", "warn");
  if ((argc == 6 || argc == 7) && std::string(argv[1]) == "produce") {
    return Produce(argv[2], argv[3], argv[4], std::atoll(argv[5]), argc == 7 ? argv[6] : "");
  }
  if ((argc == 7 || argc == 8) && std::string(argv[1]) == "consume") {
    return Consume(argv[2], argv[3], argv[4], argv[5], std::atoll(argv[6]),
                   argc == 8 ? argv[7] : "");
  }
  std::fprintf(stderr, "usage: see the file comment of outbox_crash_tool.cc\n");
  return 2;
}
