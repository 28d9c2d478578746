// Implements the incremental paths past the full reschedule. When the committed plans are a
// fixed point of the full reschedule (PlanStable):
// - a new firm project that is on time on the capacity they leave gets exactly that placement
//   from the full reschedule too (the kept schedule keeps every plan and dispatches only it;
//   with no late firm project re-dispatching cannot win), so it is placed alone on the kept
//   grid instead of rescheduling every project (PlaceAddedLocked);
// - a change that leaves the scheduler's input as it was (progress on a started phase whose
//   plan is fixed), or only fixes a phase on the plan it has (a phase started), or completes a
//   phase that the next one follows as planned, gets the committed plans back from the full
//   reschedule, so they are kept as they are and the grid only loses the completed phase's
//   bookings (KeepPlansLocked).
// And when the last full reschedule gave every committed plan back unchanged (late projects or
// not), the same problem gives them back again: a change that leaves the scheduler's input as
// it was keeps them too (KeepPlansLocked).
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

// SomeHours is true when `hours` is work to plan (finite and above the scheduler's epsilon).
bool SomeHours(double hours) { return std::isfinite(hours) && hours > sched::kEps; }

// StartsAsKept is true when phase `y` is phase `x` started: `x` is planned (not fixed) with a
// plan of its own, and `y` is fixed on exactly that plan, main work and parts. When the plans
// are a fixed point, the full reschedule kept `x`'s plan; booking it as fixed instead takes the
// same capacity (the committed plans fit together, so the others still hold whatever is booked
// first), so every plan and the grid come out the same.
bool StartsAsKept(const sched::PhaseIn& x, const sched::PhaseIn& y) {
  if (x.fixed || !y.fixed || x.previous_allocation.empty() || x.id != y.id || x.skill != y.skill ||
      x.previous_resource != y.previous_resource || x.previous_start != y.previous_start ||
      y.fixed_resource != x.previous_resource || y.fixed_allocation != x.previous_allocation ||
      x.parts.size() != y.parts.size()) {
    return false;
  }
  for (size_t j = 0; j < x.parts.size(); ++j) {
    const sched::PartIn& u = x.parts[j];
    const sched::PartIn& v = y.parts[j];
    if (u.skill != v.skill || SomeHours(u.effort_hours) != SomeHours(v.effort_hours) ||
        v.fixed_resource != u.previous_resource || v.fixed_allocation != u.previous_allocation ||
        (SomeHours(u.effort_hours) && u.previous_allocation.empty())) {
      return false;
    }
  }
  return true;
}

// SamePhase is true when the scheduler sees phases `x` and `y` alike: everything it reads is
// equal, but a fixed phase's effort, which only the ATC rule's priorities read (PlanStable holds
// only under the service's rule), and of which only "is there any" matters for its parts.
bool SamePhase(const sched::PhaseIn& x, const sched::PhaseIn& y) {
  if (x.id != y.id || x.skill != y.skill || x.fixed != y.fixed ||
      x.fixed_resource != y.fixed_resource || x.fixed_allocation != y.fixed_allocation ||
      x.previous_resource != y.previous_resource || x.previous_start != y.previous_start ||
      x.previous_allocation != y.previous_allocation || x.parts.size() != y.parts.size()) {
    return false;
  }
  if (x.fixed ? SomeHours(x.effort_hours) != SomeHours(y.effort_hours)
              : x.effort_hours != y.effort_hours) {
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
    if (x.fixed ? SomeHours(u.effort_hours) != SomeHours(v.effort_hours)
                : u.effort_hours != v.effort_hours) {
      return false;
    }
  }
  return true;
}

bool SameProject(const sched::ProjectIn& a, const sched::ProjectIn& b) {
  return a.id == b.id && a.due == b.due && a.value == b.value && a.tentative == b.tentative;
}

// SameForScheduler is true when the full reschedule gives `a` and `b` the same plans: every
// phase is the same to it (SamePhase), or, with `starts`, `b` only starts a phase of `a` on the
// plan it has (StartsAsKept, which needs the plans to be a fixed point).
bool SameForScheduler(const sched::ProjectIn& a, const sched::ProjectIn& b, bool starts) {
  if (!SameProject(a, b) || a.release != b.release || a.phases.size() != b.phases.size()) {
    return false;
  }
  for (size_t k = 0; k < a.phases.size(); ++k) {
    if (!(starts && StartsAsKept(a.phases[k], b.phases[k])) &&
        !SamePhase(a.phases[k], b.phases[k])) {
      return false;
    }
  }
  return true;
}

// Booking is one piece of a plan on the grid: its resource and days.
using Booking = std::pair<std::string, sched::Allocation>;

// CompletesAsKept is true when `b` is `a` with its first open phase completed today and nothing
// else changed (every later phase the same, SamePhase), and the phase after it, if any, starts
// from `b`'s release on (the day after today) with all of its plan. When the plans are a fixed
// point, the full reschedule then keeps every other plan (the capacity the completed phase
// leaves is only freed: with no late project nothing is re-dispatched into it), so the plans
// stay and the grid loses the completed phase's bookings, which `freed` gets.
bool CompletesAsKept(const sched::ProjectIn& a, const sched::ProjectIn& b, sched::Day today,
                     std::vector<Booking>* freed) {
  if (!SameProject(a, b) || a.phases.empty() || b.phases.size() + 1 != a.phases.size()) {
    return false;
  }
  for (size_t k = 0; k < b.phases.size(); ++k) {
    if (!SamePhase(a.phases[k + 1], b.phases[k])) return false;
  }
  if (!b.phases.empty()) {
    const sched::Day from = std::max(b.release, today);
    auto starts_on_time = [&](const sched::Allocation& alloc) {
      return std::all_of(alloc.begin(), alloc.end(),
                         [&](const auto& d) { return d.first >= from; });
    };
    const sched::PhaseIn& next = b.phases.front();
    if (!starts_on_time(next.fixed ? next.fixed_allocation : next.previous_allocation)) {
      return false;
    }
    for (const sched::PartIn& part : next.parts) {
      if (!starts_on_time(next.fixed ? part.fixed_allocation : part.previous_allocation)) {
        return false;
      }
    }
  }
  // What the completed phase had booked (a fixed phase as fixed, any other as kept).
  const sched::PhaseIn& done = a.phases.front();
  freed->clear();
  freed->emplace_back(done.fixed ? done.fixed_resource : done.previous_resource,
                      done.fixed ? done.fixed_allocation : done.previous_allocation);
  for (const sched::PartIn& part : done.parts) {
    if (!SomeHours(part.effort_hours)) continue;
    freed->emplace_back(done.fixed ? part.fixed_resource : part.previous_resource,
                        done.fixed ? part.fixed_allocation : part.previous_allocation);
  }
  return true;
}

// NothingMovedReport is the report of a reschedule that moved nothing, with `open` phases
// scheduled (as the full reschedule counts the active projects' open phases).
v1::ScheduleReport NothingMovedReport(int open, std::string_view reason, absl::Time now) {
  v1::ScheduleReport report;
  report.set_reason(std::string(reason));
  report.set_phases_moved(0);
  report.set_total_shift_days(0);
  *report.mutable_schedule_time() = util::ToProto(now);
  report.set_phases_scheduled(open);
  return report;
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
  // The other projects keep their plans; the report counts their open phases as the full
  // reschedule does (SaveOutcomeLocked adds the new project's).
  v1::ScheduleReport report = NothingMovedReport(open_phases_, reason, now);
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
  if (!options_.incremental_placement || !(plan_stable_ || plan_reproduces_) ||
      scheduler_ == nullptr) {
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
  // A completed project (its last phase completed) leaves the schedule, as it does the full one.
  if ((after.state() != v1::PROJECT_STATE_ACTIVE && after.state() != v1::PROJECT_STATE_COMPLETED) ||
      after.tentative() || before.tentative()) {
    return std::nullopt;
  }
  const sched::Day today = Today();
  if (scheduler_->Today() != today) return std::nullopt;  // a new day: plans may not hold
  const sched::ProjectIn was = ToSchedulerProject(before, today);
  const sched::ProjectIn is = ToSchedulerProject(after, today);
  std::vector<Booking> freed;
  if (plan_stable_) {
    const bool same =
        after.state() == v1::PROJECT_STATE_ACTIVE && SameForScheduler(was, is, /*starts=*/true);
    if (!same && !CompletesAsKept(was, is, today, &freed)) return std::nullopt;
  } else if (after.state() != v1::PROJECT_STATE_ACTIVE ||
             !SameForScheduler(was, is, /*starts=*/false)) {
    // Not a fixed point (late projects): only the very same problem gives the plans back.
    return std::nullopt;
  }
  // The full reschedule would give every plan and risk back: it reports no move, and no project
  // at risk (it lists only the projects whose outcome it changes).
  v1::ScheduleReport report =
      NothingMovedReport(open_phases_ - OpenPhases(before) + OpenPhases(after), reason, Now());
  work.plan_stable = plan_stable_;
  work.plans_kept = true;
  work.freed = std::move(freed);
  return report;
}

}  // namespace triad::production
