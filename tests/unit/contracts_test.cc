// Tests of the event contracts (common/contracts): every declaration follows the naming rules of
// common/events/envelope.h, names a payload of its producer's package, and is listed once.
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/registry.h"
#include "common/contracts/review.h"
#include "common/events/envelope.h"
#include "gtest/gtest.h"

namespace triad::contracts {
namespace {

const TopicContract* FindTopic(std::string_view name) {
  for (const TopicContract& t : AllTopics()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(ContractsTest, TopicsFollowTheNamingRuleAndAreUnique) {
  std::set<std::string_view> seen;
  ASSERT_FALSE(AllTopics().empty());
  for (const TopicContract& t : AllTopics()) {
    SCOPED_TRACE(t.name);
    EXPECT_TRUE(seen.insert(t.name).second) << "declared twice";
    EXPECT_EQ(t.name, events::TopicName(ServiceName(t.producer), t.aggregate));
    EXPECT_TRUE(events::ValidateTopicName(t.name).ok());
    EXPECT_FALSE(t.key.empty());
  }
}

TEST(ContractsTest, EventsFollowTheNamingRuleAndAreUnique) {
  std::set<std::string_view> seen;
  for (const EventContract& e : AllEvents()) {
    SCOPED_TRACE(e.type);
    EXPECT_TRUE(seen.insert(e.type).second) << "declared twice";
    const TopicContract* topic = FindTopic(e.topic);
    ASSERT_NE(topic, nullptr) << "topic " << e.topic << " is not in AllTopics";
    EXPECT_EQ(e.producer, topic->producer);
    EXPECT_EQ(e.type,
              events::EventType(ServiceName(e.producer), topic->aggregate, e.event, e.version));
    EXPECT_FALSE(e.summary.empty());
  }
}

TEST(ContractsTest, PayloadsAreMessagesOfTheProducersPackage) {
  for (const EventContract& e : AllEvents()) {
    SCOPED_TRACE(e.type);
    EXPECT_TRUE(
        absl::StartsWith(e.message, "triad." + std::string(ServiceName(e.producer)) + ".v1."))
        << e.message;
    EXPECT_EQ(DataSchema(e), "proto:" + e.message);
  }
}

TEST(ContractsTest, NoServiceConsumesItsOwnEvents) {
  for (const EventContract& e : AllEvents()) {
    for (Service s : e.consumers) EXPECT_NE(s, e.producer) << e.type;
  }
}

TEST(ContractsTest, EveryTopicCarriesEventsAndTopicReadersAreTheEventConsumers) {
  for (const TopicContract& t : AllTopics()) {
    SCOPED_TRACE(t.name);
    ServiceSet readers;
    int events = 0;
    for (const EventContract& e : AllEvents()) {
      if (e.topic != t.name) continue;
      ++events;
      for (Service s : e.consumers) readers = readers | s;
    }
    EXPECT_GT(events, 0);
    ServiceSet listed;
    for (Service s : t.consumers) listed = listed | s;
    EXPECT_EQ(listed, readers);
  }
}

TEST(ContractsTest, DeclarationsMatchTheRegistry) {
  // A few declarations used the way services use them.
  const EventContract* won = FindEvent(pipeline::OpportunityWon::kType);
  ASSERT_NE(won, nullptr);
  EXPECT_EQ(won->type, "triad.pipeline.opportunity.won.v1");
  EXPECT_EQ(won->topic, "triad.pipeline.opportunity");
  EXPECT_EQ(won->message, "triad.pipeline.v1.OpportunityWon");
  EXPECT_EQ(DataSchema(*won), "proto:triad.pipeline.v1.OpportunityWon");
  EXPECT_EQ(won->consumers, (std::vector<Service>{Service::kClients, Service::kProduction}));
  EXPECT_EQ(pipeline::OpportunityWon::kTopic, pipeline::OpportunityTopic::kName);

  static_assert(
      std::is_same_v<clients::CaseResolved::Message, ::triad::clients::v1::CaseStatusChanged>);
  EXPECT_EQ(clients::ClientTopic::kName, "triad.clients.client");
  EXPECT_EQ(review::ReviewVerdictRecorded::kType, "triad.review.request.verdict_recorded.v1");
  EXPECT_EQ(production::FeasibilityAnswered::kType, "triad.production.feasibility.answered.v1");
  EXPECT_EQ(FindEvent("triad.clients.client.deleted.v9"), nullptr);
}

TEST(ContractsTest, ConsumedByListsWhatEachServiceHandles) {
  std::set<std::string_view> pipeline_reads;
  for (const EventContract* e : ConsumedBy(Service::kPipeline)) pipeline_reads.insert(e->type);
  EXPECT_EQ(pipeline_reads, (std::set<std::string_view>{
                                clients::ClientRegistered::kType,
                                clients::ClientUpdated::kType,
                                clients::ClientVerified::kType,
                                clients::ClientArchived::kType,
                                clients::ClientRestored::kType,
                                clients::ClientOwnerChanged::kType,
                                clients::ClientsMerged::kType,
                                review::ReviewVerdictRecorded::kType,
                                production::FeasibilityAnswered::kType,
                                clients::PersonOffboarded::kType,
                                clients::ClientPersonalDataErased::kType,
                            }));
  std::set<std::string_view> clients_reads;
  for (const EventContract* e : ConsumedBy(Service::kClients)) clients_reads.insert(e->type);
  EXPECT_EQ(clients_reads, (std::set<std::string_view>{
                               pipeline::OpportunityWon::kType,
                               pipeline::OpportunityLost::kType,
                               production::ProjectCompleted::kType,
                               pipeline::PersonOffboardingProgressed::kType,
                               review::PersonOffboardingProgressed::kType,
                               production::PersonOffboardingProgressed::kType,
                           }));
}

}  // namespace
}  // namespace triad::contracts
