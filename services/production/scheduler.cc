// Implements the finite-capacity scheduler: dates, dispatch in priority order with the fixed
// and kept plans, and feasibility probes (the grid and placement are in scheduler_grid.h).
#include "services/production/scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "absl/time/civil_time.h"
#include "services/production/scheduler_grid.h"

namespace triad::production::sched {
namespace {
const absl::CivilDay kEpoch(1970, 1, 1);
}  // namespace

std::optional<Day> ParseDay(std::string_view text) {
  // Hand-parsed (the scheduler and the utilisation view parse every allocation's date): four,
  // two and two digits with dashes, a real calendar day in [1970, 2200].
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](size_t from, size_t n, int* out) {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!digits(0, 4, &y) || !digits(5, 2, &m) || !digits(8, 2, &d)) return std::nullopt;
  if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1) return std::nullopt;
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDaysIn[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  // Days since 1970-01-01 of the proleptic Gregorian date (years counted from March).
  const int ya = m <= 2 ? y - 1 : y;
  const int era = ya / 400;
  const int yoe = ya - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<Day>(era * 146097 + doe - 719468);
}

std::string FormatDay(Day day) {
  // The inverse of ParseDay's day count (years counted from March), by hand like it.
  const int z = static_cast<int>(day) + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp < 10 ? mp + 3 : mp - 9;
  const int y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) return absl::FormatCivilTime(kEpoch + day);
  std::string out = "0000-00-00";
  out[0] = static_cast<char>('0' + y / 1000);
  out[1] = static_cast<char>('0' + y / 100 % 10);
  out[2] = static_cast<char>('0' + y / 10 % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  out[8] = static_cast<char>('0' + d / 10);
  out[9] = static_cast<char>('0' + d % 10);
  return out;
}

Scheduler::Scheduler() = default;
Scheduler::~Scheduler() = default;
Scheduler::Scheduler(Scheduler&&) noexcept = default;
Scheduler& Scheduler::operator=(Scheduler&&) noexcept = default;

namespace {

// SavesDueDates is true when `redone` has fewer late firm projects than `kept` and makes no
// firm project late that `kept` has on time (no committed due date is traded for another).
bool SavesDueDates(const Problem& p, const Result& redone, const Result& kept) {
  int saved = 0;
  for (size_t i = 0; i < p.projects.size(); ++i) {
    if (p.projects[i].tentative) continue;
    if (redone.projects[i].late && !kept.projects[i].late) return false;
    if (!redone.projects[i].late && kept.projects[i].late) ++saved;
  }
  return saved > 0;
}

}  // namespace

Result Scheduler::Run(const Problem& p) {
  std::unique_ptr<Grid> full;
  Result redone = Dispatch(p, false, full);
  bool any_plan = false;
  for (const ProjectIn& pr : p.projects) {
    for (const PhaseIn& ph : pr.phases) any_plan = any_plan || !ph.previous_allocation.empty();
  }
  if (!p.keep_plans || !any_plan) {
    grid_ = std::move(full);
    return redone;
  }
  std::unique_ptr<Grid> kept_grid;
  Result kept = Dispatch(p, true, kept_grid);
  if (SavesDueDates(p, redone, kept)) {
    grid_ = std::move(full);
    return redone;
  }
  kept.plans_kept = true;
  grid_ = std::move(kept_grid);
  return kept;
}

Result Scheduler::Dispatch(const Problem& p, bool keep, std::unique_ptr<Grid>& grid) {
  grid = std::make_unique<Grid>(p);
  Grid& g = *grid;
  Result res;
  const size_t n = p.projects.size();
  res.projects.resize(n);
  // Phase owners are numbered project by project.
  std::vector<int32_t> base(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    base[i + 1] = base[i] + static_cast<int32_t>(p.projects[i].phases.size());
    res.projects[i].phases.resize(p.projects[i].phases.size());
  }
  // Fixed phases (on an active resource) are booked first, as they are.
  std::vector<std::vector<bool>> fixed(n);
  for (size_t i = 0; i < n; ++i) {
    const ProjectIn& pr = p.projects[i];
    fixed[i].assign(pr.phases.size(), false);
    for (size_t k = 0; k < pr.phases.size(); ++k) {
      const PhaseIn& ph = pr.phases[k];
      int r = g.Index(ph.fixed_resource);
      if (!ph.fixed || !g.Active(r) || ph.fixed_allocation.empty()) continue;
      // A part whose resource left makes the whole phase planned again.
      bool parts_hold = true;
      for (const PartIn& part : ph.parts) {
        if (part.effort_hours > kEps &&
            (!g.Active(g.Index(part.fixed_resource)) || part.fixed_allocation.empty())) {
          parts_hold = false;
        }
      }
      if (!parts_hold) continue;
      fixed[i][k] = true;
      const int32_t owner = base[i] + static_cast<int32_t>(k);
      PhaseOut& out = res.projects[i].phases[k];
      out.resource = ph.fixed_resource;
      out.allocation = ph.fixed_allocation;
      out.start = ph.fixed_allocation.front().first;
      out.end = ph.fixed_allocation.front().first;
      for (const auto& [d, h] : ph.fixed_allocation) {
        out.start = std::min(out.start, d);
        out.end = std::max(out.end, d);
      }
      Book(g, r, ph.fixed_allocation, owner);
      for (const PartIn& part : ph.parts) {
        PartOut po{part.fixed_resource, -1, -1, part.fixed_allocation};
        for (const auto& [d, h] : part.fixed_allocation) {
          po.start = po.start < 0 ? d : std::min(po.start, d);
          po.end = std::max(po.end, d);
          out.start = std::min(out.start, d);
          out.end = std::max(out.end, d);
        }
        if (!part.fixed_allocation.empty()) {
          Book(g, g.Index(part.fixed_resource), part.fixed_allocation, owner);
        }
        out.parts.push_back(std::move(po));
      }
    }
  }
  // Keeping plans: each firm project's phases keep their previous plan, in order, while it
  // holds (tentative bookings are always placed again, after the firm work).
  for (size_t i = 0; keep && i < n; ++i) {
    const ProjectIn& pr = p.projects[i];
    if (pr.tentative) continue;
    Day prev_end = std::max(pr.release, p.today) - 1;
    bool chain = true;
    for (size_t k = 0; k < pr.phases.size(); ++k) {
      const PhaseIn& ph = pr.phases[k];
      PhaseOut& out = res.projects[i].phases[k];
      if (fixed[i][k]) {
        prev_end = std::max(prev_end, out.end);
        continue;
      }
      chain = chain && CanKeep(g, ph, prev_end);
      if (!chain) continue;
      fixed[i][k] = true;
      const int32_t owner = base[i] + static_cast<int32_t>(k);
      out.resource = ph.previous_resource;
      out.allocation = ph.previous_allocation;
      out.start = ph.previous_allocation.front().first;
      out.end = ph.previous_allocation.back().first;
      Book(g, g.Index(ph.previous_resource), ph.previous_allocation, owner);
      for (const PartIn& part : ph.parts) {
        PartOut po;
        if (part.effort_hours > kEps) {
          po = PartOut{part.previous_resource, part.previous_allocation.front().first,
                       part.previous_allocation.back().first, part.previous_allocation};
          out.start = std::min(out.start, po.start);
          out.end = std::max(out.end, po.end);
          Book(g, g.Index(part.previous_resource), part.previous_allocation, owner);
        }
        out.parts.push_back(std::move(po));
      }
      prev_end = out.end;
    }
  }
  g.InitFirstFree();

  std::vector<size_t> next(n, 0);
  std::vector<Day> ready(n);
  std::vector<bool> blocked(n, false);
  std::vector<double> remaining(n, 0);
  double total_effort = 0;
  size_t total_phases = 0;
  for (size_t i = 0; i < n; ++i) {
    ready[i] = std::max(p.projects[i].release, p.today);
    for (const PhaseIn& ph : p.projects[i].phases) {
      remaining[i] += std::max(0.0, ph.effort_hours);
      ++total_phases;
    }
    total_effort += remaining[i];
  }
  // Daily capacity of the average resource turns hours into days for ATC.
  double daily = 0;
  for (const ResourceIn& r : p.resources) daily += r.active ? r.weekly_hours / 5 : 0;
  daily = p.resources.empty() ? 8 : std::max(1.0, daily / p.resources.size());
  const double avg_days = total_phases ? total_effort / total_phases / daily : 1;

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto static_less = [&](size_t a, size_t b) {
    const ProjectIn& x = p.projects[a];
    const ProjectIn& y = p.projects[b];
    if (p.rule == Rule::kDueDateValue) {
      if (x.tentative != y.tentative) return !x.tentative;
      if (x.due != y.due) return x.due < y.due;
      if (x.value != y.value) return x.value > y.value;
    } else if (x.due != y.due) {
      return x.due < y.due;
    }
    return x.id < y.id;
  };
  std::stable_sort(order.begin(), order.end(), static_less);

  auto place_next = [&](size_t i) {
    const ProjectIn& pr = p.projects[i];
    size_t k = next[i]++;
    const PhaseIn& ph = pr.phases[k];
    PhaseOut& out = res.projects[i].phases[k];
    if (blocked[i]) {
      out.unschedulable = "a previous phase is unschedulable";
    } else if (fixed[i][k]) {
      ready[i] = std::max(ready[i], out.end + 1);
    } else {
      out = Place(g, ph, ready[i], true, base[i] + static_cast<int32_t>(k));
      if (!out.unschedulable.empty()) {
        blocked[i] = true;
      } else {
        ready[i] = out.end + 1;
      }
    }
    remaining[i] -= std::max(0.0, ph.effort_hours);
  };

  if (p.rule == Rule::kAtc) {
    size_t left = total_phases;
    while (left > 0) {
      size_t best = n;
      double best_index = -1;
      for (size_t i : order) {
        if (next[i] >= p.projects[i].phases.size()) continue;
        double pj = std::max(0.01, p.projects[i].phases[next[i]].effort_hours / daily);
        double slack = p.projects[i].due - remaining[i] / daily - ready[i];
        double idx = (std::max(p.projects[i].value, 1e-9) / pj) *
                     std::exp(-std::max(slack, 0.0) / (p.atc_k * avg_days));
        if (idx > best_index) {
          best_index = idx;
          best = i;
        }
      }
      place_next(best);
      --left;
    }
  } else {
    for (size_t i : order) {
      while (next[i] < p.projects[i].phases.size()) place_next(i);
    }
  }

  // Bottlenecks, lateness and moves.
  for (size_t i = 0; i < n; ++i) {
    const ProjectIn& pr = p.projects[i];
    ProjectOut& po = res.projects[i];
    Day prev_end = std::max(pr.release, p.today) - 1;
    int worst_wait = -1;
    int longest = -1;
    size_t pick = 0;
    bool all_placed = true;
    for (size_t k = 0; k < pr.phases.size(); ++k) {
      PhaseOut& out = po.phases[k];
      const PhaseIn& ph = pr.phases[k];
      if (!out.unschedulable.empty()) {
        if (all_placed) pick = k;
        all_placed = false;
        continue;
      }
      if (all_placed) {
        int wait = out.start - (prev_end + 1);
        int len = out.end - out.start;
        if (wait > worst_wait || (wait == worst_wait && len > longest)) {
          worst_wait = wait;
          longest = len;
          pick = k;
        }
      }
      prev_end = std::max(prev_end, out.end);
      if (ph.previous_start >= 0 && !fixed[i][k] &&
          (out.start != ph.previous_start || out.resource != ph.previous_resource)) {
        out.moved = true;
        ++res.phases_moved;
        res.total_shift_days += std::abs(out.start - ph.previous_start);
        int r = g.Index(ph.previous_resource);
        int32_t owner = r >= 0 ? g.Owner(r, ph.previous_start) : -1;
        int32_t self = base[i] + static_cast<int32_t>(k);
        if (out.start > ph.previous_start && owner >= 0 && owner != self) {
          size_t oi = static_cast<size_t>(std::upper_bound(base.begin(), base.end(), owner) -
                                          base.begin()) -
                      1;
          out.displaced_by_project = p.projects[oi].id;
          out.displaced_by_phase = p.projects[oi].phases[owner - base[oi]].id;
        }
      }
    }
    if (pr.phases.empty()) {
      po.end = std::max(pr.release, p.today);
    } else {
      po.end = all_placed ? prev_end : -1;
      po.bottleneck_skill = pr.phases[pick].skill;
      po.bottleneck_resource = po.phases[pick].resource;
    }
    po.late = po.end < 0 || po.end > pr.due;
  }
  return res;
}

ProjectOut Scheduler::Probe(const ProjectIn& project) const {
  ProjectOut po;
  if (grid_ == nullptr) return po;
  // Phases of one project never share a day, so placing them without booking is exact.
  Grid& g = *grid_;
  Day ready = std::max(project.release, g.today());
  Day prev_end = ready - 1;
  int worst_wait = -1;
  int longest = -1;
  for (const PhaseIn& ph : project.phases) {
    PhaseOut out = Place(g, ph, ready, false, -1);
    if (!out.unschedulable.empty()) {
      po.end = -1;
      po.late = true;
      po.bottleneck_skill = ph.skill;
      po.phases.push_back(std::move(out));
      return po;
    }
    int wait = out.start - ready;
    int len = out.end - out.start;
    if (wait > worst_wait || (wait == worst_wait && len > longest)) {
      worst_wait = wait;
      longest = len;
      po.bottleneck_skill = ph.skill;
      po.bottleneck_resource = out.resource;
    }
    ready = out.end + 1;
    prev_end = out.end;
    po.phases.push_back(std::move(out));
  }
  po.end = prev_end;
  po.late = po.end > project.due;
  return po;
}

void Scheduler::Commit(const ProjectOut& placed) {
  if (grid_ == nullptr) return;
  Grid& g = *grid_;
  for (const PhaseOut& ph : placed.phases) {
    int r = g.Index(ph.resource);
    if (r >= 0) Book(g, r, ph.allocation, -1);
    for (const PartOut& part : ph.parts) {
      int pr = g.Index(part.resource);
      if (pr >= 0 && !part.allocation.empty()) Book(g, pr, part.allocation, -1);
    }
  }
}

void Scheduler::Free(const std::string& resource, const Allocation& allocation) {
  if (grid_ == nullptr) return;
  const int r = grid_->Index(resource);
  if (r < 0) return;
  for (const auto& [d, h] : allocation) grid_->Free(r, d, h);
}

double Scheduler::RemainingHours(int index, Day day) const {
  return grid_ ? grid_->Remaining(index, day) : 0;
}

double Scheduler::CapacityHours(int index, Day day) const {
  return grid_ ? grid_->Capacity(index, day) : 0;
}

int Scheduler::ResourceCount() const { return grid_ ? grid_->Count() : 0; }

const std::string& Scheduler::ResourceId(int index) const { return grid_->Id(index); }

Day Scheduler::Today() const { return grid_ ? grid_->today() : 0; }

Result Schedule(const Problem& problem) {
  Scheduler s;
  return s.Run(problem);
}

}  // namespace triad::production::sched
