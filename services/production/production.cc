// Implements Production's lifecycle (create, load, seed templates), the unit of work, and the
// reschedule that follows every change: building the scheduler's problem from the projects,
// writing back the plans that changed, the explanation of what moved, and the scheduled /
// rescheduled / at-risk / back-on-track events.
#include "services/production/production.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/etag.h"
#include "common/contracts/production.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production_internal.h"

namespace triad::production {

namespace c = contracts::production;

std::vector<std::string> Production::Topics() {
  return {std::string(c::FeasibilityTopic::kName), std::string(c::ProjectTopic::kName),
          std::string(c::PersonTopic::kName)};
}

Production::Production(storage::Store* store, events::Outbox* outbox, ProductionOptions options)
    : store_(store),
      outbox_(outbox),
      options_(std::move(options)),
      repo_(NewRocksRepository(store)) {}

absl::StatusOr<std::unique_ptr<Production>> Production::Create(storage::Store* store,
                                                               events::Outbox* outbox,
                                                               ProductionOptions options) {
  std::unique_ptr<Production> p(new Production(store, outbox, std::move(options)));
  RETURN_IF_ERROR(p->Init());
  return p;
}

sched::Day Production::Today() const {
  return static_cast<sched::Day>(
      std::floor(absl::ToDoubleSeconds(Now() - absl::UnixEpoch()) / 86400.0));
}

absl::Status Production::LoadActiveProjectsLocked() {
  // Through the active-project index; a store without it (no marker) is scanned once and
  // gets the index.
  absl::StatusOr<std::string> marker = repo_->GetRaw(Kind::kIndex, ActiveIndexedKey());
  if (!marker.ok() && !absl::IsNotFound(marker.status())) return marker.status();
  absl::Status bad;
  if (marker.ok()) {
    const std::string prefix = ActiveKey("");
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->Scan(
        Kind::kIndex,
        [&](std::string_view key, std::string_view) {
          if (key.substr(0, prefix.size()) != prefix) return false;
          ids.emplace_back(key.substr(prefix.size()));
          return true;
        },
        std::string_view(prefix).substr(0, prefix.size() - 1)));
    for (const std::string& id : ids) {
      absl::StatusOr<std::string> raw = repo_->GetRaw(Kind::kProject, id);
      if (absl::IsNotFound(raw.status())) {
        return absl::DataLossError(absl::StrCat("active index lists a missing project ", id));
      }
      RETURN_IF_ERROR(raw.status());
      v1::Project p;
      if (!p.ParseFromString(*raw)) return absl::DataLossError("corrupt project record");
      if (p.state() != v1::PROJECT_STATE_ACTIVE) continue;
      const std::string project_id = p.project_id();  // before p is moved
      PutActiveLocked(project_id, std::move(p));
    }
    return absl::OkStatus();
  }
  rocksdb::WriteBatch backfill;
  RETURN_IF_ERROR(repo_->Scan(Kind::kProject, [&](std::string_view, std::string_view v) {
    v1::Project p;
    if (!p.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("corrupt project record");
      return false;
    }
    if (p.state() == v1::PROJECT_STATE_ACTIVE) {
      repo_->PutRaw(backfill, Kind::kIndex, ActiveKey(p.project_id()), "");
      const std::string id = p.project_id();  // before p is moved
      PutActiveLocked(id, std::move(p));
    }
    return true;
  }));
  RETURN_IF_ERROR(bad);
  repo_->PutRaw(backfill, Kind::kIndex, ActiveIndexedKey(), "");
  return store_->Write(backfill);
}

absl::Status Production::Init() {
  std::lock_guard lock(mu_);
  absl::Status bad;
  RETURN_IF_ERROR(repo_->Scan(Kind::kResource, [&](std::string_view, std::string_view v) {
    v1::Resource r;
    if (!r.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("corrupt resource record");
      return false;
    }
    resources_[r.resource_id()] = std::move(r);
    return true;
  }));
  RETURN_IF_ERROR(repo_->Scan(Kind::kTemplate, [&](std::string_view, std::string_view v) {
    v1::PhaseTemplateSet t;
    if (!t.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("corrupt template record");
      return false;
    }
    templates_[t.product_line()][t.version()] = std::move(t);
    return true;
  }));
  RETURN_IF_ERROR(bad);
  RETURN_IF_ERROR(LoadActiveProjectsLocked());
  // Seed version 1 of the default templates.
  events::Transaction txn;
  bool seeded = false;
  for (v1::PhaseTemplateSet& t : DefaultTemplates()) {
    if (templates_.count(t.product_line())) continue;
    *t.mutable_create_time() = util::ToProto(Now());
    t.mutable_created_by()->set_id("svc:production");
    t.mutable_created_by()->set_reason("default template");
    repo_->PutProto(txn.batch(), Kind::kTemplate, TemplateKey(t.product_line(), t.version()), t);
    templates_[t.product_line()][t.version()] = t;
    seeded = true;
  }
  if (seeded) RETURN_IF_ERROR(store_->Write(txn.batch()));
  // The schedule is recomputed from the stored plans (time has passed: phases not started
  // whose days are gone move on, risk states follow) and the result is stored with its events,
  // so that what GetProject reads agrees with the in-memory schedule feasibility reads.
  Work work;
  common::v1::Actor system;
  system.set_id("svc:production");
  system.set_reason("service start");
  RescheduleLocked(work, "service start", system);
  return CommitLocked(work);
}

const v1::Resource* Production::FindResource(const Work* work, const std::string& id) const {
  if (work != nullptr) {
    auto it = work->resources.find(id);
    if (it != work->resources.end()) return &it->second;
  }
  auto it = resources_.find(id);
  return it == resources_.end() ? nullptr : &it->second;
}

void Production::PutActiveLocked(const std::string& id, v1::Project project) {
  open_phases_ += OpenPhases(project);
  auto [it, added] = projects_.try_emplace(id);
  if (!added) open_phases_ -= OpenPhases(it->second);
  it->second = std::move(project);
}

void Production::EraseActiveLocked(const std::string& id) {
  auto it = projects_.find(id);
  if (it == projects_.end()) return;
  open_phases_ -= OpenPhases(it->second);
  projects_.erase(it);
}

const v1::Project* Production::FindProject(const Work* work, const std::string& id) const {
  if (work != nullptr) {
    if (std::count(work->removed_projects.begin(), work->removed_projects.end(), id)) {
      return nullptr;
    }
    auto it = work->projects.find(id);
    if (it != work->projects.end()) return &it->second;
  }
  auto it = projects_.find(id);
  return it == projects_.end() ? nullptr : &it->second;
}

void Production::Stage(Work& work) {
  for (const auto& [id, r] : work.resources)
    repo_->PutProto(work.txn.batch(), Kind::kResource, id, r);
  for (const auto& [id, p] : work.projects) PutProject(*repo_, work.txn.batch(), p);
  for (const std::string& id : work.removed_projects) {
    DeleteProject(*repo_, work.txn.batch(), id);
  }
  for (const auto& [opp, id] : work.opportunity_index) {
    repo_->PutRaw(work.txn.batch(), Kind::kIndex, OpportunityKey(opp), id);
  }
  // The in-memory state follows the commit (moved out of the work, which the hook outlives).
  auto resources = std::make_shared<std::map<std::string, v1::Resource>>(std::move(work.resources));
  auto projects = std::make_shared<std::map<std::string, v1::Project>>(std::move(work.projects));
  auto removed = std::make_shared<std::vector<std::string>>(std::move(work.removed_projects));
  std::shared_ptr<sched::Scheduler> scheduler(std::move(work.scheduler));
  auto placed = std::make_shared<std::optional<sched::ProjectOut>>(std::move(work.placed));
  const bool stable = work.plan_stable;
  const bool kept = work.plans_kept;
  const bool reproduces = work.plan_reproduces;
  auto freed = std::make_shared<std::vector<std::pair<std::string, sched::Allocation>>>(
      std::move(work.freed));
  const bool changed = !resources->empty() || !projects->empty() || !removed->empty();
  work.placed.reset();
  work.opportunity_index.clear();
  work.txn.AfterCommit([this, resources, projects, removed, scheduler, placed, stable, kept,
                        reproduces, freed, changed] {
    ++generation_;
    for (auto& [id, r] : *resources) resources_[id] = std::move(r);
    for (auto& [id, p] : *projects) {
      if (p.state() == v1::PROJECT_STATE_ACTIVE) {
        PutActiveLocked(id, std::move(p));
      } else {
        EraseActiveLocked(id);  // completed: read from the repository from now on
      }
    }
    for (const std::string& id : *removed) EraseActiveLocked(id);
    if (scheduler != nullptr) {
      scheduler_ = std::make_unique<sched::Scheduler>(std::move(*scheduler));
      plan_stable_ = stable;
      plan_reproduces_ = reproduces;
    } else if (placed->has_value() && scheduler_ != nullptr && plan_stable_ && stable) {
      scheduler_->Commit(**placed);  // the grid now holds the new project too
      plan_reproduces_ = false;      // the problem has a new project
      ++incremental_placements_;
    } else if (kept && scheduler_ != nullptr && (plan_stable_ || plan_reproduces_)) {
      // The plans stay as they are; a completed phase's bookings leave the grid.
      for (const auto& [resource, allocation] : *freed) scheduler_->Free(resource, allocation);
      ++progress_without_reschedule_;
    } else if (changed) {
      plan_stable_ = false;  // changed without a reschedule: the next one is a full one
      plan_reproduces_ = false;
    }
  });
}

absl::Status Production::CommitLocked(Work& work) {
  Stage(work);
  return outbox_->Commit(work.txn);
}

sched::ResourceIn ToSchedulerResource(const v1::Resource& r) {
  sched::ResourceIn in;
  in.id = r.resource_id();
  in.skills.assign(r.skills().begin(), r.skills().end());
  in.weekly_hours = r.weekly_capacity_hours();
  in.active = r.state() == v1::RESOURCE_STATE_ACTIVE;
  for (const std::string& d : r.calendar().non_working_dates()) {
    if (auto day = sched::ParseDay(d)) in.off_days.push_back(*day);
  }
  for (const v1::LeaveRange& l : r.calendar().leave()) {
    auto a = sched::ParseDay(l.start_date());
    auto b = sched::ParseDay(l.end_date());
    if (!a || !b) continue;
    for (sched::Day d = *a; d <= *b && d - *a < 3660; ++d) in.off_days.push_back(d);
  }
  return in;
}

namespace {

// PhaseRef maps a scheduler phase back to its project's phase.
struct ProjectRef {
  std::string id;
  std::vector<int> phase_index;
};

std::string Explain(const sched::PhaseOut& out, const sched::PhaseIn& in,
                    const std::map<std::string, bool>& active) {
  auto it = active.find(in.previous_resource);
  if (!in.previous_resource.empty() && (it == active.end() || !it->second)) {
    return absl::StrCat("resource ", in.previous_resource, " is no longer available");
  }
  int shift = out.start - in.previous_start;
  if (!out.displaced_by_project.empty()) {
    return absl::StrCat("capacity of ", in.previous_resource, " on ",
                        sched::FormatDay(in.previous_start), " now goes to project ",
                        out.displaced_by_project, " phase ", out.displaced_by_phase,
                        " (higher priority by due date and value)");
  }
  if (shift > 0) return "its predecessor ends later or its resource has less free capacity";
  if (shift < 0) return "capacity was freed earlier";
  return absl::StrCat("moved from ", in.previous_resource, " to ", out.resource,
                      " (the same dates)");
}

}  // namespace

bool Production::SaveOutcomeLocked(Work& work, const std::string& id,
                                   const std::vector<int>& phase_index, const sched::ProjectIn& in,
                                   const sched::ProjectOut& out,
                                   const std::map<std::string, bool>& active, absl::Time now,
                                   std::string_view reason, const common::v1::Actor& actor,
                                   v1::ScheduleReport& report) {
  // Most projects keep their plan in a reschedule: those are recognised without a copy (the
  // same outcome as the comparison below: no move, same plan, same risk).
  const v1::Project& current = *FindProject(&work, id);
  const bool none_moved = std::none_of(out.phases.begin(), out.phases.end(),
                                       [](const sched::PhaseOut& po) { return po.moved; });
  if (none_moved && current.scheduled() && current.at_risk() == out.late &&
      PlanUnchanged(current, phase_index, out) &&
      current.risk_reason() == (out.late ? RiskReason(current, out) : "")) {
    report.set_phases_scheduled(report.phases_scheduled() + static_cast<int>(phase_index.size()));
    return false;
  }
  v1::Project next = current;
  const v1::Project before = next;
  std::vector<std::string> explanations;
  for (size_t k = 0; k < phase_index.size(); ++k) {
    v1::Phase& ph = *next.mutable_phases(phase_index[k]);
    const sched::PhaseOut& po = out.phases[k];
    ApplyPlan(po, ph);
    report.set_phases_scheduled(report.phases_scheduled() + 1);
    if (po.moved) {
      std::string why = Explain(po, in.phases[k], active);
      explanations.push_back(absl::StrCat(ph.name(), ": ", why));
      if (report.moves_size() < kMaxReportedMoves) {
        v1::PhaseMove* m = report.add_moves();
        m->set_project_id(next.project_id());
        m->set_phase_id(ph.phase_id());
        m->set_previous_start_date(sched::FormatDay(in.phases[k].previous_start));
        m->set_planned_start_date(ph.planned_start_date());
        m->set_shift_days(po.start - in.phases[k].previous_start);
        m->set_previous_resource_id(in.phases[k].previous_resource);
        m->set_resource_id(ph.resource_id());
        m->set_explanation(why);
      }
    }
  }
  next.set_planned_end_date(out.end >= 0 ? sched::FormatDay(out.end) : "");
  const bool was_at_risk = next.at_risk();
  next.set_at_risk(out.late);
  next.set_risk_reason(out.late ? RiskReason(next, out) : "");
  if (out.late && !next.tentative() && report.projects_at_risk_size() < kMaxReportedMoves) {
    report.add_projects_at_risk(next.project_id());
  }
  // A plan on the same days and resources is no news for the events, but hours spread
  // differently are stored: the next reschedule keeps, and the utilisation view shows, what
  // the grid holds.
  const bool plan_changed = !SamePlan(before, next);
  if (!plan_changed && SameAllocations(before, next) && next.scheduled() &&
      was_at_risk == next.at_risk() && before.risk_reason() == next.risk_reason()) {
    return false;
  }
  const bool first = !next.scheduled();
  next.set_scheduled(true);
  next.set_etag(api::NextEtag(next.etag()));
  *next.mutable_update_time() = util::ToProto(now);
  *next.mutable_updated_by() = actor;
  if (!next.tentative()) {
    if (first) {
      v1::ProjectScheduled ev;
      ev.set_project_id(next.project_id());
      FillPlans(next, ev.mutable_phases());
      if (out.end >= 0) *ev.mutable_planned_end_time() = DayTime(out.end);
      *ev.mutable_due_time() = DayTime(*sched::ParseDay(next.due_date()));
      *ev.mutable_schedule_time() = util::ToProto(now);
      work.txn.Emit(c::ProjectScheduled::kTopic, next.project_id(), c::ProjectScheduled::kType, ev);
    } else if (plan_changed) {
      v1::ProjectRescheduled ev;
      ev.set_project_id(next.project_id());
      FillPlans(next, ev.mutable_phases());
      if (auto d = sched::ParseDay(before.planned_end_date())) {
        *ev.mutable_previous_planned_end_time() = DayTime(*d);
      }
      if (out.end >= 0) *ev.mutable_planned_end_time() = DayTime(out.end);
      std::string why = absl::StrCat(std::string(reason), explanations.empty() ? "" : ": ",
                                     absl::StrJoin(explanations, "; "));
      ev.set_reason(why.substr(0, 2000));
      *ev.mutable_reschedule_time() = util::ToProto(now);
      work.txn.Emit(c::ProjectRescheduled::kTopic, next.project_id(), c::ProjectRescheduled::kType,
                    ev);
    }
    if (next.at_risk() && !was_at_risk) {
      v1::ProjectAtRisk ev;
      ev.set_project_id(next.project_id());
      if (out.end >= 0) *ev.mutable_planned_end_time() = DayTime(out.end);
      *ev.mutable_due_time() = DayTime(*sched::ParseDay(next.due_date()));
      ev.set_reason(next.risk_reason());
      ev.set_bottleneck_resource(out.bottleneck_resource.empty() ? out.bottleneck_skill
                                                                 : out.bottleneck_resource);
      *ev.mutable_detect_time() = util::ToProto(now);
      work.txn.Emit(c::ProjectAtRisk::kTopic, next.project_id(), c::ProjectAtRisk::kType, ev);
    } else if (!next.at_risk() && was_at_risk) {
      v1::ProjectBackOnTrack ev;
      ev.set_project_id(next.project_id());
      *ev.mutable_planned_end_time() = DayTime(out.end);
      *ev.mutable_due_time() = DayTime(*sched::ParseDay(next.due_date()));
      *ev.mutable_recover_time() = util::ToProto(now);
      work.txn.Emit(c::ProjectBackOnTrack::kTopic, next.project_id(), c::ProjectBackOnTrack::kType,
                    ev);
    }
  }
  work.projects[next.project_id()] = std::move(next);
  return true;
}

v1::ScheduleReport Production::RescheduleLocked(Work& work, std::string_view reason,
                                                const common::v1::Actor& actor) {
  const absl::Time now = Now();
  const sched::Day today = Today();
  sched::Problem problem;
  problem.today = today;
  problem.horizon_days = options_.horizon_days;
  std::map<std::string, bool> active;
  std::map<std::string, v1::Resource> all_resources = resources_;
  for (const auto& [id, r] : work.resources) all_resources[id] = r;
  for (const auto& [id, r] : all_resources) {
    problem.resources.push_back(ToSchedulerResource(r));
    active[id] = r.state() == v1::RESOURCE_STATE_ACTIVE;
  }
  std::vector<std::string> ids;
  for (const auto& [id, p] : projects_) ids.push_back(id);
  for (const auto& [id, p] : work.projects) {
    if (!projects_.count(id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  std::vector<ProjectRef> refs;
  for (const std::string& id : ids) {
    const v1::Project* p = FindProject(&work, id);
    if (p == nullptr || p->state() != v1::PROJECT_STATE_ACTIVE) continue;
    ProjectRef ref;
    ref.id = id;
    problem.projects.push_back(ToSchedulerProject(*p, today));
    for (int k = 0; k < p->phases_size(); ++k) {
      if (p->phases(k).state() != v1::PHASE_STATE_COMPLETED) ref.phase_index.push_back(k);
    }
    refs.push_back(std::move(ref));
  }
  work.scheduler = std::make_unique<sched::Scheduler>();
  sched::Result result = work.scheduler->Run(problem);

  v1::ScheduleReport report;
  report.set_reason(std::string(reason));
  report.set_phases_moved(result.phases_moved);
  report.set_total_shift_days(result.total_shift_days);
  *report.mutable_schedule_time() = util::ToProto(now);
  bool any_changed = false;
  for (size_t i = 0; i < refs.size(); ++i) {
    any_changed |= SaveOutcomeLocked(work, refs[i].id, refs[i].phase_index, problem.projects[i],
                                     result.projects[i], active, now, reason, actor, report);
  }
  work.plan_stable = PlanStable(problem, result, active);
  work.plan_reproduces = !any_changed;
  return report;
}

}  // namespace triad::production
