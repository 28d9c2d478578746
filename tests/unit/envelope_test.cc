// Tests of the CloudEvents envelope headers and topic naming.
#include "common/events/envelope.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::events {
namespace {

std::map<std::string, std::string> AsMap(RdKafka::Headers* h) {
  std::map<std::string, std::string> out;
  for (const auto& hdr : h->get_all()) {
    out[hdr.key()] = std::string(static_cast<const char*>(hdr.value()), hdr.value_size());
  }
  return out;
}

TEST(EnvelopeTest, HeadersFollowTheCloudEventsKafkaBinding) {
  Event e;
  e.id = "id-1";
  e.type = "triad.clients.client.registered.v1";
  e.source = "triad/clients";
  e.subject = "cli_1";
  e.time = absl::FromUnixMicros(1700000000123456);
  std::unique_ptr<RdKafka::Headers> h(ToHeaders(e));
  auto m = AsMap(h.get());
  EXPECT_EQ(m["ce_specversion"], "1.0");
  EXPECT_EQ(m["ce_id"], "id-1");
  EXPECT_EQ(m["ce_type"], "triad.clients.client.registered.v1");
  EXPECT_EQ(m["ce_source"], "triad/clients");
  EXPECT_EQ(m["ce_subject"], "cli_1");
  EXPECT_EQ(m["ce_time"], "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(m["content-type"], "application/x-protobuf");
}

TEST(EnvelopeTest, TimeRoundTrips) {
  absl::Time t = absl::FromUnixMicros(1700000000123456);
  auto parsed = ParseEventTime(FormatEventTime(t));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, t);
  EXPECT_FALSE(ParseEventTime("yesterday").ok());
}

TEST(EnvelopeTest, TopicNamingAndValidation) {
  EXPECT_EQ(TopicName("pipeline", "opportunity"), "triad.pipeline.opportunity");
  EXPECT_EQ(EventType("pipeline", "opportunity", "won"), "triad.pipeline.opportunity.won.v1");
  EXPECT_EQ(EventType("pipeline", "opportunity", "won", 2), "triad.pipeline.opportunity.won.v2");
  EXPECT_EQ(DlqTopic("triad.clients.client"), "triad.clients.client.dlq");
  EXPECT_TRUE(ValidateTopicName("triad.clients.client").ok());
  EXPECT_FALSE(ValidateTopicName("clients.client").ok());
  EXPECT_FALSE(ValidateTopicName("triad.Clients.client").ok());
  EXPECT_FALSE(ValidateTopicName("triad..client").ok());
}

TEST(EnvelopeTest, DataSchemaHeaderRoundTripsTheMessageName) {
  Event e;
  e.id = "id-2";
  e.type = "triad.clients.client.registered.v1";
  e.source = "triad/clients";
  e.dataschema = DataSchemaOf("triad.clients.v1.ClientRegistered");
  std::unique_ptr<RdKafka::Headers> h(ToHeaders(e));
  EXPECT_EQ(AsMap(h.get())["ce_dataschema"], "proto:triad.clients.v1.ClientRegistered");
}

}  // namespace
}  // namespace triad::events
