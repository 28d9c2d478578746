// The finite-capacity scheduler of the production service, free of protos and storage so it
// can be tested and benchmarked alone. Time is counted in calendar days (Day: days since
// 1970-01-01, UTC). A resource works Monday to Friday, weekly_hours / 5 per working day, minus
// its off days; a phase runs on one resource with its skill (and each of its parts on another
// resource with the part's skill, from the same first day), takes what capacity is left on
// each day from its earliest start until its effort is done, and starts the day after its
// predecessor ends. Started and pinned phases keep their allocations. Projects are dispatched
// phase by phase in priority order (firm before tentative, due date, then value); the previous
// plans of the other phases are kept unless re-dispatching everything saves a due date without
// breaking another. The result is deterministic for a given problem.
#ifndef TRIAD_SERVICES_PRODUCTION_SCHEDULER_H_
#define TRIAD_SERVICES_PRODUCTION_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::production::sched {

using Day = int32_t;

// ParseDay parses "YYYY-MM-DD"; nullopt when it is not a valid date.
std::optional<Day> ParseDay(std::string_view text);
// FormatDay renders a Day as "YYYY-MM-DD".
std::string FormatDay(Day day);
// Weekday is 0 for Monday .. 6 for Sunday.
inline int Weekday(Day day) { return ((day % 7) + 7 + 3) % 7; }
// IsWeekend is true on Saturday and Sunday.
inline bool IsWeekend(Day day) { return Weekday(day) >= 5; }

using Allocation = std::vector<std::pair<Day, double>>;

struct ResourceIn {
  std::string id;
  std::vector<std::string> skills;
  double weekly_hours = 40;
  // Days off besides weekends (non-working days and leave); any order.
  std::vector<Day> off_days;
  bool active = true;
};

// PartIn is one more resource a phase needs besides its main one (e.g. a checker next to the
// designer): its own skill and effort, planned from the phase's first possible day on a
// resource the phase does not use otherwise. The phase ends when its main work and every part
// are done.
struct PartIn {
  std::string skill;
  double effort_hours = 0;
  // When the phase is fixed: where and when the part works.
  std::string fixed_resource;
  Allocation fixed_allocation;
  // The previous plan of the part (kept with the phase's when it still holds).
  std::string previous_resource;
  Allocation previous_allocation;
};

struct PhaseIn {
  std::string id;
  std::string skill;
  // Effort still to schedule (hours); ignored for fixed phases.
  double effort_hours = 0;
  // Fixed phases (started or pinned) keep `fixed_resource` and `fixed_allocation`.
  bool fixed = false;
  std::string fixed_resource;
  Allocation fixed_allocation;
  // The previous plan (for stability and the moves report); empty / -1 when new.
  std::string previous_resource;
  Day previous_start = -1;
  // The previous allocation: kept as it is when Problem::keep_plans allows.
  Allocation previous_allocation;
  // The other resources the phase needs (none for a one-resource phase).
  std::vector<PartIn> parts;
};

struct ProjectIn {
  std::string id;
  Day due = 0;
  // Weight in priority and weighted tardiness (e.g. the value in major units).
  double value = 0;
  bool tentative = false;
  // No phase starts before this day (e.g. the day after the last completed phase).
  Day release = 0;
  // The phases still to do, in order.
  std::vector<PhaseIn> phases;
};

enum class Rule {
  // Firm before tentative, earliest due date, higher value, id (the service's rule).
  kDueDateValue,
  // Earliest due date only (baseline).
  kEarliestDueDate,
  // Apparent tardiness cost, recomputed at each dispatch (baseline).
  kAtc,
};

struct Problem {
  Day today = 0;
  // Nothing is planned on or after today + horizon_days.
  int horizon_days = 3650;
  std::vector<ResourceIn> resources;
  std::vector<ProjectIn> projects;
  Rule rule = Rule::kDueDateValue;
  // The ATC look-ahead factor k.
  double atc_k = 2.0;
  // Stability: besides re-dispatching everything by priority, try keeping every previous plan
  // of a firm project that still holds (placing only the rest); the kept schedule wins unless
  // re-dispatching brings a late firm project in on time without making any on-time firm project
  // late.
  bool keep_plans = true;
};

// PartOut is the plan of one part of a phase.
struct PartOut {
  std::string resource;
  Day start = -1;
  Day end = -1;
  Allocation allocation;
};

struct PhaseOut {
  // The main resource and its days; start and end span the main work and every part.
  std::string resource;
  Day start = -1;
  Day end = -1;
  Allocation allocation;
  // Non-empty when the phase could not be placed (then start/end are -1).
  std::string unschedulable;
  // True when start or resource differ from the previous plan (which existed).
  bool moved = false;
  // When moved later: the project and phase that now hold the previous resource on the
  // previous start day (empty when none).
  std::string displaced_by_project;
  std::string displaced_by_phase;
  // The plans of the phase's parts, in the order of PhaseIn::parts.
  std::vector<PartOut> parts;
};

struct ProjectOut {
  // The last phase's end (-1 when a phase is unschedulable or there are no phases).
  Day end = -1;
  bool late = false;
  // The phase whose wait (or length) decides the end: its skill and resource.
  std::string bottleneck_skill;
  std::string bottleneck_resource;
  std::vector<PhaseOut> phases;
};

struct Result {
  // In the order of Problem::projects.
  std::vector<ProjectOut> projects;
  int phases_moved = 0;
  int64_t total_shift_days = 0;
  // True when the previous plans were kept (see Problem::keep_plans).
  bool plans_kept = false;
};

// Schedule plans every project of `problem` on finite capacity.
Result Schedule(const Problem& problem);

// Grid is the capacity left per resource and day after a schedule; Feasibility reads it.
class Grid;

// Scheduler keeps the grid of the last Schedule so that hypothetical projects can be placed on
// the remaining capacity without changing it.
class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  Scheduler(Scheduler&&) noexcept;
  Scheduler& operator=(Scheduler&&) noexcept;

  // Run schedules `problem` and keeps its remaining capacity.
  Result Run(const Problem& problem);

  // Probe places `project` after everything of the last Run (the kept grid is unchanged).
  ProjectOut Probe(const ProjectIn& project) const;

  // Commit books a placed project (as Probe returned it) on the kept grid, as if the last Run
  // had placed it: the next Probe sees its capacity taken.
  void Commit(const ProjectOut& placed);

  // Free returns `allocation` on `resource` to the kept grid, as if the last Run had not booked
  // it (a phase completed before its plan ran out): the next Probe sees the capacity free.
  void Free(const std::string& resource, const Allocation& allocation);

  // RemainingHours is the capacity left for resource `index` (in the last problem) on `day`.
  double RemainingHours(int index, Day day) const;
  // CapacityHours is the capacity of resource `index` on `day` (0 on days off or inactive).
  double CapacityHours(int index, Day day) const;
  // ResourceCount and ResourceId name the resources of the last problem, by index.
  int ResourceCount() const;
  const std::string& ResourceId(int index) const;
  // Today is the first day of the last problem.
  Day Today() const;

 private:
  // Dispatch schedules `problem` on a fresh `grid`, keeping the previous plans when `keep`.
  static Result Dispatch(const Problem& problem, bool keep, std::unique_ptr<Grid>& grid);

  std::unique_ptr<Grid> grid_;
};

}  // namespace triad::production::sched

#endif  // TRIAD_SERVICES_PRODUCTION_SCHEDULER_H_
