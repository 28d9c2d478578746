// Integration test of the review loop across two services on the real Kafka broker: a deal
// reaching its concept stage in pipeline emits review_requested; the review service (consuming
// it) creates one request and assigns it; the expert's approval is published as
// ReviewVerdictRecorded and pipeline's review gate opens. Both domains run in this process,
// each on its own runtime, store and consumer group, as their binaries would.
#include <memory>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "common/contracts/clients.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/server/runtime.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/playbook.h"
#include "services/review/review.h"
#include "tests/testing/test_env.h"

namespace triad::review {
namespace {

namespace pv1 = ::triad::pipeline::v1;

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

// Runtime creates a started ServiceRuntime for `service` with a unique consumer group.
std::unique_ptr<server::ServiceRuntime> Runtime(const std::string& service,
                                                std::vector<std::string> cfs,
                                                std::vector<std::string> topics,
                                                const std::string& dir, const std::string& group) {
  server::RuntimeOptions o;
  o.service = service;
  o.column_families = std::move(cfs);
  o.topics = std::move(topics);
  o.data_dir = dir;
  o.kafka = testing::TestKafkaConfig();
  o.server.service_name = service;
  o.server.admin_port = -1;
  o.consumer_group = group;
  auto rt = server::ServiceRuntime::Create(o);
  EXPECT_TRUE(rt.ok()) << rt.status();
  return rt.ok() ? std::move(*rt) : nullptr;
}

TEST(ReviewPipelineIntegrationTest, ApprovedReviewOpensThePipelineGate) {
  testing::TempDir dir;
  const std::string review_group = testing::UniqueName("review-loop-");
  const std::string pipeline_group = testing::UniqueName("pipeline-loop-");
  auto review_rt =
      Runtime("review", ColumnFamilies(), Reviews::Topics(), dir.Sub("review"), review_group);
  auto pipeline_rt = Runtime("pipeline", pipeline::ColumnFamilies(), pipeline::Pipeline::Topics(),
                             dir.Sub("pipeline"), pipeline_group);
  ASSERT_NE(review_rt, nullptr);
  ASSERT_NE(pipeline_rt, nullptr);

  ReviewOptions ro;
  ro.consumer_group = review_group;
  // The consumer starts at the earliest offsets: review requests of earlier runs on this broker
  // reach the fresh store too. Small per-review hours keep them from filling the expert.
  ro.event_review_hours = 0.1;
  auto reviews = Reviews::Create(&review_rt->store(), &review_rt->outbox(), ro);
  ASSERT_TRUE(reviews.ok()) << reviews.status();
  events::ConsumerOptions rc;
  rc.group_id = review_group;
  rc.topics = Reviews::ConsumedTopics();
  rc.apply_mutex = &(*reviews)->mutex();
  (*reviews)->RegisterHandlers(review_rt->AddConsumer(rc));

  pipeline::PipelineOptions po;
  po.consumer_group = pipeline_group;
  auto p = pipeline::Pipeline::Create(&pipeline_rt->store(), &pipeline_rt->outbox(), po);
  ASSERT_TRUE(p.ok()) << p.status();
  events::ConsumerOptions pc;
  pc.group_id = pipeline_group;
  pc.topics = pipeline::Pipeline::ConsumedTopics();
  pc.apply_mutex = &(*p)->mutex();
  (*p)->RegisterHandlers(pipeline_rt->AddConsumer(pc));

  // Stop both runtimes (their consumers call into the domains) before the domains go.
  absl::Cleanup stop = [&] {
    pipeline_rt->Shutdown();
    review_rt->Shutdown();
  };
  ASSERT_TRUE(review_rt->Start().ok());
  ASSERT_TRUE(pipeline_rt->Start().ok());
  ASSERT_TRUE(testing::PollUntil([&] { return review_rt->Connected() && pipeline_rt->Connected(); },
                                 absl::Seconds(90)))
      << review_rt->Failed() << " " << pipeline_rt->Failed();

  // The architecture expert (the domain of the concept stage's review gate).
  v1::CreateExpertRequest ce;
  const std::string expert = testing::UniqueName("x-");
  ce.mutable_expert()->set_expert_id(expert);
  ce.mutable_expert()->set_display_name("Zhao");
  ce.mutable_expert()->set_weekly_capacity_hours(168);
  v1::DomainSkill* d = ce.mutable_expert()->add_domains();
  d->set_domain("architecture");
  d->set_level(v1::PROFICIENCY_PRINCIPAL);
  ce.mutable_actor()->set_id("u:head");
  ASSERT_TRUE((*reviews)->CreateExpert(ce).ok());

  // A client pipeline knows, and a deal taken to its concept stage.
  const std::string client = testing::UniqueName("cl-");
  clients::v1::ClientRegistered reg;
  reg.mutable_client()->set_client_id(client);
  reg.mutable_client()->set_owner_id("u:wang");
  reg.mutable_client()->set_status(clients::v1::CLIENT_STATUS_VERIFIED);
  reg.mutable_client()->set_version(1);
  events::Event ev;
  ev.id = events::NewEventId();
  ev.type = std::string(contracts::clients::ClientRegistered::kType);
  ev.source = "triad/clients";
  ev.time = absl::Now();
  ev.topic = std::string(contracts::clients::ClientRegistered::kTopic);
  ev.key = client;
  ev.payload = reg.SerializeAsString();
  Produce(ev);
  pv1::CreateOpportunityRequest co;
  co.set_request_id(testing::UniqueName("req-"));
  co.set_client_id(client);
  co.set_owner_id("u:wang");
  co.set_title("Museum extension");
  co.mutable_value()->set_amount_minor(2'000'000);
  co.mutable_value()->set_currency("CNY");
  *co.mutable_expected_close_time() = util::ToProto(absl::Now() + absl::Hours(24 * 60));
  co.set_product_line(pipeline::kArchitecturalDesign);
  absl::StatusOr<pv1::Opportunity> opp = absl::UnknownError("not tried");
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        opp = (*p)->CreateOpportunity(co);
        return opp.ok();
      },
      absl::Seconds(60), absl::Milliseconds(100)))
      << opp.status();
  auto get = [&] {
    pv1::GetOpportunityRequest g;
    g.set_opportunity_id(opp->id());
    return *(*p)->GetOpportunity(g);
  };
  auto tick = [&](const std::string& c) {
    pv1::CompleteChecklistItemRequest r;
    r.set_opportunity_id(opp->id());
    r.set_checkpoint_id(c);
    ASSERT_TRUE((*p)->CompleteChecklistItem(r).ok());
  };
  auto advance = [&](const std::string& stage) {
    pv1::AdvanceStageRequest r;
    r.set_opportunity_id(opp->id());
    r.set_target_stage(stage);
    return (*p)->AdvanceStage(r);
  };
  tick("qualification.decision_maker");
  ASSERT_TRUE(advance("needs_analysis").ok());
  pv1::UpdateOpportunityRequest up;
  up.mutable_opportunity()->set_id(opp->id());
  (*up.mutable_opportunity()->mutable_fields())["site_area_m2"] = "8000";
  up.mutable_update_mask()->add_paths("fields");
  up.set_etag(get().etag());
  ASSERT_TRUE((*p)->UpdateOpportunity(up).ok());
  tick("needs.site_visit");
  tick("needs.brief_confirmed");
  ASSERT_TRUE(advance("concept").ok());

  // The review service takes the request pipeline emitted and assigns it.
  v1::ListReviewRequestsRequest list;
  list.set_expert_id(expert);
  v1::ReviewRequest review;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto page = (*reviews)->ListReviewRequests(list);
        if (!page.ok()) return false;
        for (const v1::ReviewRequest& r : page->reviews()) {
          if (r.opportunity_id() == opp->id()) review = r;
        }
        return !review.review_id().empty();
      },
      absl::Seconds(60)));
  EXPECT_EQ(review.state(), v1::REVIEW_STATE_ASSIGNED);
  EXPECT_EQ(review.domain(), "architecture");
  EXPECT_EQ(review.client_id(), client);

  v1::AcceptReviewRequest accept;
  accept.set_review_id(review.review_id());
  accept.mutable_actor()->set_id(expert);
  ASSERT_TRUE((*reviews)->AcceptReview(accept).ok());
  v1::RecordVerdictRequest verdict;
  verdict.set_review_id(review.review_id());
  verdict.set_verdict(v1::VERDICT_APPROVED);
  verdict.set_judgement("The concept holds; the atrium needs a fire study.");
  verdict.set_solution_summary("Timber-concrete hybrid");
  verdict.set_estimated_effort_hours(96);
  verdict.mutable_actor()->set_id(expert);
  ASSERT_TRUE((*reviews)->RecordVerdict(verdict).ok());

  // Pipeline's gate opens on the published verdict.
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        const pv1::Opportunity current = get();
        const pv1::CheckpointState* s =
            pipeline::FindCheckpointState(current, "concept.expert_review");
        return s != nullptr && s->gate_status() == pv1::GATE_STATUS_OPEN;
      },
      absl::Seconds(60)));
  pv1::Opportunity after = get();
  const pv1::CheckpointState* s = pipeline::FindCheckpointState(after, "concept.expert_review");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->review_id(), review.review_id());
  EXPECT_EQ(s->expert_id(), expert);
  EXPECT_DOUBLE_EQ(after.expert_effort_hours(), 96);
}

}  // namespace
}  // namespace triad::review
