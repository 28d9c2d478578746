// Kafka client security (TLS and SASL) shared by every producer, consumer and admin handle:
// the settings (from the --kafka_security_protocol, --kafka_sasl_* and --kafka_ssl_* flags, see
// KafkaConfigFromFlags in kafka.h), their validation and their translation into librdkafka
// properties. Secrets (the SASL password, the key's password) are read from files or the
// environment only, never taken as a command-line value, and never logged.
#ifndef TRIAD_COMMON_EVENTS_KAFKA_SECURITY_H_
#define TRIAD_COMMON_EVENTS_KAFKA_SECURITY_H_

#include <string>

#include "absl/status/status.h"
#include "common/events/kafka.h"

namespace triad::events {

// kKafkaSaslPasswordEnv is the environment variable holding the SASL password when no
// --kafka_sasl_password_file is given.
inline constexpr char kKafkaSaslPasswordEnv[] = "TRIAD_KAFKA_SASL_PASSWORD";

// KafkaSecurity is how a client authenticates to the brokers and protects the connection.
struct KafkaSecurity {
  // plaintext, ssl, sasl_plaintext or sasl_ssl (any case; empty = plaintext).
  std::string protocol;
  // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; required with a sasl_* protocol.
  std::string sasl_mechanism;
  std::string sasl_username;
  // The password: read from this file (trailing newlines dropped) ...
  std::string sasl_password_file;
  // ... or, when there is no file, this value (taken from kKafkaSaslPasswordEnv).
  std::string sasl_password;
  // PEM CA bundle the brokers' certificates are verified against (empty: the system's).
  std::string ssl_ca_file;
  // PEM client certificate and key for TLS client authentication: both or neither.
  std::string ssl_cert_file;
  std::string ssl_key_file;
  // File holding the password of an encrypted client key.
  std::string ssl_key_password_file;
};

// ApplyKafkaSecurity validates `security` and sets the matching librdkafka properties
// (security.protocol, sasl.*, ssl.*) in `config`. INVALID_ARGUMENT names the flag at fault: an
// unknown protocol or mechanism, SASL settings without a sasl_* protocol (or a sasl_* protocol
// without a mechanism, user or password), TLS files without TLS, a certificate without its key,
// a file that cannot be read. The broker's host name is verified against its certificate
// (librdkafka's ssl.endpoint.identification.algorithm=https). No error message carries a secret.
absl::Status ApplyKafkaSecurity(const KafkaSecurity& security, KafkaConfig& config);

// DescribeKafkaSecurity summarises the security settings of `config` for the log (protocol,
// mechanism, user, certificate files), never a secret.
std::string DescribeKafkaSecurity(const KafkaConfig& config);

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_KAFKA_SECURITY_H_
