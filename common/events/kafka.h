// Kafka client configuration shared by producers, consumers and the admin helpers.
#ifndef TRIAD_COMMON_EVENTS_KAFKA_H_
#define TRIAD_COMMON_EVENTS_KAFKA_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
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

// KafkaConfigFromFlags reads --kafka_bootstrap_servers and the client security settings
// (--kafka_security_protocol, --kafka_sasl_*, --kafka_ssl_*; the SASL password from
// --kafka_sasl_password_file or env TRIAD_KAFKA_SASL_PASSWORD; checked by ApplyKafkaSecurity in
// kafka_security.h), which every producer, consumer and admin handle of the process then uses.
absl::StatusOr<KafkaConfig> KafkaConfigFromFlags();

// MakeConf builds a librdkafka global configuration from `defaults`, then `config`, then
// `locked`: properties a component's guarantees depend on (acks, idempotence, manual offset
// commits). `config` setting a locked property to another value is an INVALID_ARGUMENT error,
// never a silent override.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaConfig& config, const std::map<std::string, std::string>& defaults,
    const std::map<std::string, std::string>& locked = {});

// KafkaDefaultPartition is the partition Kafka's Java producer (and Kafka Streams) choose for
// a non-null key: murmur2 of the key bytes, made positive, modulo the partition count.
int32_t KafkaDefaultPartition(std::string_view key, int32_t partitions);

// Murmur2 is Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2).
int32_t Murmur2(std::string_view data);

// EnsureTopics creates the topics that do not exist yet (with `partitions` partitions,
// replication factor `replication` and, when positive, min.insync.replicas), then waits until
// every partition has a leader. `configs` are further topic settings of the new topics. A topic
// the client may not create (TOPIC_AUTHORIZATION_FAILED: its ACLs grant no Create) only has to
// exist; PERMISSION_DENIED when it does not within `timeout`. A failure caused by the
// connection says why (the last broker error: TLS, SASL); an authentication failure is
// UNAUTHENTICATED.
absl::Status EnsureTopics(const KafkaConfig& config, const std::vector<std::string>& topics,
                          int partitions, int replication = 1, int min_insync_replicas = 0,
                          absl::Duration timeout = absl::Seconds(30),
                          const std::map<std::string, std::string>& configs = {});

// AlterTopicConfig replaces the dynamic configuration of `topic` by `configs` (Kafka's
// AlterConfigs: settings not named return to their defaults).
absl::Status AlterTopicConfig(const KafkaConfig& config, const std::string& topic,
                              const std::map<std::string, std::string>& configs,
                              absl::Duration timeout = absl::Seconds(30));

// PartitionCount returns the number of partitions of `topic`.
absl::StatusOr<int> PartitionCount(const KafkaConfig& config, const std::string& topic,
                                   absl::Duration timeout = absl::Seconds(10));

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_KAFKA_H_
