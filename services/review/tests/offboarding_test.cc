// Tests of offboarding.cc: an offboarded expert is deactivated, their open work re-assigned by
// the load policy (queued rather than overloading anyone), once, and they can never be given
// work again.
#include "common/contracts/clients.h"
#include "common/contracts/review.h"
#include "gmock/gmock.h"
#include "services/review/tests/test_support.h"

namespace triad::review {
namespace {

using ::testing::HasSubstr;

class OffboardingTest : public ReviewsTest {
 protected:
  events::Event Offboarded(const std::string& person) {
    clients::v1::PersonOffboarded m;
    m.set_offboarding_id("ob-1");
    m.set_person_id(person);
    m.set_successor_id("u:li");
    m.mutable_actor()->set_id("u:boss");
    m.mutable_actor()->set_reason(std::string(3000, 'r'));  // longer than review's reasons
    return MakeEvent<contracts::clients::PersonOffboarded>(m);
  }
};

TEST_F(OffboardingTest, OpenWorkIsReassignedByThePolicyOrQueuedAndTheExpertIsInactive) {
  AddExpert("wang", 10);
  v1::ReviewRequest r1 = Create(4);
  v1::ReviewRequest r2 = Create(4);
  ASSERT_EQ(Get(r1.review_id()).expert_id(), "wang");
  ASSERT_EQ(Get(r2.review_id()).expert_id(), "wang");
  AddExpert("a", 4);  // room for one of the two

  events::Event e = Offboarded("wang");
  ASSERT_TRUE(r_->HandleEvent(e).ok());
  EXPECT_FALSE(GetExpert("wang").active());
  int to_a = 0;
  int queued = 0;
  for (const std::string& id : {r1.review_id(), r2.review_id()}) {
    v1::ReviewRequest r = Get(id);
    EXPECT_NE(r.expert_id(), "wang");
    if (r.expert_id() == "a") ++to_a;
    if (r.state() == v1::REVIEW_STATE_QUEUED) ++queued;
  }
  EXPECT_EQ(to_a, 1);
  EXPECT_EQ(queued, 1);
  CheckInvariants();  // nobody beyond capacity
  auto reports = Emitted<v1::PersonOffboardingProgressed>(
      contracts::review::PersonOffboardingProgressed::kType);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].done());
  EXPECT_EQ(reports[0].offboarding_id(), "ob-1");
  EXPECT_EQ(reports[0].moved().at("reviews"), 1);
  EXPECT_EQ(reports[0].moved().at("queued"), 1);
  EXPECT_EQ(reports[0].remaining(), 0);
  EXPECT_EQ(r_->ListInactiveHoldings({})->holdings_size(), 0);

  // Redelivered: applied once.
  ASSERT_TRUE(r_->HandleEvent(e).ok());
  EXPECT_EQ(Emitted<v1::PersonOffboardingProgressed>(
                contracts::review::PersonOffboardingProgressed::kType)
                .size(),
            1u);

  // Never an expert again.
  v1::SetExpertActiveRequest act;
  act.set_expert_id("wang");
  act.set_active(true);
  *act.mutable_actor() = Actor("u:head", "back");
  absl::Status s = r_->SetExpertActive(act).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("expert_id"));
  v1::AssignReviewRequest as;
  as.set_review_id(r1.review_id());
  as.set_expert_id("wang");
  *as.mutable_actor() = Actor("u:head", "override");
  s = r_->AssignReview(as).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("expert_id"));
  v1::CreateExpertRequest ce;
  ce.mutable_expert()->set_expert_id("wang");
  ce.mutable_expert()->set_display_name("Wang again");
  ce.mutable_expert()->set_weekly_capacity_hours(10);
  *ce.mutable_actor() = Actor("u:head");
  s = r_->CreateExpert(ce).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("expert.expert_id"));
}

TEST_F(OffboardingTest, APersonWhoIsNoExpertIsMarkedInactiveAndReportsNothingMoved) {
  ASSERT_TRUE(r_->HandleEvent(Offboarded("u:sales-only")).ok());
  auto reports = Emitted<v1::PersonOffboardingProgressed>(
      contracts::review::PersonOffboardingProgressed::kType);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].done());
  EXPECT_EQ(reports[0].moved().at("reviews"), 0);
  v1::CreateExpertRequest ce;
  ce.mutable_expert()->set_expert_id("u:sales-only");
  ce.mutable_expert()->set_display_name("X");
  ce.mutable_expert()->set_weekly_capacity_hours(10);
  *ce.mutable_actor() = Actor("u:head");
  EXPECT_EQ(r_->CreateExpert(ce).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OffboardingTest, InactiveHoldingsListWorkOfDeactivatedExpertsPaged) {
  // Work held by an inactive expert shows until it moves: here it cannot (nobody else), so the
  // deactivated expert's requests go back to the queue and nothing is held.
  AddExpert("wang", 20);
  for (int i = 0; i < 3; ++i) Create(4);
  ASSERT_TRUE(r_->HandleEvent(Offboarded("wang")).ok());
  EXPECT_EQ(r_->ListInactiveHoldings({})->holdings_size(), 0);
  v1::ListInactiveHoldingsRequest bad;
  bad.set_page_token("garbage");
  EXPECT_EQ(r_->ListInactiveHoldings(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace triad::review
