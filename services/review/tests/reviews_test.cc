// Tests of the Reviews domain: assignment with its record, queue and escalation, queue drain on
// freed capacity, decline and reassignment, the verdict event, manual override, deactivation and
// leave, etags, validation, request_id replay, persistence, and the consumed events (each
// applied once).
#include <algorithm>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/contracts/review.h"
#include "gmock/gmock.h"
#include "services/review/tests/test_support.h"

namespace triad::review {
namespace {

namespace rc = contracts::review;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(ReviewsTest, AssignsLowestLoadAndRecordsWhy) {
  AddExpert("a", 40);
  AddExpert("b", 10);
  v1::ReviewRequest first = Create(8);
  EXPECT_EQ(first.state(), v1::REVIEW_STATE_ASSIGNED);
  EXPECT_EQ(first.expert_id(), "a");  // full tie: by id
  v1::ReviewRequest second = Create(4);
  EXPECT_EQ(second.expert_id(), "b");  // a is at 0.2, b at 0
  ASSERT_EQ(second.assignments_size(), 1);
  const v1::Assignment& a = second.assignments(0);
  EXPECT_EQ(a.rule(), v1::ASSIGNMENT_RULE_STRICT);
  EXPECT_EQ(a.candidates_total(), 2);
  ASSERT_EQ(a.candidates_size(), 2);
  EXPECT_EQ(a.candidates(1).expert_id(), "a");
  EXPECT_DOUBLE_EQ(a.candidates(1).load_hours(), 8);
  EXPECT_EQ(a.candidates(1).passed_over(), "higher load ratio");
  auto assigned = Emitted<v1::ReviewRequestAssigned>(rc::ReviewRequestAssigned::kType);
  ASSERT_EQ(assigned.size(), 2u);
  EXPECT_EQ(assigned[1].expert_id(), "b");
  EXPECT_DOUBLE_EQ(assigned[1].expert_load_hours(), 4);
  EXPECT_EQ(Emitted<v1::ReviewRequestCreated>(rc::ReviewRequestCreated::kType).size(), 2u);
  EXPECT_DOUBLE_EQ(GetExpert("a").load_hours(), 8);
}

TEST_F(ReviewsTest, LoadViewPagesExpertRowsAndKeepsDomainFiguresWhole) {
  AddExpert("a", 10);
  AddExpert("b", 10);
  AddExpert("c", 10);
  Create(4);
  v1::GetLoadViewRequest req;
  req.set_page_size(2);
  absl::StatusOr<v1::GetLoadViewResponse> first = r_->GetLoadView(req);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->experts_size(), 2);
  EXPECT_EQ(first->experts(0).expert_id(), "a");
  EXPECT_EQ(first->experts(1).expert_id(), "b");
  ASSERT_FALSE(first->next_page_token().empty());
  ASSERT_EQ(first->domains_size(), 1);
  EXPECT_EQ(first->domains(0).experts(), 3);
  EXPECT_DOUBLE_EQ(first->domains(0).load_hours(), 4);
  EXPECT_DOUBLE_EQ(first->max_load_ratio(), 0.4);

  req.set_page_token(first->next_page_token());
  absl::StatusOr<v1::GetLoadViewResponse> second = r_->GetLoadView(req);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->experts_size(), 1);
  EXPECT_EQ(second->experts(0).expert_id(), "c");
  EXPECT_TRUE(second->next_page_token().empty());
  ASSERT_EQ(second->domains_size(), 1);
  EXPECT_EQ(second->domains(0).experts(), 3);
  EXPECT_DOUBLE_EQ(second->max_load_ratio(), 0.4);

  // A token is bound to its filter: another week count is refused by field name.
  req.set_weeks(8);
  absl::Status changed = r_->GetLoadView(req).status();
  EXPECT_EQ(changed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(changed.message(), HasSubstr("page_token"));
}

// Each expert's open work lands in the week it is due (overdue in the first, beyond the view
// in the last), follows the clock, and leaves the view when decided.
TEST_F(ReviewsTest, LoadViewSumsOpenWorkByTheWeekItIsDue) {
  AddExpert("a", 100);
  auto create = [&](double hours, absl::Duration due_in) {
    v1::CreateReviewRequestRequest req = NewRequest(hours);
    *req.mutable_review()->mutable_due_time() = util::ToProto(clock_.Now() + due_in);
    auto r = r_->CreateReviewRequest(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ReviewRequest();
  };
  const absl::Duration day = absl::Hours(24);
  v1::ReviewRequest soon = create(3, 2 * day);
  create(5, 9 * day);
  create(7, 10 * day);
  create(11, 40 * day);
  auto weekly = [&]() {
    auto view = r_->GetLoadView(v1::GetLoadViewRequest());
    EXPECT_TRUE(view.ok()) << view.status();
    std::vector<double> out;
    if (view.ok() && view->experts_size() == 1) {
      out.assign(view->experts(0).weekly_load_hours().begin(),
                 view->experts(0).weekly_load_hours().end());
    }
    return out;
  };
  EXPECT_EQ(weekly(), (std::vector<double>{3, 12, 0, 11}));
  clock_.Advance(8 * day);  // the first is overdue now; the next two fall due this week
  EXPECT_EQ(weekly(), (std::vector<double>{15, 0, 0, 11}));
  ASSERT_TRUE(Accept(soon.review_id()).ok());
  ASSERT_TRUE(Verdict(soon.review_id(), v1::VERDICT_APPROVED, 60).ok());
  EXPECT_EQ(weekly(), (std::vector<double>{12, 0, 0, 11}));
}

// A week runs from its start up to, not including, its end: work due at the exact end of the
// first week is in the second, a microsecond before it in the first; work due far after the
// view and long overdue stays in the last and the first.
TEST_F(ReviewsTest, LoadViewPutsWorkDueAtAWeeksEndInTheNextWeek) {
  AddExpert("a", 100);
  const absl::Duration week = absl::Hours(24 * 7);
  for (const auto& [hours, due_in] :
       std::vector<std::pair<double, absl::Duration>>{{1, week - absl::Microseconds(1)},
                                                      {2, week},
                                                      {4, 2 * week},
                                                      {8, 3 * week - absl::Microseconds(1)},
                                                      {16, 3 * week},
                                                      {32, 500 * week}}) {
    v1::CreateReviewRequestRequest req = NewRequest(hours);
    *req.mutable_review()->mutable_due_time() = util::ToProto(clock_.Now() + due_in);
    ASSERT_TRUE(r_->CreateReviewRequest(req).ok());
  }
  v1::GetLoadViewRequest req;
  req.set_weeks(3);
  absl::StatusOr<v1::GetLoadViewResponse> view = r_->GetLoadView(req);
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_EQ(view->experts_size(), 1);
  EXPECT_THAT(view->experts(0).weekly_load_hours(), ElementsAre(1, 2, 4 + 8 + 16 + 32));
  clock_.Advance(100 * week);  // all but the last overdue
  view = r_->GetLoadView(req);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(view->experts(0).weekly_load_hours(), ElementsAre(1 + 2 + 4 + 8 + 16, 0, 32));
}

TEST_F(ReviewsTest, QueuesEscalatesAndDrainsWhenAVerdictFreesCapacity) {
  AddExpert("a", 10);
  v1::ReviewRequest r1 = Create(8);
  v1::ReviewRequest r2 = Create(4);
  EXPECT_EQ(r2.state(), v1::REVIEW_STATE_QUEUED);
  EXPECT_TRUE(r2.expert_id().empty());
  auto esc = Emitted<v1::ReviewRequestEscalated>(rc::ReviewRequestEscalated::kType);
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0].review_id(), r2.review_id());
  EXPECT_EQ(esc[0].queue_length(), 1);
  EXPECT_THAT(esc[0].reason(), HasSubstr("over capacity"));

  clock_.Advance(absl::Hours(3));
  v1::GetLoadViewResponse view = *r_->GetLoadView(v1::GetLoadViewRequest());
  EXPECT_EQ(view.queue().length(), 1);
  EXPECT_DOUBLE_EQ(view.queue().oldest_wait_hours(), 3);
  EXPECT_DOUBLE_EQ(view.max_load_ratio(), 0.8);

  ASSERT_TRUE(Accept(r1.review_id()).ok());
  // A verdict needs an accepted review; only the assigned expert records it.
  v1::RecordVerdictRequest intruder;
  intruder.set_review_id(r1.review_id());
  intruder.set_verdict(v1::VERDICT_APPROVED);
  intruder.set_judgement("x");
  *intruder.mutable_actor() = Actor("b");
  EXPECT_EQ(r_->RecordVerdict(intruder).status().code(), absl::StatusCode::kFailedPrecondition);
  auto decided = Verdict(r1.review_id(), v1::VERDICT_APPROVED, 120);
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(decided->state(), v1::REVIEW_STATE_DECIDED);
  auto verdicts = Emitted<v1::ReviewVerdictRecorded>(rc::ReviewVerdictRecorded::kType);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].opportunity_id(), r1.opportunity_id());
  EXPECT_EQ(verdicts[0].gate_id(), "concept.expert_review");
  EXPECT_EQ(verdicts[0].verdict(), v1::VERDICT_APPROVED);
  EXPECT_DOUBLE_EQ(verdicts[0].estimated_effort_hours(), 120);
  EXPECT_EQ(verdicts[0].risks_size(), 1);
  // The freed capacity served the queue.
  v1::ReviewRequest drained = Get(r2.review_id());
  EXPECT_EQ(drained.state(), v1::REVIEW_STATE_ASSIGNED);
  EXPECT_EQ(drained.expert_id(), "a");
  EXPECT_THAT(drained.assignments(drained.assignments_size() - 1).reason(),
              HasSubstr("queue served"));
  EXPECT_DOUBLE_EQ(GetExpert("a").load_hours(), 4);
  CheckInvariants();
}

TEST_F(ReviewsTest, CapacityIncreaseAndNewExpertDrainTheQueue) {
  AddExpert("a", 4);
  Create(4);
  clock_.Advance(absl::Seconds(1));
  v1::ReviewRequest q1 = Create(4);
  clock_.Advance(absl::Seconds(1));
  v1::ReviewRequest q2 = Create(4);
  ASSERT_EQ(q1.state(), v1::REVIEW_STATE_QUEUED);
  v1::Expert a = GetExpert("a");
  v1::UpdateExpertRequest up;
  up.mutable_expert()->set_expert_id("a");
  up.mutable_expert()->set_weekly_capacity_hours(8);
  up.mutable_update_mask()->add_paths("weekly_capacity_hours");
  up.set_etag(a.etag());
  *up.mutable_actor() = Actor("u:head", "more time for reviews");
  ASSERT_TRUE(r_->UpdateExpert(up).ok());
  EXPECT_EQ(Get(q1.review_id()).expert_id(), "a");  // first come, first served
  EXPECT_EQ(Get(q2.review_id()).state(), v1::REVIEW_STATE_QUEUED);
  // The same etag again is stale.
  EXPECT_EQ(r_->UpdateExpert(up).status().code(), absl::StatusCode::kAborted);
  AddExpert("b", 40);
  EXPECT_EQ(Get(q2.review_id()).expert_id(), "b");
  CheckInvariants();
}

TEST_F(ReviewsTest, DeclineReassignsAndNeverOffersAgain) {
  AddExpert("a", 40);
  AddExpert("b", 40);
  v1::ReviewRequest r = Create(4);
  ASSERT_EQ(r.expert_id(), "a");
  v1::DeclineReviewRequest d;
  d.set_review_id(r.review_id());
  *d.mutable_actor() = Actor("a");
  EXPECT_THAT(r_->DeclineReview(d).status().message(), HasSubstr("actor.reason"));
  d.mutable_actor()->set_reason("travelling");
  auto declined = r_->DeclineReview(d);
  ASSERT_TRUE(declined.ok()) << declined.status();
  EXPECT_EQ(declined->expert_id(), "b");
  auto re = Emitted<v1::ReviewRequestReassigned>(rc::ReviewRequestReassigned::kType);
  ASSERT_EQ(re.size(), 1u);
  EXPECT_EQ(re[0].previous_expert_id(), "a");
  EXPECT_EQ(re[0].new_expert_id(), "b");
  EXPECT_DOUBLE_EQ(GetExpert("a").load_hours(), 0);
  // b declines too: nobody else, so it queues (and is escalated) rather than returning to a.
  d.mutable_actor()->set_id("b");
  auto again = r_->DeclineReview(d);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::REVIEW_STATE_QUEUED);
  EXPECT_EQ(Emitted<v1::ReviewRequestEscalated>(rc::ReviewRequestEscalated::kType).size(), 1u);
  CheckInvariants();
}

TEST_F(ReviewsTest, ManualOverrideIsAuditedAndBoundedByCapacityAndConflicts) {
  AddExpert("a", 40);
  AddExpert("b", 4);
  v1::ReviewRequest big = Create(8);
  ASSERT_EQ(big.expert_id(), "a");
  v1::AssignReviewRequest m;
  m.set_review_id(big.review_id());
  m.set_expert_id("b");
  *m.mutable_actor() = Actor("u:head");
  EXPECT_THAT(r_->AssignReview(m).status().message(), HasSubstr("actor.reason"));
  m.mutable_actor()->set_reason("b knows this roof");
  auto over = r_->AssignReview(m);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(over.status().message(), HasSubstr("over capacity"));
  v1::ReviewRequest small = Create(4);  // goes to b (ratio 0)
  ASSERT_EQ(small.expert_id(), "b");
  m.set_review_id(small.review_id());
  m.set_expert_id("a");
  auto moved = r_->AssignReview(m);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->expert_id(), "a");
  const v1::Assignment& last = moved->assignments(moved->assignments_size() - 1);
  EXPECT_EQ(last.rule(), v1::ASSIGNMENT_RULE_MANUAL);
  EXPECT_EQ(last.actor_id(), "u:head");
  EXPECT_THAT(last.reason(), HasSubstr("b knows this roof"));
  EXPECT_EQ(moved->history(moved->history_size() - 1).action(), "manual_assignment");
  CheckInvariants();
}

TEST_F(ReviewsTest, DeactivationAndLeaveReassignOpenWork) {
  AddExpert("a", 40);
  AddExpert("b", 40);
  v1::ReviewRequest r1 = Create(4);
  v1::ReviewRequest r2 = Create(4);
  ASSERT_EQ(r1.expert_id(), "a");
  ASSERT_EQ(r2.expert_id(), "b");
  v1::SetExpertActiveRequest off;
  off.set_expert_id("a");
  off.set_active(false);
  *off.mutable_actor() = Actor("u:head", "left the firm");
  ASSERT_TRUE(r_->SetExpertActive(off).ok());
  EXPECT_EQ(Get(r1.review_id()).expert_id(), "b");
  EXPECT_EQ(GetExpert("a").open_reviews(), 0);

  // b's leave starts after the reviews are due: nothing moves when it is entered; once the
  // leave has started, the scan moves b's open work.
  AddExpert("c", 40);
  v1::Expert b = GetExpert("b");
  v1::UpdateExpertRequest up;
  up.mutable_expert()->set_expert_id("b");
  v1::LeaveWindow* w = up.mutable_expert()->add_leave_windows();
  *w->mutable_start_time() = util::ToProto(clock_.Now() + absl::Hours(100));
  *w->mutable_end_time() = util::ToProto(clock_.Now() + absl::Hours(300));
  up.mutable_update_mask()->add_paths("leave_windows");
  up.set_etag(b.etag());
  *up.mutable_actor() = Actor("u:head", "holiday");
  ASSERT_TRUE(r_->UpdateExpert(up).ok());
  EXPECT_EQ(Get(r1.review_id()).expert_id(), "b");
  clock_.Advance(absl::Hours(101));
  auto moved = r_->ScanLeave();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, 2);
  EXPECT_EQ(Get(r1.review_id()).expert_id(), "c");
  EXPECT_EQ(Get(r2.review_id()).expert_id(), "c");
  EXPECT_EQ(GetExpert("b").open_reviews(), 0);
  CheckInvariants();
}

TEST_F(ReviewsTest, BadInputNamesTheFieldAndWritesNothing) {
  AddExpert("a", 40);
  auto req = NewRequest(4);
  req.mutable_review()->set_estimated_hours(-1);
  EXPECT_THAT(r_->CreateReviewRequest(req).status().message(), HasSubstr("review.estimated_hours"));
  req = NewRequest(4);
  req.mutable_review()->clear_due_time();
  EXPECT_THAT(r_->CreateReviewRequest(req).status().message(), HasSubstr("review.due_time"));
  req = NewRequest(4);
  req.mutable_review()->set_title(std::string(301, 'x'));
  EXPECT_THAT(r_->CreateReviewRequest(req).status().message(), HasSubstr("review.title"));
  req = NewRequest(4);
  req.mutable_review()->set_kind(v1::REVIEW_KIND_UNSPECIFIED);
  EXPECT_EQ(r_->CreateReviewRequest(req).status().code(), absl::StatusCode::kInvalidArgument);
  v1::CreateExpertRequest e;
  e.mutable_expert()->set_display_name("X");
  e.mutable_expert()->set_weekly_capacity_hours(200);
  *e.mutable_actor() = Actor("u:head");
  EXPECT_THAT(r_->CreateExpert(e).status().message(), HasSubstr("expert.weekly_capacity_hours"));
  // Creating an expert emits nothing; the refused requests wrote nothing either.
  EXPECT_TRUE(::triad::testing::ReadOutbox(*store_).empty());
  EXPECT_EQ(GetExpert("a").open_reviews(), 0);
}

TEST_F(ReviewsTest, RequestIdReplaysTheFirstResponse) {
  AddExpert("a", 40);
  auto req = NewRequest(4);
  req.set_request_id("req-1");
  auto first = r_->CreateReviewRequest(req);
  auto second = r_->CreateReviewRequest(req);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->review_id(), second->review_id());
  EXPECT_EQ(GetExpert("a").open_reviews(), 1);
  req.mutable_review()->set_title("another");
  EXPECT_THAT(r_->CreateReviewRequest(req).status().message(), HasSubstr("request_id"));
}

TEST_F(ReviewsTest, StateSurvivesReopen) {
  AddExpert("a", 10);
  v1::ReviewRequest r1 = Create(8);
  v1::ReviewRequest r2 = Create(8);
  Open();
  EXPECT_EQ(Get(r1.review_id()).expert_id(), "a");
  EXPECT_EQ(Get(r2.review_id()).state(), v1::REVIEW_STATE_QUEUED);
  ASSERT_TRUE(Accept(r1.review_id()).ok());
  ASSERT_TRUE(Verdict(r1.review_id(), v1::VERDICT_REVISE).ok());
  EXPECT_EQ(Get(r2.review_id()).expert_id(), "a");  // the queue index was reloaded
  CheckInvariants();
}

// Decided requests (the bulk of the history) are not held in memory, before and after a
// restart, and stay readable: Get, the lists (all, by state, paged), the continuity the policy
// uses, and a solution citing one as its source.
TEST_F(ReviewsTest, DecidedRequestsStayOnDiskAndReadable) {
  AddExpert("a", 40);
  v1::ReviewRequest decided = Create(8, "client-7");
  v1::ReviewRequest open1 = Create(8);
  v1::ReviewRequest open2 = Create(8);
  ASSERT_TRUE(Accept(decided.review_id()).ok());
  ASSERT_TRUE(Verdict(decided.review_id(), v1::VERDICT_APPROVED).ok());
  EXPECT_EQ(r_->ReviewsInMemory(), 2u);
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart ? "after a restart" : "before a restart");
    EXPECT_EQ(r_->ReviewsInMemory(), 2u);
    v1::ReviewRequest got = Get(decided.review_id());
    EXPECT_EQ(got.state(), v1::REVIEW_STATE_DECIDED);
    EXPECT_EQ(got.verdict().verdict(), v1::VERDICT_APPROVED);
    v1::ListReviewRequestsRequest all;
    all.set_page_size(2);
    auto page1 = r_->ListReviewRequests(all);
    ASSERT_TRUE(page1.ok()) << page1.status();
    ASSERT_EQ(page1->reviews_size(), 2);
    all.set_page_token(page1->next_page_token());
    auto page2 = r_->ListReviewRequests(all);
    ASSERT_TRUE(page2.ok()) << page2.status();
    ASSERT_EQ(page2->reviews_size(), 1);
    EXPECT_TRUE(page2->next_page_token().empty());
    std::set<std::string> ids = {page1->reviews(0).review_id(), page1->reviews(1).review_id(),
                                 page2->reviews(0).review_id()};
    EXPECT_EQ(ids,
              (std::set<std::string>{decided.review_id(), open1.review_id(), open2.review_id()}));
    v1::ListReviewRequestsRequest by_state;
    by_state.set_state(v1::REVIEW_STATE_DECIDED);
    auto decided_list = r_->ListReviewRequests(by_state);
    ASSERT_TRUE(decided_list.ok()) << decided_list.status();
    ASSERT_EQ(decided_list->reviews_size(), 1);
    EXPECT_EQ(decided_list->reviews(0).review_id(), decided.review_id());
    by_state.set_state(v1::REVIEW_STATE_ASSIGNED);
    auto assigned = r_->ListReviewRequests(by_state);
    ASSERT_TRUE(assigned.ok()) << assigned.status();
    EXPECT_EQ(assigned->reviews_size(), 2);
    // A decided review with the same verdict cannot be decided again.
    v1::RecordVerdictRequest again;
    again.set_review_id(decided.review_id());
    again.set_verdict(v1::VERDICT_REJECTED);
    again.set_judgement("late");
    *again.mutable_actor() = Actor("a");
    EXPECT_EQ(r_->RecordVerdict(again).status().code(), absl::StatusCode::kFailedPrecondition);
    Open();
  }
  // The continuity kept from the decided review still guides the policy: client-7's next
  // request goes to "a" for continuity even with a second expert free.
  AddExpert("b", 40);
  v1::ReviewRequest next = Create(1, "client-7");
  EXPECT_EQ(next.expert_id(), "a");
  EXPECT_TRUE(next.assignments(0).continuity());
  v1::CreateSolutionRequest sol;
  sol.mutable_solution()->set_title("Braced core");
  sol.mutable_solution()->set_domain("structural");
  sol.mutable_solution()->set_summary("Steel frame with braced core");
  sol.set_source_review_id(decided.review_id());
  sol.set_request_id("sol-from-decided");
  *sol.mutable_actor() = Actor("a");
  auto created = r_->CreateSolution(sol);
  EXPECT_TRUE(created.ok()) << created.status();
}

// Start-up loads the undecided requests through their index; a store without it (no marker,
// no entries) is scanned once, gets the index, and loads the same working set either way.
TEST_F(ReviewsTest, UndecidedIndexIsBackfilledOnceAndLoadsTheWorkingSet) {
  AddExpert("a", 10);
  v1::ReviewRequest decided = Create(4);
  v1::ReviewRequest open = Create(4);
  v1::ReviewRequest queued = Create(8);
  ASSERT_EQ(Get(queued.review_id()).state(), v1::REVIEW_STATE_QUEUED);
  ASSERT_TRUE(Accept(decided.review_id()).ok());
  ASSERT_TRUE(Verdict(decided.review_id(), v1::VERDICT_APPROVED).ok());
  auto listed = [&]() {
    std::vector<std::string> ids;
    EXPECT_TRUE(
        NewRocksReviewRepository(store_.get())
            ->ScanUndecidedReviews([&](v1::ReviewRequest r) { ids.push_back(r.review_id()); })
            .ok());
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  std::vector<std::string> undecided = {open.review_id(), Get(queued.review_id()).review_id()};
  std::sort(undecided.begin(), undecided.end());
  EXPECT_EQ(listed(), undecided);
  // Back to the older layout: no undecided entries, no marker.
  for (const std::string& key :
       {UndecidedIndexedKey(), UndecidedKey(open.review_id()), UndecidedKey(queued.review_id())}) {
    rocksdb::WriteBatch del;
    del.Delete(store_->Cf(kMetaCf), key);
    ASSERT_TRUE(store_->Write(del).ok());
  }
  EXPECT_TRUE(listed().empty());
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart ? "loaded through the index" : "loaded by the backfill scan");
    Open();
    EXPECT_EQ(r_->ReviewsInMemory(), 2u);
    EXPECT_EQ(listed(), undecided);
    auto marker = NewRocksReviewRepository(store_.get())->GetMeta(UndecidedIndexedKey());
    ASSERT_TRUE(marker.ok()) << marker.status();
    EXPECT_TRUE(marker->has_value());
    v1::GetLoadViewResponse view = *r_->GetLoadView(v1::GetLoadViewRequest());
    EXPECT_EQ(view.queue().length(), 1);
    ASSERT_EQ(view.experts_size(), 1);
    EXPECT_EQ(view.experts(0).open_reviews(), 1);
    CheckInvariants();
  }
}

// A store written before the approver and continuity indexes existed (decided requests
// without their meta entries, no marker) gets them once at start: continuity and the technical
// lead of a won deal work from them.
TEST_F(ReviewsTest, DecidedIndexesAreBackfilledOnce) {
  AddExpert("a", 40);
  AddExpert("b", 40);
  v1::ReviewRequest r = Create(8, "client-8");
  ASSERT_TRUE(Accept(r.review_id()).ok());
  ASSERT_TRUE(Verdict(r.review_id(), v1::VERDICT_APPROVED).ok());
  const std::string decider = Get(r.review_id()).verdict().expert_id();
  // Back to the older layout: only the records.
  for (const std::string& key : {DecidedIndexedKey(), ApproverKey(r.opportunity_id())}) {
    rocksdb::WriteBatch del;
    del.Delete(store_->Cf(kMetaCf), key);
    ASSERT_TRUE(store_->Write(del).ok());
  }
  int continuity_entries = 0;
  ASSERT_TRUE(store_
                  ->ScanPrefix(kMetaCf, "",
                               [&](std::string_view k, std::string_view) {
                                 rocksdb::WriteBatch del;
                                 del.Delete(store_->Cf(kMetaCf), k);
                                 ++continuity_entries;
                                 return store_->Write(del).ok();
                               })
                  .ok());
  EXPECT_EQ(continuity_entries, 2);  // the continuity entry and the undecided-index marker
  Open();
  auto indexed = NewRocksReviewRepository(store_.get())->GetMeta(DecidedIndexedKey());
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_TRUE(indexed->has_value());
  auto approver = NewRocksReviewRepository(store_.get())->GetApprover(r.opportunity_id());
  ASSERT_TRUE(approver.ok()) << approver.status();
  EXPECT_EQ(approver->value_or(""), decider);
  v1::ReviewRequest next = Create(1, "client-8");
  EXPECT_EQ(next.expert_id(), decider);
  EXPECT_TRUE(next.assignments(0).continuity());
}

}  // namespace
}  // namespace triad::review
