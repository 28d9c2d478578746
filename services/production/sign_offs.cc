// Implements the sign-off rounds of key milestones: the request of a round (when a key
// milestone completes, and again by RequestSignOff after a rejection), and the outcome of a
// round from review's SignOffCompleted. Every round stays in the phase's `sign_off_rounds`.
#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/production.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {

namespace c = contracts::production;

namespace {

// The most sign-off rounds kept on a phase (the oldest go first).
constexpr int kMaxSignOffRounds = 20;

// Utf8Prefix cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Utf8Prefix(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

void Production::RequestSignOffLocked(Work& work, v1::Project& p, int index,
                                      const common::v1::Actor& actor) {
  const absl::Time now = Now();
  v1::Phase& ph = *p.mutable_phases(index);
  const int round = ph.sign_off_rounds().empty()
                        ? 1
                        : ph.sign_off_rounds(ph.sign_off_rounds_size() - 1).round() + 1;
  ph.set_sign_off(v1::SIGN_OFF_STATE_REQUESTED);
  v1::SignOffRound* r = ph.add_sign_off_rounds();
  r->set_round(round);
  r->set_state(v1::SIGN_OFF_STATE_REQUESTED);
  *r->mutable_request_time() = util::ToProto(now);
  *r->mutable_requested_by() = actor;
  if (ph.sign_off_rounds_size() > kMaxSignOffRounds) {
    ph.mutable_sign_off_rounds()->DeleteSubrange(0, ph.sign_off_rounds_size() - kMaxSignOffRounds);
  }
  v1::SignOffRequested so;
  so.set_project_id(p.project_id());
  so.set_phase_id(ph.phase_id());
  so.set_phase_name(ph.name());
  so.set_domain(ph.sign_off_domain());
  so.set_opportunity_id(p.opportunity_id());
  so.set_client_id(p.client_id());
  sched::Day due = sched::ParseDay(p.due_date()).value_or(Today());
  if (index + 1 < p.phases_size()) {
    due = sched::ParseDay(p.phases(index + 1).planned_start_date()).value_or(due);
  }
  // A re-request is never due in the past.
  *so.mutable_due_time() = DayTime(std::max(due, Today() + 1));
  *so.mutable_request_time() = util::ToProto(now);
  so.set_round(round);
  work.txn.Emit(c::SignOffRequested::kTopic, p.project_id(), c::SignOffRequested::kType, so);
}

bool Production::RecordSignOffOutcome(v1::Phase& ph, const review::v1::SignOffCompleted& done) {
  for (const v1::SignOffRound& r : ph.sign_off_rounds()) {
    // The same review's outcome again (re-emitted with a new event id): already applied.
    if (!done.review_id().empty() && r.review_id() == done.review_id()) return false;
  }
  const v1::SignOffState outcome = done.verdict() == review::v1::VERDICT_APPROVED
                                       ? v1::SIGN_OFF_STATE_APPROVED
                                       : v1::SIGN_OFF_STATE_REJECTED;
  ph.set_sign_off(outcome);
  v1::SignOffRound* r = nullptr;
  if (!ph.sign_off_rounds().empty() &&
      ph.sign_off_rounds(ph.sign_off_rounds_size() - 1).state() == v1::SIGN_OFF_STATE_REQUESTED) {
    r = ph.mutable_sign_off_rounds(ph.sign_off_rounds_size() - 1);
  } else {
    // A phase requested before rounds were recorded (or an outcome without an open round).
    r = ph.add_sign_off_rounds();
    r->set_round(ph.sign_off_rounds_size() == 1
                     ? 1
                     : ph.sign_off_rounds(ph.sign_off_rounds_size() - 2).round() + 1);
  }
  r->set_state(outcome);
  r->set_review_id(done.review_id());
  r->set_expert_id(done.expert_id());
  r->set_comment(Utf8Prefix(done.comment(), api::kMaxTextLength));
  *r->mutable_decide_time() =
      done.has_sign_off_time() ? done.sign_off_time() : util::ToProto(Now());
  if (ph.sign_off_rounds_size() > kMaxSignOffRounds) {
    ph.mutable_sign_off_rounds()->DeleteSubrange(0, ph.sign_off_rounds_size() - kMaxSignOffRounds);
  }
  return true;
}

absl::StatusOr<v1::Project> Production::RequestSignOff(const v1::RequestSignOffRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckRequired("actor.reason", req.actor().reason()));
  RETURN_IF_ERROR(api::CheckId("project_id", req.project_id()));
  RETURN_IF_ERROR(api::CheckId("phase_id", req.phase_id()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Project> replay(*store_, "RequestSignOff", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Project> prior, replay.Prior());
  if (prior) return *prior;
  ASSIGN_OR_RETURN(v1::Project p, LoadProjectForChange(req.project_id(), req.etag()));
  int index = -1;
  for (int k = 0; k < p.phases_size(); ++k) {
    if (p.phases(k).phase_id() == req.phase_id()) index = k;
  }
  if (index < 0) return absl::NotFoundError(absl::StrCat("phase ", req.phase_id(), " not found"));
  const v1::Phase& ph = p.phases(index);
  if (!ph.key_milestone()) {
    return absl::FailedPreconditionError(
        absl::StrCat("phase ", ph.phase_id(), " is not a key milestone"));
  }
  if (ph.sign_off() != v1::SIGN_OFF_STATE_REJECTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("phase ", ph.phase_id(), " sign-off is ", v1::SignOffState_Name(ph.sign_off()),
                     "; only a rejected sign-off is requested again"));
  }
  Work work;
  RequestSignOffLocked(work, p, index, req.actor());
  p.set_etag(api::NextEtag(p.etag()));
  *p.mutable_update_time() = util::ToProto(Now());
  *p.mutable_updated_by() = req.actor();
  work.projects[p.project_id()] = p;
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), p));
  RETURN_IF_ERROR(CommitLocked(work));
  return p;
}

}  // namespace triad::production
