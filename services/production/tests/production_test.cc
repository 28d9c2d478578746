// Domain tests of the production service (no Kafka, real RocksDB): projects from won events
// (exactly once), risk events at scheduling time, stable rescheduling with explanations,
// resource deactivation, progress with key-milestone sign-offs and completion, feasibility
// without touching the schedule, utilisation, and validation that writes nothing.
#include "common/contracts/production.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/review.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "services/production/production.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

namespace c = contracts::production;

class ProductionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/production");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    ProductionOptions o;
    o.clock = clock_.AsFunction();
    auto p = Production::Create(store_.get(), outbox_.get(), o);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
  }

  static common::v1::Actor Actor() {
    common::v1::Actor a;
    a.set_id("u:planner");
    a.set_reason("test");
    return a;
  }

  v1::Resource AddResource(const std::string& id, const std::string& skill, double weekly = 40) {
    v1::CreateResourceRequest req;
    req.mutable_resource()->set_resource_id(id);
    req.mutable_resource()->set_display_name("Resource " + id);
    req.mutable_resource()->add_skills(skill);
    req.mutable_resource()->set_weekly_capacity_hours(weekly);
    *req.mutable_actor() = Actor();
    auto r = p_->CreateResource(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Resource();
  }

  // The architectural design line needs "architectural-design" and "drafting".
  void AddArchitects() {
    AddResource("arch-1", "architectural-design");
    AddResource("draft-1", "drafting");
  }

  events::Event WonEvent(const std::string& opp, const std::string& due, double hours,
                         const std::string& id = events::NewEventId()) {
    pipeline::v1::OpportunityWon won;
    won.set_opportunity_id(opp);
    won.set_client_id("client-1");
    won.set_product_line(kArchitecturalDesign);
    won.set_title("Office tower");
    won.mutable_value()->set_amount_minor(5'000'000);
    won.mutable_value()->set_currency("CNY");
    *won.mutable_due_time() =
        util::ToProto(absl::FromUnixSeconds(int64_t{*sched::ParseDay(due)} * 86400));
    won.set_estimated_effort_hours(hours);
    events::Event e;
    e.id = id;
    e.source = "triad/pipeline";
    e.type = std::string(contracts::pipeline::OpportunityWon::kType);
    e.payload = won.SerializeAsString();
    return e;
  }

  v1::Project CreateProject(const std::string& due, double hours, const std::string& title = "p") {
    v1::CreateProjectRequest req;
    req.mutable_project()->set_client_id("client-2");
    req.mutable_project()->set_product_line(kArchitecturalDesign);
    req.mutable_project()->set_title(title);
    req.mutable_project()->set_due_date(due);
    req.mutable_project()->set_effort_hours(hours);
    *req.mutable_actor() = Actor();
    auto r = p_->CreateProject(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->project() : v1::Project();
  }

  std::vector<v1::Project> Projects() {
    auto r = p_->ListProjects(v1::ListProjectsRequest());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::vector<v1::Project>(r->projects().begin(), r->projects().end())
                  : std::vector<v1::Project>();
  }

  v1::Project Get(const std::string& id) {
    v1::GetProjectRequest req;
    req.set_project_id(id);
    auto r = p_->GetProject(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Project();
  }

  absl::StatusOr<v1::ReportPhaseProgressResponse> Progress(const std::string& project,
                                                           const std::string& phase,
                                                           double percent) {
    v1::ReportPhaseProgressRequest req;
    req.set_project_id(project);
    req.set_phase_id(phase);
    req.set_progress_percent(percent);
    *req.mutable_actor() = Actor();
    return p_->ReportPhaseProgress(req);
  }

  ::triad::testing::TempDir dir_;
  ::triad::testing::FakeClock clock_;  // Monday 2026-03-02
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Production> p_;
};

TEST_F(ProductionTest, WonEventCreatesOneScheduledProjectEvenWhenRedelivered) {
  AddArchitects();
  events::Event won = WonEvent("opp-1", "2026-06-30", 400);
  ASSERT_TRUE(p_->HandleEvent(won).ok());
  ASSERT_TRUE(p_->HandleEvent(won).ok());                                   // redelivery
  ASSERT_TRUE(p_->HandleEvent(WonEvent("opp-1", "2026-06-30", 400)).ok());  // re-emitted
  std::vector<v1::Project> projects = Projects();
  ASSERT_EQ(projects.size(), 1u);
  const v1::Project& p = projects[0];
  EXPECT_EQ(p.opportunity_id(), "opp-1");
  ASSERT_EQ(p.phases_size(), 3);
  EXPECT_DOUBLE_EQ(p.phases(0).effort_hours(), 100);
  EXPECT_DOUBLE_EQ(p.phases(1).effort_hours(), 140);
  EXPECT_DOUBLE_EQ(p.phases(2).effort_hours(), 160);
  EXPECT_EQ(p.phases(0).planned_start_date(), "2026-03-02");
  EXPECT_EQ(p.phases(0).resource_id(), "arch-1");
  EXPECT_LT(p.phases(0).planned_end_date(), p.phases(1).planned_start_date());
  EXPECT_FALSE(p.at_risk());
  EXPECT_EQ(::triad::testing::ReadOutboxOfType(*store_, c::ProjectCreated::kType).size(), 1u);
  auto scheduled =
      ::triad::testing::DecodeOutbox<v1::ProjectScheduled>(*store_, c::ProjectScheduled::kType);
  ASSERT_EQ(scheduled.size(), 1u);
  EXPECT_EQ(scheduled[0].phases_size(), 3);
  EXPECT_TRUE(::triad::testing::ReadOutboxOfType(*store_, c::ProjectAtRisk::kType).empty());
}

TEST_F(ProductionTest, UnmeetableDueDateIsAtRiskAndAnotherResourceBringsItBack) {
  AddArchitects();
  // 600 h on one architect and one drafter cannot finish by 2026-03-20.
  ASSERT_TRUE(p_->HandleEvent(WonEvent("opp-2", "2026-04-24", 600)).ok());
  auto risk = ::triad::testing::DecodeOutbox<v1::ProjectAtRisk>(*store_, c::ProjectAtRisk::kType);
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_EQ(risk[0].bottleneck_resource(), "draft-1");
  EXPECT_TRUE(absl::StrContains(risk[0].reason(), "after the due date")) << risk[0].reason();
  const v1::Project before = Projects()[0];
  EXPECT_TRUE(before.at_risk());
  // A second drafter and architect shorten nothing already running but split the work.
  AddResource("arch-2", "architectural-design", 80);
  AddResource("draft-2", "drafting", 80);
  const v1::Project after = Get(before.project_id());
  EXPECT_FALSE(after.at_risk()) << after.planned_end_date();
  EXPECT_EQ(::triad::testing::ReadOutboxOfType(*store_, c::ProjectBackOnTrack::kType).size(), 1u);
  EXPECT_EQ(::triad::testing::ReadOutboxOfType(*store_, c::ProjectAtRisk::kType).size(), 1u);
  auto moved =
      ::triad::testing::DecodeOutbox<v1::ProjectRescheduled>(*store_, c::ProjectRescheduled::kType);
  ASSERT_FALSE(moved.empty());
  EXPECT_LT(moved.back().planned_end_time().seconds(),
            moved.back().previous_planned_end_time().seconds());
}

TEST_F(ProductionTest, PinnedPhasesStayAndMovesAreExplained) {
  AddArchitects();
  v1::Project slow = CreateProject("2026-12-31", 200, "slow");
  v1::PinPhaseRequest pin;
  pin.set_project_id(slow.project_id());
  pin.set_phase_id("ph1");
  pin.set_pinned(true);
  *pin.mutable_actor() = Actor();
  ASSERT_TRUE(p_->PinPhase(pin).ok());
  v1::Project other = CreateProject("2026-12-30", 200, "other");
  const v1::Project pinned_before = Get(slow.project_id());
  // An urgent project with an earlier due date takes the capacity of the unpinned phases.
  v1::CreateProjectRequest req;
  req.mutable_project()->set_client_id("client-3");
  req.mutable_project()->set_product_line(kArchitecturalDesign);
  req.mutable_project()->set_title("urgent");
  req.mutable_project()->set_due_date("2026-04-30");
  req.mutable_project()->set_effort_hours(200);
  *req.mutable_actor() = Actor();
  auto urgent = p_->CreateProject(req);
  ASSERT_TRUE(urgent.ok()) << urgent.status();
  const v1::Project pinned_after = Get(slow.project_id());
  EXPECT_EQ(pinned_after.phases(0).planned_start_date(),
            pinned_before.phases(0).planned_start_date());
  EXPECT_EQ(pinned_after.phases(0).planned_end_date(), pinned_before.phases(0).planned_end_date());
  const v1::ScheduleReport& report = urgent->report();
  EXPECT_GT(report.phases_moved(), 0);
  EXPECT_GT(report.total_shift_days(), 0);
  bool explained = false;
  for (const v1::PhaseMove& m : report.moves()) {
    EXPECT_NE(m.project_id() + m.phase_id(), slow.project_id() + "ph1");
    if (m.project_id() == other.project_id() &&
        absl::StrContains(m.explanation(), urgent->project().project_id())) {
      explained = true;
    }
  }
  EXPECT_TRUE(explained);
}

TEST_F(ProductionTest, DeactivatingAResourceMovesItsWork) {
  AddArchitects();
  AddResource("arch-2", "architectural-design");
  v1::Project a = CreateProject("2026-12-31", 200);
  v1::Project b = CreateProject("2026-12-31", 200);
  v1::GetResourceRequest get;
  get.set_resource_id("arch-1");
  v1::DeactivateResourceRequest req;
  req.set_resource_id("arch-1");
  req.set_etag(p_->GetResource(get)->etag());
  *req.mutable_actor() = Actor();
  auto resp = p_->DeactivateResource(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->resource().state(), v1::RESOURCE_STATE_INACTIVE);
  EXPECT_GT(resp->report().phases_moved(), 0);
  for (const v1::Project& p : Projects()) {
    for (const v1::Phase& ph : p.phases()) EXPECT_NE(ph.resource_id(), "arch-1") << p.project_id();
  }
  // Stale etag.
  EXPECT_EQ(p_->DeactivateResource(req).status().code(), absl::StatusCode::kAborted);
}

// Completed projects (the bulk of the history) are not held in memory, before and after a
// restart, and stay readable: Get, the list (paged), the opportunity index that keeps a second
// win of the deal from making another project, and a client merge moving them too.
TEST_F(ProductionTest, CompletedProjectsStayOnDiskAndReadable) {
  AddArchitects();
  ASSERT_TRUE(p_->HandleEvent(WonEvent("opp-done", "2026-12-31", 100)).ok());
  v1::Project active = CreateProject("2026-12-31", 100, "active");
  std::string done_id;
  for (const v1::Project& p : Projects()) {
    if (p.opportunity_id() == "opp-done") done_id = p.project_id();
  }
  ASSERT_FALSE(done_id.empty());
  auto sign_off = [&](const std::string& phase) {
    review::v1::SignOffCompleted done;
    done.set_project_id(done_id);
    done.set_phase_id(phase);
    done.set_expert_id("u:expert");
    done.set_verdict(review::v1::VERDICT_APPROVED);
    events::Event e;
    e.id = events::NewEventId();
    e.source = "triad/review";
    e.type = std::string(contracts::review::SignOffCompleted::kType);
    e.payload = done.SerializeAsString();
    return p_->HandleEvent(e);
  };
  ASSERT_TRUE(Progress(done_id, "ph1", 100).ok());
  ASSERT_TRUE(sign_off("ph1").ok());
  ASSERT_TRUE(Progress(done_id, "ph2", 100).ok());
  ASSERT_TRUE(sign_off("ph2").ok());
  ASSERT_TRUE(Progress(done_id, "ph3", 100).ok());
  ASSERT_EQ(Get(done_id).state(), v1::PROJECT_STATE_COMPLETED);
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart ? "after a restart" : "before a restart");
    EXPECT_EQ(p_->ProjectsInMemory(), 1u);
    EXPECT_EQ(Get(done_id).state(), v1::PROJECT_STATE_COMPLETED);
    EXPECT_EQ(Get(active.project_id()).state(), v1::PROJECT_STATE_ACTIVE);
    v1::ListProjectsRequest list;
    list.set_page_size(1);
    std::set<std::string> listed;
    for (int page = 0; page < 3; ++page) {
      auto resp = p_->ListProjects(list);
      ASSERT_TRUE(resp.ok()) << resp.status();
      for (const v1::Project& p : resp->projects()) listed.insert(p.project_id());
      list.set_page_token(resp->next_page_token());
      if (resp->next_page_token().empty()) break;
    }
    EXPECT_EQ(listed, (std::set<std::string>{done_id, active.project_id()}));
    // The deal won again (a new event) makes no second project.
    ASSERT_TRUE(p_->HandleEvent(WonEvent("opp-done", "2026-12-31", 100)).ok());
    EXPECT_EQ(Projects().size(), 2u);
    EXPECT_EQ(Progress(done_id, "ph3", 100).status().code(), absl::StatusCode::kFailedPrecondition);
    p_.reset();
    ProductionOptions o;
    o.clock = clock_.AsFunction();
    auto reopened = Production::Create(store_.get(), outbox_.get(), o);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    p_ = std::move(*reopened);
  }
  // A client merge moves the completed project to the survivor as well.
  clients::v1::ClientsMerged merged;
  merged.mutable_survivor()->set_client_id("client-9");
  merged.set_merged_client_id("client-1");
  events::Event e;
  e.id = events::NewEventId();
  e.source = "triad/clients";
  e.type = std::string(contracts::clients::ClientsMerged::kType);
  e.payload = merged.SerializeAsString();
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  EXPECT_EQ(Get(done_id).client_id(), "client-9");
  EXPECT_EQ(p_->ProjectsInMemory(), 1u);
}

TEST_F(ProductionTest, KeyMilestoneWaitsForSignOffAndCompletionIsAnnounced) {
  AddArchitects();
  v1::Project p = CreateProject("2026-12-31", 100);
  EXPECT_EQ(Progress(p.project_id(), "ph2", 10).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Progress(p.project_id(), "ph1", 50).ok());
  EXPECT_EQ(Progress(p.project_id(), "ph1", 40).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Progress(p.project_id(), "ph1", 100).ok());
  auto sign =
      ::triad::testing::DecodeOutbox<v1::SignOffRequested>(*store_, c::SignOffRequested::kType);
  ASSERT_EQ(sign.size(), 1u);
  EXPECT_EQ(sign[0].phase_id(), "ph1");
  EXPECT_EQ(sign[0].domain(), "architecture");
  auto blocked = Progress(p.project_id(), "ph2", 10);
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(blocked.status().message(), "sign-off"));
  review::v1::SignOffCompleted done;
  done.set_project_id(p.project_id());
  done.set_phase_id("ph1");
  done.set_expert_id("u:expert");
  done.set_verdict(review::v1::VERDICT_APPROVED);
  events::Event e;
  e.id = events::NewEventId();
  e.source = "triad/review";
  e.type = std::string(contracts::review::SignOffCompleted::kType);
  e.payload = done.SerializeAsString();
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  EXPECT_EQ(Get(p.project_id()).phases(0).sign_off(), v1::SIGN_OFF_STATE_APPROVED);
  ASSERT_TRUE(Progress(p.project_id(), "ph2", 100).ok());
  done.set_phase_id("ph2");
  e.id = events::NewEventId();
  e.payload = done.SerializeAsString();
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  ASSERT_TRUE(Progress(p.project_id(), "ph3", 100).ok());
  EXPECT_EQ(Get(p.project_id()).state(), v1::PROJECT_STATE_COMPLETED);
  auto completed =
      ::triad::testing::DecodeOutbox<v1::ProjectCompleted>(*store_, c::ProjectCompleted::kType);
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].client_id(), "client-2");
  EXPECT_EQ(::triad::testing::ReadOutboxOfType(*store_, c::PhaseStarted::kType).size(), 3u);
  EXPECT_EQ(::triad::testing::ReadOutboxOfType(*store_, c::PhaseCompleted::kType).size(), 3u);
}

TEST_F(ProductionTest, FeasibilityAnswersWithoutTouchingTheSchedule) {
  AddArchitects();
  v1::Project p = CreateProject("2026-12-31", 400);
  const size_t events_before = ::triad::testing::ReadOutbox(*store_).size();
  v1::CheckFeasibilityRequest req;
  req.set_product_line(kArchitecturalDesign);
  req.set_effort_hours(100);
  req.set_desired_end_date("2026-03-10");
  auto r = p_->CheckFeasibility(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->feasible());
  EXPECT_GT(r->earliest_completion_date(), Get(p.project_id()).phases(0).planned_end_date());
  EXPECT_FALSE(r->bottleneck_skill().empty());
  EXPECT_EQ(::triad::testing::ReadOutbox(*store_).size(), events_before);
  EXPECT_EQ(Projects().size(), 1u);
  // The consumed request is answered on the feasibility topic.
  pipeline::v1::FeasibilityRequested fr;
  fr.set_opportunity_id("opp-9");
  fr.set_gate_id("gate-1");
  fr.set_product_line(kArchitecturalDesign);
  fr.set_estimated_effort_hours(100);
  *fr.mutable_desired_end_time() =
      util::ToProto(absl::FromUnixSeconds(int64_t{*sched::ParseDay("2027-01-01")} * 86400));
  events::Event e;
  e.id = events::NewEventId();
  e.source = "triad/pipeline";
  e.type = std::string(contracts::pipeline::FeasibilityRequested::kType);
  e.payload = fr.SerializeAsString();
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  auto answers = ::triad::testing::DecodeOutbox<v1::FeasibilityAnswered>(
      *store_, c::FeasibilityAnswered::kType);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].feasible());
  EXPECT_EQ(answers[0].gate_id(), "gate-1");
  EXPECT_EQ(
      util::FromProto(answers[0].earliest_completion_time()),
      absl::FromUnixSeconds(int64_t{*sched::ParseDay(r->earliest_completion_date())} * 86400));
  EXPECT_EQ(Projects().size(), 1u);
}

TEST_F(ProductionTest, UtilisationNeverExceedsCapacity) {
  AddArchitects();
  for (int i = 0; i < 5; ++i) CreateProject("2026-05-01", 300);
  v1::GetUtilisationRequest req;
  req.set_weeks(52);
  req.set_page_size(1000);
  auto r = p_->GetUtilisation(req);
  ASSERT_TRUE(r.ok()) << r.status();
  double total = 0;
  for (const v1::UtilisationRow& row : r->rows()) {
    EXPECT_FALSE(row.over_allocated()) << row.resource_id() << " " << row.week_start_date();
    EXPECT_LE(row.allocated_hours(), row.capacity_hours() + 1e-6);
    total += row.allocated_hours();
  }
  EXPECT_NEAR(total, 1500, 1e-6);
  req.set_over_allocated_only(true);
  EXPECT_EQ(p_->GetUtilisation(req)->rows_size(), 0);
}

// A window that starts and ends inside the plans counts exactly the allocations dated in it,
// each in its own week (the view skips the others by comparing the ISO dates as strings).
TEST_F(ProductionTest, UtilisationWindowCountsOnlyTheAllocationsDatedInIt) {
  AddArchitects();
  for (int i = 0; i < 3; ++i) CreateProject("2026-06-01", 200);
  std::map<std::string, double> by_day;  // date -> hours, from the plans themselves
  for (const v1::Project& p : Projects()) {
    for (const v1::Phase& ph : p.phases()) {
      for (const v1::DayAllocation& a : ph.allocations()) by_day[a.date()] += a.hours();
      for (const v1::PhaseAssignment& x : ph.additional_assignments()) {
        for (const v1::DayAllocation& a : x.allocations()) by_day[a.date()] += a.hours();
      }
    }
  }
  ASSERT_GE(by_day.size(), 10u);
  // The second Monday of the plans up to two weeks later.
  sched::Day first = *sched::ParseDay(by_day.begin()->first);
  sched::Day from = first - sched::Weekday(first) + 7;
  v1::GetUtilisationRequest req;
  req.set_from_date(sched::FormatDay(from));
  req.set_weeks(2);
  req.set_page_size(1000);
  auto r = p_->GetUtilisation(req);
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<std::string, double> by_week;
  for (const v1::UtilisationRow& row : r->rows()) {
    by_week[row.week_start_date()] += row.allocated_hours();
  }
  for (int w = 0; w < 2; ++w) {
    double expected = 0;
    for (const auto& [date, hours] : by_day) {
      const sched::Day d = *sched::ParseDay(date);
      if (d >= from + 7 * w && d < from + 7 * (w + 1)) expected += hours;
    }
    EXPECT_NEAR(by_week[sched::FormatDay(from + 7 * w)], expected, 1e-6) << "week " << w;
  }
  EXPECT_GT(by_week[sched::FormatDay(from)], 0);
}

// The view's rows are cached per state generation: every commit that changes the plans is
// visible in the next answer, and every page of one window comes from the same rows.
TEST_F(ProductionTest, UtilisationFollowsEveryCommitAndPagesOneWindow) {
  AddArchitects();
  v1::GetUtilisationRequest req;
  req.set_weeks(52);
  req.set_page_size(1000);
  auto sum = [&]() {
    auto r = p_->GetUtilisation(req);
    EXPECT_TRUE(r.ok()) << r.status();
    double total = 0;
    for (const v1::UtilisationRow& row : r->rows()) total += row.allocated_hours();
    return total;
  };
  EXPECT_NEAR(sum(), 0, 1e-6);
  CreateProject("2026-05-01", 120);
  EXPECT_NEAR(sum(), 120, 1e-6);
  CreateProject("2026-06-01", 80);
  EXPECT_NEAR(sum(), 200, 1e-6);

  std::vector<std::string> all, paged;
  auto whole = p_->GetUtilisation(req);
  ASSERT_TRUE(whole.ok()) << whole.status();
  for (const v1::UtilisationRow& row : whole->rows()) {
    all.push_back(absl::StrCat(row.resource_id(), row.skill(), row.week_start_date()));
  }
  v1::GetUtilisationRequest page = req;
  page.set_page_size(7);
  do {
    auto r = p_->GetUtilisation(page);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const v1::UtilisationRow& row : r->rows()) {
      paged.push_back(absl::StrCat(row.resource_id(), row.skill(), row.week_start_date()));
    }
    page.set_page_token(r->next_page_token());
  } while (!page.page_token().empty());
  EXPECT_GT(all.size(), 7u);
  EXPECT_EQ(paged, all);
}

TEST_F(ProductionTest, BadInputIsRefusedNamingTheFieldAndWritesNothing) {
  const size_t before = ::triad::testing::ReadOutbox(*store_).size();
  v1::CreateResourceRequest r;
  r.mutable_resource()->set_display_name("x");
  r.mutable_resource()->add_skills("design");
  r.mutable_resource()->set_weekly_capacity_hours(200);
  *r.mutable_actor() = Actor();
  auto bad = p_->CreateResource(r);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "weekly_capacity_hours"));
  r.mutable_resource()->set_weekly_capacity_hours(40);
  r.mutable_resource()->mutable_calendar()->add_non_working_dates("2026-02-30");
  EXPECT_TRUE(absl::StrContains(p_->CreateResource(r).status().message(), "non_working_dates[0]"));
  v1::CreateProjectRequest p;
  p.mutable_project()->set_client_id("c");
  p.mutable_project()->set_product_line("unknown-line");
  p.mutable_project()->set_due_date("2026-05-01");
  *p.mutable_actor() = Actor();
  EXPECT_TRUE(absl::StrContains(p_->CreateProject(p).status().message(), "product_line"));
  p.mutable_project()->set_product_line(kArchitecturalDesign);
  p.mutable_project()->set_due_date("tomorrow");
  EXPECT_TRUE(absl::StrContains(p_->CreateProject(p).status().message(), "due_date"));
  EXPECT_EQ(::triad::testing::ReadOutbox(*store_).size(), before);
  EXPECT_TRUE(Projects().empty());
  // A payload that does not decode is poison, and so is a won event without an opportunity.
  events::Event e = WonEvent("", "2026-05-01", 10);
  EXPECT_EQ(p_->HandleEvent(e).code(), absl::StatusCode::kInvalidArgument);
  e = WonEvent("opp", "2026-05-01", 10);
  e.payload = "\xff\xff garbage";
  EXPECT_EQ(p_->HandleEvent(e).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ProductionTest, TentativeBookingsGoAfterFirmWorkAndAreReleased) {
  AddArchitects();
  const size_t events_before = ::triad::testing::ReadOutbox(*store_).size();
  v1::CreateProjectRequest req;
  req.mutable_project()->set_client_id("prospect");
  req.mutable_project()->set_product_line(kArchitecturalDesign);
  req.mutable_project()->set_title("maybe");
  req.mutable_project()->set_due_date("2026-03-20");
  req.mutable_project()->set_effort_hours(200);
  req.mutable_project()->set_tentative(true);
  *req.mutable_actor() = Actor();
  auto soft = p_->CreateProject(req);
  ASSERT_TRUE(soft.ok()) << soft.status();
  EXPECT_EQ(soft->project().phases(0).planned_start_date(), "2026-03-02");
  EXPECT_EQ(::triad::testing::ReadOutbox(*store_).size(), events_before);  // no events
  // A firm project with a later due date still goes first.
  v1::Project firm = CreateProject("2026-12-31", 200, "firm");
  EXPECT_EQ(firm.phases(0).planned_start_date(), "2026-03-02");
  const v1::Project pushed = Get(soft->project().project_id());
  EXPECT_GE(pushed.phases(0).planned_start_date(), firm.phases(0).planned_end_date());
  EXPECT_GT(pushed.phases(0).planned_end_date(), firm.phases(0).planned_end_date());
  v1::CheckFeasibilityRequest f;
  f.set_product_line(kArchitecturalDesign);
  f.set_effort_hours(100);
  const std::string with_booking = p_->CheckFeasibility(f)->earliest_completion_date();
  v1::ReleaseTentativeProjectRequest release;
  release.set_project_id(pushed.project_id());
  *release.mutable_actor() = Actor();
  ASSERT_TRUE(p_->ReleaseTentativeProject(release).ok());
  EXPECT_EQ(Projects().size(), 1u);
  EXPECT_LT(p_->CheckFeasibility(f)->earliest_completion_date(), with_booking);
  release.set_project_id(firm.project_id());
  EXPECT_EQ(p_->ReleaseTentativeProject(release).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProductionTest, CreateProjectIsIdempotentByRequestId) {
  AddArchitects();
  v1::CreateProjectRequest req;
  req.mutable_project()->set_client_id("c");
  req.mutable_project()->set_product_line(kArchitecturalDesign);
  req.mutable_project()->set_title("t");
  req.mutable_project()->set_due_date("2026-09-01");
  req.set_request_id("req-1");
  *req.mutable_actor() = Actor();
  auto a = p_->CreateProject(req);
  auto b = p_->CreateProject(req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->project().project_id(), b->project().project_id());
  EXPECT_EQ(Projects().size(), 1u);
  req.mutable_project()->set_title("other");
  EXPECT_EQ(p_->CreateProject(req).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ProductionTest, TemplatesAreBoundedInPhasesAndVersionsKept) {
  v1::CreatePhaseTemplateVersionRequest tpl;
  tpl.mutable_template_()->set_product_line("survey");
  tpl.mutable_template_()->set_default_effort_hours(100);
  for (int i = 0; i <= kMaxPhases; ++i) {
    v1::PhaseTemplate* ph = tpl.mutable_template_()->add_phases();
    ph->set_name(absl::StrCat("phase ", i));
    ph->set_effort_share(0.05);
    ph->set_required_skill("survey");
  }
  *tpl.mutable_actor() = Actor();
  EXPECT_EQ(p_->CreatePhaseTemplateVersion(tpl).status().message(),
            "template.phases: must list 1 to 20 phases (got 21)");
  tpl.mutable_template_()->mutable_phases()->RemoveLast();
  for (int v = 1; v <= kMaxTemplateVersions; ++v) {
    tpl.set_request_id(absl::StrCat("tpl-", v));
    auto t = p_->CreatePhaseTemplateVersion(tpl);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_EQ(t->version(), v);
  }
  tpl.set_request_id("tpl-over");
  auto over = p_->CreatePhaseTemplateVersion(tpl);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_TRUE(
      absl::StrContains(over.status().message(), "at most 100 versions are kept per product line"))
      << over.status();
}

}  // namespace
}  // namespace triad::production
