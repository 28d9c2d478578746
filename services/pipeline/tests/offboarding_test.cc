// Tests of offboarding.cc: an offboarded person's open opportunities and new or qualified leads
// move in chunks (the first with the announcement, the rest by ContinueOffboardings), once, to
// the successor or the least-loaded team member; the person can no longer own anything.
#include <map>
#include <string>

#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;

class OffboardingTest : public PipelineTest {
 protected:
  // Offboarded is clients' announcement of `person` leaving.
  events::Event Offboarded(const std::string& person, const std::string& successor,
                           std::vector<std::string> team = {}) {
    clients::v1::PersonOffboarded m;
    m.set_offboarding_id("ob-1");
    m.set_person_id(person);
    m.set_successor_id(successor);
    if (!team.empty()) m.set_team_id("team-east");
    for (std::string& t : team) m.add_team_member_ids(std::move(t));
    m.mutable_actor()->set_id("u:boss");
    m.mutable_actor()->set_reason("leaves");
    events::Event e = NewEvent();
    e.type = std::string(contracts::clients::PersonOffboarded::kType);
    e.source = "triad/clients";
    e.payload = m.SerializeAsString();
    return e;
  }
  // Reports lists pipeline's offboarding reports in the outbox, oldest first.
  std::vector<v1::PersonOffboardingProgressed> Reports() {
    std::vector<v1::PersonOffboardingProgressed> out;
    for (const auto& r :
         Emitted(std::string(contracts::pipeline::PersonOffboardingProgressed::kType))) {
      v1::PersonOffboardingProgressed m;
      EXPECT_TRUE(m.ParseFromString(r.payload()));
      out.push_back(m);
    }
    return out;
  }
  // RunToDone runs the process's continuation (ContinueOffboardings) until nothing is left
  // unfinished; returns the number of reports.
  int RunToDone() {
    absl::StatusOr<int> chunks = p_->ContinueOffboardings();
    EXPECT_TRUE(chunks.ok()) << chunks.status();
    EXPECT_EQ(*p_->ContinueOffboardings(), 0);  // nothing left to continue
    return static_cast<int>(Reports().size());
  }
  v1::Lead Lead(const std::string& owner) {
    v1::CreateLeadRequest req;
    req.mutable_lead()->set_prospect_name("Prospect");
    req.mutable_lead()->set_owner_id(owner);
    auto l = p_->CreateLead(req);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *l : v1::Lead();
  }
};

TEST_F(OffboardingTest, OpenDealsAndLeadsMoveInChunksOnceAndThePersonIsInactive) {
  offboarding_chunk_size_ = 2;
  Open();
  RegisterClient("c1");
  std::vector<v1::Opportunity> his;
  for (int i = 0; i < 3; ++i) his.push_back(CreateOpp("c1", kArchitecturalDesign));
  v1::Opportunity lost = CreateOpp("c1", kArchitecturalDesign);
  v1::LoseOpportunityRequest lr;
  lr.set_opportunity_id(lost.id());
  lr.set_reason(v1::LOSS_REASON_PRICE);
  lr.mutable_actor()->set_id("u:wang");
  ASSERT_TRUE(p_->LoseOpportunity(lr).ok());
  v1::Opportunity other = CreateOpp("c1", kArchitecturalDesign, 100, "u:zhao");
  Lead("u:wang");
  Lead("u:wang");

  events::Event announced = Offboarded("u:wang", "u:li");
  ASSERT_TRUE(p_->HandleEvent(announced).ok());
  // Five items in chunks of two: three reports, the last one done.
  EXPECT_EQ(RunToDone(), 3);
  auto reports = Reports();
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(reports.back().done());
  EXPECT_EQ(reports.back().moved().at("opportunities"), 3);
  EXPECT_EQ(reports.back().moved().at("leads"), 2);
  EXPECT_EQ(reports.back().remaining(), 0);
  EXPECT_FALSE(reports.front().done());
  EXPECT_EQ(reports.front().remaining(), 3);

  for (const v1::Opportunity& o : his)
    EXPECT_EQ(p_->GetOpportunity(Get(o.id()))->owner_id(), "u:li");
  EXPECT_EQ(p_->GetOpportunity(Get(lost.id()))->owner_id(), "u:wang");  // closed: stays
  EXPECT_EQ(p_->GetOpportunity(Get(other.id()))->owner_id(), "u:zhao");
  v1::ListLeadsRequest leads;
  leads.set_owner_id("u:li");
  EXPECT_EQ(p_->ListLeads(leads)->leads_size(), 2);
  EXPECT_EQ(p_->ListInactiveHoldings({})->holdings_size(), 0);
  EXPECT_EQ(Emitted(std::string(contracts::pipeline::OpportunityOwnerChanged::kType)).size(), 3u);

  // Redelivery of the announcement is skipped: nothing more is emitted.
  const int before = OutboxSize();
  ASSERT_TRUE(p_->HandleEvent(announced).ok());
  EXPECT_EQ(OutboxSize(), before);

  // Nothing can be given to the person any more.
  v1::CreateOpportunityRequest cr;
  cr.set_request_id("new-deal");
  cr.set_client_id("c1");
  cr.set_owner_id("u:wang");
  cr.set_title("Another");
  cr.mutable_value()->set_amount_minor(100);
  cr.mutable_value()->set_currency("CNY");
  cr.set_product_line(kArchitecturalDesign);
  absl::Status s = p_->CreateOpportunity(cr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("owner_id"));
  v1::ReassignOpportunityRequest rr;
  rr.set_opportunity_id(other.id());
  rr.set_new_owner_id("u:wang");
  rr.set_reason("back");
  rr.mutable_actor()->set_id("u:boss");
  s = p_->ReassignOpportunity(rr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("new_owner_id"));
  v1::CreateLeadRequest lead;
  lead.mutable_lead()->set_prospect_name("P");
  lead.mutable_lead()->set_owner_id("u:wang");
  s = p_->CreateLead(lead).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("lead.owner_id"));
}

TEST_F(OffboardingTest, ATeamShareGoesToTheMemberWithFewestOpenDeals) {
  RegisterClient("c1");
  CreateOpp("c1", kArchitecturalDesign, 100, "u:a");
  CreateOpp("c1", kArchitecturalDesign, 100, "u:a");
  for (int i = 0; i < 4; ++i) CreateOpp("c1", kArchitecturalDesign);
  ASSERT_TRUE(p_->HandleEvent(Offboarded("u:wang", "", {"u:a", "u:b"})).ok());
  EXPECT_EQ(RunToDone(), 1);
  std::map<std::string, int> owned;
  v1::ListOpportunitiesRequest req;
  req.set_client_id("c1");
  auto listed = p_->ListOpportunities(req);
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (const auto& o : listed->opportunities()) ++owned[o.owner_id()];
  EXPECT_EQ(owned["u:wang"], 0);
  EXPECT_EQ(owned["u:a"], 3);
  EXPECT_EQ(owned["u:b"], 3);
}

TEST_F(OffboardingTest, AnAnnouncementWithNobodyToMoveToIsDeadLettered) {
  absl::Status s = p_->HandleEvent(Offboarded("u:wang", ""));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace triad::pipeline
