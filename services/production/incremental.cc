// Implements the incremental paths past the full reschedule. When the committed plans are a
// fixed point of the full reschedule (PlanStable):
// - a new firm project that is on time on the capacity they leave gets exactly that placement
//   from the full reschedule too (the kept schedule keeps every plan and dispatches only it;
//   with no late firm project re-dispatching cannot win), so it is placed alone on the kept
//   grid instead of rescheduling every project (PlaceAddedLocked);
// - a change that leaves the scheduler's input as it was (progress on a started phase whose
//   plan is fixed), or only fixes a phase on the plan it has (a phase started), gets the
//   committed plans back from the full reschedule, so they are kept as they are
//   (KeepPlansLocked).
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"
#include "services/production/scheduler_grid.h"

namespace triad::production {

namespace {

bool IsActive(const std::map<std::string, bool>& active, const std::string& id) {
  auto it = active.find(id);
  return it != active.end() && it->second;
}

// HasOwnPlan is true when a phase that is not fixed was placed with its main work and every
// part (so the kept schedule keeps it as it is).
bool HasOwnPlan(const sched::PhaseIn& ph, const sched::PhaseOut& out) {
  if (!out.unschedulable.empty() || !std::isfinite(ph.effort_hours) ||
      !(ph.effort_hours > sched::kEps) || out.allocation.empty() ||
      out.parts.size() != ph.parts.size()) {
    return false;
  }
  for (size_t j = 0; j < ph.parts.size(); ++j) {
    if (!std::isfinite(ph.parts[j].effort_hours)) return false;
    if (ph.parts[j].effort_hours > sched::kEps && out.parts[j].allocation.empty()) return false;
  }
  return true;
}

// StartsAsKept is true when phase `y` is phase `x` started: `x` is planned (not fixed) with a
// plan of its own, and `y` is fixed on exactly that plan, main work and parts. When the plans
// are a fixed point, the full reschedule kept `x`'s plan; booking it as fixed instead takes the
// same capacity (the committed plans fit together, so the others still hold whatever is booked
// first), so every plan and the grid come out the same.
bool StartsAsKept(const sched::PhaseIn& x, const sched::PhaseIn& y) {
  auto some = [](double hours) { return std::isfinite(hours) && hours > sched::kEps; };
  if (x.fixed || !y.fixed || x.previous_allocation.empty() || x.id != y.id || x.skill != y.skill ||
      x.previous_resource != y.previous_resource || x.previous_start != y.previous_start ||
      y.fixed_resource != x.previous_resource || y.fixed_allocation != x.previous_allocation ||
      x.parts.size() != y.parts.size()) {
    return false;
  }
  for (size_t j = 0; j < x.parts.size(); ++j) {
    const sched::PartIn& u = x.parts[j];
    const sched::PartIn& v = y.parts[j];
    if (u.skill != v.skill || some(u.effort_hours) != some(v.effort_hours) ||
        v.fixed_resource != u.previous_resource || v.fixed_allocation != u.previous_allocation ||
        (some(u.effort_hours) && u.previous_allocation.empty())) {
      return false;
    }
  }
  return true;
}

// SameForScheduler is true when the full reschedule gives `a` and `b` the same plans: the
// scheduler sees them alike (everything it reads is equal, but a fixed phase's effort, which
// only the ATC rule's priorities read, PlanStable holding only under the service's rule, and of
// which only "is there any" matters for its parts), or `b` only starts a phase of `a` on the plan
// it has (StartsAsKept).
bool SameForScheduler(const sched::ProjectIn& a, const sched::ProjectIn& b) {
  auto some = [](double hours) { return std::isfinite(hours) && hours > sched::kEps; };
  if (a.id != b.id || a.due != b.due || a.value != b.value || a.tentative != b.tentative ||
      a.release != b.release || a.phases.size() != b.phases.size()) {
    return false;
  }
  for (size_t k = 0; k < a.phases.size(); ++k) {
    const sched::PhaseIn& x = a.phases[k];
    const sched::PhaseIn& y = b.phases[k];
    if (StartsAsKept(x, y)) continue;
    if (x.id != y.id || x.skill != y.skill || x.fixed != y.fixed ||
        x.fixed_resource != y.fixed_resource || x.fixed_allocation != y.fixed_allocation ||
        x.previous_resource != y.previous_resource || x.previous_start != y.previous_start ||
        x.previous_allocation != y.previous_allocation || x.parts.size() != y.parts.size()) {
      return false;
    }
    if (x.fixed ? some(x.effort_hours) != some(y.effort_hours) : x.effort_hours != y.effort_hours) {
      return false;
    }
    for (size_t j = 0; j < x.parts.size(); ++j) {
      const sched::PartIn& u = x.parts[j];
      const sched::PartIn& v = y.parts[j];
      if (u.skill != v.skill || u.fixed_resource != v.fixed_resource ||
          u.fixed_allocation != v.fixed_allocation || u.previous_resource != v.previous_resource ||
          u.previous_allocation != v.previous_allocation) {
        return false;
      }
      if (x.fixed ? some(u.effort_hours) != some(v.effort_hours)
                  : u.effort_hours != v.effort_hours) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool PlanStable(const sched::Problem& problem, const sched::Result& result,
                const std::map<std::string, bool>& active) {
  if (!problem.keep_plans || problem.rule != sched::Rule::kDueDateValue) return false;
  if (result.projects.size() != problem.projects.size()) return false;
  for (size_t i = 0; i < problem.projects.size(); ++i) {
    const sched::ProjectIn& pr = problem.projects[i];
    const sched::ProjectOut& out = result.projects[i];
    if (pr.tentative || out.late || out.end < 0 || pr.phases.empty()) return false;
    if (out.phases.size() != pr.phases.size()) return false;
    for (size_t k = 0; k < pr.phases.size(); ++k) {
      const sched::PhaseIn& ph = pr.phases[k];
      if (ph.fixed) {
        // Booked as it is only on an active resource, with every part's booking.
        if (!IsActive(active, ph.fixed_resource) || ph.fixed_allocation.empty()) return false;
        for (const sched::PartIn& part : ph.parts) {
          if (part.effort_hours > sched::kEps &&
              (!IsActive(active, part.fixed_resource) || part.fixed_allocation.empty())) {
            return false;
          }
        }
        continue;
      }
      if (!HasOwnPlan(ph, out.phases[k])) return false;
    }
  }
  return true;
}

std::optional<v1::ScheduleReport> Production::PlaceAddedLocked(Work& work, const std::string& id,
                                                               std::string_view reason,
                                                               const common::v1::Actor& actor) {
  if (!options_.incremental_placement || !plan_stable_ || scheduler_ == nullptr) {
    return std::nullopt;
  }
  // Nothing else changes in this work.
  if (!work.resources.empty() || !work.removed_projects.empty() || work.scheduler != nullptr ||
      work.placed.has_value() || work.projects.size() != 1 || projects_.count(id) > 0) {
    return std::nullopt;
  }
  auto it = work.projects.find(id);
  if (it == work.projects.end()) return std::nullopt;
  const v1::Project& p = it->second;
  if (p.tentative() || p.state() != v1::PROJECT_STATE_ACTIVE) return std::nullopt;
  const sched::Day today = Today();
  if (scheduler_->Today() != today) return std::nullopt;  // a new day: plans may not hold
  sched::ProjectIn in = ToSchedulerProject(p, today);
  if (in.phases.empty()) return std::nullopt;
  for (const sched::PhaseIn& ph : in.phases) {
    if (ph.fixed) return std::nullopt;
  }
  sched::ProjectOut out = scheduler_->Probe(in);
  // Late: re-dispatching everything might bring it in on time, which the full reschedule tries.
  if (out.late || out.end < 0 || out.end > in.due || out.phases.size() != in.phases.size()) {
    return std::nullopt;
  }
  for (size_t k = 0; k < in.phases.size(); ++k) {
    if (!HasOwnPlan(in.phases[k], out.phases[k])) return std::nullopt;
  }

  const absl::Time now = Now();
  v1::ScheduleReport report;
  report.set_reason(std::string(reason));
  report.set_phases_moved(0);
  report.set_total_shift_days(0);
  *report.mutable_schedule_time() = util::ToProto(now);
  // The other projects keep their plans; the report counts their open phases as the full
  // reschedule does.
  int others = 0;
  for (const auto& [other_id, other] : projects_) {
    for (const v1::Phase& ph : other.phases()) {
      if (ph.state() != v1::PHASE_STATE_COMPLETED) ++others;
    }
  }
  report.set_phases_scheduled(others);
  std::vector<int> phase_index;
  for (int k = 0; k < p.phases_size(); ++k) {
    if (p.phases(k).state() != v1::PHASE_STATE_COMPLETED) phase_index.push_back(k);
  }
  const std::map<std::string, bool> no_moves;  // Explain reads it only for moved phases
  SaveOutcomeLocked(work, id, phase_index, in, out, no_moves, now, reason, actor, report);
  work.plan_stable = true;
  work.placed = std::move(out);
  return report;
}

std::optional<v1::ScheduleReport> Production::KeepPlansLocked(Work& work, const std::string& id,
                                                              std::string_view reason) {
  if (!options_.incremental_placement || !plan_stable_ || scheduler_ == nullptr) {
    return std::nullopt;
  }
  // Nothing else changes in this work.
  if (!work.resources.empty() || !work.removed_projects.empty() || work.scheduler != nullptr ||
      work.placed.has_value() || work.projects.size() != 1) {
    return std::nullopt;
  }
  auto changed = work.projects.find(id);
  auto committed = projects_.find(id);
  if (changed == work.projects.end() || committed == projects_.end()) return std::nullopt;
  const v1::Project& after = changed->second;
  const v1::Project& before = committed->second;
  if (after.state() != v1::PROJECT_STATE_ACTIVE || after.tentative() || before.tentative()) {
    return std::nullopt;
  }
  const sched::Day today = Today();
  if (scheduler_->Today() != today) return std::nullopt;  // a new day: plans may not hold
  if (!SameForScheduler(ToSchedulerProject(before, today), ToSchedulerProject(after, today))) {
    return std::nullopt;
  }
  v1::ScheduleReport report;
  report.set_reason(std::string(reason));
  report.set_phases_moved(0);
  report.set_total_shift_days(0);
  *report.mutable_schedule_time() = util::ToProto(Now());
  // The full reschedule counts every active project's open phases (and, its plans being a
  // fixed point, reports no move and no project at risk).
  int open = 0;
  for (const auto& [other_id, other] : projects_) {
    const v1::Project& p = other_id == id ? after : other;
    for (const v1::Phase& ph : p.phases()) {
      if (ph.state() != v1::PHASE_STATE_COMPLETED) ++open;
    }
  }
  report.set_phases_scheduled(open);
  work.plan_stable = true;
  work.plans_kept = true;
  return report;
}

}  // namespace triad::production
