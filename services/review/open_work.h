// OpenWork: one expert's open review work by due time, and its sum by week for the load view,
// remembered until an item crosses a week's boundary or the work changes.
#ifndef TRIAD_SERVICES_REVIEW_OPEN_WORK_H_
#define TRIAD_SERVICES_REVIEW_OPEN_WORK_H_

#include <map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace triad::review {

// OpenWork holds (due time, estimated hours) items. Add and Remove must not run concurrently
// with anything else on the same object (the domain calls them under its lock held
// exclusively); WeeklyHours may run on many threads at once (under the lock held shared).
class OpenWork {
 public:
  // kWeek is the width of one bucket of WeeklyHours.
  static constexpr absl::Duration kWeek = absl::Hours(24 * 7);

  OpenWork() = default;
  OpenWork(const OpenWork&) = delete;
  OpenWork& operator=(const OpenWork&) = delete;

  // Add adds an item.
  void Add(absl::Time due, double hours);

  // Remove removes one item with exactly this due time and these hours; false when there is
  // none.
  bool Remove(absl::Time due, double hours);

  // empty is true when no item is left.
  bool empty() const { return items_.empty(); }

  // WeeklyHours sums the hours into `weeks` (>= 1) buckets from `now`: bucket 0 holds the work
  // due before now + 1 week (overdue work too), bucket k the work due in [now + k weeks,
  // now + (k + 1) weeks), the last bucket also all work due later. It answers from the sums it
  // last computed for the same `weeks` while no item has crossed a bucket's boundary since
  // (boundaries move with `now`, so items only ever move to an earlier bucket) and the work is
  // unchanged; otherwise it walks the items once.
  std::vector<double> WeeklyHours(absl::Time now, int weeks) const;

 private:
  // Walk sums the items by week from `now` and sets `*valid_through` to the last moment at
  // which every item is still in the bucket it was summed into.
  std::vector<double> Walk(absl::Time now, int weeks, absl::Time* valid_through) const;

  std::multimap<absl::Time, double> items_;
  mutable absl::Mutex mu_;
  mutable int cached_weeks_ ABSL_GUARDED_BY(mu_) = 0;  // 0: nothing remembered.
  mutable absl::Time cached_from_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time valid_through_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<double> cached_ ABSL_GUARDED_BY(mu_);
};

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_OPEN_WORK_H_
