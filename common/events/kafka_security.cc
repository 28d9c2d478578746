// Implements the Kafka client security settings: validation, secrets from files or the
// environment, librdkafka properties and a secret-free summary.
#include "common/events/kafka_security.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace triad::events {
namespace {

absl::Status Invalid(std::string_view flag, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", std::string(flag), ": ", std::string(what)));
}

// ReadFile returns the content of `path`, named by `flag` in errors (never the content).
absl::StatusOr<std::string> ReadFile(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(flag, absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::string> ReadSecret(std::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> v = ReadFile(flag, path);
  if (!v.ok()) return v;
  while (!v->empty() && (v->back() == '\n' || v->back() == '\r')) v->pop_back();
  if (v->empty()) return Invalid(flag, absl::StrCat(path, " is empty"));
  return v;
}

// CheckPem checks that `path` is a readable PEM file.
absl::Status CheckPem(std::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> v = ReadFile(flag, path);
  if (!v.ok()) return v.status();
  if (v->find("-----BEGIN ") == std::string::npos) {
    return Invalid(flag, absl::StrCat(path, " is not a PEM file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyKafkaSecurity(const KafkaSecurity& s, KafkaConfig& config) {
  const std::string protocol = absl::AsciiStrToLower(s.protocol);
  if (protocol != "" && protocol != "plaintext" && protocol != "ssl" &&
      protocol != "sasl_plaintext" && protocol != "sasl_ssl") {
    return Invalid("kafka_security_protocol",
                   absl::StrCat("\"", s.protocol,
                                "\" is not one of plaintext, ssl, sasl_plaintext, sasl_ssl"));
  }
  const bool sasl = protocol == "sasl_plaintext" || protocol == "sasl_ssl";
  const bool tls = protocol == "ssl" || protocol == "sasl_ssl";
  if (!protocol.empty()) config.properties["security.protocol"] = protocol;

  const bool has_password = !s.sasl_password_file.empty() || !s.sasl_password.empty();
  if (sasl) {
    const std::string mechanism = absl::AsciiStrToUpper(s.sasl_mechanism);
    if (mechanism != "PLAIN" && mechanism != "SCRAM-SHA-256" && mechanism != "SCRAM-SHA-512") {
      return Invalid("kafka_sasl_mechanism",
                     absl::StrCat("\"", s.sasl_mechanism, "\" is not one of PLAIN, ",
                                  "SCRAM-SHA-256, SCRAM-SHA-512 (required with --kafka_"
                                  "security_protocol=",
                                  protocol, ")"));
    }
    if (s.sasl_username.empty()) {
      return Invalid("kafka_sasl_username", absl::StrCat("required with ", protocol));
    }
    if (!has_password) {
      return Invalid(
          "kafka_sasl_password_file",
          absl::StrCat("required with ", protocol, " (or set ", kKafkaSaslPasswordEnv, ")"));
    }
    std::string password = s.sasl_password;
    if (!s.sasl_password_file.empty()) {
      absl::StatusOr<std::string> v = ReadSecret("kafka_sasl_password_file", s.sasl_password_file);
      if (!v.ok()) return v.status();
      password = *std::move(v);
    }
    config.properties["sasl.mechanism"] = mechanism;
    config.properties["sasl.username"] = s.sasl_username;
    config.properties["sasl.password"] = std::move(password);
  } else if (!s.sasl_mechanism.empty() || !s.sasl_username.empty() ||
             !s.sasl_password_file.empty()) {
    return Invalid(!s.sasl_username.empty()    ? "kafka_sasl_username"
                   : !s.sasl_mechanism.empty() ? "kafka_sasl_mechanism"
                                               : "kafka_sasl_password_file",
                   "SASL settings need --kafka_security_protocol=sasl_ssl (or sasl_plaintext)");
  }

  const std::pair<const char*, const std::string*> files[] = {
      {"kafka_ssl_ca_file", &s.ssl_ca_file},
      {"kafka_ssl_cert_file", &s.ssl_cert_file},
      {"kafka_ssl_key_file", &s.ssl_key_file},
      {"kafka_ssl_key_password_file", &s.ssl_key_password_file}};
  if (!tls) {
    for (const auto& [flag, value] : files) {
      if (!value->empty()) {
        return Invalid(flag, "TLS settings need --kafka_security_protocol=ssl or sasl_ssl");
      }
    }
    return absl::OkStatus();
  }
  if (s.ssl_cert_file.empty() != s.ssl_key_file.empty()) {
    return Invalid(s.ssl_cert_file.empty() ? "kafka_ssl_cert_file" : "kafka_ssl_key_file",
                   "the client certificate and its key go together (both or neither)");
  }
  if (!s.ssl_key_password_file.empty() && s.ssl_key_file.empty()) {
    return Invalid("kafka_ssl_key_password_file", "needs --kafka_ssl_key_file");
  }
  if (!s.ssl_ca_file.empty()) {
    if (absl::Status st = CheckPem("kafka_ssl_ca_file", s.ssl_ca_file); !st.ok()) return st;
    config.properties["ssl.ca.location"] = s.ssl_ca_file;
  }
  if (!s.ssl_cert_file.empty()) {
    if (absl::Status st = CheckPem("kafka_ssl_cert_file", s.ssl_cert_file); !st.ok()) return st;
    if (absl::Status st = CheckPem("kafka_ssl_key_file", s.ssl_key_file); !st.ok()) return st;
    config.properties["ssl.certificate.location"] = s.ssl_cert_file;
    config.properties["ssl.key.location"] = s.ssl_key_file;
  }
  if (!s.ssl_key_password_file.empty()) {
    absl::StatusOr<std::string> v =
        ReadSecret("kafka_ssl_key_password_file", s.ssl_key_password_file);
    if (!v.ok()) return v.status();
    config.properties["ssl.key.password"] = *std::move(v);
  }
  // The broker's name must match its certificate (librdkafka's default since 2.0; kept
  // explicit so an override is a visible choice).
  config.properties.try_emplace("ssl.endpoint.identification.algorithm", "https");
  return absl::OkStatus();
}

std::string DescribeKafkaSecurity(const KafkaConfig& config) {
  auto get = [&](const char* key) -> std::string {
    auto it = config.properties.find(key);
    return it == config.properties.end() ? std::string() : it->second;
  };
  std::string protocol = get("security.protocol");
  std::vector<std::string> parts = {protocol.empty() ? "plaintext" : protocol};
  if (!get("sasl.mechanism").empty()) {
    parts.push_back(absl::StrCat("sasl ", get("sasl.mechanism"), " as ", get("sasl.username")));
  }
  if (!get("ssl.ca.location").empty()) parts.push_back("ca " + get("ssl.ca.location"));
  if (!get("ssl.certificate.location").empty()) {
    parts.push_back("client certificate " + get("ssl.certificate.location"));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace triad::events
