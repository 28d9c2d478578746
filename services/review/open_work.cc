// Implements OpenWork: the walk that sums an expert's open work by week, and the sums it
// remembers until the next item crosses a week's boundary.
#include "services/review/open_work.h"

#include <algorithm>

namespace triad::review {

void OpenWork::Add(absl::Time due, double hours) {
  items_.emplace(due, hours);
  absl::MutexLock lock(&mu_);
  cached_weeks_ = 0;
}

bool OpenWork::Remove(absl::Time due, double hours) {
  auto [lo, hi] = items_.equal_range(due);
  for (auto it = lo; it != hi; ++it) {
    if (it->second == hours) {
      items_.erase(it);
      absl::MutexLock lock(&mu_);
      cached_weeks_ = 0;
      return true;
    }
  }
  return false;
}

std::vector<double> OpenWork::Walk(absl::Time now, int weeks, absl::Time* valid_through) const {
  std::vector<double> sums(static_cast<size_t>(weeks), 0.0);
  // The items are sorted by due time: one walk, moving on a bucket at each bucket's end.
  // Times are compared instead of dividing each one's distance from now by a week.
  int week = 0;
  absl::Time week_end = now + kWeek;
  for (const auto& [due, hours] : items_) {
    while (week < weeks - 1 && due >= week_end) {
      ++week;
      week_end += kWeek;
    }
    sums[static_cast<size_t>(week)] += hours;
  }
  // An item due at d, at or after boundary k (now + k weeks), stays at or after it while
  // d >= t + k weeks, i.e. until t = d - k weeks; the first item at or after each boundary is
  // the first to cross it.
  *valid_through = absl::InfiniteFuture();
  for (int k = 1; k < weeks; ++k) {
    auto it = items_.lower_bound(now + k * kWeek);
    if (it == items_.end()) break;
    *valid_through = std::min(*valid_through, it->first - k * kWeek);
  }
  return sums;
}

std::vector<double> OpenWork::WeeklyHours(absl::Time now, int weeks) const {
  weeks = std::max(weeks, 1);
  absl::MutexLock lock(&mu_);
  if (cached_weeks_ == weeks && now >= cached_from_ && now <= valid_through_) return cached_;
  absl::Time valid_through;
  cached_ = Walk(now, weeks, &valid_through);
  cached_weeks_ = weeks;
  cached_from_ = now;
  valid_through_ = valid_through;
  return cached_;
}

}  // namespace triad::review
