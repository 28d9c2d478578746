// gRPC in-process tests of the review adapter: the status codes and messages of the domain
// reach the client unchanged (INVALID_ARGUMENT naming the field, NOT_FOUND, ABORTED,
// FAILED_PRECONDITION), and a request flows through create, assign, accept and verdict.
#include <memory>

#include "gmock/gmock.h"
#include "services/review/grpc_service.h"
#include "services/review/tests/test_support.h"
#include "tests/testing/bad_ids.h"
#include "tests/testing/grpc_harness.h"

namespace triad::review {
namespace {

using ::testing::HasSubstr;
using ::triad::testing::CallRpc;
using Stub = v1::ReviewService::Stub;

class ReviewGrpcTest : public ReviewsTest {
 protected:
  void SetUp() override {
    ReviewsTest::SetUp();
    service_ = std::make_unique<ReviewGrpcService>(r_.get());
    harness_ = std::make_unique<::triad::testing::GrpcHarness>(service_.get(), kServiceFullName);
    ASSERT_TRUE(harness_->Start().ok());
    stub_ = v1::ReviewService::NewStub(harness_->channel());
  }
  void TearDown() override { harness_->Shutdown(); }

  std::unique_ptr<ReviewGrpcService> service_;
  std::unique_ptr<::triad::testing::GrpcHarness> harness_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(ReviewGrpcTest, WorkflowOverTheWire) {
  v1::CreateExpertRequest ce;
  ce.mutable_expert()->set_expert_id("x-li");
  ce.mutable_expert()->set_display_name("Li");
  ce.mutable_expert()->set_weekly_capacity_hours(20);
  v1::DomainSkill* d = ce.mutable_expert()->add_domains();
  d->set_domain("structural");
  d->set_level(v1::PROFICIENCY_SENIOR);
  ce.mutable_actor()->set_id("u:head");
  v1::Expert expert;
  ASSERT_TRUE(CallRpc(*stub_, &Stub::CreateExpert, ce, &expert).ok());
  EXPECT_EQ(expert.etag(), "1");

  v1::ReviewRequest review;
  grpc::Status s = CallRpc(*stub_, &Stub::CreateReviewRequest, NewRequest(6), &review);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(review.expert_id(), "x-li");

  v1::AcceptReviewRequest accept;
  accept.set_review_id(review.review_id());
  accept.set_etag("999");
  accept.mutable_actor()->set_id("x-li");
  v1::ReviewRequest out;
  EXPECT_EQ(CallRpc(*stub_, &Stub::AcceptReview, accept, &out).error_code(),
            grpc::StatusCode::ABORTED);
  accept.set_etag(review.etag());
  ASSERT_TRUE(CallRpc(*stub_, &Stub::AcceptReview, accept, &out).ok());
  EXPECT_EQ(out.state(), v1::REVIEW_STATE_ACCEPTED);
  // Accepting twice is a state error, not a crash.
  accept.clear_etag();
  s = CallRpc(*stub_, &Stub::AcceptReview, accept, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::RecordVerdictRequest verdict;
  verdict.set_review_id(review.review_id());
  verdict.set_verdict(v1::VERDICT_REJECTED);
  verdict.set_judgement("The span cannot be met within budget.");
  verdict.set_estimated_effort_hours(-3);
  verdict.mutable_actor()->set_id("x-li");
  s = CallRpc(*stub_, &Stub::RecordVerdict, verdict, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("estimated_effort_hours"));
  verdict.set_estimated_effort_hours(0);
  ASSERT_TRUE(CallRpc(*stub_, &Stub::RecordVerdict, verdict, &out).ok());
  EXPECT_EQ(out.state(), v1::REVIEW_STATE_DECIDED);

  v1::GetLoadViewRequest lv;
  v1::GetLoadViewResponse view;
  ASSERT_TRUE(CallRpc(*stub_, &Stub::GetLoadView, lv, &view).ok());
  ASSERT_EQ(view.experts_size(), 1);
  EXPECT_DOUBLE_EQ(view.experts(0).load_hours(), 0);
  lv.set_weeks(99);
  EXPECT_EQ(CallRpc(*stub_, &Stub::GetLoadView, lv, &view).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReviewGrpcTest, ErrorsNameTheFieldOrTheMissingResource) {
  v1::GetReviewRequestRequest get;
  v1::ReviewRequest out;
  grpc::Status s = CallRpc(*stub_, &Stub::GetReviewRequest, get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("review_id"));
  get.set_review_id("rev_missing");
  EXPECT_EQ(CallRpc(*stub_, &Stub::GetReviewRequest, get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListExpertsRequest list;
  list.set_page_token("garbage");
  v1::ListExpertsResponse experts;
  s = CallRpc(*stub_, &Stub::ListExperts, list, &experts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));
}

// Every id field of every RPC's request is checked first: a control character in any of them
// is INVALID_ARGUMENT naming the field, never NOT_FOUND (the domain never looks it up).
TEST_F(ReviewGrpcTest, EveryIdFieldOfEveryRpcRefusesControlCharacters) {
  int called = 0;
  std::vector<std::string> findings = ::triad::testing::BadIdFindings(
      *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(kServiceFullName),
      harness_->channel(), &called);
  EXPECT_GE(called, 10);
  EXPECT_TRUE(findings.empty()) << ::testing::PrintToString(findings);
}

}  // namespace
}  // namespace triad::review
