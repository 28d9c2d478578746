// Consumer offsets kept in the service's store, the source of truth for where a consumer
// resumes: the next offset of each (group, topic, partition) is written in the same RocksDB
// batch as the effect of the message before it (column family "consumer_offsets"), so the
// store and its position in the streams can never disagree, also after a restore from a
// backup. Offsets are committed to Kafka as well (for lag monitoring and for a store that has
// none), tagged with the identity of the store that committed them.
#ifndef TRIAD_COMMON_EVENTS_CONSUMER_OFFSETS_H_
#define TRIAD_COMMON_EVENTS_CONSUMER_OFFSETS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/storage/store.h"
#include "rocksdb/write_batch.h"

namespace RdKafka {
class KafkaConsumer;
class TopicPartition;
}  // namespace RdKafka

namespace triad::events {

// The column family of the stored offsets (and of the store's identity).
inline constexpr char kOffsetsColumnFamily[] = "consumer_offsets";

// StoredOffset is the position of one consumer group in one partition: the offset of the next
// message to read.
struct StoredOffset {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
};

// PutStoredOffset adds (group, topic, partition) -> next_offset to `batch`. The store must
// have the "consumer_offsets" column family.
absl::Status PutStoredOffset(const storage::Store& store, rocksdb::WriteBatch& batch,
                             std::string_view group, std::string_view topic, int32_t partition,
                             int64_t next_offset);

// ReadStoredOffset returns the stored next offset of (group, topic, partition), or nullopt.
absl::StatusOr<std::optional<int64_t>> ReadStoredOffset(const storage::Store& store,
                                                        std::string_view group,
                                                        std::string_view topic, int32_t partition);

// ReadStoredOffsets lists every stored offset, by group, topic and partition (empty when the
// store has no "consumer_offsets" column family).
absl::StatusOr<std::vector<StoredOffset>> ReadStoredOffsets(const storage::Store& store);

// StoreIdentity returns the random identity of the store, written on first use. It is kept
// in the store, so a backup restored into a new directory keeps the identity of the store it
// was taken from.
absl::StatusOr<std::string> StoreIdentity(storage::Store& store);

// CommitMetadata is the metadata string of the offsets a store with `identity` commits to
// Kafka.
std::string CommitMetadata(std::string_view identity);

// CommittedOffset is a group's offset committed in Kafka with its metadata.
struct CommittedOffset {
  int64_t offset = 0;
  std::string metadata;
};

// Symbolic start offsets (librdkafka's OFFSET_BEGINNING and OFFSET_END), resolved with the
// partition's watermarks.
inline constexpr int64_t kLogStart = -2;
inline constexpr int64_t kLogEnd = -1;

// StartOffset is where a newly assigned partition is read from.
struct StartOffset {
  // An offset, or kLogStart / kLogEnd.
  int64_t offset = kLogStart;
  // True when the store should record it now (it had none, or a stale one), so that a backup
  // taken before the partition's next message knows where the store stood.
  bool record = false;

  bool operator==(const StartOffset&) const = default;
};

// ChooseStartOffset decides where a newly assigned partition is read from. The stored offset
// wins, unless Kafka's committed offset is further and was committed by another store
// (another member of the group applied those messages to its own store: reading them here too
// would apply them twice across the group). An offset committed by this store itself never
// overrides the stored one: after a restore the store is behind what it had committed and
// must read those messages again. With nothing stored: another store's (or an untagged)
// committed offset; the log start when only this store had committed (it was restored to a
// time before it first read the partition); else auto.offset.reset (`reset_to_end`).
StartOffset ChooseStartOffset(std::optional<int64_t> stored,
                              const std::optional<CommittedOffset>& committed,
                              std::string_view identity, bool reset_to_end);

// SetStartOffsets sets the start offset of each newly assigned partition of `group` (before
// they are assigned) from ChooseStartOffset over the store's offset and Kafka's committed one,
// resolving the log start/end with the partition's watermarks, and adds to `records` the
// offsets ChooseStartOffset says to record (the caller writes it). Called from the rebalance
// callback.
void SetStartOffsets(RdKafka::KafkaConsumer* consumer, const storage::Store& store,
                     std::string_view group, std::string_view identity, bool reset_to_end,
                     std::vector<RdKafka::TopicPartition*>& partitions,
                     rocksdb::WriteBatch& records);

// CommitOffsets commits (synchronously) `offsets` ((topic, partition) -> next offset) for the
// consumer's group to Kafka, with the metadata naming the store `identity`. Returns the
// librdkafka error code (0 on success).
int CommitOffsets(RdKafka::KafkaConsumer* consumer,
                  const std::map<std::pair<std::string, int32_t>, int64_t>& offsets,
                  std::string_view identity);

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_CONSUMER_OFFSETS_H_
