// Tests of OpenWork: its sums by week equal a fresh count at every moment, as time passes, items
// cross the weeks' boundaries and work is added and removed.
#include "services/review/open_work.h"

#include <random>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace triad::review {
namespace {

constexpr absl::Duration kWeek = OpenWork::kWeek;

// Count sums `items` by week from `now` as the load view defines it, item by item.
std::vector<double> Count(const std::vector<std::pair<absl::Time, double>>& items, absl::Time now,
                          int weeks) {
  std::vector<double> sums(static_cast<size_t>(weeks), 0.0);
  for (const auto& [due, hours] : items) {
    int week = 0;
    while (week < weeks - 1 && due >= now + (week + 1) * kWeek) ++week;
    sums[static_cast<size_t>(week)] += hours;
  }
  return sums;
}

TEST(OpenWorkTest, WorkMovesToAnEarlierWeekTheMomentItsWeekBegins) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  OpenWork w;
  w.Add(t0 + kWeek, 3);  // due exactly at the end of the first week
  w.Add(t0 + 2 * kWeek + absl::Hours(1), 5);
  w.Add(t0 - absl::Hours(2), 1);  // overdue
  w.Add(t0 + 30 * kWeek, 7);      // beyond the view
  EXPECT_EQ(w.WeeklyHours(t0, 4), (std::vector<double>{1, 3, 5, 7}));
  // A nanosecond before the first item's boundary nothing has moved; at it, it has.
  EXPECT_EQ(w.WeeklyHours(t0 - absl::Nanoseconds(1), 4), (std::vector<double>{1, 3, 5, 7}));
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Nanoseconds(1), 4), (std::vector<double>{4, 0, 5, 7}));
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Hours(1), 4), (std::vector<double>{4, 0, 5, 7}));
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Hours(1) + absl::Nanoseconds(1), 4),
            (std::vector<double>{4, 5, 0, 7}));
  // A change shows at once, also inside a stretch the last sums were good for.
  w.Add(t0 + absl::Hours(3), 10);
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Hours(2), 4), (std::vector<double>{14, 5, 0, 7}));
  EXPECT_TRUE(w.Remove(t0 + absl::Hours(3), 10));
  EXPECT_FALSE(w.Remove(t0 + absl::Hours(3), 10));
  EXPECT_FALSE(w.Remove(t0 + kWeek, 4));  // same due time, other hours
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Hours(2), 4), (std::vector<double>{4, 5, 0, 7}));
  // Other widths of the view, one bucket included.
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Hours(2), 1), (std::vector<double>{16}));
  EXPECT_EQ(w.WeeklyHours(t0 + absl::Hours(2), 2), (std::vector<double>{4, 12}));
}

TEST(OpenWorkTest, SumsEqualAFreshCountAsTimePassesAndWorkChanges) {
  std::mt19937_64 rng(20261130);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  OpenWork w;
  std::vector<std::pair<absl::Time, double>> items;
  absl::Time now = t0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 2 || items.empty()) {
      // Due from two weeks ago to ten weeks ahead, often on a whole hour (shared due times).
      absl::Duration offset =
          absl::Minutes(static_cast<int64_t>(rng() % (12 * 7 * 24 * 60))) - 2 * kWeek;
      if (rng() % 2) offset = absl::Hours(absl::ToInt64Hours(offset));
      const double hours = static_cast<double>(1 + rng() % 8);
      w.Add(now + offset, hours);
      items.emplace_back(now + offset, hours);
    } else if (op < 3) {
      const size_t i = rng() % items.size();
      ASSERT_TRUE(w.Remove(items[i].first, items[i].second));
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      // Time passes: a nanosecond, a minute or most of a day.
      const int64_t kind = static_cast<int64_t>(rng() % 3);
      now += kind == 0   ? absl::Nanoseconds(1)
             : kind == 1 ? absl::Minutes(1)
                         : absl::Minutes(static_cast<int64_t>(rng() % 1200));
    }
    const int weeks = 1 + static_cast<int>(rng() % 6);
    ASSERT_EQ(w.WeeklyHours(now, weeks), Count(items, now, weeks))
        << "step " << step << ", weeks " << weeks;
  }
}

}  // namespace
}  // namespace triad::review
