// Implements the stored consumer offsets and the store identity (see consumer_offsets.h).
#include "common/events/consumer_offsets.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/logging.h"
#include "common/events/envelope.h"
#include "common/storage/key_codec.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::events {
namespace {

constexpr char kMetadataPrefix[] = "triad-store=";

// The identity key: an empty group name is refused by the consumer, so no offset key starts
// with an empty string component.
std::string IdentityKey() { return storage::KeyBuilder().Str("").Str("identity").Build(); }

std::string OffsetKey(std::string_view group, std::string_view topic, int32_t partition) {
  return storage::KeyBuilder()
      .Str(group)
      .Str(topic)
      .U64(static_cast<uint64_t>(static_cast<uint32_t>(partition)))
      .Build();
}

}  // namespace

absl::Status PutStoredOffset(const storage::Store& store, rocksdb::WriteBatch& batch,
                             std::string_view group, std::string_view topic, int32_t partition,
                             int64_t next_offset) {
  rocksdb::ColumnFamilyHandle* cf = store.Cf(kOffsetsColumnFamily);
  if (cf == nullptr) {
    return absl::FailedPreconditionError("store: no \"consumer_offsets\" column family");
  }
  if (group.empty()) return absl::InvalidArgumentError("stored offset: group is empty");
  return storage::ToStatus(
      batch.Put(cf, OffsetKey(group, topic, partition), absl::StrCat(next_offset)));
}

absl::StatusOr<std::optional<int64_t>> ReadStoredOffset(const storage::Store& store,
                                                        std::string_view group,
                                                        std::string_view topic, int32_t partition) {
  if (store.Cf(kOffsetsColumnFamily) == nullptr) return std::optional<int64_t>();
  absl::StatusOr<std::string> raw =
      store.Get(kOffsetsColumnFamily, OffsetKey(group, topic, partition));
  if (absl::IsNotFound(raw.status())) return std::optional<int64_t>();
  if (!raw.ok()) return raw.status();
  int64_t offset = 0;
  if (!absl::SimpleAtoi(*raw, &offset) || offset < 0) {
    return absl::DataLossError(absl::StrCat("stored offset of ", std::string(topic), "/", partition,
                                            " is not an offset: ", *raw));
  }
  return std::optional<int64_t>(offset);
}

absl::StatusOr<std::vector<StoredOffset>> ReadStoredOffsets(const storage::Store& store) {
  std::vector<StoredOffset> out;
  if (store.Cf(kOffsetsColumnFamily) == nullptr) return out;
  const std::string identity = IdentityKey();
  absl::Status s =
      store.ScanPrefix(kOffsetsColumnFamily, "", [&](std::string_view key, std::string_view value) {
        if (key == identity) return true;
        storage::KeyReader reader(key);
        absl::StatusOr<std::string> group = reader.Str();
        absl::StatusOr<std::string> topic = reader.Str();
        absl::StatusOr<uint64_t> partition = reader.U64();
        int64_t offset = 0;
        if (!group.ok() || !topic.ok() || !partition.ok() ||
            !absl::SimpleAtoi(absl::string_view(value.data(), value.size()), &offset)) {
          return true;  // not an offset record
        }
        out.push_back(StoredOffset{*group, *topic, static_cast<int32_t>(*partition), offset});
        return true;
      });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> StoreIdentity(storage::Store& store) {
  rocksdb::ColumnFamilyHandle* cf = store.Cf(kOffsetsColumnFamily);
  if (cf == nullptr) {
    return absl::FailedPreconditionError("store: no \"consumer_offsets\" column family");
  }
  absl::StatusOr<std::string> existing = store.Get(kOffsetsColumnFamily, IdentityKey());
  if (existing.ok()) return *existing;
  if (!absl::IsNotFound(existing.status())) return existing.status();
  std::string identity = NewEventId();
  rocksdb::WriteBatch batch;
  batch.Put(cf, IdentityKey(), identity);
  absl::Status s = store.Write(batch);
  if (!s.ok()) return s;
  return identity;
}

std::string CommitMetadata(std::string_view identity) {
  return absl::StrCat(kMetadataPrefix, std::string(identity));
}

StartOffset ChooseStartOffset(std::optional<int64_t> stored,
                              const std::optional<CommittedOffset>& committed,
                              std::string_view identity, bool reset_to_end) {
  const bool has_committed = committed.has_value() && committed->offset >= 0;
  const bool mine = has_committed && committed->metadata == CommitMetadata(identity);
  if (stored.has_value()) {
    if (has_committed && !mine && committed->offset > *stored) {
      return StartOffset{committed->offset, true};
    }
    return StartOffset{*stored, false};
  }
  if (has_committed && !mine) return StartOffset{committed->offset, true};
  if (mine) return StartOffset{kLogStart, true};
  return StartOffset{reset_to_end ? kLogEnd : kLogStart, true};
}

void SetStartOffsets(RdKafka::KafkaConsumer* consumer, const storage::Store& store,
                     std::string_view group, std::string_view identity, bool reset_to_end,
                     std::vector<RdKafka::TopicPartition*>& partitions,
                     rocksdb::WriteBatch& records) {
  if (partitions.empty()) return;
  // Kafka's committed offsets with their metadata (through the C API: the C++ one drops it).
  rd_kafka_topic_partition_list_t* committed =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (const RdKafka::TopicPartition* p : partitions) {
    rd_kafka_topic_partition_list_add(committed, p->topic().c_str(), p->partition());
  }
  const rd_kafka_resp_err_t fetched = rd_kafka_committed(consumer->c_ptr(), committed, 10000);
  if (fetched != RD_KAFKA_RESP_ERR_NO_ERROR) {
    logging::Warn("consumer: committed offsets unavailable; starting at the stored ones",
                  {{"group", group}, {"error", rd_kafka_err2str(fetched)}});
  }
  for (RdKafka::TopicPartition* p : partitions) {
    absl::StatusOr<std::optional<int64_t>> stored =
        ReadStoredOffset(store, group, p->topic(), p->partition());
    if (!stored.ok()) {
      logging::Error("consumer: cannot read the stored offset; starting at Kafka's",
                     {{"group", group},
                      {"topic", p->topic()},
                      {"partition", p->partition()},
                      {"error", stored.status()}});
      continue;
    }
    std::optional<CommittedOffset> kafka;
    const rd_kafka_topic_partition_t* c =
        rd_kafka_topic_partition_list_find(committed, p->topic().c_str(), p->partition());
    if (fetched == RD_KAFKA_RESP_ERR_NO_ERROR && c != nullptr &&
        c->err == RD_KAFKA_RESP_ERR_NO_ERROR && c->offset >= 0) {
      kafka = CommittedOffset{
          c->offset, c->metadata == nullptr
                         ? std::string()
                         : std::string(static_cast<const char*>(c->metadata), c->metadata_size)};
    }
    StartOffset start = ChooseStartOffset(*stored, kafka, identity, reset_to_end);
    if (start.offset < 0) {
      int64_t low = 0, high = 0;
      if (consumer->query_watermark_offsets(p->topic(), p->partition(), &low, &high, 5000) ==
          RdKafka::ERR_NO_ERROR) {
        start.offset = start.offset == kLogEnd ? high : low;
      } else {
        start.record = false;  // librdkafka resolves the symbolic offset itself
      }
    }
    p->set_offset(start.offset);
    if (start.record && start.offset >= 0) {
      absl::Status s =
          PutStoredOffset(store, records, group, p->topic(), p->partition(), start.offset);
      if (!s.ok()) logging::Error("consumer: cannot record a start offset", {{"error", s}});
    }
    logging::Info("consumer: partition start", {{"group", group},
                                                {"topic", p->topic()},
                                                {"partition", p->partition()},
                                                {"stored", stored->value_or(-1)},
                                                {"committed", kafka ? kafka->offset : -1},
                                                {"start", start.offset}});
  }
  rd_kafka_topic_partition_list_destroy(committed);
}

int CommitOffsets(RdKafka::KafkaConsumer* consumer,
                  const std::map<std::pair<std::string, int32_t>, int64_t>& offsets,
                  std::string_view identity) {
  const std::string metadata = CommitMetadata(identity);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_t* p =
        rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second);
    p->offset = offset;
    p->metadata = malloc(metadata.size());  // freed with the list
    memcpy(p->metadata, metadata.data(), metadata.size());
    p->metadata_size = metadata.size();
  }
  const rd_kafka_resp_err_t err = rd_kafka_commit(consumer->c_ptr(), list, /*async=*/0);
  rd_kafka_topic_partition_list_destroy(list);
  return static_cast<int>(err);
}

}  // namespace triad::events
