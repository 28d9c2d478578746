// Tests of the event origins (common/events/origin.h): every contract's origin is its topic and
// its producer's ce_source, a forged source or a misrouted topic is poison whose reason names
// the mismatch, and a consumer that requires contracts refuses an uncontracted handler.
#include <string>

#include "absl/strings/match.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/registry.h"
#include "common/events/consumer.h"
#include "common/events/origin.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::events {
namespace {

namespace cp = contracts::pipeline;
namespace cc = contracts::clients;

TEST(EventOriginTest, EveryContractedTypeComesFromItsTopicAndProducer) {
  ASSERT_FALSE(contracts::AllEvents().empty());
  for (const contracts::EventContract& e : contracts::AllEvents()) {
    SCOPED_TRACE(e.type);
    absl::StatusOr<EventOrigin> origin = ContractOrigin(e.type);
    ASSERT_TRUE(origin.ok()) << origin.status();
    EXPECT_EQ(origin->topic, e.topic);
    EXPECT_EQ(origin->source, "triad/" + std::string(contracts::ServiceName(e.producer)));
    EXPECT_EQ(origin->what, e.message);
    EXPECT_TRUE(CheckOrigin(*origin, e.type, e.topic, origin->source).ok());
  }
}

TEST(EventOriginTest, AnUnknownTypeHasNoContractOrigin) {
  absl::StatusOr<EventOrigin> origin = ContractOrigin("triad.pipeline.opportunity.stolen.v1");
  EXPECT_EQ(origin.status().code(), absl::StatusCode::kNotFound);
}

TEST(EventOriginTest, AForgedSourceIsPoisonNamingTheProducer) {
  absl::StatusOr<EventOrigin> origin = ContractOrigin(cp::OpportunityWon::kType);
  ASSERT_TRUE(origin.ok());
  absl::Status s =
      CheckOrigin(*origin, cp::OpportunityWon::kType, cp::OpportunityWon::kTopic, "triad/x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsPermanentError(s));
  EXPECT_TRUE(absl::StartsWith(
      s.message(), "ce_source triad/x is not the producer of triad.pipeline.v1.OpportunityWon"))
      << s.message();
  // Another Triad service is no more the producer than a stranger.
  s = CheckOrigin(*origin, cp::OpportunityWon::kType, cp::OpportunityWon::kTopic, "triad/clients");
  EXPECT_TRUE(IsPermanentError(s));
  EXPECT_TRUE(absl::StrContains(s.message(), "comes from triad/pipeline")) << s.message();
  EXPECT_TRUE(CheckOrigin(*origin, "t", cp::OpportunityWon::kTopic, "").code() ==
              absl::StatusCode::kInvalidArgument);
}

TEST(EventOriginTest, ATypeOnAnotherServicesTopicIsPoisonNamingTheTopic) {
  absl::StatusOr<EventOrigin> origin = ContractOrigin(cc::ClientsMerged::kType);
  ASSERT_TRUE(origin.ok());
  // The right producer's source, written to pipeline's topic.
  absl::Status s = CheckOrigin(*origin, cc::ClientsMerged::kType, cp::OpportunityWon::kTopic,
                               contracts::SourceOf(contracts::Service::kClients));
  EXPECT_TRUE(IsPermanentError(s));
  EXPECT_TRUE(absl::StrContains(s.message(), "topic triad.pipeline.opportunity does not carry"))
      << s.message();
  EXPECT_TRUE(absl::StrContains(s.message(), std::string(cc::ClientsMerged::kTopic)))
      << s.message();
  // A DLQ topic is not the topic either.
  s = CheckOrigin(*origin, cc::ClientsMerged::kType, DlqTopic(cc::ClientsMerged::kTopic),
                  contracts::SourceOf(contracts::Service::kClients));
  EXPECT_TRUE(IsPermanentError(s));
}

TEST(EventOriginTest, ResolveOriginPrefersTheGivenOneThenTheContract) {
  EventOrigin given{.topic = "triad.test.t", .source = "triad/test", .what = "Ticked"};
  auto r = ResolveOrigin("g", cp::OpportunityWon::kType, given, true);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->topic, "triad.test.t");
  r = ResolveOrigin("g", cp::OpportunityWon::kType, std::nullopt, true);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->source, "triad/pipeline");
  r = ResolveOrigin("g", "triad.test.tick.ticked.v1", std::nullopt, false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = ResolveOrigin("g", "triad.test.tick.ticked.v1", std::nullopt, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "triad.test.tick.ticked.v1"));
}

TEST(EventOriginTest, AConsumerRequiringContractsRefusesAnUncontractedHandlerAtStart) {
  triad::testing::TempDir dir;
  storage::StoreOptions so;
  so.path = dir.path();
  so.column_families = {IdempotentConsumer::kInboxColumnFamily};
  auto store = storage::Store::Open(so);
  ASSERT_TRUE(store.ok()) << store.status();
  KafkaConfig kafka;
  kafka.bootstrap_servers = "127.0.0.1:1";  // never reached: Start fails before connecting
  IdempotentConsumer consumer(
      store->get(), nullptr, kafka,
      {.group_id = "g", .topics = {"triad.test.t"}, .require_contracts = true});
  consumer.On("triad.test.tick.ticked.v1",
              [](const Event&, Transaction&) { return absl::OkStatus(); });
  absl::Status s = consumer.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

}  // namespace
}  // namespace triad::events
