// Tests of phases that need more than one resource (e.g. a designer and a checker): the
// scheduler plans every part on a resource of its own, the phase spans them all, the next phase
// waits for the last of them, capacity is respected on each resource (examples and random
// instances, seed printed, TRIAD_TEST_SEED reruns), stable plans keep the parts, and the
// domain instantiates, stores and reports them (template, project, utilisation).
#include <map>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/production/production.h"
#include "services/production/scheduler.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

using sched::Day;
using sched::ParseDay;

Day Monday() { return *ParseDay("2026-01-05"); }

sched::ResourceIn Res(std::string id, std::vector<std::string> skills, double weekly = 40) {
  sched::ResourceIn r;
  r.id = std::move(id);
  r.skills = std::move(skills);
  r.weekly_hours = weekly;
  return r;
}

sched::PhaseIn Ph(std::string id, std::string skill, double hours,
                  std::vector<std::pair<std::string, double>> parts = {}) {
  sched::PhaseIn p;
  p.id = std::move(id);
  p.skill = std::move(skill);
  p.effort_hours = hours;
  for (auto& [s, h] : parts) p.parts.push_back(sched::PartIn{s, h});
  return p;
}

sched::ProjectIn Proj(std::string id, Day due, std::vector<sched::PhaseIn> phases) {
  sched::ProjectIn p;
  p.id = std::move(id);
  p.due = due;
  p.value = 1;
  p.phases = std::move(phases);
  return p;
}

double Sum(const sched::Allocation& a) {
  double s = 0;
  for (const auto& [d, h] : a) s += h;
  return s;
}

// CheckPlan asserts every resource's booked hours on every day stay within its capacity, every
// piece of a phase is on a distinct resource with its skill and covers its effort, and each
// phase starts after the previous one (all of its pieces) ends.
void CheckPlan(const sched::Problem& p, const sched::Result& r) {
  std::map<std::string, const sched::ResourceIn*> res;
  for (const sched::ResourceIn& x : p.resources) res[x.id] = &x;
  std::map<std::pair<std::string, Day>, double> used;
  auto has_skill = [&](const std::string& id, const std::string& skill) {
    const auto& s = res.at(id)->skills;
    return std::find(s.begin(), s.end(), skill) != s.end();
  };
  for (size_t i = 0; i < p.projects.size(); ++i) {
    Day prev_end = p.today - 1;
    for (size_t k = 0; k < p.projects[i].phases.size(); ++k) {
      const sched::PhaseIn& in = p.projects[i].phases[k];
      const sched::PhaseOut& out = r.projects[i].phases[k];
      if (!out.unschedulable.empty()) break;
      std::set<std::string> on;
      ASSERT_TRUE(has_skill(out.resource, in.skill)) << in.id;
      on.insert(out.resource);
      EXPECT_NEAR(Sum(out.allocation), in.effort_hours, 1e-6);
      Day last = out.allocation.back().first;
      for (const auto& [d, h] : out.allocation) {
        EXPECT_GT(d, prev_end) << p.projects[i].id << "/" << in.id;
        used[{out.resource, d}] += h;
      }
      ASSERT_EQ(out.parts.size(), in.parts.size());
      for (size_t j = 0; j < in.parts.size(); ++j) {
        const sched::PartOut& part = out.parts[j];
        ASSERT_TRUE(has_skill(part.resource, in.parts[j].skill)) << in.id;
        EXPECT_TRUE(on.insert(part.resource).second)
            << "two pieces of " << in.id << " on " << part.resource;
        EXPECT_NEAR(Sum(part.allocation), in.parts[j].effort_hours, 1e-6);
        for (const auto& [d, h] : part.allocation) {
          EXPECT_GT(d, prev_end) << p.projects[i].id << "/" << in.id << " part " << j;
          used[{part.resource, d}] += h;
          last = std::max(last, d);
        }
        EXPECT_GE(part.start, out.start);
        EXPECT_LE(part.end, out.end);
      }
      EXPECT_EQ(out.end, last);
      prev_end = out.end;
    }
  }
  for (const auto& [key, hours] : used) {
    const sched::ResourceIn& x = *res.at(key.first);
    const bool off = sched::IsWeekend(key.second) ||
                     std::count(x.off_days.begin(), x.off_days.end(), key.second) > 0;
    EXPECT_LE(hours, (off ? 0 : x.weekly_hours / 5) + 1e-6)
        << key.first << " on " << sched::FormatDay(key.second);
  }
}

TEST(MultiResourceSchedulerTest, DesignerAndCheckerArePlannedAndTheNextPhaseWaitsForBoth) {
  sched::Problem p;
  p.today = Monday();
  p.resources = {Res("designer", {"design"}), Res("checker", {"check"}, 20),
                 Res("drafter", {"drafting"})};
  // 16 h of design (2 days) needs 16 h of checking (4 days at 4 h/day): the phase ends with the
  // checker; drafting starts the day after.
  p.projects = {Proj("a", Monday() + 30,
                     {Ph("design", "design", 16, {{"check", 16}}), Ph("draw", "drafting", 8)}),
                Proj("b", Monday() + 31, {Ph("design", "design", 16, {{"check", 8}})})};
  const sched::Result r = sched::Schedule(p);
  CheckPlan(p, r);
  const sched::PhaseOut& a1 = r.projects[0].phases[0];
  EXPECT_EQ(a1.resource, "designer");
  ASSERT_EQ(a1.parts.size(), 1u);
  EXPECT_EQ(a1.parts[0].resource, "checker");
  EXPECT_EQ(a1.start, Monday());
  EXPECT_EQ(a1.parts[0].end, Monday() + 3);  // Thursday: 4 days of 4 h
  EXPECT_EQ(a1.end, Monday() + 3);
  EXPECT_EQ(r.projects[0].phases[1].start, Monday() + 4);  // after the checker, not the designer
  // Project b's checking waits for the checker's capacity (a has it until Thursday).
  const sched::PhaseOut& b1 = r.projects[1].phases[0];
  EXPECT_EQ(b1.parts[0].start, Monday() + 4);
  EXPECT_EQ(b1.parts[0].end, Monday() + 7);  // Friday and Monday
  EXPECT_EQ(r.projects[1].end, Monday() + 7);
}

TEST(MultiResourceSchedulerTest, APartNeedsAResourceOfItsOwn) {
  sched::Problem p;
  p.today = Monday();
  p.resources = {Res("d1", {"design"}), Res("d2", {"design"})};
  p.projects = {Proj("four-eyes", Monday() + 30, {Ph("design", "design", 16, {{"design", 16}})})};
  sched::Result r = sched::Schedule(p);
  CheckPlan(p, r);
  EXPECT_NE(r.projects[0].phases[0].resource, r.projects[0].phases[0].parts[0].resource);
  EXPECT_EQ(r.projects[0].end, Monday() + 1);  // both in parallel, two days
  // With one designer there is nobody for the second pair of eyes.
  p.resources.pop_back();
  r = sched::Schedule(p);
  EXPECT_EQ(r.projects[0].end, -1);
  EXPECT_TRUE(r.projects[0].late);
  EXPECT_TRUE(absl::StrContains(r.projects[0].phases[0].unschedulable, "no other resource"))
      << r.projects[0].phases[0].unschedulable;
  // Nothing of the unschedulable phase was booked: a probe still finds the designer free.
  sched::Scheduler s;
  s.Run(p);
  EXPECT_DOUBLE_EQ(s.RemainingHours(0, Monday()), 8);
}

TEST(MultiResourceSchedulerTest, KeptAndFixedPlansKeepTheirParts) {
  sched::Problem p;
  p.today = Monday();
  p.resources = {Res("designer", {"design"}), Res("checker", {"check"})};
  p.projects = {Proj("a", Monday() + 60, {Ph("design", "design", 24, {{"check", 8}})})};
  sched::Result first = sched::Schedule(p);
  // The plan becomes the previous plan; a more urgent project arrives. The kept plan holds.
  sched::PhaseIn& ph = p.projects[0].phases[0];
  ph.previous_resource = first.projects[0].phases[0].resource;
  ph.previous_start = first.projects[0].phases[0].start;
  ph.previous_allocation = first.projects[0].phases[0].allocation;
  ph.parts[0].previous_resource = first.projects[0].phases[0].parts[0].resource;
  ph.parts[0].previous_allocation = first.projects[0].phases[0].parts[0].allocation;
  p.projects.push_back(Proj("b", Monday() + 59, {Ph("design", "design", 8, {{"check", 8}})}));
  sched::Result second = sched::Schedule(p);
  CheckPlan(p, second);
  EXPECT_TRUE(second.plans_kept);
  EXPECT_EQ(second.projects[0].phases[0].parts[0].allocation,
            first.projects[0].phases[0].parts[0].allocation);
  EXPECT_GT(second.projects[1].phases[0].parts[0].start,
            first.projects[0].phases[0].parts[0].start);
  // Fixed (started): both pieces stay even when a higher priority arrives.
  ph.fixed = true;
  ph.fixed_resource = ph.previous_resource;
  ph.fixed_allocation = ph.previous_allocation;
  ph.parts[0].fixed_resource = ph.parts[0].previous_resource;
  ph.parts[0].fixed_allocation = ph.parts[0].previous_allocation;
  p.projects[1].due = Monday() + 1;
  p.keep_plans = false;
  sched::Result third = sched::Schedule(p);
  CheckPlan(p, third);
  EXPECT_EQ(third.projects[0].phases[0].parts[0].allocation, ph.parts[0].fixed_allocation);
  EXPECT_EQ(third.projects[0].phases[0].allocation, ph.fixed_allocation);
}

TEST(MultiResourceSchedulerTest, RandomInstancesRespectCapacityOfEveryResource) {
  const uint64_t seed = ::triad::testing::TestSeed(20261129);
  std::mt19937_64 rng(seed);
  const std::vector<std::string> skills = {"design", "check", "drafting", "test"};
  for (int round = 0; round < 30; ++round) {
    sched::Problem p;
    p.today = Monday();
    p.horizon_days = 400;
    const int nres = 3 + static_cast<int>(rng() % 6);
    for (int i = 0; i < nres; ++i) {
      sched::ResourceIn r =
          Res("r" + std::to_string(i), {skills[i % skills.size()]}, 8.0 * (1 + rng() % 5));
      if (rng() % 3 == 0) r.skills.push_back(skills[rng() % skills.size()]);
      for (int k = 0; k < static_cast<int>(rng() % 4); ++k) {
        r.off_days.push_back(Monday() + static_cast<Day>(rng() % 60));
      }
      p.resources.push_back(std::move(r));
    }
    const int nproj = 1 + static_cast<int>(rng() % 8);
    for (int j = 0; j < nproj; ++j) {
      std::vector<sched::PhaseIn> phases;
      const int nph = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < nph; ++k) {
        std::vector<std::pair<std::string, double>> parts;
        for (int q = 0; q < static_cast<int>(rng() % 3); ++q) {
          parts.emplace_back(skills[rng() % skills.size()], 1.0 + rng() % 40);
        }
        phases.push_back(
            Ph("ph" + std::to_string(k), skills[rng() % skills.size()], 1.0 + rng() % 60, parts));
      }
      p.projects.push_back(
          Proj("p" + std::to_string(j), Monday() + static_cast<Day>(rng() % 60), phases));
    }
    const sched::Result r = sched::Schedule(p);
    CheckPlan(p, r);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "round " << round << " (seed " << seed << ")";
      return;
    }
  }
}

TEST(MultiResourceDomainTest, TemplatesProjectsAndUtilisationCarryEveryResource) {
  ::triad::testing::TempDir dir;
  ::triad::testing::FakeClock clock;  // Monday 2026-03-02
  auto storage =
      ::triad::testing::OpenServiceStorage(dir.Sub("db"), ColumnFamilies(), "triad/production");
  ASSERT_TRUE(storage.ok()) << storage.status();
  ProductionOptions o;
  o.clock = clock.AsFunction();
  auto created = Production::Create(storage->store.get(), storage->outbox.get(), o);
  ASSERT_TRUE(created.ok()) << created.status();
  Production& p = **created;
  common::v1::Actor actor;
  actor.set_id("u:planner");
  for (const auto& [id, skill] : std::vector<std::pair<std::string, std::string>>{
           {"designer", "design"}, {"checker", "check"}}) {
    v1::CreateResourceRequest req;
    req.mutable_resource()->set_resource_id(id);
    req.mutable_resource()->set_display_name(id);
    req.mutable_resource()->add_skills(skill);
    req.mutable_resource()->set_weekly_capacity_hours(40);
    *req.mutable_actor() = actor;
    ASSERT_TRUE(p.CreateResource(req).ok());
  }
  v1::CreatePhaseTemplateVersionRequest tpl;
  tpl.mutable_template_()->set_product_line("checked-design");
  tpl.mutable_template_()->set_default_effort_hours(100);
  v1::PhaseTemplate* ph = tpl.mutable_template_()->add_phases();
  ph->set_name("design");
  ph->set_effort_share(1);
  ph->set_required_skill("design");
  v1::PhaseRequirement* check = ph->add_additional_requirements();
  check->set_skill("check");
  check->set_effort_share(1.5);  // refused: more than the phase
  *tpl.mutable_actor() = actor;
  absl::Status bad = p.CreatePhaseTemplateVersion(tpl).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StartsWith(bad.message(), "template.phases[0].additional_requirements[0].effort_share"))
      << bad;
  check->set_effort_share(0.5);
  ASSERT_TRUE(p.CreatePhaseTemplateVersion(tpl).ok());

  v1::CreateProjectRequest cp;
  cp.mutable_project()->set_client_id("c");
  cp.mutable_project()->set_product_line("checked-design");
  cp.mutable_project()->set_title("bridge");
  cp.mutable_project()->set_due_date("2026-12-31");
  cp.mutable_project()->set_effort_hours(80);
  *cp.mutable_actor() = actor;
  auto project = p.CreateProject(cp);
  ASSERT_TRUE(project.ok()) << project.status();
  const v1::Phase& design = project->project().phases(0);
  EXPECT_EQ(design.resource_id(), "designer");
  ASSERT_EQ(design.additional_assignments_size(), 1);
  const v1::PhaseAssignment& checking = design.additional_assignments(0);
  EXPECT_EQ(checking.resource_id(), "checker");
  EXPECT_DOUBLE_EQ(checking.effort_hours(), 40);
  EXPECT_EQ(checking.planned_start_date(), "2026-03-02");
  EXPECT_EQ(checking.planned_end_date(), "2026-03-06");
  EXPECT_EQ(design.planned_end_date(), "2026-03-13");  // 80 h of design: two weeks

  v1::GetUtilisationRequest util;
  util.set_from_date("2026-03-02");
  util.set_weeks(1);
  auto rows = p.GetUtilisation(util);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::map<std::string, double> hours;
  for (const v1::UtilisationRow& row : rows->rows()) {
    hours[row.resource_id()] += row.allocated_hours();
    EXPECT_FALSE(row.over_allocated()) << row.resource_id();
  }
  EXPECT_DOUBLE_EQ(hours["designer"], 40);
  EXPECT_DOUBLE_EQ(hours["checker"], 40);

  // Feasibility of another such project: the checker is free from the second week.
  v1::CheckFeasibilityRequest feas;
  feas.set_product_line("checked-design");
  feas.set_effort_hours(8);
  auto answer = p.CheckFeasibility(feas);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->earliest_completion_date(), "2026-03-16");
}

}  // namespace
}  // namespace triad::production
