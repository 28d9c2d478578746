// Defines the shared flags and their environment overrides.
#include "common/config/flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/util/thread.h"

ABSL_FLAG(std::string, kafka_bootstrap_servers, "127.0.0.1:19092",
          "Kafka bootstrap servers, host:port[,host:port]. Env: KAFKA_BOOTSTRAP_SERVERS too.");
ABSL_FLAG(std::string, listen_host, "127.0.0.1",
          "Address the gRPC and admin servers bind to (0.0.0.0 in containers).");
ABSL_FLAG(int32_t, grpc_port, 0, "gRPC port (0 picks a free port, printed at start).");
ABSL_FLAG(int32_t, admin_port, 0,
          "Admin HTTP port serving /metrics (Prometheus); 0 picks a free port; -1 disables.");
ABSL_FLAG(std::string, data_dir, "", "Directory of this service's RocksDB data (required).");
ABSL_FLAG(
    std::string, backup_dir, "",
    "Directory of the store's backups (AdminService.CreateBackup; default: <data_dir>-backups).");
ABSL_FLAG(std::string, log_level, "info", "Minimum log level: debug, info, warn or error.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "On SIGTERM, how long in-flight RPCs may take to finish (duration, e.g. 10s).");
ABSL_FLAG(absl::Duration, not_serving_grace, absl::ZeroDuration(),
          "On SIGTERM, how long health reports NOT_SERVING while calls are still accepted, "
          "before the listeners close (so load balancers stop routing first); e.g. 5s in "
          "Kubernetes.");
ABSL_FLAG(absl::Duration, default_deadline, absl::Seconds(30),
          "Deadline applied to incoming RPCs that carry none (duration, e.g. 30s).");
ABSL_FLAG(int32_t, topic_partitions, 6, "Partitions for the topics this service creates.");
ABSL_FLAG(int64_t, block_cache_mb, 64, "RocksDB block cache size, in MiB.");
ABSL_FLAG(std::string, consumer_group, "",
          "Kafka consumer group of this service's consumers; also namespaces their dedupe "
          "records (default: triad-<service>). Each service runs exactly ONE replica: a service "
          "owns its data, and a second instance with the same group is refused at start (it "
          "cannot take the service's lease).");
ABSL_FLAG(int32_t, topic_replication, 3,
          "Replication factor of the topics this service creates. Local single-broker runs set "
          "1 explicitly; a production cluster keeps 3.");
ABSL_FLAG(int32_t, topic_min_insync_replicas, 2,
          "min.insync.replicas of the topics this service creates (capped at "
          "--topic_replication).");
ABSL_FLAG(absl::Duration, dedupe_retention, absl::Hours(24 * 7),
          "How long the records that deduplicate consumed events and request ids are kept. "
          "Must exceed the longest time Kafka may redeliver an event (consumer group offset "
          "retention, a restore from backup) and the longest client retry window.");
ABSL_FLAG(absl::Duration, dedupe_compaction_interval, absl::Hours(1),
          "How often expired dedupe records are compacted away (0 disables).");
ABSL_FLAG(std::string, kafka_security_protocol, "",
          "Kafka security.protocol of every producer, consumer and admin client: plaintext, "
          "ssl, sasl_plaintext or sasl_ssl (empty: plaintext).");
ABSL_FLAG(std::string, kafka_sasl_mechanism, "",
          "Kafka SASL mechanism with a sasl_* protocol: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.");
ABSL_FLAG(std::string, kafka_sasl_username, "", "Kafka SASL user name (with a sasl_* protocol).");
ABSL_FLAG(std::string, kafka_sasl_password_file, "",
          "File holding the Kafka SASL password (else env TRIAD_KAFKA_SASL_PASSWORD; a secret "
          "is never taken from the command line).");
ABSL_FLAG(std::string, kafka_ssl_ca_file, "",
          "PEM CA bundle the Kafka brokers' certificates are verified against (ssl, sasl_ssl; "
          "empty: the system's CAs).");
ABSL_FLAG(std::string, kafka_ssl_cert_file, "",
          "PEM client certificate for TLS client authentication to Kafka (with "
          "--kafka_ssl_key_file).");
ABSL_FLAG(std::string, kafka_ssl_key_file, "", "PEM private key of --kafka_ssl_cert_file.");
ABSL_FLAG(std::string, kafka_ssl_key_password_file, "",
          "File holding the password of an encrypted --kafka_ssl_key_file, if it has one.");
ABSL_FLAG(bool, sync_writes, false,
          "Acknowledge a write only once the RocksDB WAL holding it is fsynced (survives power "
          "loss); concurrent writes share each fsync (group commit).");
ABSL_FLAG(absl::Duration, outbox_linger, triad::events::kDefaultOutboxLinger,
          "How long the outbox relay holds an event to send it with others in one Kafka request "
          "(linger.ms; 0 to 1s): fewer requests under load, that much more event latency.");
ABSL_FLAG(absl::Duration, consumer_fetch_wait, triad::events::kDefaultFetchWait,
          "Longest a consumer's fetch waits for --consumer_fetch_min_bytes of events "
          "(fetch.wait.max.ms; 1ms to 5s); an idle consumer asks the broker once per wait.");
ABSL_FLAG(int32_t, consumer_fetch_min_bytes, triad::events::kDefaultFetchMinBytes,
          "Bytes of events a consumer's fetch waits for before it is answered (fetch.min.bytes; "
          "1, the default, answers as soon as there is one event; e.g. 65536 with "
          "--consumer_fetch_wait=10ms batches events under load at up to 10 ms more latency).");
ABSL_FLAG(int32_t, background_nice, triad::util::kDefaultBackgroundNice,
          "How many nice values below the request handlers the background threads run (the "
          "outbox relay, event consumers, periodic tasks; 0 to 19, 0: the same priority), so "
          "under CPU contention requests are answered first and events follow.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain of the gRPC server (with --tls_key_file; neither: plaintext, "
          "only with --auth_mode=disabled or --allow_plaintext).");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of the gRPC server (a file path; with --tls_cert_file).");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle of client certificates: enables mTLS (a client certificate is "
          "requested and verified when presented; its CN is a service account).");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "Refuse TLS clients without a verified client certificate (needs "
          "--tls_client_ca_file).");
ABSL_FLAG(bool, allow_plaintext, false,
          "Serve gRPC without TLS while authenticating tokens (loopback development only: "
          "refused unless --listen_host is a loopback address).");
ABSL_FLAG(std::string, auth_mode, "jwt",
          "Authentication of gRPC calls: jwt (bearer tokens, mTLS service accounts) or "
          "disabled (development and tests only: no authentication, the request's actor "
          "stands).");
ABSL_FLAG(std::string, auth_jwt_keys_dir, "",
          "Directory of the token-signing public keys, <kid>.pem (RSA or EC P-256); required "
          "with --auth_mode=jwt.");
ABSL_FLAG(std::string, auth_issuer, "",
          "The iss every token must carry; required with --auth_mode=jwt.");
ABSL_FLAG(std::string, auth_audience, "triad", "The aud every token must contain.");
ABSL_FLAG(bool, grpc_reflection, true, "Serve gRPC server reflection (the prod overlay: false).");
ABSL_FLAG(int32_t, grpc_max_message_bytes, 4 << 20,
          "Largest gRPC request message accepted, in bytes (larger: RESOURCE_EXHAUSTED).");
ABSL_FLAG(int32_t, grpc_max_pollers, 32,
          "Most idle gRPC handler threads kept waiting for calls; beyond it an idle thread exits. "
          "Set it to at least the concurrent calls expected: below that, threads are created "
          "and destroyed for every burst of calls.");

namespace triad::config {

std::string EnvName(std::string_view flag) {
  return "TRIAD_" + absl::AsciiStrToUpper(std::string(flag));
}

std::vector<std::string> ApplyEnvironment() {
  std::vector<std::string> errors;
  if (const char* v = std::getenv("KAFKA_BOOTSTRAP_SERVERS"); v != nullptr && *v != '\0') {
    absl::SetFlag(&FLAGS_kafka_bootstrap_servers, std::string(v));
  }
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string env = EnvName(std::string(name.data(), name.size()));
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      errors.push_back(env + "=" + value + ": " + error);
    }
  }
  return errors;
}

std::vector<char*> ParseFlags(int argc, char** argv, std::string_view usage) {
  absl::SetProgramUsageMessage(std::string(usage));
  std::vector<std::string> errors = ApplyEnvironment();
  if (!errors.empty()) {
    for (const std::string& e : errors)
      std::fprintf(stderr, "invalid environment: %s\n", e.c_str());
    std::exit(2);
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace triad::config
