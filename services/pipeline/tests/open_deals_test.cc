// Tests of the open-deal index: ranking by value per expert-hour, stale-deal reports.
#include <atomic>
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

TEST_F(PipelineTest, RankByExpectedValuePerExpertHour) {
  RegisterClient("c1");
  v1::Opportunity big = CreateOpp("c1", kArchitecturalDesign, 1'000'000);  // 80 h default
  v1::Opportunity small = CreateOpp("c1", kArchitecturalDesign, 500'000);  // 80 h default
  v1::Opportunity eq = CreateOpp("c1", kSpecialisedEquipment, 600'000);    // 60 h default
  v1::RankOpenDealsRequest req;
  auto r = p_->RankOpenDeals(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->deals_size(), 3);
  EXPECT_EQ(r->deals(0).opportunity_id(), big.id());    // 100000/80 = 1250
  EXPECT_EQ(r->deals(1).opportunity_id(), eq.id());     // 60000/60 = 1000
  EXPECT_EQ(r->deals(2).opportunity_id(), small.id());  // 50000/80 = 625
  EXPECT_DOUBLE_EQ(r->deals(0).expected_value_per_expert_hour(), 1250);
  req.mutable_filter()->set_product_line(kSpecialisedEquipment);
  r = p_->RankOpenDeals(req);
  ASSERT_EQ(r->deals_size(), 1);
  EXPECT_EQ(r->open_deals_considered(), 1);
}

TEST_F(PipelineTest, StaleDealsAreReportedOncePerStageEntry) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);  // qualification: max 14 days
  clock_.Advance(absl::Hours(24 * 10));
  auto scan = p_->ScanStaleDeals({});
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->newly_reported_size(), 0);
  clock_.Advance(absl::Hours(24 * 5));
  auto list = p_->ListStaleDeals({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->deals_size(), 1);
  EXPECT_FALSE(list->deals(0).reported());
  scan = p_->ScanStaleDeals({});
  ASSERT_EQ(scan->newly_reported_size(), 1);
  EXPECT_EQ(scan->newly_reported(0).days_in_stage(), 15);
  scan = p_->ScanStaleDeals({});
  EXPECT_EQ(scan->newly_reported_size(), 0);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.stale.v1").size(), 1u);
  // A new stage entry can breach again.
  Tick(opp.id(), "qualification.decision_maker");
  ASSERT_TRUE(Advance(opp.id(), "needs_analysis").ok());
  clock_.Advance(absl::Hours(24 * 22));
  scan = p_->ScanStaleDeals({});
  EXPECT_EQ(scan->newly_reported_size(), 1);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.stale.v1").size(), 2u);
}

}  // namespace
}  // namespace triad::pipeline
