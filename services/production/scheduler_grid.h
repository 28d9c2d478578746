// Internal to the production scheduler (scheduler.cc and placement.cc): the capacity grid
// (hours left per resource and day over the horizon) and the placement of one phase with its
// parts on it. Not part of the scheduler's interface (scheduler.h).
#ifndef TRIAD_SERVICES_PRODUCTION_SCHEDULER_GRID_H_
#define TRIAD_SERVICES_PRODUCTION_SCHEDULER_GRID_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "services/production/scheduler.h"

namespace triad::production::sched {

inline constexpr double kEps = 1e-6;

// Grid is the capacity left per resource and day of one schedule.
class Grid {
 public:
  struct Res {
    std::string id;
    double daily = 0;
    bool active = true;
    std::vector<Day> off;
    std::vector<double> used;
    std::vector<int32_t> owner;
    int first_free = 0;
  };

  explicit Grid(const Problem& p) : today_(p.today), horizon_(std::max(1, p.horizon_days)) {
    res_.resize(p.resources.size());
    for (size_t i = 0; i < p.resources.size(); ++i) {
      const ResourceIn& in = p.resources[i];
      Res& r = res_[i];
      r.id = in.id;
      r.daily = std::isfinite(in.weekly_hours) && in.weekly_hours > 0 ? in.weekly_hours / 5 : 0;
      r.active = in.active;
      r.off = in.off_days;
      std::sort(r.off.begin(), r.off.end());
      r.used.assign(horizon_, 0.0);
      r.owner.assign(horizon_, -1);
      if (in.active) {
        for (const std::string& s : in.skills) by_skill_[s].push_back(static_cast<int>(i));
      }
      index_[in.id] = static_cast<int>(i);
    }
  }

  Day today() const { return today_; }
  Day end() const { return today_ + horizon_; }

  double Capacity(int r, Day d) const {
    const Res& x = res_[r];
    if (!x.active || d < today_ || d >= end() || IsWeekend(d)) return 0;
    if (std::binary_search(x.off.begin(), x.off.end(), d)) return 0;
    return x.daily;
  }
  double Remaining(int r, Day d) const {
    if (d < today_ || d >= end()) return 0;
    return Capacity(r, d) - res_[r].used[d - today_];
  }
  void Use(int r, Day d, double hours, int32_t owner) {
    if (d < today_ || d >= end()) return;
    Res& x = res_[r];
    x.used[d - today_] += hours;
    x.owner[d - today_] = owner;  // the last phase booked on the day
    while (x.first_free < horizon_ && Remaining(r, today_ + x.first_free) <= kEps) ++x.first_free;
  }
  // Free returns `hours` of day `d` to resource `r` (a booking that is no longer needed).
  void Free(int r, Day d, double hours) {
    if (d < today_ || d >= end()) return;
    Res& x = res_[r];
    x.used[d - today_] = std::max(0.0, x.used[d - today_] - hours);
    if (Remaining(r, d) > kEps) x.first_free = std::min(x.first_free, d - today_);
  }
  Day FirstFree(int r) const { return today_ + res_[r].first_free; }
  int32_t Owner(int r, Day d) const {
    if (d < today_ || d >= end()) return -1;
    return res_[r].owner[d - today_];
  }
  const std::vector<int>* Candidates(const std::string& skill) const {
    auto it = by_skill_.find(skill);
    return it == by_skill_.end() ? nullptr : &it->second;
  }
  int Index(const std::string& id) const {
    auto it = index_.find(id);
    return it == index_.end() ? -1 : it->second;
  }
  bool Active(int r) const { return r >= 0 && res_[r].active; }
  const std::string& Id(int r) const { return res_[r].id; }
  int Count() const { return static_cast<int>(res_.size()); }
  void InitFirstFree() {
    for (size_t r = 0; r < res_.size(); ++r) {
      Res& x = res_[r];
      x.first_free = 0;
      while (x.first_free < horizon_ &&
             Remaining(static_cast<int>(r), today_ + x.first_free) <= kEps)
        ++x.first_free;
    }
  }

 private:
  Day today_;
  int horizon_;
  std::vector<Res> res_;
  std::map<std::string, std::vector<int>> by_skill_;
  std::map<std::string, int> index_;
};

// Place plans phase `ph` from day `ready`: its main effort on the resource with its skill that
// ends it first (ties: the previous resource, then the lower index), and each part the same way
// on a resource with the part's skill not yet used by the phase. The phase spans its main work
// and its parts. When `commit`, everything is booked on `g` (only when all of it fits).
PhaseOut Place(Grid& g, const PhaseIn& ph, Day ready, bool commit, int32_t owner);

// CanKeep is true when a phase's previous plan (main and parts) still holds: same active
// resources with the skills, distinct, after `prev_end`, from today on, the whole effort,
// within the capacity left.
bool CanKeep(const Grid& g, const PhaseIn& ph, Day prev_end);

// Book books `allocation` on resource `r` for `owner`.
void Book(Grid& g, int r, const Allocation& allocation, int32_t owner);

}  // namespace triad::production::sched

#endif  // TRIAD_SERVICES_PRODUCTION_SCHEDULER_GRID_H_
