// Tests of the funnel's currencies: values are never summed across currencies.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/robustness_fixture.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// CurrencyTest drives the domain through its RPCs and events (the robustness fixture).
using CurrencyTest = RobustnessTest;

TEST_F(CurrencyTest, FunnelNeverSumsDifferentCurrencies) {
  Register("c1");
  MustCreate("c1", "u:wang", "CNY", 700);
  MustCreate("c1", "u:wang", "EUR", 100);
  MustCreate("c1", "u:wang", "EUR", 50);
  v1::GetFunnelReportRequest req;
  *req.mutable_start_time() = util::ToProto(Day(-1));
  *req.mutable_end_time() = util::ToProto(Day(1));
  auto report = p_->GetFunnelReport(req);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->mixed_currencies());
  const v1::FunnelStep* opp = nullptr;
  for (const auto& s : report->steps()) {
    if (s.step() == "opportunity") opp = &s;
  }
  ASSERT_NE(opp, nullptr);
  EXPECT_EQ(opp->count(), 3);
  EXPECT_EQ(opp->value_minor(), 0);  // mixed: no single sum
  ASSERT_EQ(opp->values_size(), 2);
  EXPECT_EQ(opp->values(0).currency(), "CNY");
  EXPECT_EQ(opp->values(0).value_minor(), 700);
  EXPECT_EQ(opp->values(1).currency(), "EUR");
  EXPECT_EQ(opp->values(1).value_minor(), 150);
  EXPECT_EQ(report->weighted_pipeline_minor(), 0);
  ASSERT_EQ(report->weighted_pipeline_size(), 2);
  EXPECT_EQ(report->weighted_pipeline(0).value_minor(), 70);  // 700 x 0.10
  EXPECT_EQ(report->weighted_pipeline(1).value_minor(), 15);
  // Filtered to one currency, the single value is set again.
  req.mutable_filter()->set_currency("EUR");
  report = p_->GetFunnelReport(req);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->mixed_currencies());
  for (const auto& s : report->steps()) {
    if (s.step() == "opportunity") {
      EXPECT_EQ(s.count(), 2);
      EXPECT_EQ(s.value_minor(), 150);
    }
  }
  EXPECT_EQ(report->weighted_pipeline_minor(), 15);
  v1::RankOpenDealsRequest rank;
  rank.mutable_filter()->set_currency("EUR");
  auto ranked = p_->RankOpenDeals(rank);
  ASSERT_TRUE(ranked.ok());
  EXPECT_EQ(ranked->open_deals_considered(), 2);
  EXPECT_EQ(ranked->deals(0).currency(), "EUR");
}

}  // namespace
}  // namespace triad::pipeline
