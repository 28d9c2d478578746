// Unit tests of the librdkafka properties the consumers and the outbox relay start from: the
// event batching settings reach librdkafka under their own names, in milliseconds and bytes,
// and librdkafka accepts every property (no Kafka needed: only the configuration is built).
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/events/kafka.h"
#include "common/events/outbox.h"
#include "gtest/gtest.h"

namespace triad::events {
namespace {

void ExpectLibrdkafkaAccepts(const std::map<std::string, std::string>& properties) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeConf(KafkaConfig{}, properties, {});
  EXPECT_TRUE(conf.ok()) << conf.status();
}

TEST(KafkaDefaultsTest, ConsumerAnswersEveryEventAtOnceByDefault) {
  std::map<std::string, std::string> p = ConsumerKafkaDefaults(ConsumerOptions{});
  EXPECT_EQ(p["fetch.wait.max.ms"], "500");
  EXPECT_EQ(p["fetch.min.bytes"], "1");
  EXPECT_EQ(p.count("group.instance.id"), 0u);
  ExpectLibrdkafkaAccepts(p);
}

TEST(KafkaDefaultsTest, ConsumerBatchingAndOverrides) {
  ConsumerOptions o;
  o.fetch_wait = absl::Milliseconds(10);
  o.fetch_min_bytes = 64 << 10;
  o.group_instance_id = "clients-0";
  std::map<std::string, std::string> p = ConsumerKafkaDefaults(o);
  EXPECT_EQ(p["fetch.wait.max.ms"], "10");
  EXPECT_EQ(p["fetch.min.bytes"], "65536");
  EXPECT_EQ(p["group.instance.id"], "clients-0");
  ExpectLibrdkafkaAccepts(p);
  // Explicit properties win over the options.
  o.properties["fetch.min.bytes"] = "4096";
  EXPECT_EQ(ConsumerKafkaDefaults(o)["fetch.min.bytes"], "4096");
}

TEST(KafkaDefaultsTest, RelayLingerFollowsTheOption) {
  OutboxOptions o;
  std::map<std::string, std::string> p = RelayProducerDefaults(o);
  EXPECT_EQ(p["linger.ms"], "5");
  EXPECT_EQ(p["message.timeout.ms"], "0");  // retried inside librdkafka, never dropped
  ExpectLibrdkafkaAccepts(p);
  o.linger = absl::Milliseconds(2);
  EXPECT_EQ(RelayProducerDefaults(o)["linger.ms"], "2");
  o.linger = absl::ZeroDuration();
  p = RelayProducerDefaults(o);
  EXPECT_EQ(p["linger.ms"], "0");
  ExpectLibrdkafkaAccepts(p);
}

}  // namespace
}  // namespace triad::events
