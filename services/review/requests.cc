// Implements the review-request RPCs of the Reviews domain: creation (with the assignment
// policy), reads, the workflow (accept, decline, start, verdict) and the manual override.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

namespace rc = contracts::review;
using api::InvalidField;
using util::FromProto;
using util::ToProto;

namespace {

absl::Status ValidateNewReview(const v1::ReviewRequest& r) {
  RETURN_IF_ERROR(api::CheckUtf8(r, "review"));
  if (r.kind() != v1::REVIEW_KIND_OPPORTUNITY_GATE &&
      r.kind() != v1::REVIEW_KIND_MILESTONE_SIGN_OFF) {
    return InvalidField("review.kind", "must be OPPORTUNITY_GATE or MILESTONE_SIGN_OFF");
  }
  RETURN_IF_ERROR(api::CheckId("review.domain", r.domain()));
  RETURN_IF_ERROR(api::CheckLength("review.domain", r.domain(), kMaxDomainLength));
  if (!v1::Proficiency_IsValid(r.min_proficiency())) {
    return InvalidField("review.min_proficiency", "unknown level");
  }
  RETURN_IF_ERROR(api::CheckCount("review.acceptable_domains", r.acceptable_domains_size(),
                                  kMaxAcceptableDomains));
  for (int i = 0; i < r.acceptable_domains_size(); ++i) {
    std::string path = absl::StrCat("review.acceptable_domains[", i, "]");
    RETURN_IF_ERROR(api::CheckId(path, r.acceptable_domains(i)));
    RETURN_IF_ERROR(api::CheckLength(path, r.acceptable_domains(i), kMaxDomainLength));
  }
  RETURN_IF_ERROR(api::CheckText("review.requirements", r.requirements(), kMaxLongText));
  RETURN_IF_ERROR(api::CheckCount("review.tags", r.tags_size(), 20));
  for (int i = 0; i < r.tags_size(); ++i) {
    std::string path = absl::StrCat("review.tags[", i, "]");
    RETURN_IF_ERROR(api::CheckRequired(path, r.tags(i)));
    RETURN_IF_ERROR(api::CheckLength(path, r.tags(i), 50));
  }
  RETURN_IF_ERROR(api::CheckText("review.title", r.title(), kMaxTitleLength));
  RETURN_IF_ERROR(
      api::CheckMoney("review.deal_value", r.deal_value(), api::MoneyPresence::kOptional));
  RETURN_IF_ERROR(api::CheckOptionalId("review.client_id", r.client_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("review.opportunity_id", r.opportunity_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("review.gate_id", r.gate_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("review.project_id", r.project_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("review.phase_id", r.phase_id()));
  if (r.kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF) {
    RETURN_IF_ERROR(api::CheckId("review.project_id", r.project_id()));
  }
  RETURN_IF_ERROR(api::CheckOptionalId("review.solution_id", r.solution_id()));
  if (!r.solution_id().empty() && !r.publish_solution()) {
    return InvalidField("review.solution_id", "only with publish_solution");
  }
  if (r.publish_solution() && r.kind() != v1::REVIEW_KIND_OPPORTUNITY_GATE) {
    return InvalidField("review.publish_solution", "only for an OPPORTUNITY_GATE review");
  }
  if (!r.has_due_time()) return InvalidField("review.due_time", "required");
  RETURN_IF_ERROR(api::CheckTimestamp("review.due_time", r.due_time()));
  double h = r.estimated_hours();
  if (!std::isfinite(h) || h <= 0 || h > kMaxCapacityHours) {
    return InvalidField("review.estimated_hours", "must be > 0 and <= 168");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ReviewRequest> Reviews::CreateReviewRequest(
    const v1::CreateReviewRequestRequest& req) {
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(ValidateNewReview(req.review()));
  std::lock_guard lock(mu_);
  api::Replay<v1::ReviewRequest> replay(*store_, "CreateReviewRequest", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ReviewRequest> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  if (!req.review().solution_id().empty()) {
    absl::StatusOr<v1::Solution> sol = LatestSolution(req.review().solution_id(), 0);
    if (!sol.ok()) return sol.status();
  }
  v1::ReviewRequest r = req.review();
  r.set_review_id(util::NewId("rev"));
  r.clear_expert_id();
  r.clear_assignments();
  r.clear_declined_by();
  r.clear_verdict();
  r.clear_queued_time();
  r.clear_history();
  r.clear_cause_event_id();
  events::Transaction txn;
  Work w(txn);
  RETURN_IF_ERROR(EnterLocked(w, r, req.actor().id()));
  v1::ReviewRequest result = *ReviewLocked(w, r.review_id());
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<v1::ReviewRequest> Reviews::GetReviewRequest(
    const v1::GetReviewRequestRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("review_id", req.review_id()));
  std::shared_lock lock(mu_);
  return ReviewByIdLocked(req.review_id());
}

absl::StatusOr<v1::ListReviewRequestsResponse> Reviews::ListReviewRequests(
    const v1::ListReviewRequestsRequest& req) const {
  RETURN_IF_ERROR(api::CheckOptionalId("expert_id", req.expert_id()));
  RETURN_IF_ERROR(api::CheckText("domain", req.domain(), kMaxDomainLength));
  if (!v1::ReviewState_IsValid(req.state())) return InvalidField("state", "unknown state");
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({v1::ReviewState_Name(req.state()),
                                                             req.expert_id(), req.domain()})));
  std::shared_lock lock(mu_);
  v1::ListReviewRequestsResponse resp;
  // Visit adds `r` when it matches; false once the page is full.
  auto visit = [&](const v1::ReviewRequest& r) {
    if (req.state() != v1::REVIEW_STATE_UNSPECIFIED && r.state() != req.state()) return true;
    if (!req.expert_id().empty() && r.expert_id() != req.expert_id()) return true;
    if (!req.domain().empty() && r.domain() != req.domain()) return true;
    if (!pager.Accept(r.review_id())) return false;
    *resp.add_reviews() = r;
    return true;
  };
  if (req.state() != v1::REVIEW_STATE_UNSPECIFIED && req.state() != v1::REVIEW_STATE_DECIDED) {
    // Undecided states: the working set in memory holds every such request.
    for (auto it = reviews_.upper_bound(pager.after_key()); it != reviews_.end(); ++it) {
      if (!visit(it->second)) break;
    }
  } else {
    RETURN_IF_ERROR(
        repo_->ScanReviewsAfter(pager.after_key(), [&](v1::ReviewRequest r) { return visit(r); }));
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ReviewRequest*> Reviews::OwnedOpenLocked(Work& w, const std::string& review_id,
                                                            const std::string& etag,
                                                            const common::v1::Actor& actor) {
  v1::ReviewRequest* r = MutableReviewLocked(w, review_id);
  if (r == nullptr) return absl::NotFoundError(absl::StrCat("review ", review_id));
  RETURN_IF_ERROR(
      api::CheckEtag(api::StoredEtag(r->etag()), api::GivenEtag(etag), "review request"));
  if (!IsOpen(*r)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "review ", review_id, " is ", v1::ReviewState_Name(r->state()), ", not assigned"));
  }
  if (r->expert_id() != actor.id()) {
    return absl::FailedPreconditionError(absl::StrCat("review ", review_id, " is assigned to ",
                                                      r->expert_id(), ", not to ", actor.id()));
  }
  return r;
}

absl::StatusOr<v1::ReviewRequest> Reviews::TransitionLocked(
    std::string_view method, const google::protobuf::Message& req, const std::string& review_id,
    const std::string& etag, const std::string& request_id, const common::v1::Actor& actor,
    v1::ReviewState from, v1::ReviewState to, const std::string& action) {
  RETURN_IF_ERROR(api::CheckId("review_id", review_id));
  RETURN_IF_ERROR(CheckActor(actor, false));
  api::Replay<v1::ReviewRequest> replay(*store_, method, request_id, req);
  ASSIGN_OR_RETURN(std::optional<v1::ReviewRequest> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  events::Transaction txn;
  Work w(txn);
  ASSIGN_OR_RETURN(v1::ReviewRequest * r, OwnedOpenLocked(w, review_id, etag, actor));
  if (r->state() != from) {
    return absl::FailedPreconditionError(absl::StrCat("review ", review_id, " is ",
                                                      v1::ReviewState_Name(r->state()),
                                                      ", expected ", v1::ReviewState_Name(from)));
  }
  absl::Time now = options_.clock();
  r->set_state(to);
  r->set_etag(api::NextEtag(r->etag()));
  *r->mutable_update_time() = ToProto(now);
  AddAudit(r->mutable_history(), now, actor.id(), action, actor.reason());
  v1::ReviewRequest result = *r;
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<v1::ReviewRequest> Reviews::AcceptReview(const v1::AcceptReviewRequest& req) {
  std::lock_guard lock(mu_);
  return TransitionLocked("AcceptReview", req, req.review_id(), req.etag(), req.request_id(),
                          req.actor(), v1::REVIEW_STATE_ASSIGNED, v1::REVIEW_STATE_ACCEPTED,
                          "accepted");
}

absl::StatusOr<v1::ReviewRequest> Reviews::StartReview(const v1::StartReviewRequest& req) {
  std::lock_guard lock(mu_);
  return TransitionLocked("StartReview", req, req.review_id(), req.etag(), req.request_id(),
                          req.actor(), v1::REVIEW_STATE_ACCEPTED, v1::REVIEW_STATE_IN_REVIEW,
                          "started");
}

absl::StatusOr<v1::ReviewRequest> Reviews::DeclineReview(const v1::DeclineReviewRequest& req) {
  RETURN_IF_ERROR(api::CheckId("review_id", req.review_id()));
  RETURN_IF_ERROR(CheckActor(req.actor(), true));
  std::lock_guard lock(mu_);
  api::Replay<v1::ReviewRequest> replay(*store_, "DeclineReview", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ReviewRequest> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  events::Transaction txn;
  Work w(txn);
  ASSIGN_OR_RETURN(v1::ReviewRequest * r,
                   OwnedOpenLocked(w, req.review_id(), req.etag(), req.actor()));
  if (r->state() != v1::REVIEW_STATE_ASSIGNED) {
    return absl::FailedPreconditionError(
        absl::StrCat("review ", req.review_id(), " was already accepted; ask for a reassignment"));
  }
  absl::Time now = options_.clock();
  r->add_declined_by(req.actor().id());
  r->set_etag(api::NextEtag(r->etag()));
  AddAudit(r->mutable_history(), now, req.actor().id(), "declined", req.actor().reason());
  RETURN_IF_ERROR(AssignLocked(w, req.review_id(), req.actor().id(),
                               absl::StrCat("declined by ", req.actor().id()), "", true)
                      .status());
  // The decliner's freed capacity may serve someone else's waiting request.
  RETURN_IF_ERROR(DrainQueueLocked(w, req.actor().id()));
  v1::ReviewRequest result = *ReviewLocked(w, req.review_id());
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<v1::ReviewRequest> Reviews::AssignReview(const v1::AssignReviewRequest& req) {
  RETURN_IF_ERROR(api::CheckId("review_id", req.review_id()));
  RETURN_IF_ERROR(api::CheckId("expert_id", req.expert_id()));
  RETURN_IF_ERROR(CheckActor(req.actor(), true));
  std::lock_guard lock(mu_);
  api::Replay<v1::ReviewRequest> replay(*store_, "AssignReview", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ReviewRequest> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  events::Transaction txn;
  Work w(txn);
  v1::ReviewRequest* r = MutableReviewLocked(w, req.review_id());
  if (r == nullptr) return absl::NotFoundError(absl::StrCat("review ", req.review_id()));
  RETURN_IF_ERROR(
      api::CheckEtag(api::StoredEtag(r->etag()), api::GivenEtag(req.etag()), "review request"));
  if (r->state() == v1::REVIEW_STATE_DECIDED) {
    return absl::FailedPreconditionError(absl::StrCat("review ", req.review_id(), " is decided"));
  }
  RETURN_IF_ERROR(CheckPersonActiveLocked("expert_id", req.expert_id()));
  const v1::Expert* e = ExpertLocked(w, req.expert_id());
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("expert ", req.expert_id()));
  if (IsOpen(*r) && r->expert_id() == req.expert_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("review ", req.review_id(), " is already assigned to ", req.expert_id()));
  }
  absl::Time now = options_.clock();
  PolicyRequest p = PolicyRequestOf(*r, now);
  p.excluded.clear();  // a person may hand a request back to someone who declined it
  std::string passed = PassOverReason(*e, p);
  if (!passed.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("expert ", req.expert_id(), " cannot take the review: ", passed));
  }
  v1::Assignment a;
  a.set_expert_id(e->expert_id());
  a.set_rule(v1::ASSIGNMENT_RULE_MANUAL);
  a.set_actor_id(req.actor().id());
  a.set_reason(absl::StrCat("manual override: ", req.actor().reason()));
  a.set_candidates_total(1);
  v1::Candidate* c = a.add_candidates();
  c->set_expert_id(e->expert_id());
  c->set_load_hours(e->load_hours());
  c->set_capacity_hours(e->weekly_capacity_hours());
  c->set_load_ratio(LoadRatio(*e));
  c->set_chosen(true);
  r->set_etag(api::NextEtag(r->etag()));
  TakeLocked(w, *r, *e, std::move(a));
  RETURN_IF_ERROR(DrainQueueLocked(w, req.actor().id()));
  v1::ReviewRequest result = *ReviewLocked(w, req.review_id());
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<v1::ReviewRequest> Reviews::RecordVerdict(const v1::RecordVerdictRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("review_id", req.review_id()));
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  if (req.verdict() == v1::VERDICT_UNSPECIFIED || !v1::Verdict_IsValid(req.verdict())) {
    return InvalidField("verdict", "must be APPROVED, REVISE or REJECTED");
  }
  RETURN_IF_ERROR(api::CheckText("judgement", req.judgement(), kMaxLongText));
  RETURN_IF_ERROR(api::CheckRequired("judgement", req.judgement()));
  RETURN_IF_ERROR(api::CheckText("solution_summary", req.solution_summary()));
  double effort = req.estimated_effort_hours();
  if (!std::isfinite(effort) || effort < 0 || effort > kMaxEffortHours) {
    return InvalidField("estimated_effort_hours", "must be between 0 and 1000000");
  }
  RETURN_IF_ERROR(api::CheckCount("risks", req.risks_size(), kMaxRisks));
  for (int i = 0; i < req.risks_size(); ++i) {
    RETURN_IF_ERROR(api::CheckText(absl::StrCat("risks[", i, "]"), req.risks(i), kMaxReasonLength));
  }
  std::lock_guard lock(mu_);
  api::Replay<v1::ReviewRequest> replay(*store_, "RecordVerdict", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ReviewRequest> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  events::Transaction txn;
  Work w(txn);
  ASSIGN_OR_RETURN(v1::ReviewRequest * r,
                   OwnedOpenLocked(w, req.review_id(), req.etag(), req.actor()));
  if (r->state() == v1::REVIEW_STATE_ASSIGNED) {
    return absl::FailedPreconditionError(
        absl::StrCat("review ", req.review_id(), " must be accepted before a verdict"));
  }
  bool sign_off = r->kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF;
  if (sign_off && req.verdict() == v1::VERDICT_REVISE) {
    return InvalidField("verdict", "a sign-off is APPROVED (signed) or REJECTED");
  }
  absl::Time now = options_.clock();
  ReleaseLocked(w, *r);
  v1::VerdictRecord* v = r->mutable_verdict();
  v->set_verdict(req.verdict());
  v->set_judgement(req.judgement());
  v->set_solution_summary(req.solution_summary());
  v->set_estimated_effort_hours(effort);
  *v->mutable_risks() = req.risks();
  v->set_expert_id(req.actor().id());
  *v->mutable_decide_time() = ToProto(now);
  r->set_state(v1::REVIEW_STATE_DECIDED);
  r->set_etag(api::NextEtag(r->etag()));
  *r->mutable_update_time() = ToProto(now);
  AddAudit(r->mutable_history(), now, req.actor().id(), "verdict", v1::Verdict_Name(req.verdict()));
  r->clear_next_escalation_time();
  if (!sign_off && r->publish_solution() && req.verdict() == v1::VERDICT_APPROVED &&
      !api::IsBlank(req.solution_summary())) {
    ASSIGN_OR_RETURN(std::string solution, PublishFromVerdictLocked(txn, *r, req.actor().id()));
    r->set_solution_id(solution);
    AddAudit(r->mutable_history(), now, req.actor().id(), "solution_published", solution);
  }
  if (sign_off) {
    v1::SignOffCompleted ev;
    ev.set_review_id(r->review_id());
    ev.set_project_id(r->project_id());
    ev.set_phase_id(r->phase_id());
    ev.set_expert_id(req.actor().id());
    ev.set_verdict(req.verdict());
    ev.set_comment(req.judgement());
    *ev.mutable_sign_off_time() = ToProto(now);
    txn.Emit(rc::SignOffCompleted::kTopic, r->review_id(), rc::SignOffCompleted::kType, ev);
  } else {
    v1::ReviewVerdictRecorded ev;
    ev.set_review_id(r->review_id());
    ev.set_opportunity_id(r->opportunity_id());
    ev.set_gate_id(r->gate_id());
    ev.set_domain(r->domain());
    ev.set_expert_id(req.actor().id());
    ev.set_verdict(req.verdict());
    ev.set_solution_summary(req.solution_summary());
    ev.set_estimated_effort_hours(effort);
    *ev.mutable_risks() = req.risks();
    *ev.mutable_decide_time() = ToProto(now);
    txn.Emit(rc::ReviewVerdictRecorded::kTopic, r->review_id(), rc::ReviewVerdictRecorded::kType,
             ev);
  }
  RETURN_IF_ERROR(DrainQueueLocked(w, req.actor().id()));
  v1::ReviewRequest result = *ReviewLocked(w, req.review_id());
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

}  // namespace triad::review
