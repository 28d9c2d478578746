// Tests of the finite-capacity scheduler: examples (precedence, calendars, priority, stability,
// moves, unschedulable work, probing) and properties over random instances (never over-allocates
// a resource on any day, respects phase order, skills and calendars, is deterministic, and keeps
// fixed phases). The random tests print their seed; TRIAD_TEST_SEED reproduces a run.
#include "services/production/scheduler.h"

#include <map>
#include <random>
#include <set>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::production::sched {
namespace {

// 2026-01-05 is a Monday.
Day Monday() { return *ParseDay("2026-01-05"); }

ResourceIn Res(std::string id, std::string skill, double weekly = 40) {
  ResourceIn r;
  r.id = std::move(id);
  r.skills = {std::move(skill)};
  r.weekly_hours = weekly;
  return r;
}

PhaseIn Ph(std::string id, std::string skill, double hours) {
  PhaseIn p;
  p.id = std::move(id);
  p.skill = std::move(skill);
  p.effort_hours = hours;
  return p;
}

ProjectIn Proj(std::string id, Day due, std::vector<PhaseIn> phases, double value = 1) {
  ProjectIn p;
  p.id = std::move(id);
  p.due = due;
  p.value = value;
  p.phases = std::move(phases);
  return p;
}

TEST(DayTest, ParsesAndFormatsStrictly) {
  EXPECT_EQ(FormatDay(*ParseDay("2026-03-01")), "2026-03-01");
  EXPECT_FALSE(ParseDay("2026-02-30").has_value());
  EXPECT_FALSE(ParseDay("2026-2-3").has_value());
  EXPECT_FALSE(ParseDay("").has_value());
  EXPECT_FALSE(ParseDay("1960-01-01").has_value());
  EXPECT_EQ(Weekday(Monday()), 0);
  EXPECT_TRUE(IsWeekend(Monday() + 5));
}

// ParseDay is hand-written for speed: it must agree with absl's civil calendar on every day
// it accepts and refuse every string that is not exactly a real YYYY-MM-DD in [1970, 2200].
TEST(DayTest, ParseDayAgreesWithTheCivilCalendarOnEveryDay) {
  const absl::CivilDay epoch(1970, 1, 1);
  for (absl::CivilDay d = epoch; d.year() <= 2200; ++d) {
    const std::string text = absl::FormatCivilTime(d);
    const std::optional<Day> parsed = ParseDay(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    ASSERT_EQ(*parsed, d - epoch) << text;
    ASSERT_EQ(FormatDay(*parsed), text);
  }
  // FormatDay is hand-written too: days before 1970 and far ahead agree with absl as well.
  for (Day day : {-800000, -1, 0, 59, 365 * 400, 2932896}) {
    EXPECT_EQ(FormatDay(day), absl::FormatCivilTime(epoch + day)) << day;
  }
  for (const char* bad : {"2023-02-29", "2100-02-29", "1969-12-31", "2201-01-01", "2026-13-01",
                          "2026-00-10", "2026-01-00", "2026-04-31", "2026-01-0a", "+026-01-01",
                          "2026/01/01", "2026-01-1 ", " 2026-01-1", "20260-1-01", "2026-01-01T"}) {
    EXPECT_FALSE(ParseDay(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseDay("2024-02-29").has_value());
  EXPECT_TRUE(ParseDay("2000-02-29").has_value());
}

TEST(SchedulerTest, PhasesRunInOrderOnWorkingDays) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r-design", "design"), Res("r-build", "build")};
  p.projects = {Proj("p1", Monday() + 30, {Ph("a", "design", 16), Ph("b", "build", 24)})};
  Result r = Schedule(p);
  const ProjectOut& o = r.projects[0];
  EXPECT_EQ(o.phases[0].resource, "r-design");
  EXPECT_EQ(o.phases[0].start, Monday());
  EXPECT_EQ(o.phases[0].end, Monday() + 1);  // 2 days of 8 h
  EXPECT_EQ(o.phases[1].start, Monday() + 2);
  EXPECT_EQ(o.phases[1].end, Monday() + 4);  // Wed..Fri
  EXPECT_EQ(o.end, Monday() + 4);
  EXPECT_FALSE(o.late);
}

TEST(SchedulerTest, SkipsWeekendsLeaveAndNonWorkingDays) {
  Problem p;
  p.today = Monday() + 4;  // Friday
  ResourceIn r = Res("r", "design");
  r.off_days = {Monday() + 7};  // next Monday off
  p.resources = {r};
  p.projects = {Proj("p1", Monday() + 30, {Ph("a", "design", 16)})};
  Result out = Schedule(p);
  EXPECT_EQ(out.projects[0].phases[0].start, Monday() + 4);
  EXPECT_EQ(out.projects[0].phases[0].end, Monday() + 8);  // Fri, then Tue
}

TEST(SchedulerTest, EarlierDueDateGoesFirstAndLateIsFlagged) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r", "design")};
  p.projects = {Proj("late-due", Monday() + 20, {Ph("a", "design", 40)}),
                Proj("early-due", Monday() + 4, {Ph("a", "design", 40)})};
  Result r = Schedule(p);
  EXPECT_EQ(r.projects[1].phases[0].start, Monday());
  EXPECT_EQ(r.projects[1].end, Monday() + 4);
  EXPECT_FALSE(r.projects[1].late);
  EXPECT_EQ(r.projects[0].phases[0].start, Monday() + 7);
  EXPECT_EQ(r.projects[0].end, Monday() + 11);
  p.projects[0].due = Monday() + 10;
  r = Schedule(p);
  EXPECT_TRUE(r.projects[0].late);
  EXPECT_EQ(r.projects[0].bottleneck_skill, "design");
  EXPECT_EQ(r.projects[0].bottleneck_resource, "r");
}

TEST(SchedulerTest, HigherValueBreaksDueDateTiesAndTentativeGoesLast) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r", "design")};
  p.projects = {Proj("small", Monday() + 4, {Ph("a", "design", 8)}, 10),
                Proj("big", Monday() + 4, {Ph("a", "design", 8)}, 100)};
  p.projects.push_back(Proj("soft", Monday(), {Ph("a", "design", 8)}, 1000));
  p.projects.back().tentative = true;
  Result r = Schedule(p);
  EXPECT_EQ(r.projects[1].phases[0].start, Monday());
  EXPECT_EQ(r.projects[0].phases[0].start, Monday() + 1);
  EXPECT_EQ(r.projects[2].phases[0].start, Monday() + 2);
}

TEST(SchedulerTest, FixedPhasesKeepTheirPlanAndOthersMoveWithExplanation) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r", "design")};
  ProjectIn old = Proj("old", Monday() + 30, {Ph("a", "design", 16)});
  old.phases[0].previous_resource = "r";
  old.phases[0].previous_start = Monday();
  ProjectIn pinned = Proj("pinned", Monday() + 40, {Ph("a", "design", 8)});
  pinned.phases[0].fixed = true;
  pinned.phases[0].fixed_resource = "r";
  pinned.phases[0].fixed_allocation = {{Monday() + 2, 8}};
  pinned.phases[0].previous_resource = "r";
  pinned.phases[0].previous_start = Monday() + 2;
  ProjectIn urgent = Proj("urgent", Monday() + 1, {Ph("a", "design", 8)});
  p.projects = {old, pinned, urgent};
  Result r = Schedule(p);
  EXPECT_EQ(r.projects[1].phases[0].start, Monday() + 2);
  EXPECT_FALSE(r.projects[1].phases[0].moved);
  EXPECT_EQ(r.projects[2].phases[0].start, Monday());
  // "old" is pushed past the urgent day and around the pinned day.
  EXPECT_EQ(r.projects[0].phases[0].start, Monday() + 1);
  EXPECT_EQ(r.projects[0].phases[0].end, Monday() + 3);
  EXPECT_TRUE(r.projects[0].phases[0].moved);
  EXPECT_EQ(r.projects[0].phases[0].displaced_by_project, "urgent");
  EXPECT_EQ(r.phases_moved, 1);
  EXPECT_EQ(r.total_shift_days, 1);
}

// Remembers a result as the previous plans of a problem.
void Remember(Problem& p, const Result& r) {
  for (size_t i = 0; i < p.projects.size(); ++i) {
    for (size_t k = 0; k < p.projects[i].phases.size(); ++k) {
      PhaseIn& ph = p.projects[i].phases[k];
      ph.previous_resource = r.projects[i].phases[k].resource;
      ph.previous_start = r.projects[i].phases[k].start;
      ph.previous_allocation = r.projects[i].phases[k].allocation;
    }
  }
}

TEST(SchedulerTest, PlansAreKeptUnlessRedispatchingSavesADueDate) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r", "design")};
  p.projects = {Proj("a", Monday() + 30, {Ph("a1", "design", 40)}),
                Proj("b", Monday() + 40, {Ph("b1", "design", 40)})};
  Remember(p, Schedule(p));
  // A relaxed newcomer with an earlier due date than "b" goes after both: nothing moves.
  p.projects.push_back(Proj("c", Monday() + 35, {Ph("c1", "design", 16)}));
  Result kept = Schedule(p);
  EXPECT_TRUE(kept.plans_kept);
  EXPECT_EQ(kept.phases_moved, 0);
  EXPECT_EQ(kept.projects[2].phases[0].start, Monday() + 14);
  EXPECT_FALSE(kept.projects[2].late);
  // An urgent newcomer would be late behind them: everything is dispatched again by priority.
  p.projects[2].due = Monday() + 2;
  Result redone = Schedule(p);
  EXPECT_FALSE(redone.plans_kept);
  EXPECT_EQ(redone.projects[2].phases[0].start, Monday());
  EXPECT_FALSE(redone.projects[2].late);
  EXPECT_EQ(redone.phases_moved, 2);
  EXPECT_EQ(redone.total_shift_days, 4);  // a: Mon -> Wed, b: Mon+7 -> Wed+7
}

TEST(SchedulerTest, FixedPhaseOnInactiveResourceIsPlannedAgain) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("gone", "design"), Res("other", "design")};
  p.resources[0].active = false;
  ProjectIn pr = Proj("p", Monday() + 30, {Ph("a", "design", 8)});
  pr.phases[0].fixed = true;
  pr.phases[0].fixed_resource = "gone";
  pr.phases[0].fixed_allocation = {{Monday(), 8}};
  p.projects = {pr};
  Result r = Schedule(p);
  EXPECT_EQ(r.projects[0].phases[0].resource, "other");
}

TEST(SchedulerTest, MissingSkillIsUnschedulableAndLate) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r", "design")};
  p.projects = {Proj("p", Monday() + 30, {Ph("a", "design", 8), Ph("b", "welding", 8)})};
  Result r = Schedule(p);
  EXPECT_TRUE(r.projects[0].late);
  EXPECT_EQ(r.projects[0].end, -1);
  EXPECT_NE(r.projects[0].phases[1].unschedulable.find("welding"), std::string::npos);
  EXPECT_EQ(r.projects[0].bottleneck_skill, "welding");
}

TEST(SchedulerTest, ProbeDoesNotBookCapacity) {
  Problem p;
  p.today = Monday();
  p.resources = {Res("r", "design")};
  p.projects = {Proj("p", Monday() + 30, {Ph("a", "design", 40)})};
  Scheduler s;
  s.Run(p);
  ProjectIn hypo = Proj("h", Monday() + 8, {Ph("a", "design", 8)});
  ProjectOut first = s.Probe(hypo);
  ProjectOut second = s.Probe(hypo);
  EXPECT_EQ(first.end, Monday() + 7);
  EXPECT_EQ(second.end, first.end);
  EXPECT_FALSE(first.late);
  EXPECT_DOUBLE_EQ(s.RemainingHours(0, Monday() + 7), 8);
}

// Random instances --------------------------------------------------------------------------

Problem RandomProblem(std::mt19937_64& rng) {
  const std::vector<std::string> skills = {"design", "build", "test", "install"};
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Problem p;
  p.today = Monday() + uni(0, 6);
  p.horizon_days = 400;
  int nr = uni(1, 8);
  for (int i = 0; i < nr; ++i) {
    ResourceIn r = Res("r" + std::to_string(i), skills[uni(0, 3)], uni(8, 50));
    if (uni(0, 2) == 0) r.skills.push_back(skills[uni(0, 3)]);
    for (int k = uni(0, 6); k > 0; --k) r.off_days.push_back(p.today + uni(0, 60));
    r.active = uni(0, 9) != 0;
    p.resources.push_back(r);
  }
  int np = uni(0, 15);
  for (int i = 0; i < np; ++i) {
    std::vector<PhaseIn> phases;
    for (int k = uni(1, 5); k > 0; --k) {
      phases.push_back(Ph("ph" + std::to_string(k), skills[uni(0, 3)], uni(1, 120) / 2.0));
    }
    ProjectIn pr = Proj("p" + std::to_string(i), p.today + uni(0, 90), phases, uni(1, 1000));
    pr.release = p.today + uni(-5, 10);
    pr.tentative = uni(0, 5) == 0;
    p.projects.push_back(pr);
  }
  p.rule = static_cast<Rule>(uni(0, 2));
  return p;
}

// CheckInvariants checks capacity, calendars, skills, precedence and effort of a result.
void CheckInvariants(const Problem& p, const Result& r) {
  std::map<std::string, const ResourceIn*> res;
  for (const ResourceIn& x : p.resources) res[x.id] = &x;
  std::map<std::pair<std::string, Day>, double> used;
  ASSERT_EQ(r.projects.size(), p.projects.size());
  for (size_t i = 0; i < p.projects.size(); ++i) {
    const ProjectIn& pr = p.projects[i];
    Day prev_end = std::max(pr.release, p.today) - 1;
    bool placed = true;
    for (size_t k = 0; k < pr.phases.size(); ++k) {
      const PhaseOut& o = r.projects[i].phases[k];
      if (!o.unschedulable.empty()) {
        placed = false;
        continue;
      }
      ASSERT_TRUE(placed) << "phase placed after an unschedulable one";
      EXPECT_GT(o.start, prev_end)
          << pr.id << " phase " << k << " starts before its predecessor ends";
      EXPECT_LE(o.start, o.end);
      const ResourceIn* rs = res[o.resource];
      ASSERT_NE(rs, nullptr) << o.resource;
      EXPECT_TRUE(rs->active) << "planned on inactive " << rs->id;
      EXPECT_NE(std::find(rs->skills.begin(), rs->skills.end(), pr.phases[k].skill),
                rs->skills.end());
      double sum = 0;
      for (const auto& [d, h] : o.allocation) {
        EXPECT_GE(d, o.start);
        EXPECT_LE(d, o.end);
        EXPECT_GE(d, p.today);
        EXPECT_FALSE(IsWeekend(d)) << "work on a weekend";
        EXPECT_EQ(std::count(rs->off_days.begin(), rs->off_days.end(), d), 0)
            << "work on a day off";
        EXPECT_GT(h, 0);
        used[{o.resource, d}] += h;
        sum += h;
      }
      EXPECT_NEAR(sum, pr.phases[k].effort_hours, 1e-6);
      prev_end = o.end;
    }
    if (placed && !pr.phases.empty()) {
      EXPECT_EQ(r.projects[i].end, prev_end);
      EXPECT_EQ(r.projects[i].late, prev_end > pr.due);
    }
  }
  for (const auto& [key, hours] : used) {
    EXPECT_LE(hours, res[key.first]->weekly_hours / 5 + 1e-6)
        << key.first << " over-allocated on " << FormatDay(key.second);
  }
}

TEST(SchedulerPropertyTest, RandomInstancesRespectCapacityPrecedenceAndCalendars) {
  const uint64_t seed = testing::RandomTestSeed();
  std::mt19937_64 rng(seed);
  for (int iter = 0; iter < 300; ++iter) {
    Problem p = RandomProblem(rng);
    Result r = Schedule(p);
    CheckInvariants(p, r);
    if (HasFailure()) FAIL() << "instance " << iter << " of seed " << seed;
    // Deterministic.
    Result again = Schedule(p);
    for (size_t i = 0; i < r.projects.size(); ++i) {
      for (size_t k = 0; k < r.projects[i].phases.size(); ++k) {
        EXPECT_EQ(again.projects[i].phases[k].allocation, r.projects[i].phases[k].allocation);
        EXPECT_EQ(again.projects[i].phases[k].resource, r.projects[i].phases[k].resource);
      }
    }
  }
}

TEST(SchedulerPropertyTest, FixedPhasesNeverMoveWhenWorkIsAdded) {
  const uint64_t seed = testing::RandomTestSeed();
  std::mt19937_64 rng(seed);
  for (int iter = 0; iter < 200; ++iter) {
    Problem p = RandomProblem(rng);
    p.rule = Rule::kDueDateValue;
    Result first = Schedule(p);
    // Fix a prefix of each project's phases (as if started or pinned: the service pins a
    // phase together with its predecessors) and remember the rest.
    std::set<std::pair<size_t, size_t>> fixed;
    for (size_t i = 0; i < p.projects.size(); ++i) {
      for (size_t k = 0; k < p.projects[i].phases.size(); ++k) {
        const PhaseOut& o = first.projects[i].phases[k];
        PhaseIn& ph = p.projects[i].phases[k];
        if (!o.unschedulable.empty()) continue;
        ph.previous_resource = o.resource;
        ph.previous_start = o.start;
        ph.previous_allocation = o.allocation;
        if (k < (i % 3) && !o.allocation.empty() && (k == 0 || fixed.count({i, k - 1}) > 0)) {
          ph.fixed = true;
          ph.fixed_resource = o.resource;
          ph.fixed_allocation = o.allocation;
          fixed.insert({i, k});
        }
      }
    }
    Result same = Schedule(p);
    EXPECT_EQ(same.phases_moved, 0) << "rescheduling an unchanged problem moved phases";
    p.projects.push_back(Proj("new", p.today, {Ph("x", "design", 30), Ph("y", "build", 30)}, 1e6));
    Result second = Schedule(p);
    CheckInvariants(p, second);
    for (const auto& [i, k] : fixed) {
      EXPECT_EQ(second.projects[i].phases[k].allocation, first.projects[i].phases[k].allocation);
      EXPECT_FALSE(second.projects[i].phases[k].moved);
    }
    int moved = 0;
    for (const ProjectOut& po : second.projects) {
      for (const PhaseOut& o : po.phases) moved += o.moved ? 1 : 0;
    }
    EXPECT_EQ(moved, second.phases_moved);
    if (HasFailure()) FAIL() << "instance " << iter << " of seed " << seed;
  }
}

}  // namespace
}  // namespace triad::production::sched
