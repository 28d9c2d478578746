// Kafka over SASL_SSL on a real broker: the test runs a private broker (scripts/kafka-local.sh
// with TRIAD_KAFKA_SECURE=1, its own free ports and state) whose SASL_SSL listener has a dev CA
// and SASL users. The outbox relay and the idempotent consumer make a round trip over it with
// the settings ApplyKafkaSecurity builds, and wrong credentials or an untrusted broker
// certificate fail with an error saying so.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/kafka_security.h"
#include "tests/integration/event_test_util.h"

namespace triad::events {
namespace {

using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::UniqueName;
using triad::testing::v1::Ticked;

// FreePort returns a TCP port on 127.0.0.1 nobody listens on now (the kernel's pick).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// SecureBroker is a private broker with a SASL_SSL listener, stopped at the end.
class SecureBroker {
 public:
  explicit SecureBroker(std::string dir)
      : dir_(std::move(dir)), port_(FreePort()), controller_(FreePort()), secure_(FreePort()) {}
  ~SecureBroker() { Run("stop"); }
  bool Run(const std::string& verb) {
    const std::string cmd = absl::StrCat(
        "env -u KAFKA_BOOTSTRAP_SERVERS TRIAD_KAFKA_SECURE=1 TRIAD_KAFKA_SECURE_USERS='triad "
        "other'",
        " TRIAD_KAFKA_PORT=", port_, " TRIAD_KAFKA_CONTROLLER_PORT=", controller_,
        " TRIAD_KAFKA_SECURE_PORT=", secure_, " TRIAD_KAFKA_DIR=", dir_, " ", TRIAD_SOURCE_DIR,
        "/scripts/kafka-local.sh ", verb, " >&2");
    return std::system(cmd.c_str()) == 0;
  }
  std::string SecureBootstrap() const { return absl::StrCat("127.0.0.1:", secure_); }
  std::string Tls(const std::string& file) const { return dir_ + "/tls/" + file; }

 private:
  std::string dir_;
  int port_, controller_, secure_;
};

KafkaConfig SecureConfig(const SecureBroker& broker, KafkaSecurity security) {
  KafkaConfig config{.bootstrap_servers = broker.SecureBootstrap()};
  absl::Status s = ApplyKafkaSecurity(security, config);
  EXPECT_TRUE(s.ok()) << s;
  return config;
}

TEST(KafkaSecureTest, RoundTripOverSaslSslAndWrongCredentialsFailClearly) {
  TempDir dir;
  SecureBroker broker(dir.Sub("kafka"));
  ASSERT_TRUE(broker.Run("start"));
  const KafkaSecurity good{.protocol = "sasl_ssl",
                           .sasl_mechanism = "PLAIN",
                           .sasl_username = "triad",
                           .sasl_password_file = broker.Tls("triad.password"),
                           .ssl_ca_file = broker.Tls("ca.pem")};
  const KafkaConfig kafka = SecureConfig(broker, good);
  const std::string topic = "triad.test." + UniqueName("secure");
  ASSERT_TRUE(EnsureTopics(kafka, {topic, DlqTopic(topic)}, 2).ok());

  // Producer (the outbox relay) and consumer, both over SASL_SSL.
  auto producer_store = testutil::OpenEventStore(dir.Sub("producer"));
  auto consumer_store = testutil::OpenEventStore(dir.Sub("consumer"));
  auto outbox = Outbox::Create(producer_store.get(), {.source = "triad/test", .kafka = kafka});
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  ASSERT_TRUE((*outbox)->Start().ok());
  IdempotentConsumer consumer(consumer_store.get(), nullptr, kafka,
                              {.group_id = UniqueName("g-"), .topics = {topic}});
  consumer.OnMessage<Ticked>(testutil::kTickType, testutil::LedgerHandler(consumer_store.get()),
                             EventOrigin{.topic = topic, .source = "triad/test", .what = "Ticked"});
  ASSERT_TRUE(consumer.Start().ok());
  constexpr int kEvents = 20;
  for (int i = 1; i <= kEvents; ++i) {
    Transaction txn;
    Ticked t;
    t.set_key("k" + std::to_string(i % 3));
    t.set_seq(i);
    txn.Emit(topic, t.key(), testutil::kTickType, t);
    ASSERT_TRUE((*outbox)->Commit(txn).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == kEvents; }, absl::Seconds(60)))
      << "applied " << consumer.Stats().applied;
  auto counts = testutil::LedgerCounts(*consumer_store);
  ASSERT_EQ(counts.size(), static_cast<size_t>(kEvents));
  for (const auto& [seq, n] : counts) EXPECT_EQ(n, 1) << seq;
  consumer.Stop();
  (*outbox)->Stop();

  // Another user's password: refused, and the error says it was the authentication.
  KafkaSecurity wrong = good;
  wrong.sasl_password_file = broker.Tls("other.password");
  absl::StatusOr<int> refused = PartitionCount(SecureConfig(broker, wrong), topic);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "Authentication failed"))
      << refused.status();
  // No password shows in the error, neither the one sent nor the right one.
  for (const char* user : {"triad", "other"}) {
    std::ifstream in(broker.Tls(std::string(user) + ".password"));
    std::string secret;
    std::getline(in, secret);
    ASSERT_FALSE(secret.empty());
    EXPECT_FALSE(absl::StrContains(refused.status().message(), secret)) << user;
  }
  // The right user with the right password succeeds, so the refusal was about the password.
  absl::StatusOr<int> accepted = PartitionCount(kafka, topic);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(*accepted, 2);

  // A broker whose certificate is not signed by a trusted CA: the system's CAs do not know the
  // dev CA, so the TLS handshake fails before any credential is sent.
  KafkaSecurity untrusted = good;
  untrusted.ssl_ca_file.clear();
  absl::StatusOr<int> unverified = PartitionCount(SecureConfig(broker, untrusted), topic);
  ASSERT_FALSE(unverified.ok());
  EXPECT_TRUE(absl::StrContains(unverified.status().message(), "certificate"))
      << unverified.status();

  // Plaintext to the SASL_SSL port does not get through either.
  absl::StatusOr<int> plain =
      PartitionCount(KafkaConfig{.bootstrap_servers = broker.SecureBootstrap()}, topic);
  EXPECT_FALSE(plain.ok());
}

}  // namespace
}  // namespace triad::events
