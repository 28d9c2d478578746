// Tests of the lead lifecycle.
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

TEST_F(PipelineTest, LeadLifecycle) {
  RegisterClient("c1");
  v1::RecordSignalRequest sreq;
  sreq.mutable_signal()->set_source("trade-fair");
  sreq.mutable_signal()->set_region("south");
  sreq.mutable_signal()->set_sector("chemicals");
  sreq.mutable_signal()->set_product_line(kSpecialisedEquipment);
  auto signal = p_->RecordSignal(sreq);
  ASSERT_TRUE(signal.ok()) << signal.status();
  v1::CreateLeadRequest lreq;
  lreq.mutable_lead()->set_signal_id(signal->id());
  lreq.mutable_lead()->set_prospect_name("Acme Chemicals");
  lreq.mutable_lead()->set_owner_id("u:li");
  auto lead = p_->CreateLead(lreq);
  ASSERT_TRUE(lead.ok()) << lead.status();
  EXPECT_EQ(lead->region(), "south");
  EXPECT_EQ(lead->product_line(), kSpecialisedEquipment);
  EXPECT_EQ(lead->state(), v1::LEAD_STATE_NEW);
  // An unqualified lead cannot be converted.
  v1::CreateOpportunityRequest c;
  c.set_request_id("conv");
  c.set_lead_id(lead->id());
  c.set_client_id("c1");
  c.set_owner_id("u:li");
  c.set_title("Reactor");
  c.mutable_value()->set_amount_minor(5);
  c.mutable_value()->set_currency("CNY");
  EXPECT_EQ(p_->CreateOpportunity(c).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::QualifyLeadRequest q;
  q.set_lead_id(lead->id());
  q.set_etag("99");
  EXPECT_EQ(p_->QualifyLead(q).status().code(), absl::StatusCode::kAborted);
  q.clear_etag();
  ASSERT_TRUE(p_->QualifyLead(q).ok());
  EXPECT_EQ(p_->QualifyLead(q).status().code(), absl::StatusCode::kFailedPrecondition);
  c.set_request_id("conv2");
  auto opp = p_->CreateOpportunity(c);
  ASSERT_TRUE(opp.ok()) << opp.status();
  EXPECT_EQ(opp->product_line(), kSpecialisedEquipment);
  v1::GetLeadRequest g;
  g.set_lead_id(lead->id());
  EXPECT_EQ(p_->GetLead(g)->state(), v1::LEAD_STATE_CONVERTED);
  EXPECT_EQ(p_->GetLead(g)->opportunity_id(), opp->id());
  v1::DisqualifyLeadRequest d;
  d.set_lead_id(lead->id());
  d.set_reason("duplicate");
  EXPECT_EQ(p_->DisqualifyLead(d).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::ListLeadsRequest list;
  list.set_state(v1::LEAD_STATE_CONVERTED);
  EXPECT_EQ(p_->ListLeads(list)->leads_size(), 1);
  EXPECT_EQ(Emitted("triad.pipeline.lead.qualified.v1").size(), 1u);
  EXPECT_EQ(Emitted("triad.pipeline.signal.recorded.v1").size(), 1u);
}

}  // namespace
}  // namespace triad::pipeline
