// Integration tests on the real Kafka broker: a won opportunity (published twice with one ce_id)
// becomes one scheduled project, its unmeetable due date is announced at scheduling time with a
// ProjectAtRisk event on triad.production.project, and a consumed sign-off releases the phase
// after a key milestone.
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/registry.h"
#include "common/contracts/review.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/server/runtime.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "services/production/grpc_service.h"
#include "services/production/production.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

namespace c = contracts::production;

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

events::Event MakeEvent(std::string_view topic, const std::string& key, std::string_view type,
                        const google::protobuf::MessageLite& msg) {
  events::Event e;
  e.id = events::NewEventId();
  e.type = std::string(type);
  // The producer's ce_source: the consumer applies an event only from its contract's producer.
  const contracts::EventContract* contract = contracts::FindEvent(e.type);
  e.source = contract != nullptr ? contracts::SourceOf(contract->producer) : "triad/unknown";
  e.time = absl::Now();
  e.topic = std::string(topic);
  e.key = key;
  e.payload = msg.SerializeAsString();
  return e;
}

class ProductionIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::RuntimeOptions o;
    o.service = "production";
    o.column_families = ColumnFamilies();
    o.topics = Production::Topics();
    o.data_dir = dir_.Sub("db");
    o.kafka = testing::TestKafkaConfig();
    o.server.service_name = "production";
    o.server.admin_port = -1;
    o.topic_partitions = 3;
    const std::string group = testing::UniqueName("production-it-");
    o.consumer_group = group;
    auto rt = server::ServiceRuntime::Create(o);
    ASSERT_TRUE(rt.ok()) << rt.status();
    rt_ = std::move(*rt);
    ProductionOptions po;
    po.consumer_group = group;
    auto p = Production::Create(&rt_->store(), &rt_->outbox(), po);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
    events::ConsumerOptions co;
    co.group_id = group;
    co.topics = Production::ConsumedTopics();
    co.apply_mutex = &p_->mutex();
    consumer_ = &rt_->AddConsumer(co);
    p_->RegisterHandlers(*consumer_);
    service_ = std::make_unique<ProductionGrpcService>(p_.get());
    rt_->host().AddService(service_.get(), kServiceFullName);
    ASSERT_TRUE(rt_->Start().ok());
    ASSERT_TRUE(testing::PollUntil([&] { return rt_->Connected(); }, absl::Seconds(60)))
        << rt_->Failed();
  }

  void TearDown() override {
    if (rt_ != nullptr) rt_->Shutdown();
  }

  void AddResource(const std::string& id, const std::string& skill) {
    v1::CreateResourceRequest req;
    req.mutable_resource()->set_resource_id(id);
    req.mutable_resource()->set_display_name(id);
    req.mutable_resource()->add_skills(skill);
    req.mutable_resource()->set_weekly_capacity_hours(40);
    req.mutable_actor()->set_id("u:it");
    ASSERT_TRUE(p_->CreateResource(req).ok());
  }

  // ProjectsOf lists the projects of an opportunity (every page: the consumer may also have
  // applied won events other tests published).
  std::vector<v1::Project> ProjectsOf(const std::string& opp) {
    std::vector<v1::Project> out;
    v1::ListProjectsRequest req;
    req.set_page_size(1000);
    do {
      auto list = p_->ListProjects(req);
      if (!list.ok()) return out;
      for (const v1::Project& p : list->projects()) {
        if (p.opportunity_id() == opp) out.push_back(p);
      }
      req.set_page_token(list->next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<server::ServiceRuntime> rt_;
  std::unique_ptr<Production> p_;
  std::unique_ptr<ProductionGrpcService> service_;
  events::IdempotentConsumer* consumer_ = nullptr;
};

TEST_F(ProductionIntegrationTest, WonEventBecomesOneProjectAtRiskAndSignOffReleasesNextPhase) {
  AddResource("arch-1", "architectural-design");
  AddResource("draft-1", "drafting");
  const std::string opp = testing::UniqueName("opp-");
  pipeline::v1::OpportunityWon won;
  won.set_opportunity_id(opp);
  won.set_client_id("client-it");
  won.set_product_line(kArchitecturalDesign);
  won.set_title("Integration tower");
  // 800 h on one architect and one drafter cannot be done in three weeks.
  *won.mutable_due_time() = util::ToProto(absl::Now() + absl::Hours(24 * 21));
  won.set_estimated_effort_hours(800);
  events::Event ev = MakeEvent(contracts::pipeline::OpportunityWon::kTopic, opp,
                               contracts::pipeline::OpportunityWon::kType, won);
  Produce(ev);
  Produce(ev);  // a redelivery: same ce_id
  // A marker behind them on the same partition (same key): once its project exists, both
  // copies have been applied.
  pipeline::v1::OpportunityWon marker = won;
  marker.set_opportunity_id(opp + "-marker");
  Produce(MakeEvent(contracts::pipeline::OpportunityWon::kTopic, opp,
                    contracts::pipeline::OpportunityWon::kType, marker));
  ASSERT_TRUE(testing::PollUntil([&] { return ProjectsOf(opp + "-marker").size() == 1; },
                                 absl::Seconds(60)))
      << "the won events were never applied";
  EXPECT_GE(consumer_->Stats().duplicates, 1);
  std::vector<v1::Project> projects = ProjectsOf(opp);
  ASSERT_EQ(projects.size(), 1u);
  const v1::Project project = projects[0];
  EXPECT_TRUE(project.scheduled());
  EXPECT_TRUE(project.at_risk());
  EXPECT_FALSE(project.phases(0).planned_start_date().empty());

  // ProjectScheduled and ProjectAtRisk arrive on triad.production.project.
  auto conf = events::MakeConf(testing::TestKafkaConfig(),
                               {{"group.id", testing::UniqueName("production-it-reader-")},
                                {"auto.offset.reset", "earliest"},
                                {"enable.auto.commit", "false"}});
  ASSERT_TRUE(conf.ok());
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf->get(), err));
  ASSERT_NE(reader, nullptr) << err;
  ASSERT_EQ(reader->subscribe({std::string(c::ProjectTopic::kName)}), RdKafka::ERR_NO_ERROR);
  std::optional<v1::ProjectAtRisk> risk;
  bool scheduled = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!(risk && scheduled) && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(reader->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    absl::StatusOr<events::Event> e = events::FromMessage(*m);
    if (!e.ok() || e->key != project.project_id()) continue;
    if (e->type == c::ProjectScheduled::kType) scheduled = true;
    if (e->type == c::ProjectAtRisk::kType) {
      risk.emplace();
      ASSERT_TRUE(risk->ParseFromString(e->payload));
      EXPECT_EQ(e->source, "triad/production");
    }
  }
  reader->close();
  ASSERT_TRUE(scheduled) << "project.scheduled never arrived";
  ASSERT_TRUE(risk.has_value()) << "project.at_risk never arrived";
  EXPECT_GT(risk->planned_end_time().seconds(), risk->due_time().seconds());
  EXPECT_FALSE(risk->bottleneck_resource().empty());

  // The first phase (a key milestone) is done; the second waits for the sign-off event.
  v1::ReportPhaseProgressRequest progress;
  progress.set_project_id(project.project_id());
  progress.set_phase_id("ph1");
  progress.set_progress_percent(100);
  progress.mutable_actor()->set_id("u:it");
  ASSERT_TRUE(p_->ReportPhaseProgress(progress).ok());
  progress.set_phase_id("ph2");
  progress.set_progress_percent(10);
  EXPECT_EQ(p_->ReportPhaseProgress(progress).status().code(),
            absl::StatusCode::kFailedPrecondition);
  review::v1::SignOffCompleted done;
  done.set_project_id(project.project_id());
  done.set_phase_id("ph1");
  done.set_expert_id("x:zhao");
  done.set_verdict(review::v1::VERDICT_APPROVED);
  Produce(MakeEvent(contracts::review::SignOffCompleted::kTopic, project.project_id(),
                    contracts::review::SignOffCompleted::kType, done));
  ASSERT_TRUE(testing::PollUntil([&] { return p_->ReportPhaseProgress(progress).ok(); },
                                 absl::Seconds(60), absl::Milliseconds(100)))
      << "the sign-off never released the next phase";
  v1::GetProjectRequest get;
  get.set_project_id(project.project_id());
  EXPECT_EQ(p_->GetProject(get)->phases(1).state(), v1::PHASE_STATE_STARTED);
}

}  // namespace
}  // namespace triad::production
