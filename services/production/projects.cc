// Implements Production's project RPCs: create (from the latest template, effort split by the
// phases' shares), get, list, pin, progress (start, advance, complete; sign-off requests and
// project completion), tentative release and an explicit reschedule.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/production.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {

namespace c = contracts::production;

absl::StatusOr<v1::Project> Production::NewProjectLocked(const v1::Project& in,
                                                         const common::v1::Actor& actor) const {
  RETURN_IF_ERROR(api::CheckOptionalId("project.opportunity_id", in.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("project.client_id", in.client_id()));
  RETURN_IF_ERROR(api::CheckId("project.product_line", in.product_line()));
  RETURN_IF_ERROR(api::CheckText("project.title", in.title(), kMaxNameLength));
  RETURN_IF_ERROR(api::CheckMoney("project.value", in.value(), api::MoneyPresence::kOptional));
  RETURN_IF_ERROR(CheckDate("project.due_date", in.due_date()));
  if (!std::isfinite(in.effort_hours()) || in.effort_hours() < 0 ||
      in.effort_hours() > kMaxEffortHours) {
    return api::InvalidField("project.effort_hours", "must be in [0, 1000000] (0: the default)");
  }
  auto t = templates_.find(in.product_line());
  if (t == templates_.end() || t->second.empty()) {
    return api::InvalidField("project.product_line",
                             absl::StrCat("no phase template for ", in.product_line()));
  }
  const v1::PhaseTemplateSet& tpl = t->second.rbegin()->second;
  v1::Project p;
  p.set_opportunity_id(in.opportunity_id());
  p.set_client_id(in.client_id());
  p.set_product_line(in.product_line());
  p.set_template_version(tpl.version());
  p.set_title(in.title());
  *p.mutable_value() = in.value();
  p.set_due_date(in.due_date());
  p.set_effort_hours(in.effort_hours() > 0 ? in.effort_hours() : tpl.default_effort_hours());
  p.set_tentative(in.tentative());
  p.set_state(v1::PROJECT_STATE_ACTIVE);
  for (int k = 0; k < tpl.phases_size(); ++k) {
    const v1::PhaseTemplate& pt = tpl.phases(k);
    v1::Phase* ph = p.add_phases();
    ph->set_phase_id(absl::StrCat("ph", k + 1));
    ph->set_name(pt.name());
    ph->set_required_skill(pt.required_skill());
    ph->set_effort_hours(p.effort_hours() * pt.effort_share());
    ph->set_key_milestone(pt.key_milestone());
    ph->set_sign_off_domain(pt.sign_off_domain());
    ph->set_state(v1::PHASE_STATE_PLANNED);
    ph->set_sign_off(pt.key_milestone() ? v1::SIGN_OFF_STATE_PENDING
                                        : v1::SIGN_OFF_STATE_NOT_REQUIRED);
    for (const v1::PhaseRequirement& req : pt.additional_requirements()) {
      v1::PhaseAssignment* extra = ph->add_additional_assignments();
      extra->set_required_skill(req.skill());
      extra->set_effort_hours(ph->effort_hours() * req.effort_share());
    }
  }
  *p.mutable_updated_by() = actor;
  return p;
}

v1::ScheduleReport Production::AddProjectLocked(Work& work, v1::Project p,
                                                const common::v1::Actor& actor) {
  const absl::Time now = Now();
  p.set_project_id(util::NewId("prj"));
  p.set_etag(api::NextEtag(""));
  *p.mutable_create_time() = util::ToProto(now);
  *p.mutable_update_time() = util::ToProto(now);
  if (!p.opportunity_id().empty()) work.opportunity_index[p.opportunity_id()] = p.project_id();
  if (!p.tentative()) {
    v1::ProjectCreated ev;
    ev.set_project_id(p.project_id());
    ev.set_opportunity_id(p.opportunity_id());
    ev.set_client_id(p.client_id());
    ev.set_product_line(p.product_line());
    ev.set_title(p.title());
    *ev.mutable_due_time() = DayTime(*sched::ParseDay(p.due_date()));
    FillPlans(p, ev.mutable_phases());
    *ev.mutable_create_time() = util::ToProto(now);
    work.txn.Emit(c::ProjectCreated::kTopic, p.project_id(), c::ProjectCreated::kType, ev);
  }
  const std::string id = p.project_id();
  work.projects[id] = std::move(p);
  const std::string reason = absl::StrCat("project ", id, " added");
  if (std::optional<v1::ScheduleReport> report = PlaceAddedLocked(work, id, reason, actor)) {
    return *std::move(report);
  }
  return RescheduleLocked(work, reason, actor);
}

absl::StatusOr<v1::CreateProjectResponse> Production::CreateProject(
    const v1::CreateProjectRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::CreateProjectResponse> replay(*store_, "CreateProject", req.request_id(),
                                                      req);
  ASSIGN_OR_RETURN(std::optional<v1::CreateProjectResponse> prior, replay.Prior());
  if (prior) return *prior;
  ASSIGN_OR_RETURN(v1::Project p, NewProjectLocked(req.project(), req.actor()));
  if (!p.opportunity_id().empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> existing,
                     ProjectOfOpportunityLocked(p.opportunity_id()));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("opportunity ", p.opportunity_id(), " already has project ", *existing));
    }
  }
  Work work;
  v1::CreateProjectResponse resp;
  *resp.mutable_report() = AddProjectLocked(work, std::move(p), req.actor());
  // The project as scheduled (the only project the work adds under a new id).
  for (const auto& [id, proj] : work.projects) {
    if (!projects_.count(id)) *resp.mutable_project() = proj;
  }
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), resp));
  RETURN_IF_ERROR(CommitLocked(work));
  return resp;
}

absl::StatusOr<v1::Project> Production::GetProject(const v1::GetProjectRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("project_id", req.project_id()));
  std::shared_lock lock(mu_);
  return ProjectByIdLocked(req.project_id());
}

absl::StatusOr<v1::Project> Production::ProjectByIdLocked(std::string_view id) const {
  if (auto it = projects_.find(std::string(id)); it != projects_.end()) return it->second;
  absl::StatusOr<std::string> raw = repo_->GetRaw(Kind::kProject, id);
  if (absl::IsNotFound(raw.status())) {
    return absl::NotFoundError(absl::StrCat("project ", std::string(id), " not found"));
  }
  if (!raw.ok()) return raw.status();
  v1::Project p;
  if (!p.ParseFromString(*raw)) return absl::DataLossError("corrupt project record");
  return p;
}

absl::StatusOr<std::optional<std::string>> Production::ProjectOfOpportunityLocked(
    std::string_view opportunity_id) const {
  absl::StatusOr<std::string> id = repo_->GetRaw(Kind::kIndex, OpportunityKey(opportunity_id));
  if (absl::IsNotFound(id.status())) return std::optional<std::string>();
  if (!id.ok()) return id.status();
  return std::optional<std::string>(*std::move(id));
}

absl::StatusOr<v1::ListProjectsResponse> Production::ListProjects(
    const v1::ListProjectsRequest& req) const {
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({req.at_risk_only() ? "risk" : ""})));
  std::shared_lock lock(mu_);
  v1::ListProjectsResponse resp;
  if (req.at_risk_only()) {
    // Only an active project is at risk: the active set in memory holds every one.
    for (auto it = projects_.upper_bound(pager.after_key()); it != projects_.end(); ++it) {
      if (!it->second.at_risk()) continue;
      if (!pager.Accept(it->first)) break;
      *resp.add_projects() = it->second;
    }
  } else {
    absl::Status bad;
    RETURN_IF_ERROR(repo_->Scan(
        Kind::kProject,
        [&](std::string_view key, std::string_view value) {
          if (!pager.Accept(key)) return false;
          if (!resp.add_projects()->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            bad = absl::DataLossError("corrupt project record");
            return false;
          }
          return true;
        },
        pager.after_key()));
    RETURN_IF_ERROR(bad);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::Project> Production::LoadProjectForChange(std::string_view id,
                                                             std::string_view etag) {
  ASSIGN_OR_RETURN(v1::Project p, ProjectByIdLocked(id));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(p.etag()), api::GivenEtag(etag), "project"));
  if (p.state() != v1::PROJECT_STATE_ACTIVE) {
    return absl::FailedPreconditionError(
        absl::StrCat("project ", std::string(id), " is completed"));
  }
  return p;
}

namespace {
v1::Phase* FindPhase(v1::Project& p, std::string_view phase_id) {
  for (v1::Phase& ph : *p.mutable_phases()) {
    if (ph.phase_id() == phase_id) return &ph;
  }
  return nullptr;
}
}  // namespace

absl::StatusOr<v1::Project> Production::PinPhase(const v1::PinPhaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckId("project_id", req.project_id()));
  RETURN_IF_ERROR(api::CheckId("phase_id", req.phase_id()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Project> replay(*store_, "PinPhase", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Project> prior, replay.Prior());
  if (prior) return *prior;
  ASSIGN_OR_RETURN(v1::Project p, LoadProjectForChange(req.project_id(), req.etag()));
  v1::Phase* ph = FindPhase(p, req.phase_id());
  if (ph == nullptr)
    return absl::NotFoundError(absl::StrCat("phase ", req.phase_id(), " not found"));
  if (ph->state() == v1::PHASE_STATE_COMPLETED) {
    return absl::FailedPreconditionError("a completed phase cannot be pinned");
  }
  if (req.pinned() && ph->allocations_size() == 0) {
    return absl::FailedPreconditionError("only a planned phase can be pinned");
  }
  // A pinned phase pins the unfinished phases before it (so that none of them can be pushed
  // past it); unpinning releases it and the phases after it.
  int at = 0;
  while (p.mutable_phases(at) != ph) ++at;
  for (int k = 0; k < p.phases_size(); ++k) {
    v1::Phase& x = *p.mutable_phases(k);
    if (req.pinned() && k <= at && x.state() != v1::PHASE_STATE_COMPLETED &&
        x.allocations_size() > 0) {
      x.set_pinned(true);
    }
    if (!req.pinned() && k >= at) x.set_pinned(false);
  }
  p.set_etag(api::NextEtag(p.etag()));
  *p.mutable_update_time() = util::ToProto(Now());
  *p.mutable_updated_by() = req.actor();
  Work work;
  work.projects[p.project_id()] = p;
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), p));
  RETURN_IF_ERROR(CommitLocked(work));
  return p;
}

absl::StatusOr<v1::ReportPhaseProgressResponse> Production::ReportPhaseProgress(
    const v1::ReportPhaseProgressRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckId("project_id", req.project_id()));
  RETURN_IF_ERROR(api::CheckId("phase_id", req.phase_id()));
  if (!(req.progress_percent() >= 0 && req.progress_percent() <= 100)) {
    return api::InvalidField("progress_percent", "must be in [0, 100]");
  }
  if (!(req.actual_effort_hours() >= 0 && req.actual_effort_hours() <= kMaxEffortHours)) {
    return api::InvalidField("actual_effort_hours", "must be in [0, 1000000]");
  }
  std::lock_guard lock(mu_);
  const api::Replay<v1::ReportPhaseProgressResponse> replay(*store_, "ReportPhaseProgress",
                                                            req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ReportPhaseProgressResponse> prior, replay.Prior());
  if (prior) return *prior;
  ASSIGN_OR_RETURN(v1::Project p, LoadProjectForChange(req.project_id(), req.etag()));
  int index = -1;
  for (int k = 0; k < p.phases_size(); ++k) {
    if (p.phases(k).phase_id() == req.phase_id()) index = k;
  }
  if (index < 0) return absl::NotFoundError(absl::StrCat("phase ", req.phase_id(), " not found"));
  v1::Phase& ph = *p.mutable_phases(index);
  if (ph.state() == v1::PHASE_STATE_COMPLETED) {
    return absl::FailedPreconditionError(absl::StrCat("phase ", ph.phase_id(), " is completed"));
  }
  if (req.progress_percent() < ph.progress_percent()) {
    return api::InvalidField("progress_percent", "progress never goes back");
  }
  const absl::Time now = Now();
  Work work;
  if (ph.state() == v1::PHASE_STATE_PLANNED) {
    if (index > 0) {
      const v1::Phase& before = p.phases(index - 1);
      if (before.state() != v1::PHASE_STATE_COMPLETED) {
        return absl::FailedPreconditionError(
            absl::StrCat("phase ", before.name(), " must be completed first"));
      }
      if (before.key_milestone() && before.sign_off() != v1::SIGN_OFF_STATE_APPROVED) {
        return absl::FailedPreconditionError(
            absl::StrCat("phase ", before.name(), " waits for its expert sign-off"));
      }
    }
    ph.set_state(v1::PHASE_STATE_STARTED);
    *ph.mutable_start_time() = util::ToProto(now);
    v1::PhaseStarted ev;
    ev.set_project_id(p.project_id());
    ev.set_phase_id(ph.phase_id());
    ev.set_name(ph.name());
    *ev.mutable_start_time() = util::ToProto(now);
    work.txn.Emit(c::PhaseStarted::kTopic, p.project_id(), c::PhaseStarted::kType, ev);
  }
  ph.set_progress_percent(req.progress_percent());
  if (req.progress_percent() >= 100) {
    ph.set_state(v1::PHASE_STATE_COMPLETED);
    *ph.mutable_complete_time() = util::ToProto(now);
    ph.set_pinned(false);
    v1::PhaseCompleted ev;
    ev.set_project_id(p.project_id());
    ev.set_phase_id(ph.phase_id());
    ev.set_name(ph.name());
    ev.set_actual_effort_hours(req.actual_effort_hours());
    *ev.mutable_complete_time() = util::ToProto(now);
    work.txn.Emit(c::PhaseCompleted::kTopic, p.project_id(), c::PhaseCompleted::kType, ev);
    if (ph.key_milestone()) RequestSignOffLocked(work, p, index, req.actor());
    const bool all_done = std::all_of(p.phases().begin(), p.phases().end(), [](const v1::Phase& x) {
      return x.state() == v1::PHASE_STATE_COMPLETED;
    });
    if (all_done) {
      p.set_state(v1::PROJECT_STATE_COMPLETED);
      v1::ProjectCompleted done;
      done.set_project_id(p.project_id());
      done.set_opportunity_id(p.opportunity_id());
      done.set_client_id(p.client_id());
      done.set_product_line(p.product_line());
      *done.mutable_complete_time() = util::ToProto(now);
      work.txn.Emit(c::ProjectCompleted::kTopic, p.project_id(), c::ProjectCompleted::kType, done);
    }
  }
  p.set_etag(api::NextEtag(p.etag()));
  *p.mutable_update_time() = util::ToProto(now);
  *p.mutable_updated_by() = req.actor();
  const std::string id = p.project_id();
  work.projects[id] = std::move(p);
  v1::ReportPhaseProgressResponse resp;
  const std::string reason = absl::StrCat("progress on project ", id);
  std::optional<v1::ScheduleReport> kept = KeepPlansLocked(work, id, reason);
  *resp.mutable_report() = kept ? *std::move(kept) : RescheduleLocked(work, reason, req.actor());
  *resp.mutable_project() = work.projects[id];
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), resp));
  RETURN_IF_ERROR(CommitLocked(work));
  return resp;
}

absl::StatusOr<v1::ReleaseTentativeProjectResponse> Production::ReleaseTentativeProject(
    const v1::ReleaseTentativeProjectRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckId("project_id", req.project_id()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::ReleaseTentativeProjectResponse> replay(*store_, "ReleaseTentativeProject",
                                                                req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ReleaseTentativeProjectResponse> prior, replay.Prior());
  if (prior) return *prior;
  ASSIGN_OR_RETURN(v1::Project p, LoadProjectForChange(req.project_id(), req.etag()));
  if (!p.tentative()) {
    return absl::FailedPreconditionError(
        absl::StrCat("project ", p.project_id(), " is not a tentative booking"));
  }
  Work work;
  work.removed_projects.push_back(p.project_id());
  if (!p.opportunity_id().empty()) {
    repo_->Delete(work.txn.batch(), Kind::kIndex, OpportunityKey(p.opportunity_id()));
  }
  v1::ReleaseTentativeProjectResponse resp;
  *resp.mutable_report() = RescheduleLocked(
      work, absl::StrCat("tentative booking ", p.project_id(), " released"), req.actor());
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), resp));
  RETURN_IF_ERROR(CommitLocked(work));
  return resp;
}

absl::StatusOr<v1::ScheduleReport> Production::Reschedule(const v1::RescheduleRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::ScheduleReport> replay(*store_, "Reschedule", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ScheduleReport> prior, replay.Prior());
  if (prior) return *prior;
  Work work;
  v1::ScheduleReport report = RescheduleLocked(work, "reschedule requested", req.actor());
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), report));
  RETURN_IF_ERROR(CommitLocked(work));
  return report;
}

}  // namespace triad::production
