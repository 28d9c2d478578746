// Domain tests of the review service (real RocksDB, no Kafka): escalation that repeats each time
// a request's SLA passes undecided (to another expert when one fits, one level up each time, and
// across a restart), the publication of a knowledge-base solution from an approved review that
// asked for it, and malformed ids refused by name.
#include <string>

#include "absl/strings/match.h"
#include "common/contracts/review.h"
#include "services/review/repository.h"
#include "services/review/tests/test_support.h"

namespace triad::review {
namespace {

namespace rc = contracts::review;

class EscalationPublishTest : public ReviewsTest {
 protected:
  int Scan() {
    auto n = r_->ScanEscalations();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  std::vector<v1::ReviewRequestEscalated> Escalations() {
    return Emitted<v1::ReviewRequestEscalated>(rc::ReviewRequestEscalated::kType);
  }

  absl::StatusOr<v1::ReviewRequest> Approve(const std::string& id, const std::string& summary) {
    v1::RecordVerdictRequest req;
    req.set_review_id(id);
    req.set_verdict(v1::VERDICT_APPROVED);
    req.set_judgement("Sound.");
    req.set_solution_summary(summary);
    *req.mutable_actor() = Actor(Get(id).expert_id());
    return r_->RecordVerdict(req);
  }
};

TEST_F(EscalationPublishTest, EscalatesAgainEachTimeTheSlaPassesUndecided) {
  AddExpert("a", 40);
  AddExpert("b", 40);
  const v1::ReviewRequest r = Create(8);  // due in 72 h
  ASSERT_EQ(r.expert_id(), "a");
  EXPECT_EQ(r.escalation_level(), 0);
  EXPECT_EQ(Scan(), 0);

  clock_.Advance(absl::Hours(73));  // the due time passed: level 1, to another reviewer
  EXPECT_EQ(Scan(), 1);
  v1::ReviewRequest got = Get(r.review_id());
  EXPECT_EQ(got.escalation_level(), 1);
  EXPECT_EQ(got.expert_id(), "b");
  EXPECT_EQ(util::FromProto(got.next_escalation_time()), clock_.Now() + absl::Hours(24));
  EXPECT_EQ(Scan(), 0);  // not again before the next SLA

  Open();  // the SLA survives a restart
  clock_.Advance(absl::Hours(23));
  EXPECT_EQ(Scan(), 0);
  clock_.Advance(absl::Hours(2));  // the SLA passed again: level 2, back to a
  EXPECT_EQ(Scan(), 1);
  got = Get(r.review_id());
  EXPECT_EQ(got.escalation_level(), 2);
  EXPECT_EQ(got.expert_id(), "a");

  // In review: the work stays with its expert, the escalation still goes up.
  ASSERT_TRUE(Accept(r.review_id()).ok());
  v1::StartReviewRequest start;
  start.set_review_id(r.review_id());
  *start.mutable_actor() = Actor("a");
  ASSERT_TRUE(r_->StartReview(start).ok());
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(Scan(), 1);
  got = Get(r.review_id());
  EXPECT_EQ(got.escalation_level(), 3);
  EXPECT_EQ(got.expert_id(), "a");
  EXPECT_EQ(got.state(), v1::REVIEW_STATE_IN_REVIEW);

  auto esc = Escalations();
  ASSERT_EQ(esc.size(), 3u);
  EXPECT_EQ(esc[0].level(), 1);
  EXPECT_EQ(esc[0].expert_id(), "a");
  EXPECT_EQ(esc[0].new_expert_id(), "b");
  EXPECT_EQ(esc[1].level(), 2);
  EXPECT_EQ(esc[1].expert_id(), "b");
  EXPECT_EQ(esc[1].new_expert_id(), "a");
  EXPECT_EQ(esc[2].level(), 3);
  EXPECT_EQ(esc[2].new_expert_id(), "");
  EXPECT_TRUE(absl::StrContains(esc[2].reason(), "level 3")) << esc[2].reason();

  // Decided: never escalates again.
  ASSERT_TRUE(Verdict(r.review_id(), v1::VERDICT_APPROVED).ok());
  clock_.Advance(absl::Hours(100));
  EXPECT_EQ(Scan(), 0);
  EXPECT_EQ(Escalations().size(), 3u);
  EXPECT_FALSE(Get(r.review_id()).has_next_escalation_time());
  CheckInvariants();
}

TEST_F(EscalationPublishTest, ARequestStoredWithoutAnSlaEscalatesAtItsDueTime) {
  AddExpert("a", 40);
  AddExpert("b", 40);
  v1::ReviewRequest r = Create(8);
  // As stored before SLAs were kept: no next escalation time.
  r.clear_next_escalation_time();
  rocksdb::WriteBatch batch;
  batch.Put(store_->Cf(kReviewsCf), r.review_id(), r.SerializeAsString());
  ASSERT_TRUE(store_->Write(batch).ok());
  Open();
  clock_.Advance(absl::Hours(71));
  EXPECT_EQ(Scan(), 0);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(Scan(), 1);
  const v1::ReviewRequest got = Get(r.review_id());
  EXPECT_EQ(got.escalation_level(), 1);
  EXPECT_EQ(got.expert_id(), "b");
  EXPECT_TRUE(got.has_next_escalation_time());
}

TEST_F(EscalationPublishTest, AQueuedRequestEscalatesAgainAndStaysWhenNobodyElseFits) {
  AddExpert("small", 4);
  const v1::ReviewRequest r = Create(8);
  ASSERT_EQ(r.state(), v1::REVIEW_STATE_QUEUED);
  EXPECT_EQ(r.escalation_level(), 1);  // nobody fits: the first escalation
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(Scan(), 1);
  EXPECT_EQ(Get(r.review_id()).escalation_level(), 2);
  EXPECT_EQ(Get(r.review_id()).state(), v1::REVIEW_STATE_QUEUED);
  AddExpert("big", 40);  // serves the queue
  ASSERT_EQ(Get(r.review_id()).expert_id(), "big");
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(Scan(), 1);  // "small" cannot take 8 h: it stays with "big"
  const v1::ReviewRequest got = Get(r.review_id());
  EXPECT_EQ(got.expert_id(), "big");
  EXPECT_EQ(got.escalation_level(), 3);
  auto esc = Escalations();
  ASSERT_EQ(esc.size(), 3u);
  EXPECT_EQ(esc[1].queue_length(), 1);
  EXPECT_EQ(esc[2].expert_id(), "big");
  EXPECT_EQ(esc[2].new_expert_id(), "");
  CheckInvariants();
}

TEST_F(EscalationPublishTest, ApprovalPublishesTheSolutionWhenAskedFor) {
  AddExpert("a", 40);
  v1::CreateReviewRequestRequest ask = NewRequest(4);
  ask.mutable_review()->set_publish_solution(true);
  ask.mutable_review()->add_tags("Steel");
  ask.mutable_review()->add_tags("roof");
  auto r = r_->CreateReviewRequest(ask);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(Accept(r->review_id()).ok());
  auto decided = Approve(r->review_id(), "Steel frame with braced core");
  ASSERT_TRUE(decided.ok()) << decided.status();
  ASSERT_FALSE(decided->solution_id().empty());
  v1::GetSolutionRequest get;
  get.set_solution_id(decided->solution_id());
  auto sol = r_->GetSolution(get);
  ASSERT_TRUE(sol.ok()) << sol.status();
  EXPECT_EQ(sol->status(), v1::SOLUTION_STATUS_PUBLISHED);
  EXPECT_EQ(sol->version(), 1);
  EXPECT_EQ(sol->summary(), "Steel frame with braced core");
  EXPECT_EQ(sol->source_review_id(), r->review_id());
  EXPECT_EQ(sol->domain(), "structural");
  EXPECT_EQ(sol->author_id(), "a");
  ASSERT_EQ(sol->tags_size(), 2);
  EXPECT_EQ(sol->tags(0), "roof");
  EXPECT_EQ(sol->tags(1), "steel");
  v1::SearchSolutionsRequest search;
  search.set_tag("steel");
  auto found = r_->SearchSolutions(search);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->solutions_size(), 1);
  EXPECT_EQ(found->solutions(0).solution_id(), decided->solution_id());
  auto published = Emitted<v1::SolutionPublished>(rc::SolutionPublished::kType);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].source_review_id(), r->review_id());

  // A second review asked to version that solution: version 2 published, version 1 superseded.
  v1::CreateReviewRequestRequest again = NewRequest(4);
  again.mutable_review()->set_publish_solution(true);
  again.mutable_review()->set_solution_id(decided->solution_id());
  auto r2 = r_->CreateReviewRequest(again);
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_TRUE(Accept(r2->review_id()).ok());
  auto decided2 = Approve(r2->review_id(), "Steel frame, braced core, lighter roof trusses");
  ASSERT_TRUE(decided2.ok()) << decided2.status();
  EXPECT_EQ(decided2->solution_id(), decided->solution_id());
  sol = r_->GetSolution(get);
  ASSERT_TRUE(sol.ok());
  EXPECT_EQ(sol->version(), 2);
  EXPECT_EQ(sol->status(), v1::SOLUTION_STATUS_PUBLISHED);
  EXPECT_EQ(sol->source_review_id(), r2->review_id());
  get.set_version(1);
  EXPECT_EQ(r_->GetSolution(get)->status(), v1::SOLUTION_STATUS_SUPERSEDED);
  EXPECT_EQ(Emitted<v1::SolutionPublished>(rc::SolutionPublished::kType).size(), 2u);

  // Not asked for, no summary, or not approved: nothing is published.
  const v1::ReviewRequest plain = Create(4);
  ASSERT_TRUE(Accept(plain.review_id()).ok());
  auto plain_done = Approve(plain.review_id(), "Something");
  ASSERT_TRUE(plain_done.ok());
  EXPECT_TRUE(plain_done->solution_id().empty());
  ask.set_request_id("other");
  auto no_summary = r_->CreateReviewRequest(ask);
  ASSERT_TRUE(no_summary.ok());
  ASSERT_TRUE(Accept(no_summary->review_id()).ok());
  auto blank = Approve(no_summary->review_id(), "");
  ASSERT_TRUE(blank.ok());
  EXPECT_TRUE(blank->solution_id().empty());
  EXPECT_EQ(Emitted<v1::SolutionPublished>(rc::SolutionPublished::kType).size(), 2u);
}

TEST_F(EscalationPublishTest, PublishingFieldsAreValidated) {
  v1::CreateReviewRequestRequest bad = NewRequest(4);
  bad.mutable_review()->set_solution_id("sol-1");
  absl::Status s = r_->CreateReviewRequest(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "review.solution_id")) << s;
  bad.mutable_review()->set_publish_solution(true);
  EXPECT_EQ(r_->CreateReviewRequest(bad).status().code(), absl::StatusCode::kNotFound);
  bad.mutable_review()->set_solution_id("sol\x01");
  s = r_->CreateReviewRequest(bad).status();
  EXPECT_EQ(s.message(), "review.solution_id: contains a control character");
  v1::CreateReviewRequestRequest sign_off = NewRequest(4);
  sign_off.mutable_review()->set_kind(v1::REVIEW_KIND_MILESTONE_SIGN_OFF);
  sign_off.mutable_review()->set_project_id("prj-1");
  sign_off.mutable_review()->set_publish_solution(true);
  s = r_->CreateReviewRequest(sign_off).status();
  EXPECT_TRUE(absl::StartsWith(s.message(), "review.publish_solution")) << s;
}

TEST_F(EscalationPublishTest, MalformedIdsAreInvalidArgumentNamingTheField) {
  AddExpert("a", 40);
  for (const std::string bad : {std::string("rev\x01"), std::string("rev\xff"),
                                std::string("rev\x7f"), std::string("rev\xc2\x9b")}) {
    v1::GetReviewRequestRequest get;
    get.set_review_id(bad);
    absl::Status s = r_->GetReviewRequest(get).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), "review_id: ")) << s;
    v1::GetExpertRequest expert;
    expert.set_expert_id(bad);
    s = r_->GetExpert(expert).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), "expert_id: ")) << s;
    v1::CreateReviewRequestRequest create = NewRequest(4, bad);
    s = r_->CreateReviewRequest(create).status();
    EXPECT_TRUE(absl::StartsWith(s.message(), "review.client_id: ")) << s;
  }
}

}  // namespace
}  // namespace triad::review
