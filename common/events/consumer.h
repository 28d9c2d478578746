// The idempotent consumer: a Kafka consumer group member that dispatches events by ce_type and
// writes each event's effect together with its dedupe record (ce_source + ce_id, in the
// "inbox" column family) and the partition's next offset (column family "consumer_offsets",
// see consumer_offsets.h) in one RocksDB WriteBatch. The store is the source of truth for the
// position: on assignment a partition is read from its stored offset (see ChooseStartOffset).
// Offsets are also committed to Kafka, only after the WAL holding those batches is synced. A
// redelivered event is recognised and skipped. Both the eager and the cooperative
// (partition.assignment.strategy=cooperative-sticky) rebalance protocols are supported.
//
// Errors are classified. Poison — a message that is not a CloudEvent, a payload that does not
// decode, a handler's permanent error (see IsPermanentError) — goes to <topic>.dlq with the
// reason in a header, and the partition moves on. Anything else (a storage error, a full disk,
// an unavailable dependency, a DLQ that cannot be written) is transient: the partition is
// paused and the same message retried with capped exponential backoff, for ever, while the
// other partitions go on. Events of types with no handler are skipped.
//
// Every event is checked against its origin (origin.h) before it is applied: a type declared in
// common/contracts is accepted only from its contract's topic with its producer's ce_source
// (triad/<service>). A forged or misrouted event is poison: dead-lettered with the mismatch as
// the reason, counted in triad_consumer_origin_rejected_total, never applied.
#ifndef TRIAD_COMMON_EVENTS_CONSUMER_H_
#define TRIAD_COMMON_EVENTS_CONSUMER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/events/consumer_offsets.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/events/origin.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/locks.h"

namespace triad::events {

// Handler applies one event: it writes its effect into `txn` (and may emit events, whose ids
// are derived from the consumed event's). A permanent error (IsPermanentError) dead-letters
// the message; any other error is retried for ever, holding back only its partition.
using Handler = std::function<absl::Status(const Event& event, Transaction& txn)>;

// PermanentError marks `status` as poison explicitly: the consumer dead-letters the message
// whatever the status code.
absl::Status PermanentError(absl::Status status);

// IsPermanentError is true for the errors that retrying cannot cure: those marked by
// PermanentError and the codes that describe the message rather than the system
// (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE,
// PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED). UNAVAILABLE (storage I/O), INTERNAL,
// DATA_LOSS, ABORTED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED and the rest are transient.
bool IsPermanentError(const absl::Status& status);

// A consumer's default fetch wait (Kafka's and librdkafka's own) and fetch size; the service
// flags and RuntimeOptions take their defaults from here.
inline constexpr absl::Duration kDefaultFetchWait = absl::Milliseconds(500);
inline constexpr int32_t kDefaultFetchMinBytes = 1;

struct ConsumerOptions {
  // Consumer group; also namespaces the dedupe records.
  std::string group_id;
  std::vector<std::string> topics;
  // First delay before a transient failure is retried; it doubles up to max_retry_backoff.
  absl::Duration retry_backoff = absl::Milliseconds(100);
  absl::Duration max_retry_backoff = absl::Seconds(30);
  // How often applied offsets are committed (after a WAL sync).
  absl::Duration commit_interval = absl::Milliseconds(500);
  // Static group membership (group.instance.id), optional.
  std::string group_instance_id;
  // A fetch is answered when it has fetch_min_bytes of events or has waited fetch_wait
  // (librdkafka's fetch.min.bytes and fetch.wait.max.ms); an idle consumer asks the broker once
  // per fetch_wait. The defaults answer every event at once; a larger fetch_min_bytes gives
  // fewer, larger fetches under load (less broker CPU per event) at up to fetch_wait more
  // latency when events are sparse. ServiceRuntime::AddConsumer sets both from its flags.
  absl::Duration fetch_wait = kDefaultFetchWait;
  int32_t fetch_min_bytes = kDefaultFetchMinBytes;
  // Extra librdkafka properties (they win over the settings above).
  std::map<std::string, std::string> properties;
  // When set, held across each handler call and the commit of its transaction, so a service
  // serialises consumed events with its RPCs' read-modify-write (the handlers must not lock it
  // themselves).
  util::SharedMutex* apply_mutex = nullptr;
  // When set, Start refuses a handler of a ce_type that no contract declares and that was
  // registered without an explicit origin, so every event the consumer applies has its origin
  // checked (service processes: ServiceRuntime::AddConsumer sets it). Otherwise such a type
  // (tests, tools) is applied from any topic and source, with a warning at start.
  bool require_contracts = false;
  // How many nice values below the thread that starts it the consumer's thread runs
  // (util::LowerThisThreadPriority; 0: the same priority).
  int thread_nice = 0;
};

// ConsumerKafkaDefaults returns the librdkafka properties a consumer with `options` starts from
// (offset reset, session, fetch batching from fetch_wait and fetch_min_bytes, static membership,
// then options.properties over them); the properties its guarantees need are set over these.
std::map<std::string, std::string> ConsumerKafkaDefaults(const ConsumerOptions& options);

struct ConsumerStats {
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t dead_lettered = 0;
  int64_t ignored = 0;
  // Transient failures (each paused its partition for a retry).
  int64_t retried = 0;
  // Events refused because their topic or ce_source is not their origin's, counted when their
  // dead letter is written (so also in dead_lettered).
  int64_t rejected_origin = 0;
};

class IdempotentConsumer {
 public:
  static constexpr char kInboxColumnFamily[] = "inbox";

  // The store must have the "inbox" column family; the "consumer_offsets" one
  // (kOffsetsColumnFamily) is created when missing (construct consumers before the store is used
  // concurrently). `outbox` commits the handlers' transactions.
  IdempotentConsumer(storage::Store* store, Outbox* outbox, KafkaConfig kafka,
                     ConsumerOptions options);
  ~IdempotentConsumer();

  // On registers the handler of one ce_type. Call before Start. Its events are accepted only
  // from `origin` when given, else from the origin its contract declares (ContractOrigin).
  void On(std::string type, Handler handler, std::optional<EventOrigin> origin = std::nullopt);

  // OnMessage registers a handler that receives the payload decoded as `Msg`; a payload that
  // does not decode is dead-lettered. `origin` as for On.
  template <typename Msg>
  void OnMessage(std::string type,
                 std::function<absl::Status(const Event&, const Msg&, Transaction&)> fn,
                 std::optional<EventOrigin> origin = std::nullopt) {
    On(
        std::move(type),
        [fn = std::move(fn)](const Event& e, Transaction& txn) -> absl::Status {
          Msg msg;
          if (!msg.ParseFromString(e.payload)) {
            return PermanentError(
                absl::InvalidArgumentError("payload does not decode as " + msg.GetTypeName()));
          }
          return fn(e, msg, txn);
        },
        std::move(origin));
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

// InboxKey is the dedupe key of an event (its ce_source and ce_id: ids are unique per
// source) within a consumer group.
std::string InboxKey(std::string_view group_id, std::string_view source, std::string_view event_id);

// ApplyOutcome says what ApplyOnce did.
enum class ApplyOutcome { kApplied, kDuplicate };

// ConsumedPosition is where a consumed message was read: ApplyOnce stores offset + 1 as the
// partition's next offset in the effect's batch.
struct ConsumedPosition {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// ApplyOnce is the consumer's apply step, exposed for callers that apply an event outside a
// Kafka consumer (tests, tools): under `apply_mutex` (when set) it skips an event already
// recorded for `group_id`, runs `handler` on a transaction whose emitted events get derived
// ids, adds the dedupe record (and, when `position` is given, the partition's next offset)
// and commits everything in one batch (through `outbox`, or directly when it is null and
// nothing was emitted). A duplicate writes nothing.
absl::StatusOr<ApplyOutcome> ApplyOnce(storage::Store& store, Outbox* outbox,
                                       std::string_view group_id, const Event& event,
                                       const Handler& handler, util::SharedMutex* apply_mutex,
                                       const ConsumedPosition* position = nullptr);

// DerivedIdSeed is the seed of the ids of events emitted while `group_id` applies `event`
// (see Transaction::DeriveIdsFrom).
std::string DerivedIdSeed(std::string_view group_id, const Event& event);

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_CONSUMER_H_
