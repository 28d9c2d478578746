// Tests of the consumed events: pipeline's review requests (applied once, also when the same
// gate asks twice), the technical lead learned from the won deal and the sign-off tasks given to
// them (or to the policy when they cannot take it), malformed events, client merges.
#include "common/contracts/clients.h"
#include "common/contracts/review.h"
#include "gmock/gmock.h"
#include "services/review/tests/test_support.h"

namespace triad::review {
namespace {

namespace rc = contracts::review;
namespace cp = contracts::pipeline;
namespace cx = contracts::production;
using ::testing::HasSubstr;

class EventsTest : public ReviewsTest {
 protected:
  pipeline::v1::ReviewRequested Requested(const std::string& opp) {
    pipeline::v1::ReviewRequested m;
    m.set_opportunity_id(opp);
    m.set_client_id("client-1");
    m.set_domain("structural");
    m.set_requirements("Check the long-span roof");
    m.set_gate_id("concept.expert_review");
    m.set_stage("concept");
    *m.mutable_due_time() = util::ToProto(clock_.Now() + absl::Hours(72));
    return m;
  }

  production::v1::SignOffRequested SignOff(const std::string& opp) {
    production::v1::SignOffRequested m;
    m.set_project_id("prj-1");
    m.set_phase_id("phase-design");
    m.set_phase_name("Design freeze");
    m.set_domain("structural");
    m.set_opportunity_id(opp);
    m.set_client_id("client-1");
    *m.mutable_due_time() = util::ToProto(clock_.Now() + absl::Hours(48));
    return m;
  }

  // SignOffTask is the one milestone sign-off request.
  v1::ReviewRequest SignOffTask() {
    for (const v1::ReviewRequest& r : All()) {
      if (r.kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF) return r;
    }
    ADD_FAILURE() << "no sign-off task";
    return v1::ReviewRequest();
  }

  std::vector<v1::ReviewRequest> All() {
    v1::ListReviewRequestsRequest req;
    auto page = r_->ListReviewRequests(req);
    EXPECT_TRUE(page.ok());
    return {page->reviews().begin(), page->reviews().end()};
  }
};

TEST_F(EventsTest, ReviewRequestedCreatesOneRequestOnRedelivery) {
  AddExpert("a", 40);
  events::Event e = MakeEvent<cp::ReviewRequested>(Requested("opp-1"));
  ASSERT_TRUE(r_->HandleEvent(e).ok());
  ASSERT_TRUE(r_->HandleEvent(e).ok());  // redelivered
  // The gate asking again while its review is open (a new event id) is the same request.
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::ReviewRequested>(Requested("opp-1"))).ok());
  std::vector<v1::ReviewRequest> all = All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].cause_event_id(), e.id);
  EXPECT_EQ(all[0].expert_id(), "a");
  EXPECT_EQ(all[0].min_proficiency(), v1::PROFICIENCY_SENIOR);
  EXPECT_EQ(Emitted<v1::ReviewRequestCreated>(rc::ReviewRequestCreated::kType).size(), 1u);
  EXPECT_EQ(Emitted<v1::ReviewRequestAssigned>(rc::ReviewRequestAssigned::kType).size(), 1u);
  EXPECT_DOUBLE_EQ(GetExpert("a").load_hours(), 4);
}

TEST_F(EventsTest, MalformedEventsArePermanentErrors) {
  events::Event e = MakeEvent<cp::ReviewRequested>(Requested(""));
  absl::Status s = r_->HandleEvent(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("opportunity_id"));
  events::Event garbage = MakeEvent<cx::SignOffRequested>(SignOff("opp-1"));
  garbage.payload = "\xff\xff\xff";
  EXPECT_EQ(r_->HandleEvent(garbage).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(All().empty());
}

TEST_F(EventsTest, LongMultiByteStageNeverCutsACharacter) {
  AddExpert("a", 40);
  pipeline::v1::ReviewRequested m = Requested("opp-1");
  std::string stage;
  for (int i = 0; i < 200; ++i) stage += "\xe9\x98\xb6";  // a 3-byte character
  m.set_stage(stage);
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::ReviewRequested>(m)).ok());
  std::vector<v1::ReviewRequest> all = All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_LE(all[0].title().size(), 300u);
  // The stored record reads back (a cut character would make it unreadable) after a reopen.
  Open();
  EXPECT_EQ(All().size(), 1u);
}

TEST_F(EventsTest, SignOffGoesToTheTechnicalLeadOfTheWonDeal) {
  AddExpert("a", 40);
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::ReviewRequested>(Requested("opp-1"))).ok());
  std::string gate_review = All()[0].review_id();
  ASSERT_TRUE(Accept(gate_review).ok());
  ASSERT_TRUE(Verdict(gate_review, v1::VERDICT_APPROVED).ok());
  pipeline::v1::OpportunityWon won;
  won.set_opportunity_id("opp-1");
  won.set_client_id("client-1");
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::OpportunityWon>(won)).ok());
  // b is idle, but the sign-off belongs to the project's technical lead.
  AddExpert("b", 40);
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cx::SignOffRequested>(SignOff("opp-1"))).ok());
  ASSERT_EQ(All().size(), 2u);
  v1::ReviewRequest task = SignOffTask();
  EXPECT_EQ(task.kind(), v1::REVIEW_KIND_MILESTONE_SIGN_OFF);
  EXPECT_EQ(task.expert_id(), "a");
  EXPECT_EQ(task.assignments(0).rule(), v1::ASSIGNMENT_RULE_TECHNICAL_LEAD);
  ASSERT_TRUE(Accept(task.review_id()).ok());
  EXPECT_EQ(Verdict(task.review_id(), v1::VERDICT_REVISE).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Verdict(task.review_id(), v1::VERDICT_APPROVED).ok());
  auto done = Emitted<v1::SignOffCompleted>(rc::SignOffCompleted::kType);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].project_id(), "prj-1");
  EXPECT_EQ(done[0].phase_id(), "phase-design");
  EXPECT_EQ(done[0].expert_id(), "a");
  EXPECT_EQ(done[0].verdict(), v1::VERDICT_APPROVED);
  // The sign-off is not a gate verdict: pipeline sees only the first.
  EXPECT_EQ(Emitted<v1::ReviewVerdictRecorded>(rc::ReviewVerdictRecorded::kType).size(), 1u);
}

TEST_F(EventsTest, SignOffFallsBackToThePolicyWhenTheLeadIsUnavailable) {
  AddExpert("a", 40);
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::ReviewRequested>(Requested("opp-1"))).ok());
  std::string gate_review = All()[0].review_id();
  ASSERT_TRUE(Accept(gate_review).ok());
  ASSERT_TRUE(Verdict(gate_review, v1::VERDICT_APPROVED).ok());
  pipeline::v1::OpportunityWon won;
  won.set_opportunity_id("opp-1");
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::OpportunityWon>(won)).ok());
  AddExpert("b", 40);
  v1::SetExpertActiveRequest off;
  off.set_expert_id("a");
  off.set_active(false);
  *off.mutable_actor() = Actor("u:head", "sabbatical");
  ASSERT_TRUE(r_->SetExpertActive(off).ok());
  ASSERT_TRUE(r_->HandleEvent(MakeEvent<cx::SignOffRequested>(SignOff("opp-1"))).ok());
  v1::ReviewRequest task = SignOffTask();
  EXPECT_EQ(task.expert_id(), "b");
  EXPECT_EQ(task.assignments(0).rule(), v1::ASSIGNMENT_RULE_STRICT);
}

TEST_F(EventsTest, ClientMergeCarriesConflictsOver) {
  AddExpert("a", 40);
  AddExpert("b", 40);
  v1::Expert a = GetExpert("a");
  v1::UpdateExpertRequest up;
  up.mutable_expert()->set_expert_id("a");
  up.mutable_expert()->add_conflicts()->set_client_id("client-old");
  up.mutable_update_mask()->add_paths("conflicts");
  up.set_etag(a.etag());
  *up.mutable_actor() = Actor("u:head", "board seat");
  ASSERT_TRUE(r_->UpdateExpert(up).ok());
  v1::ReviewRequest r = Create(4, "client-2");
  ASSERT_EQ(r.expert_id(), "a");
  clients::v1::ClientsMerged merged;
  merged.mutable_survivor()->set_client_id("client-2");
  merged.set_merged_client_id("client-old");
  events::Event e = MakeEvent<contracts::clients::ClientsMerged>(merged);
  ASSERT_TRUE(r_->HandleEvent(e).ok());
  ASSERT_TRUE(r_->HandleEvent(e).ok());
  v1::Expert after = GetExpert("a");
  ASSERT_EQ(after.conflicts_size(), 2);
  EXPECT_EQ(after.conflicts(1).client_id(), "client-2");
  // a now has a conflict with the request's client: the request moved.
  EXPECT_EQ(Get(r.review_id()).expert_id(), "b");
  CheckInvariants();
}

}  // namespace
}  // namespace triad::review
