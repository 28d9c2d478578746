// Tests of PipelineAccess on a real RocksDB: every RPC has a decision; for sales (own, team and
// other team's records), a sales manager (managed team, other team), an expert and an operator,
// leads and opportunities are allowed or denied by their owner and team, creation needs a client
// the caller can see in the replica, and lists and funnel reports must be scoped.
#include "services/pipeline/access.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"
#include "triad/admin/v1/admin_service.pb.h"
#include "triad/pipeline/v1/pipeline_admin_service.pb.h"

namespace triad::pipeline {
namespace {

using auth::Principal;
using auth::Role;
using ::testing::HasSubstr;

Principal Who(const std::string& subject, Role role, std::vector<std::string> teams = {}) {
  Principal p;
  p.subject = subject;
  p.roles = {role};
  p.teams = std::move(teams);
  p.method = auth::AuthMethod::kJwt;
  return p;
}

// Li and Wu sell in team east, Ma in team west; Zhang manages east.
const Principal kLi = Who("u:li", Role::kSales, {"east"});
const Principal kMa = Who("u:ma", Role::kSales, {"west"});
const Principal kManager = Who("u:zhang", Role::kSalesManager, {"east"});
const Principal kExpert = Who("u:expert", Role::kExpert);
const Principal kOperator = Who("u:ops", Role::kOperator);

bool Denied(const absl::Status& s) { return s.code() == absl::StatusCode::kPermissionDenied; }

class PipelineAccessTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    AddClient("cl-own", "u:li", "");  // no team: only Li sees it
    AddClient("cl-east", "u:wu", "east");
    AddClient("cl-west", "u:ma", "west");
    own_ = CreateOpp("cl-own", kArchitecturalDesign, 100, "u:li").id();
    east_ = CreateOpp("cl-east", kArchitecturalDesign, 100, "u:wu").id();
    west_ = CreateOpp("cl-west", kArchitecturalDesign, 100, "u:ma").id();
    access_ = std::make_unique<PipelineAccess>(store_.get());
  }

  void AddClient(const std::string& id, const std::string& owner, const std::string& team) {
    clients::v1::ClientSummary c = Client(id, owner);
    c.set_team_id(team);
    ASSERT_TRUE(p_->OnClient(NewEvent(), c).ok());
  }

  std::string CreateLeadFor(const std::string& client, const std::string& owner) {
    v1::CreateLeadRequest req;
    req.mutable_lead()->set_client_id(client);
    req.mutable_lead()->set_owner_id(owner);
    auto lead = p_->CreateLead(req);
    EXPECT_TRUE(lead.ok()) << lead.status();
    return lead.ok() ? lead->id() : "";
  }

  absl::Status Check(const Principal& p, std::string_view method,
                     const google::protobuf::Message& req) {
    return access_->CheckRequest(p, method, req);
  }

  std::unique_ptr<PipelineAccess> access_;
  std::string own_, east_, west_;
};

TEST_F(PipelineAccessTest, EveryRpcHasAnExplicitDecisionAndAnUnknownMethodIsDenied) {
  // Link the files declaring the services (their descriptors register with the pool).
  ASSERT_NE(v1::ScanStaleDealsRequest::descriptor(), nullptr);
  ASSERT_NE(admin::v1::CreateBackupRequest::descriptor(), nullptr);
  for (const char* name :
       {"triad.pipeline.v1.PipelineService", "triad.pipeline.v1.PipelineAdminService",
        "triad.admin.v1.AdminService"}) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      EXPECT_TRUE(access_->rules().Decides(service->method(i)->name()))
          << service->full_name() << "." << service->method(i)->name() << " has no decision";
    }
  }
  v1::GetOpportunityRequest req;
  for (const Principal& p : {kLi, kOperator}) {
    EXPECT_TRUE(Denied(Check(p, "ListEverything", req)));
  }
  EXPECT_EQ(Check(kLi, "GetLead", req).code(), absl::StatusCode::kInternal);
}

TEST_F(PipelineAccessTest, OpportunityMethodsFollowTheDealsOwnerAndTeam) {
  using Build = std::function<std::unique_ptr<google::protobuf::Message>(const std::string&)>;
  auto make = [](auto proto, auto set) -> Build {
    return [proto, set](const std::string& id) {
      auto req = std::make_unique<decltype(proto)>(proto);
      set(*req, id);
      return std::unique_ptr<google::protobuf::Message>(std::move(req));
    };
  };
  const std::vector<std::pair<std::string, Build>> methods = {
      {"GetOpportunity", make(v1::GetOpportunityRequest(),
                              [](auto& r, const std::string& id) { r.set_opportunity_id(id); })},
      {"ListOpportunityHistory",
       make(v1::ListOpportunityHistoryRequest(),
            [](auto& r, const std::string& id) { r.set_opportunity_id(id); })},
      {"CompleteChecklistItem",
       make(v1::CompleteChecklistItemRequest(),
            [](auto& r, const std::string& id) { r.set_opportunity_id(id); })},
      {"AdvanceStage", make(v1::AdvanceStageRequest(),
                            [](auto& r, const std::string& id) { r.set_opportunity_id(id); })},
      {"WinOpportunity", make(v1::WinOpportunityRequest(),
                              [](auto& r, const std::string& id) { r.set_opportunity_id(id); })},
      {"LoseOpportunity", make(v1::LoseOpportunityRequest(),
                               [](auto& r, const std::string& id) { r.set_opportunity_id(id); })},
      {"UpdateOpportunity", make(v1::UpdateOpportunityRequest(),
                                 [](auto& r, const std::string& id) {
                                   r.mutable_opportunity()->set_id(id);
                                   r.mutable_update_mask()->add_paths("title");
                                 })},
  };
  struct Expect {
    const Principal* who;
    const std::string* opp;
    bool allowed;
  };
  const std::vector<Expect> table = {
      {&kLi, &own_, true},       {&kLi, &east_, true},       {&kLi, &west_, false},
      {&kMa, &own_, false},      {&kMa, &west_, true},       {&kManager, &east_, true},
      {&kManager, &own_, false}, {&kManager, &west_, false}, {&kExpert, &west_, true},
      {&kOperator, &own_, true},
  };
  for (const auto& [method, build] : methods) {
    for (const Expect& e : table) {
      SCOPED_TRACE(absl::StrCat(method, " by ", e.who->subject, " on ", *e.opp));
      absl::Status s = Check(*e.who, method, *build(*e.opp));
      if (e.allowed) {
        EXPECT_TRUE(s.ok()) << s;
      } else {
        EXPECT_TRUE(Denied(s)) << s;
        EXPECT_EQ(s.message(), absl::StrCat("opportunity ", *e.opp, ": owned by another team"));
      }
    }
    EXPECT_TRUE(Check(kLi, method, *build("opp-missing")).ok()) << method;
  }
}

TEST_F(PipelineAccessTest, ChangesOfOwnerOrTeamMustStayVisible) {
  v1::ReassignOpportunityRequest re;
  re.set_opportunity_id(east_);
  re.set_new_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "ReassignOpportunity", re).ok());
  re.set_opportunity_id(own_);
  re.set_new_owner_id("u:wu");  // no team: Li would lose it to someone outside
  EXPECT_TRUE(Denied(Check(kLi, "ReassignOpportunity", re)));
  EXPECT_TRUE(Check(kOperator, "ReassignOpportunity", re).ok());
  re.set_opportunity_id(west_);
  re.set_new_owner_id("u:li");
  EXPECT_EQ(Check(kLi, "ReassignOpportunity", re).message(),
            absl::StrCat("opportunity ", west_, ": owned by another team"));

  v1::UpdateOpportunityRequest up;
  up.mutable_opportunity()->set_id(own_);
  up.mutable_update_mask()->add_paths("team_id");
  up.mutable_opportunity()->set_team_id("east");
  EXPECT_TRUE(Check(kLi, "UpdateOpportunity", up).ok());
  up.mutable_opportunity()->set_team_id("west");
  absl::Status s = Check(kLi, "UpdateOpportunity", up);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr("team_id 'west'"));
}

TEST_F(PipelineAccessTest, CreationNeedsAClientTheCallerCanSeeAndAnOwnerTheyMayGive) {
  auto create = [](const std::string& client, const std::string& owner, const std::string& team) {
    v1::CreateOpportunityRequest r;
    r.set_client_id(client);
    r.set_owner_id(owner);
    r.set_team_id(team);
    return r;
  };
  EXPECT_TRUE(Check(kLi, "CreateOpportunity", create("cl-own", "u:li", "")).ok());
  EXPECT_TRUE(Check(kLi, "CreateOpportunity", create("cl-east", "u:wu", "")).ok());
  absl::Status s = Check(kLi, "CreateOpportunity", create("cl-west", "u:li", ""));
  EXPECT_TRUE(Denied(s));
  EXPECT_EQ(s.message(), "client cl-west: owned by another team");
  EXPECT_TRUE(Denied(Check(kLi, "CreateOpportunity", create("cl-own", "u:wu", ""))));
  EXPECT_TRUE(Denied(Check(kLi, "CreateOpportunity", create("cl-east", "u:li", "west"))));
  EXPECT_TRUE(Check(kManager, "CreateOpportunity", create("cl-east", "u:new", "")).ok());
  EXPECT_TRUE(Denied(Check(kManager, "CreateOpportunity", create("cl-own", "u:li", ""))));
  EXPECT_TRUE(Check(kOperator, "CreateOpportunity", create("cl-west", "u:li", "")).ok());
  // A client the replica does not know yet: the domain answers FAILED_PRECONDITION.
  EXPECT_TRUE(Check(kLi, "CreateOpportunity", create("cl-unknown", "u:li", "")).ok());
  // Converting a lead the caller cannot see is denied too.
  const std::string west_lead = CreateLeadFor("cl-west", "u:ma");
  v1::CreateOpportunityRequest from_lead = create("cl-east", "u:li", "");
  from_lead.set_lead_id(west_lead);
  EXPECT_EQ(Check(kLi, "CreateOpportunity", from_lead).message(),
            absl::StrCat("lead ", west_lead, ": owned by another team"));
}

TEST_F(PipelineAccessTest, AMergedClientIsJudgedByItsSurvivor) {
  clients::v1::ClientSummary survivor = Client("cl-west", "u:ma", 2);
  survivor.set_team_id("west");
  ASSERT_TRUE(p_->OnClient(NewEvent(), survivor, {}, {}, "cl-own").ok());
  v1::CreateOpportunityRequest r;
  r.set_client_id("cl-own");  // redirects to West's client
  r.set_owner_id("u:li");
  EXPECT_TRUE(Denied(Check(kLi, "CreateOpportunity", r)));
}

TEST_F(PipelineAccessTest, LeadsFollowTheirOwnerAndTheirClientsTeam) {
  const std::string east_lead = CreateLeadFor("cl-east", "u:wu");
  const std::string west_lead = CreateLeadFor("cl-west", "u:ma");
  v1::CreateLeadRequest prospect;
  prospect.mutable_lead()->set_prospect_name("Harbour authority");
  prospect.mutable_lead()->set_owner_id("u:wu");
  auto wu_prospect = p_->CreateLead(prospect);
  ASSERT_TRUE(wu_prospect.ok());
  v1::GetLeadRequest get;
  v1::QualifyLeadRequest q;
  v1::DisqualifyLeadRequest dq;
  auto set = [&](const std::string& id) {
    get.set_lead_id(id);
    q.set_lead_id(id);
    dq.set_lead_id(id);
  };
  const std::vector<std::pair<std::string, const google::protobuf::Message*>> methods = {
      {"GetLead", &get}, {"QualifyLead", &q}, {"DisqualifyLead", &dq}};
  for (const auto& [m, req] : methods) {
    set(east_lead);
    EXPECT_TRUE(Check(kLi, m, *req).ok()) << m;
    EXPECT_TRUE(Check(kManager, m, *req).ok()) << m;
    set(west_lead);
    EXPECT_EQ(Check(kLi, m, *req).message(),
              absl::StrCat("lead ", west_lead, ": owned by another team"));
    EXPECT_TRUE(Check(kExpert, m, *req).ok()) << m;
    set(wu_prospect->id());  // no client, so no team: Wu's alone
    EXPECT_TRUE(Denied(Check(kLi, m, *req))) << m;
  }
  v1::CreateLeadRequest create;
  create.mutable_lead()->set_client_id("cl-east");
  create.mutable_lead()->set_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "CreateLead", create).ok());
  create.mutable_lead()->set_client_id("cl-west");
  EXPECT_EQ(Check(kLi, "CreateLead", create).message(), "client cl-west: owned by another team");
  create.mutable_lead()->set_client_id("");
  create.mutable_lead()->set_owner_id("u:wu");
  EXPECT_TRUE(Denied(Check(kLi, "CreateLead", create)));
}

TEST_F(PipelineAccessTest, ListsAndReportsMustBeScoped) {
  v1::ListOpportunitiesRequest list;
  absl::Status s = Check(kLi, "ListOpportunities", list);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr("set owner_id to u:li or client_id"));
  list.set_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "ListOpportunities", list).ok());
  list.set_owner_id("u:wu");
  EXPECT_TRUE(Denied(Check(kLi, "ListOpportunities", list)));
  list.set_owner_id("");
  list.set_client_id("cl-west");
  EXPECT_TRUE(Denied(Check(kLi, "ListOpportunities", list)));
  list.set_client_id("cl-east");
  EXPECT_TRUE(Check(kLi, "ListOpportunities", list).ok());
  EXPECT_TRUE(Check(kExpert, "ListOpportunities", v1::ListOpportunitiesRequest()).ok());

  v1::ListLeadsRequest leads;
  EXPECT_THAT(Check(kLi, "ListLeads", leads).message(), HasSubstr("set owner_id to u:li"));
  leads.set_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "ListLeads", leads).ok());
  v1::ListStaleDealsRequest stale;
  stale.set_owner_id("u:ma");
  EXPECT_TRUE(Denied(Check(kLi, "ListStaleDeals", stale)));
  EXPECT_TRUE(Check(kMa, "ListStaleDeals", stale).ok());

  v1::GetFunnelReportRequest funnel;
  s = Check(kManager, "GetFunnelReport", funnel);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr("filter.team_id to one of your teams (east)"));
  funnel.mutable_filter()->set_team_id("east");
  EXPECT_TRUE(Check(kManager, "GetFunnelReport", funnel).ok());
  funnel.mutable_filter()->set_team_id("west");
  EXPECT_TRUE(Denied(Check(kManager, "GetFunnelReport", funnel)));
  EXPECT_TRUE(Check(kOperator, "GetFunnelReport", funnel).ok());
  v1::RankOpenDealsRequest rank;
  rank.mutable_filter()->set_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "RankOpenDeals", rank).ok());
  rank.mutable_filter()->set_owner_id("u:ma");
  EXPECT_TRUE(Denied(Check(kLi, "RankOpenDeals", rank)));

  // No owned records: open to every role the guard lets in.
  for (const char* m : {"GetPlaybook", "ListPlaybooks", "ListSignals", "RecordSignal"}) {
    EXPECT_TRUE(Check(kLi, m, v1::ListSignalsRequest()).ok()) << m;
  }
  for (const char* m : {"ListInactiveHoldings", "ScanStaleDeals", "CreateBackup"}) {
    EXPECT_TRUE(Denied(Check(kManager, m, v1::ListInactiveHoldingsRequest()))) << m;
    EXPECT_TRUE(Check(kOperator, m, v1::ListInactiveHoldingsRequest()).ok()) << m;
  }
}

TEST_F(PipelineAccessTest, ResponsesLeaveOutDealsOfOtherTeams) {
  // Li may list a visible client's deals; one of them is owned in another team.
  v1::CreateOpportunityRequest r;
  r.set_request_id("west-on-east-client");
  r.set_client_id("cl-east");
  r.set_owner_id("u:ma");
  r.set_team_id("west");
  r.set_title("Ma's deal on an east client");
  r.mutable_value()->set_amount_minor(100);
  r.mutable_value()->set_currency("CNY");
  r.set_product_line(kArchitecturalDesign);
  auto foreign = p_->CreateOpportunity(r);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  v1::ListOpportunitiesRequest list;
  list.set_client_id("cl-east");
  ASSERT_TRUE(Check(kLi, "ListOpportunities", list).ok());
  auto listed = p_->ListOpportunities(list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->opportunities_size(), 2);
  v1::ListOpportunitiesResponse for_li = *listed;
  access_->FilterResponse(kLi, "ListOpportunities", &for_li);
  ASSERT_EQ(for_li.opportunities_size(), 1);
  EXPECT_EQ(for_li.opportunities(0).id(), east_);
  v1::ListOpportunitiesResponse for_ops = *listed;
  access_->FilterResponse(kOperator, "ListOpportunities", &for_ops);
  EXPECT_EQ(for_ops.opportunities_size(), 2);

  v1::RankOpenDealsResponse ranked;
  for (const std::string& id : {own_, east_, west_, foreign->id()}) {
    v1::RankedDeal* d = ranked.add_deals();
    d->set_opportunity_id(id);
  }
  access_->FilterResponse(kLi, "RankOpenDeals", &ranked);
  ASSERT_EQ(ranked.deals_size(), 2);
  EXPECT_EQ(ranked.deals(0).opportunity_id(), own_);
  EXPECT_EQ(ranked.deals(1).opportunity_id(), east_);
}

}  // namespace
}  // namespace triad::pipeline
