// Implements the expert RPCs of the Reviews domain (create, get, list, update, activate) and
// the leave scan: every change that frees capacity serves the queue, and every change that
// makes an expert unfit for their open work re-assigns it.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

using api::InvalidField;
using util::FromProto;
using util::ToProto;

namespace {

// ValidateExpertFields checks the writable fields of an expert.
absl::Status ValidateExpertFields(const v1::Expert& e) {
  RETURN_IF_ERROR(api::CheckUtf8(e, "expert"));
  RETURN_IF_ERROR(api::CheckRequired("expert.display_name", e.display_name()));
  RETURN_IF_ERROR(api::CheckText("expert.display_name", e.display_name(), kMaxNameLength));
  RETURN_IF_ERROR(api::CheckCount("expert.domains", e.domains_size(), kMaxDomains));
  std::set<std::string> seen;
  for (int i = 0; i < e.domains_size(); ++i) {
    std::string path = absl::StrCat("expert.domains[", i, "]");
    const v1::DomainSkill& d = e.domains(i);
    RETURN_IF_ERROR(api::CheckId(path + ".domain", d.domain()));
    RETURN_IF_ERROR(api::CheckLength(path + ".domain", d.domain(), kMaxDomainLength));
    if (!seen.insert(d.domain()).second) return InvalidField(path + ".domain", "listed twice");
    if (d.level() <= v1::PROFICIENCY_UNSPECIFIED || !v1::Proficiency_IsValid(d.level())) {
      return InvalidField(path + ".level", "must be a proficiency level");
    }
  }
  double cap = e.weekly_capacity_hours();
  if (!std::isfinite(cap) || cap <= 0 || cap > kMaxCapacityHours) {
    return InvalidField("expert.weekly_capacity_hours", "must be > 0 and <= 168");
  }
  RETURN_IF_ERROR(
      api::CheckCount("expert.leave_windows", e.leave_windows_size(), kMaxLeaveWindows));
  for (int i = 0; i < e.leave_windows_size(); ++i) {
    std::string path = absl::StrCat("expert.leave_windows[", i, "]");
    const v1::LeaveWindow& l = e.leave_windows(i);
    RETURN_IF_ERROR(api::CheckTimestamp(path + ".start_time", l.start_time()));
    RETURN_IF_ERROR(api::CheckTimestamp(path + ".end_time", l.end_time()));
    if (FromProto(l.end_time()) <= FromProto(l.start_time())) {
      return InvalidField(path + ".end_time", "must be after start_time");
    }
    RETURN_IF_ERROR(api::CheckText(path + ".reason", l.reason(), kMaxReasonLength));
  }
  RETURN_IF_ERROR(api::CheckCount("expert.conflicts", e.conflicts_size(), kMaxConflicts));
  for (int i = 0; i < e.conflicts_size(); ++i) {
    std::string path = absl::StrCat("expert.conflicts[", i, "]");
    RETURN_IF_ERROR(api::CheckId(path + ".client_id", e.conflicts(i).client_id()));
    RETURN_IF_ERROR(api::CheckText(path + ".reason", e.conflicts(i).reason(), kMaxReasonLength));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Expert> Reviews::CreateExpert(const v1::CreateExpertRequest& req) {
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(ValidateExpertFields(req.expert()));
  RETURN_IF_ERROR(api::CheckOptionalId("expert.expert_id", req.expert().expert_id()));
  std::lock_guard lock(mu_);
  api::Replay<v1::Expert> replay(*store_, "CreateExpert", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Expert> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  v1::Expert e = req.expert();
  if (e.expert_id().empty()) e.set_expert_id(util::NewId("exp"));
  RETURN_IF_ERROR(CheckPersonActiveLocked("expert.expert_id", e.expert_id()));
  if (experts_.count(e.expert_id()) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("expert ", e.expert_id(), " already exists"));
  }
  absl::Time now = options_.clock();
  e.set_load_hours(0);
  e.set_open_reviews(0);
  e.set_active(true);
  e.clear_history();
  *e.mutable_create_time() = ToProto(now);
  *e.mutable_update_time() = ToProto(now);
  e.set_etag("1");
  AddAudit(e.mutable_history(), now, req.actor().id(), "created", req.actor().reason());
  events::Transaction txn;
  Work w(txn);
  w.experts[e.expert_id()] = e;
  RETURN_IF_ERROR(DrainQueueLocked(w, req.actor().id()));
  v1::Expert result = *ExpertLocked(w, e.expert_id());
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<v1::Expert> Reviews::GetExpert(const v1::GetExpertRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("expert_id", req.expert_id()));
  std::shared_lock lock(mu_);
  auto it = experts_.find(req.expert_id());
  if (it == experts_.end()) return absl::NotFoundError(absl::StrCat("expert ", req.expert_id()));
  return it->second;
}

absl::StatusOr<v1::ListExpertsResponse> Reviews::ListExperts(
    const v1::ListExpertsRequest& req) const {
  RETURN_IF_ERROR(api::CheckText("domain", req.domain(), kMaxDomainLength));
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(),
                                                       api::FilterFingerprint({req.domain()})));
  std::shared_lock lock(mu_);
  v1::ListExpertsResponse resp;
  for (auto it = experts_.upper_bound(pager.after_key()); it != experts_.end(); ++it) {
    if (!req.domain().empty() &&
        ProficiencyIn(it->second, req.domain()) == v1::PROFICIENCY_UNSPECIFIED) {
      continue;
    }
    if (!pager.Accept(it->first)) break;
    *resp.add_experts() = it->second;
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::Expert> Reviews::UpdateExpert(const v1::UpdateExpertRequest& req) {
  static constexpr std::string_view kAllowed[] = {
      "display_name", "domains", "weekly_capacity_hours", "leave_windows", "conflicts"};
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(api::CheckId("expert.expert_id", req.expert().expert_id()));
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kAllowed));
  std::lock_guard lock(mu_);
  api::Replay<v1::Expert> replay(*store_, "UpdateExpert", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Expert> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  events::Transaction txn;
  Work w(txn);
  v1::Expert* e = MutableExpertLocked(w, req.expert().expert_id());
  if (e == nullptr) {
    return absl::NotFoundError(absl::StrCat("expert ", req.expert().expert_id()));
  }
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(e->etag()), api::GivenEtag(req.etag()), "expert",
                                 api::EtagPolicy::kRequired));
  v1::Expert updated = *e;
  RETURN_IF_ERROR(api::ApplyUpdateMask(req.update_mask(), kAllowed, req.expert(), updated));
  RETURN_IF_ERROR(ValidateExpertFields(updated));
  absl::Time now = options_.clock();
  *e = updated;
  e->set_etag(api::NextEtag(e->etag()));
  *e->mutable_update_time() = ToProto(now);
  AddAudit(e->mutable_history(), now, req.actor().id(), "updated",
           absl::StrCat(absl::StrJoin(req.update_mask().paths(), ","), ": ", req.actor().reason()));
  // Open work that no longer fits this expert moves (capacity, leave, conflicts, domains).
  std::string expert_id = e->expert_id();
  for (const std::string& id : OpenOfExpertLocked(w, expert_id)) {
    const v1::ReviewRequest* r = ReviewLocked(w, id);
    const v1::Expert* cur = ExpertLocked(w, expert_id);
    PolicyRequest p = PolicyRequestOf(*r, now);
    v1::Expert without = *cur;  // the check must not count the request itself
    without.set_load_hours(without.load_hours() - r->estimated_hours());
    bool skilled = ProficiencyIn(without, r->domain()) != v1::PROFICIENCY_UNSPECIFIED;
    for (const std::string& d : r->acceptable_domains()) {
      skilled = skilled || ProficiencyIn(without, d) != v1::PROFICIENCY_UNSPECIFIED;
    }
    bool fits = skilled && PassOverReason(without, p).empty();
    if (!fits) {
      RETURN_IF_ERROR(
          AssignLocked(w, id, req.actor().id(), "expert changed", expert_id, true).status());
    }
  }
  RETURN_IF_ERROR(DrainQueueLocked(w, req.actor().id()));
  v1::Expert result = *ExpertLocked(w, expert_id);
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<v1::Expert> Reviews::SetExpertActive(const v1::SetExpertActiveRequest& req) {
  RETURN_IF_ERROR(api::CheckId("expert_id", req.expert_id()));
  RETURN_IF_ERROR(CheckActor(req.actor(), true));
  std::lock_guard lock(mu_);
  api::Replay<v1::Expert> replay(*store_, "SetExpertActive", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Expert> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  events::Transaction txn;
  Work w(txn);
  v1::Expert* e = MutableExpertLocked(w, req.expert_id());
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("expert ", req.expert_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(e->etag()), api::GivenEtag(req.etag()), "expert"));
  if (req.active()) RETURN_IF_ERROR(CheckPersonActiveLocked("expert_id", req.expert_id()));
  absl::Time now = options_.clock();
  e->set_active(req.active());
  e->set_etag(api::NextEtag(e->etag()));
  *e->mutable_update_time() = ToProto(now);
  AddAudit(e->mutable_history(), now, req.actor().id(), req.active() ? "activated" : "deactivated",
           req.actor().reason());
  if (!req.active()) {
    RETURN_IF_ERROR(
        RelieveLocked(w, req.expert_id(), req.actor().id(), "expert deactivated").status());
  }
  RETURN_IF_ERROR(DrainQueueLocked(w, req.actor().id()));
  v1::Expert result = *ExpertLocked(w, req.expert_id());
  RETURN_IF_ERROR(replay.Record(txn.batch(), result));
  RETURN_IF_ERROR(CommitLocked(w));
  return result;
}

absl::StatusOr<int> Reviews::ScanLeave() {
  std::lock_guard lock(mu_);
  events::Transaction txn;
  Work w(txn);
  absl::Time now = options_.clock();
  int moved = 0;
  for (const auto& [id, open] : open_by_expert_) {
    if (open.empty()) continue;
    const v1::Expert* e = ExpertLocked(w, id);
    if (e == nullptr || !OnLeave(*e, now, now)) continue;
    ASSIGN_OR_RETURN(int n, RelieveLocked(w, id, "svc:review", "expert on leave"));
    moved += n;
  }
  RETURN_IF_ERROR(DrainQueueLocked(w, "svc:review"));
  if (w.experts.empty() && w.reviews.empty()) return moved;
  RETURN_IF_ERROR(CommitLocked(w));
  return moved;
}

}  // namespace triad::review
