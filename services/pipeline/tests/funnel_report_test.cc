// Tests of the funnel report: arithmetic against targets, win rate, repeat clients.
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

TEST_F(PipelineTest, FunnelArithmeticAgainstTargets) {
  RegisterClient("c1");
  // 14 signals, 2 leads (1 qualified and converted), on day 1.
  clock_.Set(Day(1));
  for (int i = 0; i < 14; ++i) {
    v1::RecordSignalRequest s;
    s.mutable_signal()->set_source("tender-portal");
    s.mutable_signal()->set_region("east");
    s.mutable_signal()->set_sector("healthcare");
    s.mutable_signal()->set_product_line(kArchitecturalDesign);
    s.mutable_signal()->mutable_estimated_size()->set_amount_minor(1000);
    s.mutable_signal()->mutable_estimated_size()->set_currency("CNY");
    ASSERT_TRUE(p_->RecordSignal(s).ok());
  }
  std::vector<std::string> leads;
  for (int i = 0; i < 2; ++i) {
    v1::CreateLeadRequest l;
    l.mutable_lead()->set_client_id("c1");
    l.mutable_lead()->set_owner_id("u:wang");
    l.mutable_lead()->set_product_line(kArchitecturalDesign);
    auto lead = p_->CreateLead(l);
    ASSERT_TRUE(lead.ok()) << lead.status();
    leads.push_back(lead->id());
  }
  v1::QualifyLeadRequest q;
  q.set_lead_id(leads[0]);
  ASSERT_TRUE(p_->QualifyLead(q).ok());
  v1::CreateOpportunityRequest c;
  c.set_request_id("from-lead");
  c.set_lead_id(leads[0]);
  c.set_client_id("c1");
  c.set_owner_id("u:wang");
  c.set_title("Clinic");
  c.mutable_value()->set_amount_minor(200'000);
  c.mutable_value()->set_currency("CNY");
  *c.mutable_expected_close_time() = util::ToProto(Day(60));
  auto opp = p_->CreateOpportunity(c);
  ASSERT_TRUE(opp.ok()) << opp.status();
  // Three days later it moves on: 3 days in qualification.
  clock_.Set(Day(4));
  Tick(opp->id(), "qualification.decision_maker");
  ASSERT_TRUE(Advance(opp->id(), "needs_analysis").ok());
  // A deal on day 10 is outside a [day 0, day 5) period.
  clock_.Set(Day(10));
  CreateOpp("c1", kArchitecturalDesign, 999);

  v1::GetFunnelReportRequest req;
  *req.mutable_start_time() = util::ToProto(Day(0) - absl::Hours(1));
  *req.mutable_end_time() = util::ToProto(Day(5) - absl::Hours(1));
  req.mutable_filter()->set_product_line(kArchitecturalDesign);
  auto report = p_->GetFunnelReport(req);
  ASSERT_TRUE(report.ok()) << report.status();
  auto step = [&](const std::string& name) {
    for (const auto& s : report->steps()) {
      if (s.step() == name) return s;
    }
    return v1::FunnelStep();
  };
  EXPECT_EQ(step("signal").count(), 14);
  EXPECT_EQ(step("signal").value_minor(), 14000);
  EXPECT_EQ(step("lead").count(), 2);
  EXPECT_EQ(step("qualified_lead").count(), 1);
  EXPECT_EQ(step("opportunity").count(), 1);
  EXPECT_EQ(step("opportunity").value_minor(), 200'000);
  EXPECT_EQ(step("stage:needs_analysis").count(), 1);
  ASSERT_GE(report->ratios_size(), 2);
  EXPECT_EQ(report->ratios(0).from_step(), "signal");
  EXPECT_DOUBLE_EQ(report->ratios(0).actual_ratio(), 7.0);
  EXPECT_DOUBLE_EQ(report->ratios(0).target_ratio(), 7.0);
  EXPECT_DOUBLE_EQ(report->ratios(0).gap(), 0.0);
  EXPECT_DOUBLE_EQ(report->ratios(1).actual_ratio(), 2.0);
  EXPECT_DOUBLE_EQ(report->ratios(1).gap(), -5.0);
  ASSERT_GT(report->stage_times_size(), 0);
  EXPECT_EQ(report->stage_times(0).stage(), "qualification");
  EXPECT_DOUBLE_EQ(report->stage_times(0).average_days(), 3.0);
  // Weighted pipeline: the converted deal (needs_analysis, p=0.25) and the day-10 one
  // (qualification, p=0.10) are both open now.
  EXPECT_EQ(report->weighted_pipeline_minor(), 50'000 + 100);

  // Filters: another owner sees nothing; the region filter keeps the signals.
  req.mutable_filter()->set_owner_id("u:nobody");
  report = p_->GetFunnelReport(req);
  EXPECT_EQ(step("lead").count(), 0);
  EXPECT_EQ(report->weighted_pipeline_minor(), 0);
  req.mutable_filter()->clear_owner_id();
  req.mutable_filter()->set_region("east");
  req.mutable_filter()->set_client_kind(v1::CLIENT_KIND_NEW);
  report = p_->GetFunnelReport(req);
  EXPECT_EQ(step("lead").count(), 2);
  EXPECT_EQ(step("signal").count(), 0);  // signals carry no client, so no new/repeat kind

  // The aggregates survive a restart.
  req.mutable_filter()->clear_client_kind();
  req.mutable_filter()->clear_region();
  auto before = p_->GetFunnelReport(req);
  Open();
  auto reopened = p_->GetFunnelReport(req);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->SerializeAsString(), before->SerializeAsString());
}

TEST_F(PipelineTest, WinRateAndRepeatClient) {
  RegisterClient("c1");
  // Drive an equipment deal to the end and win it.
  v1::Opportunity opp = CreateOpp("c1", kSpecialisedEquipment, 1000);
  Tick(opp.id(), "qualification.application");
  ASSERT_TRUE(Advance(opp.id(), "technical_assessment").ok());
  SetField(opp.id(), "duty_spec", "200 t/h");
  review::v1::ReviewVerdictRecorded v;
  v.set_opportunity_id(opp.id());
  v.set_gate_id("assessment.expert_review");
  v.set_verdict(review::v1::VERDICT_APPROVED);
  v.set_estimated_effort_hours(40);
  ASSERT_TRUE(p_->OnReviewVerdict(NewEvent(), v).ok());
  ASSERT_TRUE(Advance(opp.id(), "solution_design").ok());
  Tick(opp.id(), "solution.layout");
  production::v1::FeasibilityAnswered f;
  f.set_opportunity_id(opp.id());
  f.set_gate_id("solution.feasibility");
  f.set_feasible(true);
  ASSERT_TRUE(p_->OnFeasibilityAnswered(NewEvent(), f).ok());
  ASSERT_TRUE(Advance(opp.id(), "proposal").ok());
  auto cur = p_->GetOpportunity(Get(opp.id()));
  v1::UpdateOpportunityRequest u;
  u.mutable_opportunity()->set_id(opp.id());
  *u.mutable_opportunity()->mutable_desired_delivery_time() = util::ToProto(Day(120));
  u.mutable_update_mask()->add_paths("desired_delivery_time");
  u.set_etag(cur->etag());
  ASSERT_TRUE(p_->UpdateOpportunity(u).ok());
  Tick(opp.id(), "proposal.quotation_sent");
  ASSERT_TRUE(Advance(opp.id(), "negotiation").ok());
  Tick(opp.id(), "negotiation.commercial_terms");
  v1::WinOpportunityRequest win;
  win.set_opportunity_id(opp.id());
  auto r = p_->WinOpportunity(win);
  EXPECT_THAT(r.status().message(), HasSubstr("negotiation.payment_terms"));
  Tick(opp.id(), "negotiation.payment_terms");
  r = p_->WinOpportunity(win);
  ASSERT_TRUE(r.ok()) << r.status();
  auto won = Emitted("triad.pipeline.opportunity.won.v1");
  ASSERT_EQ(won.size(), 1u);
  v1::OpportunityWon w;
  ASSERT_TRUE(w.ParseFromString(won[0].payload()));
  EXPECT_EQ(w.client_id(), "c1");
  EXPECT_DOUBLE_EQ(w.estimated_effort_hours(), 40);
  EXPECT_EQ(util::FromProto(w.due_time()), Day(120));
  EXPECT_FALSE(w.repeat_client());
  v1::Opportunity lost = CreateOpp("c1", kSpecialisedEquipment, 10);
  EXPECT_TRUE(lost.repeat_client());  // the client has won before
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(lost.id());
  lose.set_reason(v1::LOSS_REASON_PRICE);
  ASSERT_TRUE(p_->LoseOpportunity(lose).ok());
  v1::GetFunnelReportRequest req;
  *req.mutable_start_time() = util::ToProto(Day(-1));
  *req.mutable_end_time() = util::ToProto(Day(1));
  auto report = p_->GetFunnelReport(req);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->won_count(), 1);
  EXPECT_EQ(report->lost_count(), 1);
  EXPECT_DOUBLE_EQ(report->win_rate(), 0.5);
  req.mutable_filter()->set_client_kind(v1::CLIENT_KIND_REPEAT);
  report = p_->GetFunnelReport(req);
  EXPECT_EQ(report->lost_count(), 1);
  EXPECT_EQ(report->won_count(), 0);
}

}  // namespace
}  // namespace triad::pipeline
