// Tests of status helpers and mapping, ids, idempotency records, flags.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "common/config/flags.h"
#include "common/events/kafka.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/util/digest.h"
#include "common/util/idempotency.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("x: must be even");
  return x / 2;
}

absl::Status Quarter(int x, int* out) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(*out, Half(h));
  RETURN_IF_ERROR(absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusTest, MacrosPropagateErrors) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  absl::Status s = Quarter(6, &out);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "x: must be even");
}

TEST(StatusTest, MapsEveryCanonicalCodeToGrpc) {
  for (int c = 0; c <= 16; ++c) {
    absl::Status s(static_cast<absl::StatusCode>(c), c == 0 ? "" : "why");
    grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    if (c != 0) {
      EXPECT_EQ(g.error_message(), "why");
    }
    EXPECT_EQ(FromGrpcStatus(g).code(), s.code());
  }
  EXPECT_EQ(ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(99), "x")).error_code(),
            grpc::StatusCode::UNKNOWN);
}

TEST(IdsTest, IdsAreUniqueAndSortByCreation) {
  std::string a = util::NewId("cli");
  std::string b = util::NewId("cli");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("cli_", 0), 0u);
  EXPECT_EQ(a.size(), 4u + 28u);
  EXPECT_LE(a.substr(0, 16), b.substr(0, 16));
}

// The digest is SHA-256's (FIPS 180-2 test vectors), the same from every thread and call.
TEST(DigestTest, Sha256MatchesTheStandardVectorsOnEveryThread) {
  auto hex = [](std::string_view data) { return absl::BytesToHexString(util::Sha256(data)); };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string million_a(1000000, 'a');
  EXPECT_EQ(hex(million_a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  std::vector<std::string> seen(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) seen[t] = hex(i % 2 == 0 ? "abc" : "");
      seen[t] = hex("abc");
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& s : seen) EXPECT_EQ(s, hex("abc"));
}

TEST(ProtoTimeTest, RoundTripsIncludingBeforeEpoch) {
  for (absl::Time t : {absl::FromUnixNanos(1700000000123456789), absl::FromUnixNanos(-1500)}) {
    EXPECT_EQ(util::FromProto(util::ToProto(t)), t);
  }
}

TEST(IdempotencyTest, RecordsAndFindsResponsesByMethodAndRequestId) {
  testing::TempDir dir;
  storage::StoreOptions o;
  o.path = dir.path();
  o.column_families = {util::kRequestsColumnFamily};
  auto store = std::move(*storage::Store::Open(o));
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(util::RecordRequest(*store, batch, "Create", "r1", "resp").ok());
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(**util::LookupRequest(*store, "Create", "r1"), "resp");
  EXPECT_FALSE(util::LookupRequest(*store, "Update", "r1")->has_value());
  EXPECT_FALSE(util::LookupRequest(*store, "Create", "")->has_value());
}

TEST(FlagsTest, EnvironmentOverridesFlagsAndReportsBadValues) {
  setenv("TRIAD_GRPC_PORT", "7777", 1);
  setenv("TRIAD_TOPIC_PARTITIONS", "not-a-number", 1);
  std::vector<std::string> errors = config::ApplyEnvironment();
  unsetenv("TRIAD_GRPC_PORT");
  unsetenv("TRIAD_TOPIC_PARTITIONS");
  EXPECT_EQ(absl::GetFlag(FLAGS_grpc_port), 7777);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("TRIAD_TOPIC_PARTITIONS"), std::string::npos);
  EXPECT_EQ(config::EnvName("grpc_port"), "TRIAD_GRPC_PORT");
}

TEST(FlagsTest, KafkaSecuritySettingsPassThroughWithSecretsFromFiles) {
  testing::TempDir dir;
  const std::string secret = dir.path() + "/sasl-password";
  {
    std::FILE* f = std::fopen(secret.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("s3cret\n", f);
    std::fclose(f);
  }
  const std::string ca = dir.path() + "/ca.pem";
  {
    std::FILE* f = std::fopen(ca.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", f);
    std::fclose(f);
  }
  absl::SetFlag(&FLAGS_kafka_security_protocol, "sasl_ssl");
  absl::SetFlag(&FLAGS_kafka_sasl_mechanism, "SCRAM-SHA-512");
  absl::SetFlag(&FLAGS_kafka_sasl_username, "triad-clients");
  absl::SetFlag(&FLAGS_kafka_sasl_password_file, secret);
  absl::SetFlag(&FLAGS_kafka_ssl_ca_file, ca);
  absl::StatusOr<events::KafkaConfig> config = events::KafkaConfigFromFlags();
  absl::SetFlag(&FLAGS_kafka_security_protocol, "");
  absl::SetFlag(&FLAGS_kafka_sasl_mechanism, "");
  absl::SetFlag(&FLAGS_kafka_sasl_username, "");
  absl::SetFlag(&FLAGS_kafka_sasl_password_file, "");
  absl::SetFlag(&FLAGS_kafka_ssl_ca_file, "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->properties.at("security.protocol"), "sasl_ssl");
  EXPECT_EQ(config->properties.at("sasl.mechanism"), "SCRAM-SHA-512");
  EXPECT_EQ(config->properties.at("sasl.username"), "triad-clients");
  EXPECT_EQ(config->properties.at("sasl.password"), "s3cret");  // trailing newline dropped
  EXPECT_EQ(config->properties.at("ssl.ca.location"), ca);
  EXPECT_EQ(config->properties.at("ssl.endpoint.identification.algorithm"), "https");
  // Every producer and consumer is built from this config: the settings reach librdkafka.
  EXPECT_TRUE(events::MakeConf(*config, {}).ok());

  absl::SetFlag(&FLAGS_kafka_sasl_password_file, dir.path() + "/missing");
  absl::StatusOr<events::KafkaConfig> missing = events::KafkaConfigFromFlags();
  absl::SetFlag(&FLAGS_kafka_sasl_password_file, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("kafka_sasl_password_file"), std::string::npos);
  EXPECT_EQ(missing.status().message().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace triad
