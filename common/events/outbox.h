// The transactional outbox: a state change and the events it causes are written in ONE RocksDB
// WriteBatch (the service's column families plus the "outbox" column family). The relay
// publishes the outbox to Kafka with the idempotent producer (acks=all) and deletes an entry
// only after its successful delivery report. A crash at any point loses nothing; at worst an
// event is published twice (consumers dedupe by ce_id). Events go to the partition Kafka's
// Java clients would choose for their key (murmur2), in commit order per partition; a
// partition Kafka cannot take holds back only its own events, and an event Kafka refuses
// permanently moves to a quarantine column family instead of blocking the ones after it.
#ifndef TRIAD_COMMON_EVENTS_OUTBOX_H_
#define TRIAD_COMMON_EVENTS_OUTBOX_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/storage/store.h"
#include "rocksdb/write_batch.h"

namespace google::protobuf {
class MessageLite;
}

namespace triad::events {

// Transaction collects one unit of work: state writes in `batch()` and the events to emit.
// Nothing is visible until Outbox::Commit writes both atomically.
class Transaction {
 public:
  Transaction() = default;

  // batch is where the state change is written.
  rocksdb::WriteBatch& batch() { return batch_; }

  // Emit queues an event: its payload is the serialized protobuf message (its type name
  // becomes ce_dataschema), its key the aggregate id (keeps one aggregate's events in order).
  // Subject is optional (ce_subject).
  void Emit(std::string_view topic, std::string_view key, std::string_view type,
            const google::protobuf::MessageLite& payload, std::string_view subject = {});

  // EmitRaw queues an event whose payload is already serialized.
  void EmitRaw(std::string_view topic, std::string_view key, std::string_view type,
               std::string payload, std::string_view subject = {},
               std::string_view dataschema = {});

  // DeriveIdsFrom makes Commit give the queued events ids derived from `seed` and their
  // position (DerivedEventId) instead of fresh ones. The consumer sets it to the identity of
  // the event being applied, so applying it again emits the same ids.
  void DeriveIdsFrom(std::string seed) { id_seed_ = std::move(seed); }

  // AfterCommit registers `fn` to run once Commit has written the transaction (e.g. to update
  // an in-memory index); it does not run when the commit fails.
  void AfterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }

  // events lists the queued events; after Commit they carry their ce_id, source and time.
  const std::vector<Event>& events() const { return events_; }

 private:
  friend class Outbox;
  rocksdb::WriteBatch batch_;
  std::vector<Event> events_;
  std::string id_seed_;
  std::vector<std::function<void()>> after_commit_;
};

// The relay producer's default linger (librdkafka's and, since 4.0, Kafka's own producer
// default); --outbox_linger and RuntimeOptions take their defaults from here.
inline constexpr absl::Duration kDefaultOutboxLinger = absl::Milliseconds(5);

struct OutboxOptions {
  // ce_source of every event, e.g. "triad/clients".
  std::string source;
  KafkaConfig kafka;
  // How long the producer holds an event to send it with others in one request (librdkafka's
  // linger.ms): a longer wait means fewer, larger produce requests under load (less broker CPU
  // per event) and that much more latency per event.
  absl::Duration linger = kDefaultOutboxLinger;
  // How often the relay looks at the outbox when nothing wakes it.
  absl::Duration idle_poll = absl::Milliseconds(200);
  // Delay before a partition whose delivery failed is tried again.
  absl::Duration retry_backoff = absl::Milliseconds(500);
  // Most events handed to the producer and not yet confirmed.
  size_t max_in_flight = 50000;
  // Most unconfirmed events per partition: a partition Kafka cannot take (no leader, too few
  // in-sync replicas) holds back its own events only, never the other partitions'.
  size_t max_in_flight_per_partition = 5000;
  // Largest event (key, payload and headers) Commit accepts; Kafka's default record limit is
  // 1 MB. A larger event is refused with INVALID_ARGUMENT before anything is written.
  size_t max_event_bytes = 900 * 1024;
  // Sync the write-ahead log before publishing rows read from the outbox (one fsync per batch
  // of rows), so no event is ever published whose state change a power loss could undo.
  // With StoreOptions::sync_writes this fsync is shared with the writers' (group commit) and
  // is usually already done.
  bool sync_before_publish = true;
  // How many nice values below the thread that creates the outbox its relay thread runs
  // (util::LowerThisThreadPriority; 0: the same priority).
  int relay_nice = 0;
  // For tests: called by Commit with the first sequence it was given, after taking its
  // sequences and before writing them (lets a test hold one commit while others pass it).
  std::function<void(uint64_t first_seq)> before_write_for_testing;
};

// RelayProducerDefaults returns the librdkafka properties the outbox relay's producer starts
// from (retries inside librdkafka, linger from options.linger, batch and queue sizes); the
// delivery guarantees (idempotence, acks=all) and options.kafka are set over them.
std::map<std::string, std::string> RelayProducerDefaults(const OutboxOptions& options);

// QuarantinedEvent is an event Kafka refused permanently, with the reason.
struct QuarantinedEvent {
  uint64_t seq = 0;
  Event event;
  std::string error;
  absl::Time quarantine_time;
};

// Outbox is the writer side (Commit) and the relay (Start/Stop) of one service's outbox.
class Outbox {
 public:
  static constexpr char kColumnFamily[] = "outbox";
  static constexpr char kQuarantineColumnFamily[] = "outbox_quarantine";
  // One record: the sequence above every row the relay has deleted, so sequences never go
  // back after a restart (below them lie deleted rows, which every scan would walk again).
  static constexpr char kStateColumnFamily[] = "outbox_state";

  // Create binds an outbox to a store opened with the "outbox" column family (the quarantine
  // and state column families are created when missing).
  static absl::StatusOr<std::unique_ptr<Outbox>> Create(storage::Store* store,
                                                        OutboxOptions options);
  ~Outbox();

  // Commit stamps the queued events (ce_id, ce_source, ce_time), checks their size, writes
  // them and the batch in one atomic write, runs the AfterCommit hooks and wakes the relay.
  // Commits from many threads write side by side (RocksDB groups their writes): each takes
  // its run of sequences under a short lock, and the relay publishes only below the lowest
  // sequence not yet written, so a slow commit is never passed by a faster one after it.
  absl::Status Commit(Transaction& txn);

  // PublishableBelow is the relay's bound: every outbox row below it that will ever be
  // written is written (rows of commits still writing lie at or above it).
  uint64_t PublishableBelow() const { return written_below_.load(std::memory_order_acquire); }

  // Start launches the relay thread (producer connects lazily; broker outages are retried).
  absl::Status Start();

  // Stop waits up to `flush_timeout` for in-flight deliveries, then stops the relay. Entries not
  // confirmed stay in the outbox and are sent again by the next Start.
  void Stop(absl::Duration flush_timeout = absl::Seconds(10));

  // Depth is the number of events waiting in the outbox (committed, not yet confirmed).
  int64_t Depth() const { return depth_.load(); }

  // Published is the number of events confirmed by Kafka since Start.
  int64_t Published() const { return published_.load(); }

  // Quarantined is the number of events in quarantine.
  int64_t Quarantined() const { return quarantined_.load(); }

  // WaitUntilEmpty blocks until the outbox is empty or `timeout` passes; true when empty.
  bool WaitUntilEmpty(absl::Duration timeout);

  // RelayScanStartForTesting is the sequence the relay's last scan of the outbox began at
  // (0 when the relay is not running).
  uint64_t RelayScanStartForTesting() const;

  // RelayScansForTesting is how many scans of the outbox the relay has made since Start.
  uint64_t RelayScansForTesting() const;

  // ListQuarantined returns up to `limit` quarantined events, oldest first, starting after
  // sequence `after_seq` (for paging; 0 starts at the oldest).
  absl::StatusOr<std::vector<QuarantinedEvent>> ListQuarantined(size_t limit,
                                                                uint64_t after_seq = 0) const;

  // Requeue moves a quarantined event back into the outbox (once its cause is fixed, e.g. the
  // topic's size limit raised); the relay publishes it again.
  absl::Status Requeue(uint64_t seq);

 private:
  class Relay;
  Outbox(storage::Store* store, OutboxOptions options);

  // TakeSequences reserves `n` consecutive sequences and returns the first; the caller must
  // call Written with it once its write has succeeded or failed.
  uint64_t TakeSequences(uint64_t n);
  // Written ends the write of the sequences TakeSequences returned from `first`, raising the
  // relay's bound past them once no earlier commit is still writing.
  void Written(uint64_t first);

  storage::Store* store_;
  OutboxOptions options_;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* quarantine_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_cf_ = nullptr;
  // The sequence above every deleted row, as stored under the state column family: read by
  // Create, raised by the relay's thread (a later relay of this outbox goes on from it).
  uint64_t deleted_below_ = 0;
  // Guards the sequence allocation: next_seq_ and writing_.
  std::mutex seq_mu_;
  // The sequence the next commit's first row gets.
  uint64_t next_seq_ = 1;
  // The first sequences of the commits that took sequences and have not finished writing.
  std::set<uint64_t> writing_;
  // The lowest sequence not yet written (the lowest in writing_, else next_seq_): every row
  // below it is in the store, so the relay reads no further (PublishableBelow).
  std::atomic<uint64_t> written_below_{1};
  // Serialises Requeue, so one quarantined event is never requeued twice.
  std::mutex requeue_mu_;
  std::atomic<int64_t> depth_{0};
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> quarantined_{0};
  std::unique_ptr<Relay> relay_;
};

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_OUTBOX_H_
