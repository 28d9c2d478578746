// Tests of the Kafka client security settings (common/events/kafka_security.h): the librdkafka
// properties of each protocol, the password from a file or the environment, and errors that
// name the flag at fault without ever showing a secret.
#include "common/events/kafka_security.h"

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::events {
namespace {

class KafkaSecurityTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_.path() + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fputs(content.c_str(), f);
    std::fclose(f);
    return path;
  }
  std::string Pem(const std::string& name) {
    return Write(name, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  }
  // Error applies `s` and returns the error message (empty when it succeeded).
  std::string Error(const KafkaSecurity& s) {
    KafkaConfig c;
    absl::Status st = ApplyKafkaSecurity(s, c);
    EXPECT_FALSE(absl::StrContains(st.message(), "hunter2")) << st;
    return std::string(st.message());
  }
  triad::testing::TempDir dir_;
};

TEST_F(KafkaSecurityTest, PlaintextByDefaultSetsNothing) {
  KafkaConfig c;
  ASSERT_TRUE(ApplyKafkaSecurity({}, c).ok());
  EXPECT_TRUE(c.properties.empty());
  EXPECT_EQ(DescribeKafkaSecurity(c), "plaintext");
}

TEST_F(KafkaSecurityTest, SaslSslWithScramAndTheCa) {
  KafkaSecurity s{.protocol = "SASL_SSL",
                  .sasl_mechanism = "scram-sha-512",
                  .sasl_username = "triad-clients",
                  .sasl_password_file = Write("pw", "hunter2\n"),
                  .ssl_ca_file = Pem("ca.pem")};
  KafkaConfig c;
  ASSERT_TRUE(ApplyKafkaSecurity(s, c).ok());
  EXPECT_EQ(c.properties["security.protocol"], "sasl_ssl");
  EXPECT_EQ(c.properties["sasl.mechanism"], "SCRAM-SHA-512");
  EXPECT_EQ(c.properties["sasl.username"], "triad-clients");
  EXPECT_EQ(c.properties["sasl.password"], "hunter2");
  EXPECT_EQ(c.properties["ssl.ca.location"], s.ssl_ca_file);
  EXPECT_EQ(c.properties["ssl.endpoint.identification.algorithm"], "https");
  EXPECT_TRUE(MakeConf(c, {}).ok());  // librdkafka takes every property
  const std::string described = DescribeKafkaSecurity(c);
  EXPECT_TRUE(absl::StrContains(described, "SCRAM-SHA-512 as triad-clients")) << described;
  EXPECT_FALSE(absl::StrContains(described, "hunter2")) << described;
}

TEST_F(KafkaSecurityTest, ThePasswordMayComeFromTheEnvironmentButTheFileWins) {
  KafkaSecurity s{.protocol = "sasl_plaintext",
                  .sasl_mechanism = "PLAIN",
                  .sasl_username = "u",
                  .sasl_password = "from-env"};
  KafkaConfig c;
  ASSERT_TRUE(ApplyKafkaSecurity(s, c).ok());
  EXPECT_EQ(c.properties["sasl.password"], "from-env");
  s.sasl_password_file = Write("pw", "from-file");
  KafkaConfig c2;
  ASSERT_TRUE(ApplyKafkaSecurity(s, c2).ok());
  EXPECT_EQ(c2.properties["sasl.password"], "from-file");
}

TEST_F(KafkaSecurityTest, MutualTlsNeedsTheCertificateAndItsKey) {
  KafkaSecurity s{.protocol = "ssl", .ssl_cert_file = Pem("c.pem"), .ssl_key_file = Pem("k.pem")};
  KafkaConfig c;
  ASSERT_TRUE(ApplyKafkaSecurity(s, c).ok());
  EXPECT_EQ(c.properties["ssl.certificate.location"], s.ssl_cert_file);
  EXPECT_EQ(c.properties["ssl.key.location"], s.ssl_key_file);
  s.ssl_key_file.clear();
  EXPECT_TRUE(absl::StrContains(Error(s), "--kafka_ssl_key_file")) << Error(s);
}

TEST_F(KafkaSecurityTest, ErrorsNameTheFlagAndNeverTheSecret) {
  const std::string pw = Write("pw", "hunter2");
  EXPECT_TRUE(absl::StrContains(Error({.protocol = "tls"}), "--kafka_security_protocol"));
  EXPECT_TRUE(absl::StrContains(Error({.protocol = "sasl_ssl",
                                       .sasl_mechanism = "GSSAPI",
                                       .sasl_username = "u",
                                       .sasl_password_file = pw}),
                                "--kafka_sasl_mechanism"));
  EXPECT_TRUE(absl::StrContains(
      Error({.protocol = "sasl_ssl", .sasl_mechanism = "PLAIN", .sasl_password_file = pw}),
      "--kafka_sasl_username"));
  EXPECT_TRUE(absl::StrContains(
      Error({.protocol = "sasl_ssl", .sasl_mechanism = "PLAIN", .sasl_username = "u"}),
      "--kafka_sasl_password_file"));
  EXPECT_TRUE(absl::StrContains(Error({.protocol = "sasl_ssl",
                                       .sasl_mechanism = "PLAIN",
                                       .sasl_username = "u",
                                       .sasl_password_file = dir_.path() + "/missing"}),
                                "--kafka_sasl_password_file: cannot read"));
  // SASL or TLS settings without the protocol that uses them are a mistake, not ignored.
  EXPECT_TRUE(absl::StrContains(Error({.sasl_username = "u", .sasl_password_file = pw}),
                                "--kafka_sasl_username"));
  EXPECT_TRUE(absl::StrContains(Error({.protocol = "sasl_plaintext",
                                       .sasl_mechanism = "PLAIN",
                                       .sasl_username = "u",
                                       .sasl_password_file = pw,
                                       .ssl_ca_file = Pem("ca.pem")}),
                                "--kafka_ssl_ca_file"));
  EXPECT_TRUE(absl::StrContains(Error({.protocol = "ssl", .ssl_ca_file = pw}), "not a PEM file"));
  // A librdkafka error about a secret property is redacted too.
  KafkaConfig c;
  c.properties["sasl.password"] = "hunter2";
  c.properties["sasl.mechanisms"] = "NOPE";
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeConf(c, {});
  EXPECT_FALSE(absl::StrContains(conf.status().message(), "hunter2"));
}

}  // namespace
}  // namespace triad::events
