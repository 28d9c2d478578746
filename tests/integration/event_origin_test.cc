// Integration test of the event-origin check on the real broker: forged events (the right
// payload with another service's ce_source, or the producer's type written to another topic)
// change nothing and land in the DLQ with a reason naming the mismatch, while a genuine event
// after them is applied. The origins are the contracts' (ContractOrigin) with the topics moved
// to names of this test, so no other test's consumers on the shared broker see these events.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/events/origin.h"
#include "tests/integration/event_test_util.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/pipeline/v1/events.pb.h"

namespace triad::events {
namespace {

using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;
namespace cp = contracts::pipeline;
namespace cc = contracts::clients;

// WonEvent is an OpportunityWon of `opportunity_id` as `source` sends it.
Event WonEvent(const std::string& opportunity_id, const std::string& source, std::string id = "") {
  pipeline::v1::OpportunityWon won;
  won.set_opportunity_id(opportunity_id);
  won.set_client_id("cl-1");
  return Event{.id = id.empty() ? NewEventId() : id,
               .type = std::string(cp::OpportunityWon::kType),
               .source = source,
               .dataschema = DataSchemaOf(won.GetTypeName()),
               .time = absl::Now(),
               .key = "opp-1",
               .payload = won.SerializeAsString()};
}

// Reasons returns the dead-letter reason of each message of `dlq` by ce_id.
std::map<std::string, std::string> Reasons(const std::string& dlq, size_t want) {
  std::map<std::string, std::string> out;
  for (auto& m : testutil::ReadAll(dlq, want, absl::Seconds(30))) {
    out[m.headers[kHeaderId]] = m.headers[kHeaderDlqReason];
  }
  return out;
}

TEST(EventOriginIntegrationTest, ForgedEventsAreDeadLetteredWithTheReasonAndTheGenuineApplied) {
  // Stand-ins for triad.pipeline.opportunity and triad.clients.client.
  const std::string opportunities = "triad.test." + UniqueName("opportunity");
  const std::string clients = "triad.test." + UniqueName("client");
  ASSERT_TRUE(EnsureTopics(TestKafkaConfig(),
                           {opportunities, DlqTopic(opportunities), clients, DlqTopic(clients)}, 2)
                  .ok());
  TempDir dir;
  auto store = testutil::OpenEventStore(dir.path());
  ConsumerOptions co{.group_id = UniqueName("g-"),
                     .topics = {opportunities, clients},
                     .retry_backoff = absl::Milliseconds(10),
                     .require_contracts = true};
  IdempotentConsumer consumer(store.get(), nullptr, TestKafkaConfig(), co);
  absl::StatusOr<EventOrigin> won_origin = ContractOrigin(cp::OpportunityWon::kType);
  absl::StatusOr<EventOrigin> merged_origin = ContractOrigin(cc::ClientsMerged::kType);
  ASSERT_TRUE(won_origin.ok() && merged_origin.ok());
  won_origin->topic = opportunities;
  merged_origin->topic = clients;
  // The ledger counts applications per opportunity (a double application shows as 2).
  consumer.OnMessage<pipeline::v1::OpportunityWon>(
      std::string(cp::OpportunityWon::kType),
      [&](const Event&, const pipeline::v1::OpportunityWon& m, Transaction& txn) {
        int applied = 0;
        absl::StatusOr<std::string> prev = store->Get("ledger", m.opportunity_id());
        if (prev.ok()) applied = std::stoi(*prev);
        txn.batch().Put(store->Cf("ledger"), m.opportunity_id(), std::to_string(applied + 1));
        return absl::OkStatus();
      },
      *won_origin);
  consumer.OnMessage<clients::v1::ClientsMerged>(
      std::string(cc::ClientsMerged::kType),
      [](const Event&, const clients::v1::ClientsMerged&, Transaction&) {
        return absl::OkStatus();
      },
      *merged_origin);
  ASSERT_TRUE(consumer.Start().ok());

  testutil::RawProducer raw;
  const std::string genuine_id = NewEventId();
  // Another service claims to have won a deal.
  const Event forged = WonEvent("opp-forged", "triad/clients");
  // A stranger reuses the id the genuine event will have: it must not shadow it.
  const Event forged_same_id = WonEvent("opp-forged-2", "triad/x", genuine_id);
  // The producer's own source, but written to another service's topic.
  const Event misrouted = WonEvent("opp-misrouted", "triad/pipeline");
  const Event genuine = WonEvent("opp-genuine", "triad/pipeline", genuine_id);
  ASSERT_TRUE(raw.Send(opportunities, forged.key, forged.payload, &forged));
  ASSERT_TRUE(raw.Send(opportunities, forged_same_id.key, forged_same_id.payload, &forged_same_id));
  ASSERT_TRUE(raw.Send(clients, misrouted.key, misrouted.payload, &misrouted));
  ASSERT_TRUE(raw.Send(opportunities, genuine.key, genuine.payload, &genuine));

  ASSERT_TRUE(PollUntil(
      [&] { return consumer.Stats().applied == 1 && consumer.Stats().dead_lettered == 3; },
      absl::Seconds(60)))
      << "applied " << consumer.Stats().applied << ", dead-lettered "
      << consumer.Stats().dead_lettered;
  EXPECT_EQ(consumer.Stats().rejected_origin, 3);
  EXPECT_EQ(consumer.Stats().retried, 0);
  EXPECT_EQ(store->Get("ledger", "opp-genuine").value_or(""), "1");
  for (const char* never : {"opp-forged", "opp-forged-2", "opp-misrouted"}) {
    EXPECT_FALSE(store->Get("ledger", never).ok()) << never << " was applied";
  }
  EXPECT_EQ(testutil::CountKeys(*store, "ledger"), 1);

  std::map<std::string, std::string> dead = Reasons(DlqTopic(opportunities), 2);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_TRUE(absl::StrContains(
      dead[forged.id],
      "ce_source triad/clients is not the producer of triad.pipeline.v1.OpportunityWon"))
      << dead[forged.id];
  EXPECT_TRUE(absl::StrContains(
      dead[genuine_id],
      "ce_source triad/x is not the producer of triad.pipeline.v1.OpportunityWon"))
      << dead[genuine_id];
  dead = Reasons(DlqTopic(clients), 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_TRUE(absl::StrContains(
      dead[misrouted.id], "topic " + clients + " does not carry triad.pipeline.v1.OpportunityWon"))
      << dead[misrouted.id];

  // The consumer goes on: a later genuine event is applied too.
  const Event later = WonEvent("opp-later", "triad/pipeline");
  ASSERT_TRUE(raw.Send(opportunities, later.key, later.payload, &later));
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 2; }, absl::Seconds(60)));
  EXPECT_EQ(store->Get("ledger", "opp-later").value_or(""), "1");
  consumer.Stop();
}

}  // namespace
}  // namespace triad::events
