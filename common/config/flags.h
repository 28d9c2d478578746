// Process configuration: absl flags shared by every Triad service, with environment overrides.
//
// Every flag can be set on the command line (--name=value) or through the environment as
// TRIAD_<NAME in upper case> (e.g. TRIAD_GRPC_PORT=7001); the command line wins. The Kafka
// bootstrap list also honours the conventional KAFKA_BOOTSTRAP_SERVERS. `--helpfull` lists
// every flag with its default.
#ifndef TRIAD_COMMON_CONFIG_FLAGS_H_
#define TRIAD_COMMON_CONFIG_FLAGS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, kafka_bootstrap_servers);
ABSL_DECLARE_FLAG(std::string, listen_host);
ABSL_DECLARE_FLAG(int32_t, grpc_port);
ABSL_DECLARE_FLAG(int32_t, admin_port);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(std::string, backup_dir);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(absl::Duration, drain_timeout);
ABSL_DECLARE_FLAG(absl::Duration, not_serving_grace);
ABSL_DECLARE_FLAG(absl::Duration, default_deadline);
ABSL_DECLARE_FLAG(int32_t, topic_partitions);
ABSL_DECLARE_FLAG(int64_t, block_cache_mb);
ABSL_DECLARE_FLAG(bool, sync_writes);
ABSL_DECLARE_FLAG(absl::Duration, outbox_linger);
ABSL_DECLARE_FLAG(absl::Duration, consumer_fetch_wait);
ABSL_DECLARE_FLAG(int32_t, consumer_fetch_min_bytes);
ABSL_DECLARE_FLAG(int32_t, background_nice);
ABSL_DECLARE_FLAG(std::string, consumer_group);
ABSL_DECLARE_FLAG(int32_t, topic_replication);
ABSL_DECLARE_FLAG(int32_t, topic_min_insync_replicas);
ABSL_DECLARE_FLAG(absl::Duration, dedupe_retention);
ABSL_DECLARE_FLAG(absl::Duration, dedupe_compaction_interval);
ABSL_DECLARE_FLAG(std::string, kafka_security_protocol);
ABSL_DECLARE_FLAG(std::string, kafka_sasl_mechanism);
ABSL_DECLARE_FLAG(std::string, kafka_sasl_username);
ABSL_DECLARE_FLAG(std::string, kafka_sasl_password_file);
ABSL_DECLARE_FLAG(std::string, kafka_ssl_ca_file);
ABSL_DECLARE_FLAG(std::string, kafka_ssl_cert_file);
ABSL_DECLARE_FLAG(std::string, kafka_ssl_key_file);
ABSL_DECLARE_FLAG(std::string, kafka_ssl_key_password_file);
ABSL_DECLARE_FLAG(std::string, tls_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_key_file);
ABSL_DECLARE_FLAG(std::string, tls_client_ca_file);
ABSL_DECLARE_FLAG(bool, tls_require_client_cert);
ABSL_DECLARE_FLAG(bool, allow_plaintext);
ABSL_DECLARE_FLAG(std::string, auth_mode);
ABSL_DECLARE_FLAG(std::string, auth_jwt_keys_dir);
ABSL_DECLARE_FLAG(std::string, auth_issuer);
ABSL_DECLARE_FLAG(std::string, auth_audience);
ABSL_DECLARE_FLAG(bool, grpc_reflection);
ABSL_DECLARE_FLAG(int32_t, grpc_max_message_bytes);
ABSL_DECLARE_FLAG(int32_t, grpc_max_pollers);

namespace triad::config {

// ApplyEnvironment sets every registered flag whose TRIAD_<NAME> environment variable is set
// (and kafka_bootstrap_servers from KAFKA_BOOTSTRAP_SERVERS). Returns the errors, if any.
std::vector<std::string> ApplyEnvironment();

// ParseFlags applies the environment, then the command line, and returns the positional
// arguments. Exits with a message naming the variable when an environment value is invalid.
std::vector<char*> ParseFlags(int argc, char** argv, std::string_view usage);

// EnvName returns the environment variable that overrides `flag` (TRIAD_<FLAG>).
std::string EnvName(std::string_view flag);

}  // namespace triad::config

#endif  // TRIAD_COMMON_CONFIG_FLAGS_H_
