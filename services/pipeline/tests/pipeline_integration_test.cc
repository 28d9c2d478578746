// Integration tests on the real Kafka broker: consumed client, review and production events
// drive the pipeline (a verdict opens its gate, once; a merged client id is remapped; a client
// owner change moves open deals), and emitted events carry the CloudEvents headers.
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/contracts/registry.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/server/runtime.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "services/pipeline/grpc_service.h"
#include "services/pipeline/pipeline.h"
#include "tests/testing/test_env.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;

// Produce publishes one event (with its CloudEvents headers) and waits for the broker's ack.
void Produce(const events::Event& e) {
  auto conf = events::MakeConf(testing::TestKafkaConfig(), {{"acks", "all"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), err));
  ASSERT_NE(producer, nullptr) << err;
  RdKafka::Headers* headers = events::ToHeaders(e);
  RdKafka::ErrorCode code =
      producer->produce(e.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                        const_cast<char*>(e.payload.data()), e.payload.size(), e.key.data(),
                        e.key.size(), 0, headers, nullptr);
  if (code != RdKafka::ERR_NO_ERROR) delete headers;
  ASSERT_EQ(code, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(code);
  ASSERT_EQ(producer->flush(15000), RdKafka::ERR_NO_ERROR);
}

events::Event MakeEvent(const std::string& topic, const std::string& key, const std::string& type,
                        const google::protobuf::MessageLite& msg) {
  events::Event e;
  e.id = events::NewEventId();
  e.type = type;
  // The producer's ce_source: the consumer applies an event only from its contract's producer.
  const contracts::EventContract* contract = contracts::FindEvent(e.type);
  e.source = contract != nullptr ? contracts::SourceOf(contract->producer) : "triad/unknown";
  e.time = absl::Now();
  e.topic = topic;
  e.key = key;
  e.payload = msg.SerializeAsString();
  return e;
}

clients::v1::ClientSummary Summary(const std::string& id, const std::string& owner,
                                   int64_t version) {
  clients::v1::ClientSummary c;
  c.set_client_id(id);
  c.set_owner_id(owner);
  c.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
  c.set_region("north");
  c.set_tier(clients::v1::CLIENT_TIER_STRATEGIC);
  c.set_version(version);
  return c;
}

class PipelineIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    server::RuntimeOptions o;
    o.service = "pipeline";
    o.column_families = ColumnFamilies();
    o.topics = Pipeline::Topics();
    o.data_dir = dir_->Sub("db");
    o.kafka = testing::TestKafkaConfig();
    o.server.service_name = "pipeline";
    o.server.admin_port = -1;
    o.topic_partitions = 6;
    const std::string group = testing::UniqueName("pipeline-it-");
    o.consumer_group = group;
    auto rt = server::ServiceRuntime::Create(o);
    ASSERT_TRUE(rt.ok()) << rt.status();
    rt_ = rt->release();
    PipelineOptions po;
    po.consumer_group = group;
    auto p = Pipeline::Create(&rt_->store(), &rt_->outbox(), po);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = p->release();
    events::ConsumerOptions co;
    co.group_id = po.consumer_group;
    co.topics = Pipeline::ConsumedTopics();
    co.apply_mutex = &p_->mutex();
    consumer_ = &rt_->AddConsumer(co);
    p_->RegisterHandlers(*consumer_);
    service_ = new PipelineGrpcService(p_);
    rt_->host().AddService(service_, kServiceFullName);
    absl::Status s = rt_->Start();
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(testing::PollUntil([] { return rt_->Connected(); }, absl::Seconds(60)))
        << rt_->Failed();
  }

  static void TearDownTestSuite() {
    if (rt_ != nullptr) rt_->Shutdown();
    delete service_;
    delete p_;
    delete rt_;
    delete dir_;
  }

  void SetUp() override { ASSERT_NE(p_, nullptr); }

  // RegisterClient publishes ClientRegistered and waits until the replica has it.
  void RegisterClient(const std::string& id, const std::string& owner) {
    clients::v1::ClientRegistered m;
    *m.mutable_client() = Summary(id, owner, 1);
    Produce(MakeEvent(kClientTopic, id, "triad.clients.client.registered.v1", m));
  }

  // CreateOpp polls until the client is known (its event consumed), then creates a deal.
  v1::Opportunity CreateOpp(const std::string& client, const std::string& owner) {
    v1::CreateOpportunityRequest req;
    req.set_request_id(testing::UniqueName("req-"));
    req.set_client_id(client);
    req.set_owner_id(owner);
    req.set_title("Integration deal");
    req.mutable_value()->set_amount_minor(2'000'000);
    req.mutable_value()->set_currency("CNY");
    *req.mutable_expected_close_time() = util::ToProto(absl::Now() + absl::Hours(24 * 60));
    req.set_product_line(kArchitecturalDesign);
    absl::StatusOr<v1::Opportunity> opp = absl::UnknownError("not tried");
    bool ok = testing::PollUntil(
        [&] {
          opp = p_->CreateOpportunity(req);
          return opp.ok();
        },
        absl::Seconds(60), absl::Milliseconds(100));
    EXPECT_TRUE(ok) << opp.status();
    return opp.ok() ? *opp : v1::Opportunity();
  }

  v1::Opportunity Get(const std::string& id) {
    v1::GetOpportunityRequest r;
    r.set_opportunity_id(id);
    auto opp = p_->GetOpportunity(r);
    EXPECT_TRUE(opp.ok()) << opp.status();
    return opp.ok() ? *opp : v1::Opportunity();
  }

  static testing::TempDir* dir_;
  static server::ServiceRuntime* rt_;
  static Pipeline* p_;
  static events::IdempotentConsumer* consumer_;
  static PipelineGrpcService* service_;
};

testing::TempDir* PipelineIntegrationTest::dir_ = nullptr;
server::ServiceRuntime* PipelineIntegrationTest::rt_ = nullptr;
Pipeline* PipelineIntegrationTest::p_ = nullptr;
events::IdempotentConsumer* PipelineIntegrationTest::consumer_ = nullptr;
PipelineGrpcService* PipelineIntegrationTest::service_ = nullptr;

TEST_F(PipelineIntegrationTest, VerdictOpensGateOnceAndReviewRequestArrivesAsCloudEvent) {
  const std::string client = testing::UniqueName("cl-");
  RegisterClient(client, "u:wang");
  v1::Opportunity opp = CreateOpp(client, "u:wang");
  ASSERT_FALSE(opp.id().empty());
  auto tick = [&](const std::string& c) {
    v1::CompleteChecklistItemRequest r;
    r.set_opportunity_id(opp.id());
    r.set_checkpoint_id(c);
    ASSERT_TRUE(p_->CompleteChecklistItem(r).ok());
  };
  auto advance = [&](const std::string& stage) {
    v1::AdvanceStageRequest r;
    r.set_opportunity_id(opp.id());
    r.set_target_stage(stage);
    return p_->AdvanceStage(r);
  };
  tick("qualification.decision_maker");
  ASSERT_TRUE(advance("needs_analysis").ok());
  v1::UpdateOpportunityRequest up;
  up.mutable_opportunity()->set_id(opp.id());
  (*up.mutable_opportunity()->mutable_fields())["site_area_m2"] = "8000";
  up.mutable_update_mask()->add_paths("fields");
  up.set_etag(Get(opp.id()).etag());
  ASSERT_TRUE(p_->UpdateOpportunity(up).ok());
  tick("needs.site_visit");
  tick("needs.brief_confirmed");
  ASSERT_TRUE(advance("concept").ok());

  // The emitted review request arrives on triad.pipeline.opportunity with its headers.
  auto conf = events::MakeConf(testing::TestKafkaConfig(),
                               {{"group.id", testing::UniqueName("pipeline-it-reader-")},
                                {"auto.offset.reset", "earliest"},
                                {"enable.auto.commit", "false"}});
  ASSERT_TRUE(conf.ok());
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf->get(), err));
  ASSERT_NE(reader, nullptr) << err;
  ASSERT_EQ(reader->subscribe({kOpportunityTopic}), RdKafka::ERR_NO_ERROR);
  std::optional<events::Event> request;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!request && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(reader->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    absl::StatusOr<events::Event> e = events::FromMessage(*m);
    if (e.ok() && e->key == opp.id() &&
        e->type == "triad.pipeline.opportunity.review_requested.v1") {
      request = *e;
    }
  }
  reader->close();
  ASSERT_TRUE(request.has_value()) << "review_requested never arrived";
  EXPECT_FALSE(request->id.empty());
  EXPECT_EQ(request->source, "triad/pipeline");
  EXPECT_EQ(request->content_type, "application/x-protobuf");
  v1::ReviewRequested rr;
  ASSERT_TRUE(rr.ParseFromString(request->payload));
  EXPECT_EQ(rr.gate_id(), "concept.expert_review");
  EXPECT_EQ(rr.domain(), "architecture");
  EXPECT_EQ(rr.client_id(), client);

  // The verdict, published twice with the same ce_id (a redelivery), is applied once.
  review::v1::ReviewVerdictRecorded verdict;
  verdict.set_review_id(testing::UniqueName("rev-"));
  verdict.set_opportunity_id(opp.id());
  verdict.set_gate_id(rr.gate_id());
  verdict.set_domain(rr.domain());
  verdict.set_expert_id("x:zhao");
  verdict.set_verdict(review::v1::VERDICT_APPROVED);
  verdict.set_estimated_effort_hours(96);
  events::Event ev = MakeEvent(kReviewTopic, verdict.review_id(),
                               "triad.review.request.verdict_recorded.v1", verdict);
  const int64_t duplicates_before = consumer_->Stats().duplicates;
  Produce(ev);
  Produce(ev);
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        const v1::Opportunity current = Get(opp.id());
        const v1::CheckpointState* s = FindCheckpointState(current, "concept.expert_review");
        return s != nullptr && s->gate_status() == v1::GATE_STATUS_OPEN;
      },
      absl::Seconds(60)));
  ASSERT_TRUE(testing::PollUntil([&] { return consumer_->Stats().duplicates > duplicates_before; },
                                 absl::Seconds(60)));
  v1::Opportunity after = Get(opp.id());
  int verdicts = 0;
  for (const auto& h : after.history()) verdicts += h.kind() == "review_verdict" ? 1 : 0;
  EXPECT_EQ(verdicts, 1);
  EXPECT_DOUBLE_EQ(after.expert_effort_hours(), 96);
  // The review gate is no longer among the open checkpoints; feasibility still is.
  auto r = advance("proposal");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("concept.feasibility"));
  EXPECT_THAT(r.status().message(), ::testing::Not(HasSubstr("concept.expert_review")));

  // A feasible production answer opens the last gate.
  production::v1::FeasibilityAnswered answer;
  answer.set_opportunity_id(opp.id());
  answer.set_gate_id("concept.feasibility");
  answer.set_feasible(true);
  answer.set_bottleneck_resource("team:structural");
  Produce(
      MakeEvent(kFeasibilityTopic, opp.id(), "triad.production.feasibility.answered.v1", answer));
  ASSERT_TRUE(testing::PollUntil([&] { return advance("proposal").ok(); }, absl::Seconds(60)));
}

TEST_F(PipelineIntegrationTest, MergedClientIdIsRemappedAndOwnerChangeMovesDeals) {
  const std::string old_id = testing::UniqueName("cl-old-");
  const std::string survivor = testing::UniqueName("cl-surv-");
  RegisterClient(old_id, "u:wang");
  RegisterClient(survivor, "u:wang");
  v1::Opportunity opp = CreateOpp(old_id, "u:wang");
  ASSERT_FALSE(opp.id().empty());
  clients::v1::ClientsMerged merged;
  *merged.mutable_survivor() = Summary(survivor, "u:wang", 2);
  merged.set_merged_client_id(old_id);
  Produce(MakeEvent(kClientTopic, survivor, "triad.clients.client.merged.v1", merged));
  ASSERT_TRUE(
      testing::PollUntil([&] { return Get(opp.id()).client_id() == survivor; }, absl::Seconds(60)));

  clients::v1::ClientOwnerChanged changed;
  *changed.mutable_client() = Summary(survivor, "u:chen", 3);
  changed.set_previous_owner_id("u:wang");
  changed.set_new_owner_id("u:chen");
  Produce(MakeEvent(kClientTopic, survivor, "triad.clients.client.owner_changed.v1", changed));
  ASSERT_TRUE(
      testing::PollUntil([&] { return Get(opp.id()).owner_id() == "u:chen"; }, absl::Seconds(60)));
  v1::Opportunity after = Get(opp.id());
  ASSERT_GT(after.history_size(), 0);
  EXPECT_THAT(after.history(after.history_size() - 1).detail(), HasSubstr("owner changed"));
}

}  // namespace
}  // namespace triad::pipeline
