// Domain tests of the production service (no Kafka, real RocksDB on disk): the plan recomputed
// at start-up is stored (GetProject agrees with the schedule across restarts), and a rejected
// key-milestone sign-off is requested again in a new round with the earlier rounds kept; the
// reschedule's copy-free "plan unchanged" check agrees with applying the plan and comparing.
#include <memory>
#include <random>

#include "absl/strings/match.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/events/envelope.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"
#include "services/production/repository.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

namespace c = contracts::production;
using google::protobuf::util::MessageDifferencer;

class RoundsAndRestartTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // Open (re)opens the store at the same directory and starts the domain on it.
  void Open() {
    p_.reset();
    outbox_.reset();
    store_.reset();
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

  static common::v1::Actor Actor(const std::string& reason = "test") {
    common::v1::Actor a;
    a.set_id("u:planner");
    a.set_reason(reason);
    return a;
  }

  void AddResource(const std::string& id, const std::string& skill) {
    v1::CreateResourceRequest req;
    req.mutable_resource()->set_resource_id(id);
    req.mutable_resource()->set_display_name(id);
    req.mutable_resource()->add_skills(skill);
    req.mutable_resource()->set_weekly_capacity_hours(40);
    *req.mutable_actor() = Actor();
    ASSERT_TRUE(p_->CreateResource(req).ok());
  }

  v1::Project CreateProject(const std::string& due, double hours) {
    v1::CreateProjectRequest req;
    req.mutable_project()->set_client_id("client-1");
    req.mutable_project()->set_product_line(kArchitecturalDesign);
    req.mutable_project()->set_title("tower");
    req.mutable_project()->set_due_date(due);
    req.mutable_project()->set_effort_hours(hours);
    *req.mutable_actor() = Actor();
    auto r = p_->CreateProject(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->project() : v1::Project();
  }

  v1::Project Get(const std::string& id) {
    v1::GetProjectRequest req;
    req.set_project_id(id);
    auto r = p_->GetProject(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Project();
  }

  absl::Status Progress(const std::string& project, const std::string& phase, double percent) {
    v1::ReportPhaseProgressRequest req;
    req.set_project_id(project);
    req.set_phase_id(phase);
    req.set_progress_percent(percent);
    *req.mutable_actor() = Actor();
    return p_->ReportPhaseProgress(req).status();
  }

  absl::Status SignOff(const std::string& project, const std::string& review_id,
                       review::v1::Verdict verdict) {
    review::v1::SignOffCompleted done;
    done.set_review_id(review_id);
    done.set_project_id(project);
    done.set_phase_id("ph1");
    done.set_expert_id("u:expert");
    done.set_verdict(verdict);
    done.set_comment(verdict == review::v1::VERDICT_APPROVED ? "fine" : "load paths missing");
    events::Event e;
    e.id = events::NewEventId();
    e.source = "triad/review";
    e.type = std::string(contracts::review::SignOffCompleted::kType);
    e.payload = done.SerializeAsString();
    return p_->HandleEvent(e);
  }

  ::triad::testing::TempDir dir_;
  ::triad::testing::FakeClock clock_;  // Monday 2026-03-02
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Production> p_;
};

TEST_F(RoundsAndRestartTest, PlanRecomputedAtStartIsStoredAndStable) {
  AddResource("arch-1", "architectural-design");
  AddResource("draft-1", "drafting");
  const v1::Project created = CreateProject("2026-12-31", 300);
  ASSERT_EQ(created.phases(0).planned_start_date(), "2026-03-02");
  // Same day, restarted: nothing to recompute, GetProject before and after agree.
  Open();
  EXPECT_TRUE(MessageDifferencer::Equals(Get(created.project_id()), created));
  // Three weeks pass with no progress reported: the plan's first days are gone.
  clock_.Advance(absl::Hours(24 * 21));  // Monday 2026-03-23
  Open();
  const v1::Project after = Get(created.project_id());
  EXPECT_GE(after.phases(0).planned_start_date(), "2026-03-23") << after.DebugString();
  EXPECT_NE(after.etag(), created.etag());
  EXPECT_EQ(after.updated_by().reason(), "service start");
  auto moved =
      ::triad::testing::DecodeOutbox<v1::ProjectRescheduled>(*store_, c::ProjectRescheduled::kType);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(moved[0].reason(), "service start")) << moved[0].reason();
  // The feasibility view (the in-memory schedule) sees the stored plan: a project behind it
  // cannot finish before the stored one frees the resources.
  v1::CheckFeasibilityRequest feas;
  feas.set_product_line(kArchitecturalDesign);
  feas.set_effort_hours(40);
  auto answer = p_->CheckFeasibility(feas);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_GT(answer->earliest_completion_date(), after.phases(0).planned_end_date());
  // Restarted again on the same day: the stored plan is the plan; nothing changes.
  Open();
  EXPECT_TRUE(MessageDifferencer::Equals(Get(created.project_id()), after))
      << Get(created.project_id()).DebugString();
  EXPECT_EQ(::triad::testing::ReadOutboxOfType(*store_, c::ProjectRescheduled::kType).size(), 1u);
}

// Start-up loads the active projects through their index; a store without it (no marker, no
// entries) is scanned once, gets the index, and loads the same active set either way.
TEST_F(RoundsAndRestartTest, ActiveProjectIndexIsBackfilledOnceAndLoadsTheActiveSet) {
  AddResource("arch-1", "architectural-design");
  AddResource("draft-1", "drafting");
  const v1::Project a = CreateProject("2026-12-31", 120);
  const v1::Project b = CreateProject("2027-03-31", 80);
  Open();
  EXPECT_EQ(p_->ProjectsInMemory(), 2u);
  // Back to the older layout: no active entries, no marker.
  auto repo = NewRocksRepository(store_.get());
  rocksdb::WriteBatch del;
  for (const std::string& key :
       {ActiveIndexedKey(), ActiveKey(a.project_id()), ActiveKey(b.project_id())}) {
    ASSERT_TRUE(repo->GetRaw(Kind::kIndex, key).ok()) << key;
    repo->Delete(del, Kind::kIndex, key);
  }
  ASSERT_TRUE(store_->Write(del).ok());
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart ? "loaded through the index" : "loaded by the backfill scan");
    Open();
    EXPECT_EQ(p_->ProjectsInMemory(), 2u);
    EXPECT_TRUE(MessageDifferencer::Equals(Get(a.project_id()), a));
    for (const std::string& key :
         {ActiveIndexedKey(), ActiveKey(a.project_id()), ActiveKey(b.project_id())}) {
      EXPECT_TRUE(NewRocksRepository(store_.get())->GetRaw(Kind::kIndex, key).ok()) << key;
    }
  }
}

TEST_F(RoundsAndRestartTest, RejectedSignOffIsRequestedAgainInANewRound) {
  AddResource("arch-1", "architectural-design");
  AddResource("draft-1", "drafting");
  const v1::Project p = CreateProject("2026-12-31", 100);
  const std::string id = p.project_id();
  ASSERT_TRUE(Progress(id, "ph1", 100).ok());
  v1::Phase ph1 = Get(id).phases(0);
  ASSERT_EQ(ph1.sign_off(), v1::SIGN_OFF_STATE_REQUESTED);
  ASSERT_EQ(ph1.sign_off_rounds_size(), 1);
  EXPECT_EQ(ph1.sign_off_rounds(0).round(), 1);

  v1::RequestSignOffRequest again;
  again.set_project_id(id);
  again.set_phase_id("ph1");
  again.set_request_id("resign-1");
  *again.mutable_actor() = Actor("load paths added to the drawings");
  // Only a rejected sign-off is requested again.
  EXPECT_EQ(p_->RequestSignOff(again).status().code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(SignOff(id, "rev-1", review::v1::VERDICT_REJECTED).ok());
  ph1 = Get(id).phases(0);
  EXPECT_EQ(ph1.sign_off(), v1::SIGN_OFF_STATE_REJECTED);
  EXPECT_EQ(ph1.sign_off_rounds(0).state(), v1::SIGN_OFF_STATE_REJECTED);
  EXPECT_EQ(ph1.sign_off_rounds(0).review_id(), "rev-1");
  EXPECT_EQ(ph1.sign_off_rounds(0).comment(), "load paths missing");
  EXPECT_EQ(Progress(id, "ph2", 10).code(), absl::StatusCode::kFailedPrecondition);

  v1::RequestSignOffRequest no_reason = again;
  no_reason.set_request_id("resign-0");
  no_reason.mutable_actor()->clear_reason();
  absl::Status refused = p_->RequestSignOff(no_reason).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(refused.message(), "actor.reason")) << refused;
  v1::RequestSignOffRequest not_milestone = again;
  not_milestone.set_request_id("resign-x");
  not_milestone.set_phase_id("ph3");
  EXPECT_EQ(p_->RequestSignOff(not_milestone).status().code(),
            absl::StatusCode::kFailedPrecondition);

  auto round2 = p_->RequestSignOff(again);
  ASSERT_TRUE(round2.ok()) << round2.status();
  ph1 = round2->phases(0);
  EXPECT_EQ(ph1.sign_off(), v1::SIGN_OFF_STATE_REQUESTED);
  ASSERT_EQ(ph1.sign_off_rounds_size(), 2);
  EXPECT_EQ(ph1.sign_off_rounds(0).state(), v1::SIGN_OFF_STATE_REJECTED);  // history kept
  EXPECT_EQ(ph1.sign_off_rounds(1).round(), 2);
  EXPECT_EQ(ph1.sign_off_rounds(1).requested_by().reason(), "load paths added to the drawings");
  // A retry answers the first response and asks review once.
  auto retry = p_->RequestSignOff(again);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->etag(), round2->etag());
  auto asked =
      ::triad::testing::DecodeOutbox<v1::SignOffRequested>(*store_, c::SignOffRequested::kType);
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0].round(), 1);
  EXPECT_EQ(asked[1].round(), 2);
  EXPECT_EQ(asked[1].phase_id(), "ph1");
  EXPECT_GT(asked[1].due_time().seconds(), asked[1].request_time().seconds());

  // The first round's outcome re-emitted (a new event id) changes nothing.
  ASSERT_TRUE(SignOff(id, "rev-1", review::v1::VERDICT_REJECTED).ok());
  EXPECT_EQ(Get(id).phases(0).sign_off(), v1::SIGN_OFF_STATE_REQUESTED);

  ASSERT_TRUE(SignOff(id, "rev-2", review::v1::VERDICT_APPROVED).ok());
  ph1 = Get(id).phases(0);
  EXPECT_EQ(ph1.sign_off(), v1::SIGN_OFF_STATE_APPROVED);
  ASSERT_EQ(ph1.sign_off_rounds_size(), 2);
  EXPECT_EQ(ph1.sign_off_rounds(1).state(), v1::SIGN_OFF_STATE_APPROVED);
  EXPECT_EQ(ph1.sign_off_rounds(1).review_id(), "rev-2");
  EXPECT_TRUE(Progress(id, "ph2", 10).ok());
  // Approved: nothing more to request.
  again.set_request_id("resign-2");
  EXPECT_EQ(p_->RequestSignOff(again).status().code(), absl::StatusCode::kFailedPrecondition);
}

// A reschedule skips the projects whose plan did not change without copying them:
// PlanUnchanged must answer exactly what ApplyPlan followed by SamePlan and SameAllocations
// answers, over random plans that differ from the stored one in any field (or not at all).
TEST(PlanUnchangedTest, AgreesWithApplyingThePlanAndComparing) {
  std::mt19937_64 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> resources = {"", "r1", "r2"};
  auto random_part = [&] {
    sched::PartOut part;
    part.resource = resources[pick(3)];
    part.start = pick(3) == 0 ? -1 : 20000 + pick(3);
    part.end = pick(3) == 0 ? -1 : 20005 + pick(3);
    if (pick(2) == 0) part.allocation.push_back({20000 + pick(3), 1.0 + pick(4)});
    return part;
  };
  int unchanged = 0, changed = 0;
  for (int round = 0; round < 4000; ++round) {
    v1::Project stored;
    stored.set_planned_end_date(pick(4) == 0 ? "" : sched::FormatDay(20010 + pick(2)));
    sched::ProjectOut out;
    out.end = pick(4) == 0 ? -1 : 20010 + pick(2);
    std::vector<int> index;
    for (int k = 0; k < 3; ++k) {
      v1::Phase* ph = stored.add_phases();
      ph->set_name(absl::StrCat("phase ", k));
      sched::PhaseOut po;
      po.resource = resources[pick(3)];
      po.start = pick(3) == 0 ? -1 : 20000 + pick(2);
      po.end = pick(3) == 0 ? -1 : 20005 + pick(2);
      po.unschedulable = pick(5) == 0 ? "no resource has the skill" : "";
      po.allocation.push_back({20000 + pick(3), 1.0 + pick(8)});
      for (int j = 0, n = pick(3); j < n; ++j) po.parts.push_back(random_part());
      for (int j = 0, n = pick(3); j < n; ++j) ph->add_additional_assignments();
      // The stored phase: the same plan, or this plan with one field changed.
      ApplyPlan(po, *ph);
      if (pick(3) == 0) {
        sched::PhaseOut other = po;
        switch (pick(7)) {
          case 0:
            other.resource = resources[pick(3)];
            break;
          case 1:
            other.start = pick(2) == 0 ? -1 : 20000 + pick(3);
            break;
          case 2:
            other.end = pick(2) == 0 ? -1 : 20005 + pick(3);
            break;
          case 3:
            other.unschedulable = pick(2) == 0 ? "" : "resource on leave";
            break;
          case 4:  // the same days, the hours spread differently
            other.allocation.back().second += 0.5 * (1 + pick(2));
            break;
          case 5:  // one more day
            other.allocation.push_back({20004, 2.0});
            break;
          default:
            if (!other.parts.empty()) other.parts[pick(other.parts.size())] = random_part();
            if (pick(2) == 0) other.parts.push_back(random_part());
        }
        ApplyPlan(other, *ph);
      }
      if (pick(4) != 0) {
        index.push_back(k);
        out.phases.push_back(po);
      }
    }
    v1::Project applied = stored;
    for (size_t k = 0; k < index.size(); ++k) {
      ApplyPlan(out.phases[k], *applied.mutable_phases(index[k]));
    }
    applied.set_planned_end_date(out.end >= 0 ? sched::FormatDay(out.end) : "");
    const bool expected = SamePlan(stored, applied) && SameAllocations(stored, applied);
    ASSERT_EQ(PlanUnchanged(stored, index, out), expected)
        << "round " << round << "\nstored: " << stored.ShortDebugString()
        << "\napplied: " << applied.ShortDebugString();
    (expected ? unchanged : changed)++;
  }
  // Both answers were exercised many times.
  EXPECT_GT(unchanged, 300);
  EXPECT_GT(changed, 300);
}

}  // namespace
}  // namespace triad::production
