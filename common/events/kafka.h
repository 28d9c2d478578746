// Kafka client configuration shared by producers, consumers and the admin helpers.
#ifndef TRIAD_COMMON_EVENTS_KAFKA_H_
#define TRIAD_COMMON_EVENTS_KAFKA_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::events {

// KafkaConfig is where the cluster is plus any librdkafka property overrides.
struct KafkaConfig {
  std::string bootstrap_servers = "127.0.0.1:19092";
  // Extra librdkafka properties; they win over the component's defaults.
  std::map<std::string, std::string> properties;
};

// KafkaConfigFromFlags reads --kafka_bootstrap_servers.
KafkaConfig KafkaConfigFromFlags();

// MakeConf builds a librdkafka global configuration from `defaults`, then `config`.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaConfig& config, const std::map<std::string, std::string>& defaults);

// EnsureTopics creates the topics that do not exist yet (with `partitions` partitions and
// replication factor `replication`), then waits until every partition has a leader.
absl::Status EnsureTopics(const KafkaConfig& config, const std::vector<std::string>& topics,
                          int partitions, int replication = 1,
                          absl::Duration timeout = absl::Seconds(30));

// PartitionCount returns the number of partitions of `topic`.
absl::StatusOr<int> PartitionCount(const KafkaConfig& config, const std::string& topic,
                                   absl::Duration timeout = absl::Seconds(10));

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_KAFKA_H_
