// Tests of the list indexes: filtered lists of opportunities, leads and signals read through
// indexes that follow every change.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/robustness_fixture.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// ListIndexTest drives the domain through its RPCs and events (the robustness fixture).
using ListIndexTest = RobustnessTest;

TEST_F(ListIndexTest, FilteredListsReadThroughIndexesThatFollowEveryChange) {
  Register("c1", "u:wang");
  Register("c2", "u:li");
  std::vector<v1::Opportunity> wang;
  for (int i = 0; i < 30; ++i) wang.push_back(MustCreate("c1", "u:wang"));
  v1::Opportunity li1 = MustCreate("c2", "u:li", "CNY", 1, kSpecialisedEquipment);
  v1::Opportunity li2 = MustCreate("c2", "u:li", "CNY", 1, kSpecialisedEquipment);
  auto examined = [&](v1::ListOpportunitiesRequest req) {
    int64_t before = p_->ListRecordsExamined();
    std::vector<v1::Opportunity> got = ListAll(req);
    return std::make_pair(Ids(got), p_->ListRecordsExamined() - before);
  };
  v1::ListOpportunitiesRequest by_li;
  by_li.set_owner_id("u:li");
  auto [ids, n] = examined(by_li);
  EXPECT_THAT(ids, UnorderedElementsAreArray({li1.id(), li2.id()}));
  EXPECT_EQ(n, 2);  // not 32: the owner index was walked
  v1::ListOpportunitiesRequest by_line;
  by_line.set_product_line(kSpecialisedEquipment);
  std::tie(ids, n) = examined(by_line);
  EXPECT_EQ(n, 2);

  // Reassign: the deal moves between the owners' index entries.
  v1::ReassignOpportunityRequest re;
  re.set_opportunity_id(wang[0].id());
  re.set_new_owner_id("u:li");
  re.set_reason("holiday cover");
  ASSERT_TRUE(p_->ReassignOpportunity(re).ok());
  std::tie(ids, n) = examined(by_li);
  EXPECT_THAT(ids, UnorderedElementsAreArray({li1.id(), li2.id(), wang[0].id()}));
  EXPECT_EQ(n, 3);
  // Advance: the stage index follows.
  Tick(wang[1].id(), "qualification.decision_maker");
  ASSERT_TRUE(Advance(wang[1].id(), "needs_analysis").ok());
  v1::ListOpportunitiesRequest by_stage;
  by_stage.set_stage("needs_analysis");
  std::tie(ids, n) = examined(by_stage);
  EXPECT_THAT(ids, UnorderedElementsAreArray({wang[1].id()}));
  EXPECT_EQ(n, 1);
  // Lose and win: the state index follows.
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(wang[2].id());
  lose.set_reason(v1::LOSS_REASON_PRICE);
  ASSERT_TRUE(p_->LoseOpportunity(lose).ok());
  v1::ListOpportunitiesRequest lost;
  lost.set_state(v1::OPPORTUNITY_STATE_LOST);
  std::tie(ids, n) = examined(lost);
  EXPECT_THAT(ids, UnorderedElementsAreArray({wang[2].id()}));
  EXPECT_EQ(n, 1);
  // Client owner change (u:wang -> u:chen) moves u:wang's open deals of c1.
  clients::v1::ClientOwnerChanged oc;
  *oc.mutable_client() = Client("c1", "u:chen", 2);
  oc.set_previous_owner_id("u:wang");
  oc.set_new_owner_id("u:chen");
  ASSERT_TRUE(p_->HandleEvent(Ev("triad.clients.client.owner_changed.v1", oc)).ok());
  v1::ListOpportunitiesRequest by_chen;
  by_chen.set_owner_id("u:chen");
  std::tie(ids, n) = examined(by_chen);
  EXPECT_EQ(ids.size(), 28u);  // 30 - reassigned - lost
  v1::ListOpportunitiesRequest by_wang;
  by_wang.set_owner_id("u:wang");
  std::tie(ids, n) = examined(by_wang);
  EXPECT_THAT(ids, UnorderedElementsAreArray({wang[2].id()}));  // the lost one stays
  // Merge c2 into c1: the client index follows.
  ASSERT_TRUE(Merge("c2", "c1", 3).ok());
  v1::ListOpportunitiesRequest by_c2;
  by_c2.set_client_id("c2");
  EXPECT_TRUE(ListAll(by_c2).empty());
  v1::ListOpportunitiesRequest by_c1;
  by_c1.set_client_id("c1");
  EXPECT_EQ(ListAll(by_c1).size(), 32u);
  CheckConsistency();

  // A database written before the indexes existed is backfilled at start.
  rocksdb::WriteOptions wo;
  ASSERT_TRUE(store_->db()
                  ->DeleteRange(wo, store_->Cf("lists"), rocksdb::Slice(""),
                                rocksdb::Slice("\xff\xff\xff\xff"))
                  .ok());
  Open();
  CheckConsistency();
  std::tie(ids, n) = examined(by_li);
  EXPECT_EQ(n, 3);
}

TEST_F(ListIndexTest, LeadAndSignalListsUseIndexes) {
  Register("c1");
  for (int i = 0; i < 20; ++i) {
    v1::CreateLeadRequest l;
    l.mutable_lead()->set_client_id("c1");
    l.mutable_lead()->set_owner_id(i < 18 ? "u:wang" : "u:li");
    ASSERT_TRUE(p_->CreateLead(l).ok());
    v1::RecordSignalRequest s;
    s.mutable_signal()->set_source("tender");
    s.mutable_signal()->set_region(i < 19 ? "east" : "west");
    s.mutable_signal()->set_sector("health");
    ASSERT_TRUE(p_->RecordSignal(s).ok());
  }
  int64_t before = p_->ListRecordsExamined();
  v1::ListLeadsRequest lr;
  lr.set_owner_id("u:li");
  auto leads = p_->ListLeads(lr);
  ASSERT_TRUE(leads.ok());
  EXPECT_EQ(leads->leads_size(), 2);
  EXPECT_EQ(p_->ListRecordsExamined() - before, 2);
  // Qualifying moves the lead in the state index.
  v1::QualifyLeadRequest q;
  q.set_lead_id(leads->leads(0).id());
  ASSERT_TRUE(p_->QualifyLead(q).ok());
  v1::ListLeadsRequest qualified;
  qualified.set_state(v1::LEAD_STATE_QUALIFIED);
  before = p_->ListRecordsExamined();
  auto ql = p_->ListLeads(qualified);
  ASSERT_EQ(ql->leads_size(), 1);
  EXPECT_EQ(ql->leads(0).id(), leads->leads(0).id());
  EXPECT_EQ(p_->ListRecordsExamined() - before, 1);
  v1::ListLeadsRequest fresh;
  fresh.set_state(v1::LEAD_STATE_NEW);
  EXPECT_EQ(p_->ListLeads(fresh)->leads_size(), 19);
  v1::ListSignalsRequest sr;
  sr.set_region("west");
  before = p_->ListRecordsExamined();
  EXPECT_EQ(p_->ListSignals(sr)->signals_size(), 1);
  EXPECT_EQ(p_->ListRecordsExamined() - before, 1);
}

}  // namespace
}  // namespace triad::pipeline
