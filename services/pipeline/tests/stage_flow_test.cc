// Tests of the stage flow: refused moves list the open checkpoints, skip and backward rules,
// winning and losing.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(PipelineTest, RefusedMoveListsExactlyTheOpenCheckpointsAndWritesNothing) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  const int outbox_before = OutboxSize();
  auto r = Advance(opp.id(), "needs_analysis");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("1 open checkpoint(s)"));
  EXPECT_THAT(r.status().message(), HasSubstr("qualification.decision_maker"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("qualification.value")));
  auto after = p_->GetOpportunity(Get(opp.id()));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->SerializeAsString(), opp.SerializeAsString());
  EXPECT_EQ(OutboxSize(), outbox_before);
  Tick(opp.id(), "qualification.decision_maker");
  auto moved = Advance(opp.id(), "needs_analysis");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->stage(), "needs_analysis");
  ASSERT_EQ(moved->stage_history_size(), 2);
  EXPECT_TRUE(moved->stage_history(0).has_exit_time());
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.stage_changed.v1").size(), 1u);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.checkpoint_completed.v1").size(), 1u);
}

TEST_F(PipelineTest, SkipAndBackwardRules) {
  RegisterClient("c1");
  // Architectural design allows no skips.
  v1::Opportunity arch = CreateOpp("c1", kArchitecturalDesign);
  Tick(arch.id(), "qualification.decision_maker");
  auto r = Advance(arch.id(), "concept");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("allows 0"));
  // Equipment: the site survey may be skipped, but not two stages.
  v1::Opportunity eq = CreateOpp("c1", kSpecialisedEquipment);
  Tick(eq.id(), "qualification.application");
  r = Advance(eq.id(), "solution_design");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("technical_assessment cannot be skipped"));
  r = Advance(eq.id(), "technical_assessment");
  ASSERT_TRUE(r.ok()) << r.status();
  // Entering the assessment requested its expert review.
  auto reviews = Emitted("triad.pipeline.opportunity.review_requested.v1");
  ASSERT_EQ(reviews.size(), 1u);
  v1::ReviewRequested rr;
  ASSERT_TRUE(rr.ParseFromString(reviews[0].payload()));
  EXPECT_EQ(rr.domain(), "process-engineering");
  EXPECT_EQ(rr.gate_id(), "assessment.expert_review");
  EXPECT_EQ(rr.value().amount_minor(), eq.value().amount_minor());
  // Backward moves need a reason.
  r = Advance(eq.id(), "qualification");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = Advance(eq.id(), "qualification", "client changed the duty");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stage(), "qualification");
  r = Advance(eq.id(), "no_such_stage");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

// Moves of different deals run side by side (AdvanceStage holds the domain lock shared); the
// funnel's totals, in memory and as stored (read back after a reopen), still count every move.
TEST_F(PipelineTest, ConcurrentMovesOfDifferentDealsKeepTheFunnelExact) {
  RegisterClient("c1");
  constexpr int kThreads = 4;
  constexpr int kDealsPerThread = 5;
  constexpr int kRounds = 10;
  std::vector<std::vector<std::string>> deals(kThreads);
  for (auto& mine : deals) {
    for (int d = 0; d < kDealsPerThread; ++d) {
      v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign, 1000);
      Tick(opp.id(), "qualification.decision_maker");
      mine.push_back(opp.id());
    }
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (const auto& mine : deals) {
    threads.emplace_back([&, mine] {
      for (int r = 0; r < kRounds; ++r) {
        for (const std::string& id : mine) {
          if (!Advance(id, "needs_analysis").ok()) ++failures;
          if (!Advance(id, "qualification", "benchmark moves it back").ok()) ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  constexpr int kDeals = kThreads * kDealsPerThread;
  v1::GetFunnelReportRequest req;
  *req.mutable_start_time() = util::ToProto(Day(0) - absl::Hours(1));
  *req.mutable_end_time() = util::ToProto(Day(1));
  req.mutable_filter()->set_product_line(kArchitecturalDesign);
  auto check = [&](const char* when) {
    auto report = p_->GetFunnelReport(req);
    ASSERT_TRUE(report.ok()) << report.status();
    std::map<std::string, int64_t> exits;
    for (const auto& t : report->stage_times()) exits[t.stage()] = t.exits();
    EXPECT_EQ(exits["qualification"], kDeals * kRounds) << when;
    EXPECT_EQ(exits["needs_analysis"], kDeals * kRounds) << when;
    std::map<std::string, int64_t> open;
    for (const auto& w : report->weighted()) open[w.stage()] = w.open_count();
    EXPECT_EQ(open["qualification"], kDeals) << when;
    EXPECT_EQ(open["needs_analysis"], 0) << when;
    int64_t reached = 0;
    for (const auto& st : report->steps()) {
      if (st.step() == "stage:needs_analysis") reached = st.count();
    }
    EXPECT_EQ(reached, kDeals) << when;
  };
  check("in memory");
  Open();
  check("as stored");
}

// Two moves of one deal take turns: each sees the other's result, so none is lost (every
// successful move adds one stage entry to the deal's history).
TEST_F(PipelineTest, ConcurrentMovesOfOneDealAreNeverLost) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  Tick(opp.id(), "qualification.decision_maker");
  std::atomic<int> moved{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (Advance(opp.id(), "needs_analysis").ok()) ++moved;
        if (Advance(opp.id(), "qualification", "moved back").ok()) ++moved;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto after = p_->GetOpportunity(Get(opp.id()));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT(moved.load(), 0);
  EXPECT_EQ(after->stage_history_size(), 1 + moved.load());
}

TEST_F(PipelineTest, WinAndLoseFillTheirEvents) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kSpecialisedEquipment, 500'000'00);
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(opp.id());
  EXPECT_EQ(p_->LoseOpportunity(lose).status().code(), absl::StatusCode::kInvalidArgument);
  lose.set_reason(v1::LOSS_REASON_COMPETITOR);
  lose.set_reason_text("went with a cheaper vendor");
  auto lost = p_->LoseOpportunity(lose);
  ASSERT_TRUE(lost.ok()) << lost.status();
  auto events = Emitted("triad.pipeline.opportunity.lost.v1");
  ASSERT_EQ(events.size(), 1u);
  v1::OpportunityLost l;
  ASSERT_TRUE(l.ParseFromString(events[0].payload()));
  EXPECT_EQ(l.reason(), v1::LOSS_REASON_COMPETITOR);
  EXPECT_EQ(l.client_id(), "c1");
  EXPECT_EQ(l.value().amount_minor(), 500'000'00);
  EXPECT_EQ(p_->LoseOpportunity(lose).status().code(), absl::StatusCode::kFailedPrecondition);

  v1::Opportunity w = CreateOpp("c1", kSpecialisedEquipment, 800'000'00);
  v1::WinOpportunityRequest win;
  win.set_opportunity_id(w.id());
  auto r = p_->WinOpportunity(win);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("last stage"));
}

}  // namespace
}  // namespace triad::pipeline
