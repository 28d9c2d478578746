// Implements the placement of one phase on the capacity grid: its main work and each of its
// parts on distinct resources (scheduler_grid.h), and the check that a previous plan still
// holds.
#include <set>

#include "services/production/scheduler_grid.h"

namespace triad::production::sched {
namespace {

// Trial is one candidate resource's placement of some effort.
struct Trial {
  int resource = -1;
  Day start = -1;
  Day end = -1;
};

// Simulate places `effort` on resource r from `ready`; end -1 when it does not fit. Stops early
// once the placement cannot end before `bound`.
Trial Simulate(const Grid& g, int r, double effort, Day ready, Day bound) {
  Trial t;
  t.resource = r;
  double rem = effort;
  for (Day d = std::max(ready, g.FirstFree(r)); d < g.end(); ++d) {
    if (bound >= 0 && d > bound) return Trial{};
    double c = g.Remaining(r, d);
    if (c <= kEps) continue;
    if (t.start < 0) t.start = d;
    rem -= std::min(c, rem);
    if (rem <= kEps) {
      t.end = d;
      return t;
    }
  }
  return Trial{};
}

// Work is one placed piece of a phase (its main work or a part).
struct Work {
  int resource = -1;
  Day start = -1;
  Day end = -1;
  Allocation allocation;
  std::string unschedulable;
};

// PlaceWork chooses, among the resources with `skill` not in `used`, the one that ends `effort`
// first (ties: `previous`, then the lower index) and lists its days (nothing is booked).
Work PlaceWork(const Grid& g, const std::string& skill, double effort, Day ready,
               const std::string& previous, const std::set<int>& used) {
  Work w;
  const std::vector<int>* cands = g.Candidates(skill);
  if (cands == nullptr || cands->empty()) {
    w.unschedulable = "no active resource with skill " + skill;
    return w;
  }
  const int prev = g.Index(previous);
  Trial best;
  for (int r : *cands) {
    if (used.count(r) > 0) continue;
    Trial t = Simulate(g, r, effort, ready, best.end);
    if (t.end < 0) continue;
    bool better = best.end < 0 || t.end < best.end ||
                  (t.end == best.end && r == prev && best.resource != prev);
    if (better) best = t;
  }
  if (best.end < 0) {
    w.unschedulable =
        used.empty() ? "no capacity with skill " + skill + " within the horizon"
                     : "no other resource with skill " + skill + " has capacity within the horizon";
    return w;
  }
  w.resource = best.resource;
  w.start = best.start;
  w.end = best.end;
  double rem = effort;
  for (Day d = best.start; d <= best.end && rem > kEps; ++d) {
    double c = g.Remaining(best.resource, d);
    if (c <= kEps) continue;
    double use = std::min(c, rem);
    rem -= use;
    w.allocation.emplace_back(d, use);
  }
  return w;
}

// Holds is true when `alloc` on resource `previous` (with `skill`, not in `used`) is still
// possible after `prev_end` and covers `effort`.
bool Holds(const Grid& g, const std::string& skill, double effort, const std::string& previous,
           const Allocation& alloc, Day prev_end, const std::set<int>& used) {
  const int r = g.Index(previous);
  if (r < 0 || !g.Active(r) || alloc.empty() || used.count(r) > 0) return false;
  const std::vector<int>* cands = g.Candidates(skill);
  if (cands == nullptr || !std::binary_search(cands->begin(), cands->end(), r)) return false;
  double sum = 0;
  Day last = prev_end;
  for (const auto& [d, h] : alloc) {
    if (d <= last || d < g.today() || d >= g.end() || !(h > 0)) return false;
    if (g.Remaining(r, d) < h - kEps) return false;
    sum += h;
    last = d;
  }
  return std::abs(sum - effort) <= kEps * std::max(1.0, effort);
}

}  // namespace

void Book(Grid& g, int r, const Allocation& allocation, int32_t owner) {
  for (const auto& [d, h] : allocation) g.Use(r, d, h, owner);
}

PhaseOut Place(Grid& g, const PhaseIn& ph, Day ready, bool commit, int32_t owner) {
  PhaseOut out;
  std::set<int> used;
  bool any = false;
  out.start = out.end = ready;
  // The main work (none when its effort is 0), then each part, on distinct resources. Pieces on
  // distinct resources never compete for the same capacity, so none needs the others booked.
  std::vector<Work> pieces;
  const bool main_work = ph.effort_hours > kEps && std::isfinite(ph.effort_hours);
  if (main_work) {
    pieces.push_back(PlaceWork(g, ph.skill, ph.effort_hours, ready, ph.previous_resource, used));
    if (pieces.back().unschedulable.empty()) used.insert(pieces.back().resource);
  }
  for (const PartIn& part : ph.parts) {
    if (!(part.effort_hours > kEps) || !std::isfinite(part.effort_hours)) {
      pieces.push_back(Work{-1, ready, ready, {}, ""});
      continue;
    }
    pieces.push_back(
        PlaceWork(g, part.skill, part.effort_hours, ready, part.previous_resource, used));
    if (pieces.back().unschedulable.empty()) used.insert(pieces.back().resource);
  }
  for (const Work& w : pieces) {
    if (!w.unschedulable.empty()) {
      PhaseOut failed;
      failed.unschedulable = w.unschedulable;
      return failed;
    }
  }
  size_t next = 0;
  if (main_work) {
    const Work& w = pieces[next++];
    out.resource = g.Id(w.resource);
    out.allocation = w.allocation;
    out.start = w.start;
    out.end = w.end;
    any = true;
    if (commit) Book(g, w.resource, w.allocation, owner);
  }
  for (size_t k = 0; k < ph.parts.size(); ++k) {
    const Work& w = pieces[next++];
    PartOut part;
    if (w.resource >= 0) {
      part.resource = g.Id(w.resource);
      part.start = w.start;
      part.end = w.end;
      part.allocation = w.allocation;
      out.start = any ? std::min(out.start, w.start) : w.start;
      out.end = any ? std::max(out.end, w.end) : w.end;
      any = true;
      if (commit) Book(g, w.resource, w.allocation, owner);
    } else {
      part.start = part.end = ready;
    }
    out.parts.push_back(std::move(part));
  }
  return out;
}

bool CanKeep(const Grid& g, const PhaseIn& ph, Day prev_end) {
  std::set<int> used;
  if (!Holds(g, ph.skill, ph.effort_hours, ph.previous_resource, ph.previous_allocation, prev_end,
             used)) {
    return false;
  }
  used.insert(g.Index(ph.previous_resource));
  for (const PartIn& part : ph.parts) {
    if (!(part.effort_hours > kEps)) continue;
    if (!Holds(g, part.skill, part.effort_hours, part.previous_resource, part.previous_allocation,
               prev_end, used)) {
      return false;
    }
    used.insert(g.Index(part.previous_resource));
  }
  return true;
}

}  // namespace triad::production::sched
