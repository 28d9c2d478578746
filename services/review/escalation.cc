// Implements escalation in the Reviews domain: the escalation step (level, next SLA, the
// ReviewRequestEscalated event) and the periodic scan that escalates again every undecided
// request whose SLA passed, moving a request nobody has started to another expert who fits.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

namespace rc = contracts::review;
using util::FromProto;
using util::ToProto;

namespace {

constexpr char kEscalationActor[] = "svc:review";

}  // namespace

void Reviews::EscalateLocked(Work& w, v1::ReviewRequest& r, const std::string& reason,
                             const std::string& previous, const std::string& taken_by) {
  const absl::Time now = options_.clock();
  r.set_escalation_level(r.escalation_level() + 1);
  *r.mutable_next_escalation_time() = ToProto(now + options_.escalation_sla);
  AddAudit(r.mutable_history(), now, kEscalationActor, "escalated",
           TruncateUtf8(absl::StrCat("level ", r.escalation_level(), ": ", reason), 1000));
  const int length = QueueLengthLocked(w, r.domain());
  v1::ReviewRequestEscalated ev;
  ev.set_review_id(r.review_id());
  ev.set_domain(r.domain());
  ev.set_reason(TruncateUtf8(reason, 2000));
  ev.set_queue_length(length);
  ev.set_level(r.escalation_level());
  ev.set_expert_id(previous);
  ev.set_new_expert_id(taken_by);
  *ev.mutable_escalate_time() = ToProto(now);
  w.txn.Emit(rc::ReviewRequestEscalated::kTopic, r.review_id(), rc::ReviewRequestEscalated::kType,
             ev);
}

absl::StatusOr<int> Reviews::ScanEscalations() {
  std::lock_guard lock(mu_);
  const absl::Time now = options_.clock();
  // The undecided requests: queued or with an expert.
  std::set<std::string> undecided(queue_.begin(), queue_.end());
  for (const auto& [expert, ids] : open_by_expert_) undecided.insert(ids.begin(), ids.end());
  std::vector<std::string> due;
  for (const std::string& id : undecided) {
    auto it = reviews_.find(id);
    if (it == reviews_.end()) continue;
    const v1::ReviewRequest& r = it->second;
    // A request stored before SLAs were kept has none: its due time is its SLA.
    const google::protobuf::Timestamp* sla = r.has_next_escalation_time()
                                                 ? &r.next_escalation_time()
                                                 : (r.has_due_time() ? &r.due_time() : nullptr);
    if (sla != nullptr && FromProto(*sla) <= now) due.push_back(id);
  }
  if (due.empty()) return 0;
  events::Transaction txn;
  Work w(txn);
  for (const std::string& id : due) {
    v1::ReviewRequest* r = MutableReviewLocked(w, id);
    if (r == nullptr || r->state() == v1::REVIEW_STATE_DECIDED) continue;
    const std::string level =
        absl::StrCat("SLA passed undecided (level ", r->escalation_level() + 1, ")");
    const std::string previous = IsOpen(*r) ? r->expert_id() : "";
    std::string taken_by;
    if (r->state() == v1::REVIEW_STATE_QUEUED) {
      // Capacity may have freed since it queued: the policy tries again.
      ASSIGN_OR_RETURN(bool taken, AssignLocked(w, id, kEscalationActor, level, "", false));
      r = MutableReviewLocked(w, id);
      if (taken) taken_by = r->expert_id();
    } else if (r->state() == v1::REVIEW_STATE_ASSIGNED || r->state() == v1::REVIEW_STATE_ACCEPTED) {
      // Not started: another expert who fits takes it; when nobody does it stays.
      PolicyRequest p = PolicyRequestOf(*r, now);
      p.excluded.insert(previous);
      if (!Decide(p, CandidatesLocked(w, p)).expert_id().empty()) {
        ASSIGN_OR_RETURN(bool taken, AssignLocked(w, id, kEscalationActor, level, previous, false));
        r = MutableReviewLocked(w, id);
        if (taken) taken_by = r->expert_id();
      }
    }
    // IN_REVIEW: the expert is working on it; the escalation is reported, the work stays.
    r->set_etag(api::NextEtag(r->etag()));
    *r->mutable_update_time() = ToProto(now);
    EscalateLocked(w, *r, level, previous, taken_by);
  }
  RETURN_IF_ERROR(CommitLocked(w));
  return static_cast<int>(due.size());
}

}  // namespace triad::review
