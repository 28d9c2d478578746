// Integration test on the real Kafka broker: pipeline's review-requested event (published twice
// with the same ce_id, as a redelivery) creates one review request, the policy assigns it, and
// the verdict recorded by RPC is published on triad.review.request with its CloudEvents headers
// as the ReviewVerdictRecorded pipeline consumes.
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/review.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/server/runtime.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "services/review/grpc_service.h"
#include "services/review/review.h"
#include "tests/testing/test_env.h"

namespace triad::review {
namespace {

namespace cp = contracts::pipeline;
namespace rc = contracts::review;

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

class ReviewIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    server::RuntimeOptions o;
    o.service = "review";
    o.column_families = ColumnFamilies();
    o.topics = Reviews::Topics();
    o.data_dir = dir_->Sub("db");
    o.kafka = testing::TestKafkaConfig();
    o.server.service_name = "review";
    o.server.admin_port = -1;
    const std::string group = testing::UniqueName("review-it-");
    o.consumer_group = group;
    auto rt = server::ServiceRuntime::Create(o);
    ASSERT_TRUE(rt.ok()) << rt.status();
    rt_ = rt->release();
    ReviewOptions ro;
    ro.consumer_group = group;
    auto r = Reviews::Create(&rt_->store(), &rt_->outbox(), ro);
    ASSERT_TRUE(r.ok()) << r.status();
    r_ = r->release();
    events::ConsumerOptions co;
    co.group_id = group;
    co.topics = Reviews::ConsumedTopics();
    co.apply_mutex = &r_->mutex();
    consumer_ = &rt_->AddConsumer(co);
    r_->RegisterHandlers(*consumer_);
    service_ = new ReviewGrpcService(r_);
    rt_->host().AddService(service_, kServiceFullName);
    absl::Status s = rt_->Start();
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(testing::PollUntil([] { return rt_->Connected(); }, absl::Seconds(60)))
        << rt_->Failed();
  }

  static void TearDownTestSuite() {
    if (rt_ != nullptr) rt_->Shutdown();
    delete service_;
    delete r_;
    delete rt_;
    delete dir_;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline server::ServiceRuntime* rt_ = nullptr;
  static inline Reviews* r_ = nullptr;
  static inline events::IdempotentConsumer* consumer_ = nullptr;
  static inline ReviewGrpcService* service_ = nullptr;
};

TEST_F(ReviewIntegrationTest, ReviewRequestedToAssignmentToPublishedVerdict) {
  ASSERT_NE(r_, nullptr);
  // A domain of this run only: review requests left on the topic by earlier runs never match it.
  const std::string domain = testing::UniqueName("structural-");
  const std::string opp = testing::UniqueName("opp-");
  v1::CreateExpertRequest ce;
  ce.mutable_expert()->set_expert_id(testing::UniqueName("x-"));
  ce.mutable_expert()->set_display_name("Zhao");
  ce.mutable_expert()->set_weekly_capacity_hours(20);
  v1::DomainSkill* d = ce.mutable_expert()->add_domains();
  d->set_domain(domain);
  d->set_level(v1::PROFICIENCY_PRINCIPAL);
  ce.mutable_actor()->set_id("u:head");
  auto expert = r_->CreateExpert(ce);
  ASSERT_TRUE(expert.ok()) << expert.status();

  pipeline::v1::ReviewRequested rr;
  rr.set_opportunity_id(opp);
  rr.set_client_id("client-it");
  rr.set_domain(domain);
  rr.set_gate_id("concept.expert_review");
  rr.set_stage("concept");
  *rr.mutable_due_time() = util::ToProto(absl::Now() + absl::Hours(72));
  events::Event e;
  e.id = events::NewEventId();
  e.type = std::string(cp::ReviewRequested::kType);
  e.source = "triad/pipeline";
  e.time = absl::Now();
  e.topic = std::string(cp::ReviewRequested::kTopic);
  e.key = opp;
  e.payload = rr.SerializeAsString();
  const int64_t duplicates_before = consumer_->Stats().duplicates;
  Produce(e);
  Produce(e);  // the same ce_id again: a redelivery

  v1::ListReviewRequestsRequest list;
  list.set_domain(domain);
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto page = r_->ListReviewRequests(list);
        return page.ok() && page->reviews_size() == 1 &&
               consumer_->Stats().duplicates > duplicates_before;
      },
      absl::Seconds(60)));
  v1::ReviewRequest review = r_->ListReviewRequests(list)->reviews(0);
  EXPECT_EQ(review.state(), v1::REVIEW_STATE_ASSIGNED);
  EXPECT_EQ(review.expert_id(), expert->expert_id());
  EXPECT_EQ(review.cause_event_id(), e.id);

  v1::AcceptReviewRequest accept;
  accept.set_review_id(review.review_id());
  accept.mutable_actor()->set_id(expert->expert_id());
  ASSERT_TRUE(r_->AcceptReview(accept).ok());
  v1::RecordVerdictRequest verdict;
  verdict.set_review_id(review.review_id());
  verdict.set_verdict(v1::VERDICT_APPROVED);
  verdict.set_judgement("Feasible with a braced core.");
  verdict.set_solution_summary("Braced steel core");
  verdict.set_estimated_effort_hours(96);
  verdict.add_risks("steel price");
  verdict.mutable_actor()->set_id(expert->expert_id());
  ASSERT_TRUE(r_->RecordVerdict(verdict).ok());

  auto conf = events::MakeConf(testing::TestKafkaConfig(),
                               {{"group.id", testing::UniqueName("review-it-reader-")},
                                {"auto.offset.reset", "earliest"},
                                {"enable.auto.commit", "false"}});
  ASSERT_TRUE(conf.ok());
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf->get(), err));
  ASSERT_NE(reader, nullptr) << err;
  ASSERT_EQ(reader->subscribe({std::string(rc::RequestTopic::kName)}), RdKafka::ERR_NO_ERROR);
  std::optional<events::Event> published;
  int created = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!published && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(reader->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    absl::StatusOr<events::Event> ev = events::FromMessage(*m);
    if (!ev.ok() || ev->key != review.review_id()) continue;
    if (ev->type == rc::ReviewRequestCreated::kType) ++created;
    if (ev->type == rc::ReviewVerdictRecorded::kType) published = *ev;
  }
  reader->close();
  ASSERT_TRUE(published.has_value()) << "verdict never published";
  EXPECT_EQ(created, 1);
  EXPECT_EQ(published->source, "triad/review");
  v1::ReviewVerdictRecorded got;
  ASSERT_TRUE(got.ParseFromString(published->payload));
  EXPECT_EQ(got.opportunity_id(), opp);
  EXPECT_EQ(got.gate_id(), "concept.expert_review");
  EXPECT_EQ(got.verdict(), v1::VERDICT_APPROVED);
  EXPECT_EQ(got.expert_id(), expert->expert_id());
  EXPECT_DOUBLE_EQ(got.estimated_effort_hours(), 96);
}

}  // namespace
}  // namespace triad::review
