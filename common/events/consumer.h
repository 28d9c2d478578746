// The idempotent consumer: a Kafka consumer group member that dispatches events by ce_type and
// writes each event's effect together with its ce_id (in the "inbox" column family) in one
// RocksDB WriteBatch. Offsets are committed only after the WAL holding those batches is synced.
// A redelivered event is recognised by its ce_id and skipped. Messages that cannot be decoded,
// or whose handler keeps failing, go to <topic>.dlq with the reason in a header; the consumer
// never crash-loops on them. Events of types with no handler are skipped.
#ifndef TRIAD_COMMON_EVENTS_CONSUMER_H_
#define TRIAD_COMMON_EVENTS_CONSUMER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"

namespace triad::events {

// Handler applies one event: it writes its effect into `txn` (and may emit events). Return
// InvalidArgument or DataLoss for a message that can never be applied (it goes to the DLQ at
// once); any other error is retried, then dead-lettered after ConsumerOptions::max_attempts.
using Handler = std::function<absl::Status(const Event& event, Transaction& txn)>;

struct ConsumerOptions {
  // Consumer group; also namespaces the dedupe records.
  std::string group_id;
  std::vector<std::string> topics;
  // Attempts for a handler that returns a retryable error, before the DLQ.
  int max_attempts = 3;
  absl::Duration retry_backoff = absl::Milliseconds(100);
  // How often applied offsets are committed (after a WAL sync).
  absl::Duration commit_interval = absl::Milliseconds(500);
  // Static group membership (group.instance.id), optional.
  std::string group_instance_id;
  // Extra librdkafka properties.
  std::map<std::string, std::string> properties;
  // When set, held across each handler call and the commit of its transaction, so a service
  // serialises consumed events with its RPCs' read-modify-write (the handlers must not lock it
  // themselves).
  std::mutex* apply_mutex = nullptr;
};

struct ConsumerStats {
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t dead_lettered = 0;
  int64_t ignored = 0;
};

class IdempotentConsumer {
 public:
  static constexpr char kInboxColumnFamily[] = "inbox";

  // The store must have the "inbox" column family; `outbox` commits the handlers' transactions.
  IdempotentConsumer(storage::Store* store, Outbox* outbox, KafkaConfig kafka,
                     ConsumerOptions options);
  ~IdempotentConsumer();

  // On registers the handler of one ce_type. Call before Start.
  void On(std::string type, Handler handler);

  // OnMessage registers a handler that receives the payload decoded as `Msg`; a payload that
  // does not decode is dead-lettered.
  template <typename Msg>
  void OnMessage(std::string type,
                 std::function<absl::Status(const Event&, const Msg&, Transaction&)> fn) {
    On(std::move(type), [fn = std::move(fn)](const Event& e, Transaction& txn) -> absl::Status {
      Msg msg;
      if (!msg.ParseFromString(e.payload)) {
        return absl::InvalidArgumentError("payload does not decode as " + msg.GetTypeName());
      }
      return fn(e, msg, txn);
    });
  }

  // Start joins the group and consumes on a background thread.
  absl::Status Start();

  // Stop syncs, commits the applied offsets, leaves the group and joins the thread.
  void Stop();

  // Stats counts what happened so far.
  ConsumerStats Stats() const;

  // Assigned is the number of partitions currently assigned to this member.
  int Assigned() const { return assigned_.load(); }

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> assigned_{0};
};

// InboxKey is the dedupe key of an event id within a consumer group.
std::string InboxKey(std::string_view group_id, std::string_view event_id);

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_CONSUMER_H_
