// The transactional outbox: a state change and the events it causes are written in ONE RocksDB
// WriteBatch (the service's column families plus the "outbox" column family). The relay
// publishes the outbox to Kafka with the idempotent producer (acks=all) and deletes an entry
// only after its successful delivery report. A crash at any point loses nothing; at worst an
// event is published twice (consumers dedupe by ce_id).
#ifndef TRIAD_COMMON_EVENTS_OUTBOX_H_
#define TRIAD_COMMON_EVENTS_OUTBOX_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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

  // Emit queues an event: its payload is the serialized protobuf message, its key the aggregate
  // id (keeps one aggregate's events in order). Subject is optional (ce_subject).
  void Emit(std::string_view topic, std::string_view key, std::string_view type,
            const google::protobuf::MessageLite& payload, std::string_view subject = {});

  // EmitRaw queues an event whose payload is already serialized.
  void EmitRaw(std::string_view topic, std::string_view key, std::string_view type,
               std::string payload, std::string_view subject = {});

  // events lists the queued events; after Commit they carry their ce_id, source and time.
  const std::vector<Event>& events() const { return events_; }

 private:
  friend class Outbox;
  rocksdb::WriteBatch batch_;
  std::vector<Event> events_;
};

struct OutboxOptions {
  // ce_source of every event, e.g. "triad/clients".
  std::string source;
  KafkaConfig kafka;
  // How often the relay looks at the outbox when nothing wakes it.
  absl::Duration idle_poll = absl::Milliseconds(200);
  // Delay before re-sending after a failed delivery.
  absl::Duration retry_backoff = absl::Milliseconds(500);
  // Most events handed to the producer and not yet confirmed.
  size_t max_in_flight = 50000;
};

// Outbox is the writer side (Commit) and the relay (Start/Stop) of one service's outbox.
class Outbox {
 public:
  static constexpr char kColumnFamily[] = "outbox";

  // Create binds an outbox to a store opened with the "outbox" column family.
  static absl::StatusOr<std::unique_ptr<Outbox>> Create(storage::Store* store,
                                                        OutboxOptions options);
  ~Outbox();

  // Commit stamps the queued events (ce_id, ce_source, ce_time) and writes them and the batch in
  // one atomic write, then wakes the relay.
  absl::Status Commit(Transaction& txn);

  // Start launches the relay thread (producer connects lazily; broker outages are retried).
  absl::Status Start();

  // Stop waits up to `flush_timeout` for in-flight deliveries, then stops the relay. Entries not
  // confirmed stay in the outbox and are sent again by the next Start.
  void Stop(absl::Duration flush_timeout = absl::Seconds(10));

  // Depth is the number of events waiting in the outbox (committed, not yet confirmed).
  int64_t Depth() const { return depth_.load(); }

  // Published is the number of events confirmed by Kafka since Start.
  int64_t Published() const { return published_.load(); }

  // WaitUntilEmpty blocks until the outbox is empty or `timeout` passes; true when empty.
  bool WaitUntilEmpty(absl::Duration timeout);

 private:
  class Relay;
  Outbox(storage::Store* store, OutboxOptions options);

  storage::Store* store_;
  OutboxOptions options_;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
  std::mutex commit_mu_;
  uint64_t next_seq_ = 1;
  std::atomic<int64_t> depth_{0};
  std::atomic<int64_t> published_{0};
  std::unique_ptr<Relay> relay_;
};

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_OUTBOX_H_
