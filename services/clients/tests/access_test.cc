// Tests of ClientsAccess on a real RocksDB: every RPC has a decision; for sales (own, team and
// other team's clients), a sales manager (managed team, other team), an expert and an operator,
// each method group is allowed or denied as the ownership rules say; denials name the record,
// never its fields; other teams' duplicate candidates are redacted to their ids.
#include "services/clients/access.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "services/clients/tests/test_support.h"
#include "triad/admin/v1/admin_service.pb.h"
#include "triad/clients/v1/clients_admin_service.pb.h"

namespace triad::clients {
namespace {

using auth::Principal;
using auth::Role;
using ::testing::HasSubstr;
using testing::MakeActor;
using ::testing::Not;

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

class AccessTest : public testing::DomainTest {
 protected:
  AccessTest() : access_(env_.repo.get()) {
    own_ = Create("Li's own workshop", "u:li").client_id();  // no team: only Li sees it
    team_ =
        Create("East team plant", "u:wu", [](v1::Client& c) { c.set_team_id("east"); }).client_id();
    other_ = Create("West mill", "u:ma", [](v1::Client& c) { c.set_team_id("west"); }).client_id();
  }

  absl::Status Check(const Principal& p, std::string_view method,
                     const google::protobuf::Message& req) {
    return access_.CheckRequest(p, method, req);
  }

  ClientsAccess access_;
  std::string own_, team_, other_;
};

bool Denied(const absl::Status& s) { return s.code() == absl::StatusCode::kPermissionDenied; }

TEST_F(AccessTest, EveryRpcHasAnExplicitDecisionAndAnUnknownMethodIsDenied) {
  // Link the files declaring the services (their descriptors register with the pool).
  ASSERT_NE(v1::ScanSlaBreachesRequest::descriptor(), nullptr);
  ASSERT_NE(admin::v1::CreateBackupRequest::descriptor(), nullptr);
  for (const char* name : {"triad.clients.v1.ClientsService",
                           "triad.clients.v1.ClientsAdminService", "triad.admin.v1.AdminService"}) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      EXPECT_TRUE(access_.rules().Decides(service->method(i)->name()))
          << service->full_name() << "." << service->method(i)->name() << " has no decision";
    }
  }
  v1::GetClientRequest req;
  for (const Principal& p : {kLi, kOperator, kExpert}) {
    absl::Status s = Check(p, "Frobnicate", req);
    EXPECT_TRUE(Denied(s)) << s;
    EXPECT_THAT(s.message(), HasSubstr("no access rule"));
  }
  // A request of the wrong type is an internal error, not a crash or a pass.
  EXPECT_EQ(Check(kLi, "ListClients", req).code(), absl::StatusCode::kInternal);
}

TEST_F(AccessTest, OneClientMethodsFollowTheClientsOwnerAndTeam) {
  // Every method addressing one client by id, built for a given client id.
  std::vector<std::pair<
      std::string, std::function<std::unique_ptr<google::protobuf::Message>(const std::string&)>>>
      methods;
  auto add = [&](const std::string& m, auto build) {
    methods.emplace_back(m, [build](const std::string& id) {
      auto req = std::make_unique<decltype(build(id))>(build(id));
      return std::unique_ptr<google::protobuf::Message>(std::move(req));
    });
  };
  add("GetClient", [](const std::string& id) {
    v1::GetClientRequest r;
    r.set_client_id(id);
    return r;
  });
  add("VerifyClient", [](const std::string& id) {
    v1::VerifyClientRequest r;
    r.set_client_id(id);
    return r;
  });
  add("ArchiveClient", [](const std::string& id) {
    v1::ArchiveClientRequest r;
    r.set_client_id(id);
    return r;
  });
  add("RestoreClient", [](const std::string& id) {
    v1::RestoreClientRequest r;
    r.set_client_id(id);
    return r;
  });
  add("ListClientHistory", [](const std::string& id) {
    v1::ListClientHistoryRequest r;
    r.set_client_id(id);
    return r;
  });
  add("ListContacts", [](const std::string& id) {
    v1::ListContactsRequest r;
    r.set_client_id(id);
    return r;
  });
  add("ListTouchpoints", [](const std::string& id) {
    v1::ListTouchpointsRequest r;
    r.set_client_id(id);
    return r;
  });
  add("ListCases", [](const std::string& id) {
    v1::ListCasesRequest r;
    r.set_client_id(id);
    return r;
  });
  add("OpenCase", [](const std::string& id) {
    v1::OpenCaseRequest r;
    r.set_client_id(id);
    return r;
  });
  add("GetFollowUpPlan", [](const std::string& id) {
    v1::GetFollowUpPlanRequest r;
    r.set_client_id(id);
    return r;
  });
  add("CompleteFollowUp", [](const std::string& id) {
    v1::CompleteFollowUpRequest r;
    r.set_client_id(id);
    return r;
  });
  add("CreateContact", [](const std::string& id) {
    v1::CreateContactRequest r;
    r.mutable_contact()->set_client_id(id);
    return r;
  });
  add("CreateTouchpoint", [](const std::string& id) {
    v1::CreateTouchpointRequest r;
    r.mutable_touchpoint()->set_client_id(id);
    return r;
  });
  add("UpdateClient", [](const std::string& id) {
    v1::UpdateClientRequest r;
    r.mutable_client()->set_client_id(id);
    r.mutable_update_mask()->add_paths("phone");
    return r;
  });
  struct Expect {
    const Principal* who;
    const std::string* client;
    bool allowed;
  };
  const std::vector<Expect> table = {
      {&kLi, &own_, true},         {&kLi, &team_, true},        {&kLi, &other_, false},
      {&kMa, &own_, false},        {&kMa, &other_, true},       {&kManager, &team_, true},
      {&kManager, &own_, false},   {&kManager, &other_, false}, {&kExpert, &other_, true},
      {&kOperator, &other_, true}, {&kOperator, &own_, true},
  };
  for (const auto& [method, build] : methods) {
    for (const Expect& e : table) {
      absl::Status s = Check(*e.who, method, *build(*e.client));
      SCOPED_TRACE(absl::StrCat(method, " by ", e.who->subject, " on ", *e.client));
      if (e.allowed) {
        EXPECT_TRUE(s.ok()) << s;
      } else {
        EXPECT_TRUE(Denied(s)) << s;
        EXPECT_EQ(s.message(), absl::StrCat("client ", *e.client, ": owned by another team"));
      }
    }
    // A client that does not exist is the domain's NOT_FOUND to give.
    EXPECT_TRUE(Check(kLi, method, *build("cl-missing")).ok()) << method;
  }
}

TEST_F(AccessTest, AMergedIdIsJudgedByItsSurvivor) {
  v1::MergeClientsRequest m;
  m.set_survivor_id(other_);
  m.set_merged_id(team_);
  *m.mutable_actor() = MakeActor("u:ops", "same company");
  ASSERT_TRUE(d().MergeClients(m).ok());
  v1::GetClientRequest get;
  get.set_client_id(team_);  // now redirects to West's record
  EXPECT_TRUE(Denied(Check(kLi, "GetClient", get)));
  EXPECT_TRUE(Check(kMa, "GetClient", get).ok());
}

TEST_F(AccessTest, CreateTakesOnlyOwnersAndTeamsTheCallerMayGive) {
  auto create = [](const std::string& owner, const std::string& team) {
    v1::CreateClientRequest r;
    r.mutable_client()->set_owner_id(owner);
    r.mutable_client()->set_team_id(team);
    return r;
  };
  EXPECT_TRUE(Check(kLi, "CreateClient", create("u:li", "")).ok());
  EXPECT_TRUE(Check(kLi, "CreateClient", create("", "")).ok());
  EXPECT_TRUE(Check(kLi, "CreateClient", create("u:li", "east")).ok());
  EXPECT_TRUE(Check(kLi, "CreateClient", create("u:wu", "east")).ok());
  absl::Status s = Check(kLi, "CreateClient", create("u:wu", ""));
  EXPECT_TRUE(Denied(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("owner_id 'u:wu'"));
  EXPECT_TRUE(Denied(Check(kLi, "CreateClient", create("u:li", "west"))));
  EXPECT_TRUE(Check(kManager, "CreateClient", create("u:anyone", "east")).ok());
  EXPECT_TRUE(Denied(Check(kManager, "CreateClient", create("u:ma", "west"))));
  EXPECT_TRUE(Check(kOperator, "CreateClient", create("u:ma", "west")).ok());
}

TEST_F(AccessTest, ListsMustBeScopedByAFilterTheCallerMayUse) {
  v1::ListClientsRequest list;
  absl::Status s = Check(kLi, "ListClients", list);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(),
              HasSubstr("set owner_id to u:li or team_id to one of your teams (east)"));
  list.set_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "ListClients", list).ok());
  list.set_owner_id("u:ma");
  EXPECT_TRUE(Denied(Check(kLi, "ListClients", list)));
  list.set_owner_id("");
  list.set_team_id("east");
  EXPECT_TRUE(Check(kLi, "ListClients", list).ok());
  EXPECT_TRUE(Check(kManager, "ListClients", list).ok());
  list.set_team_id("west");
  EXPECT_TRUE(Denied(Check(kManager, "ListClients", list)));
  EXPECT_TRUE(Check(kExpert, "ListClients", v1::ListClientsRequest()).ok());

  v1::ListActorHistoryRequest history;
  history.set_actor_id("u:li");
  EXPECT_TRUE(Check(kLi, "ListActorHistory", history).ok());
  EXPECT_TRUE(Denied(Check(kManager, "ListActorHistory", history)));
  EXPECT_TRUE(Check(kOperator, "ListActorHistory", history).ok());

  v1::ListOverdueFollowUpsRequest overdue;
  overdue.set_owner_id("u:wu");
  s = Check(kLi, "ListOverdueFollowUps", overdue);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr("set owner_id to u:li"));
  overdue.set_owner_id("u:li");
  EXPECT_TRUE(Check(kLi, "ListOverdueFollowUps", overdue).ok());

  v1::ListCasesRequest breached;
  breached.set_breached_only(true);
  EXPECT_THAT(Check(kLi, "ListCases", breached).message(), HasSubstr("set client_id"));
  EXPECT_TRUE(Check(kOperator, "ListCases", breached).ok());

  // Lists with no filter to scope them, and the operator scans: roles that see everything only.
  for (const char* m : {"ListInactiveHoldings", "ScanSlaBreaches", "ScanDueFollowUps",
                        "CreateBackup", "RequeueQuarantinedEvent"}) {
    v1::ListInactiveHoldingsRequest any;
    EXPECT_TRUE(Denied(Check(kManager, m, any))) << m;
    EXPECT_TRUE(Check(kOperator, m, any).ok()) << m;
  }
}

TEST_F(AccessTest, ChangesOfOwnerMustLeaveTheClientVisibleToTheCaller) {
  auto update = [](const std::string& id, const std::string& path, const std::string& value) {
    v1::UpdateClientRequest r;
    r.mutable_client()->set_client_id(id);
    r.mutable_update_mask()->add_paths(path);
    if (path == "owner_id") r.mutable_client()->set_owner_id(value);
    if (path == "team_id") r.mutable_client()->set_team_id(value);
    return r;
  };
  EXPECT_TRUE(Check(kLi, "UpdateClient", update(team_, "owner_id", "u:li")).ok());
  EXPECT_TRUE(Check(kLi, "UpdateClient", update(team_, "owner_id", "u:new")).ok());  // stays east
  EXPECT_TRUE(Check(kLi, "UpdateClient", update(own_, "team_id", "east")).ok());
  absl::Status s = Check(kLi, "UpdateClient", update(team_, "team_id", "west"));
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("client ", team_)));
  EXPECT_TRUE(Denied(Check(kLi, "UpdateClient", update(own_, "owner_id", "u:wu"))));
  EXPECT_TRUE(Check(kOperator, "UpdateClient", update(own_, "team_id", "west")).ok());

  auto reassign = [](const std::string& id, const std::string& to) {
    v1::ReassignClientRequest r;
    r.set_client_id(id);
    r.set_new_owner_id(to);
    return r;
  };
  EXPECT_TRUE(Check(kLi, "ReassignClient", reassign(team_, "u:li")).ok());
  EXPECT_TRUE(Denied(Check(kLi, "ReassignClient", reassign(own_, "u:wu"))));  // no team: lost
  EXPECT_TRUE(Denied(Check(kLi, "ReassignClient", reassign(other_, "u:li"))));
  EXPECT_TRUE(Check(kManager, "ReassignClient", reassign(team_, "u:zhao")).ok());
  EXPECT_TRUE(Check(kOperator, "ReassignClient", reassign(own_, "u:wu")).ok());
}

TEST_F(AccessTest, MergeNeedsBothClientsVisible) {
  const std::string team2 =
      Create("East depot", "u:li", [](v1::Client& c) { c.set_team_id("east"); }).client_id();
  v1::MergeClientsRequest m;
  m.set_survivor_id(team_);
  m.set_merged_id(team2);
  EXPECT_TRUE(Check(kManager, "MergeClients", m).ok());
  m.set_merged_id(other_);
  absl::Status s = Check(kManager, "MergeClients", m);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr(other_));
  m.set_merged_id(own_);  // Li's client without a team: not the manager's
  EXPECT_TRUE(Denied(Check(kManager, "MergeClients", m)));
  EXPECT_TRUE(Check(kOperator, "MergeClients", m).ok());
}

TEST_F(AccessTest, CasesAreJudgedByTheirClientAndNamedInTheDenial) {
  v1::OpenCaseRequest oc;
  oc.set_client_id(other_);
  oc.set_severity(v1::CASE_SEVERITY_HIGH);
  oc.set_description("the kiln cracked");
  *oc.mutable_actor() = MakeActor("u:ma");
  auto west_case = d().OpenCase(oc);
  ASSERT_TRUE(west_case.ok()) << west_case.status();
  oc.set_client_id(team_);
  auto east_case = d().OpenCase(oc);
  ASSERT_TRUE(east_case.ok());
  v1::GetCaseRequest get;
  v1::AssignCaseRequest assign;
  v1::TransitionCaseRequest move;
  get.set_case_id(west_case->case_id());
  assign.set_case_id(west_case->case_id());
  move.set_case_id(west_case->case_id());
  for (const auto& [m, req] : std::vector<std::pair<std::string, google::protobuf::Message*>>{
           {"GetCase", &get}, {"AssignCase", &assign}, {"TransitionCase", &move}}) {
    absl::Status s = Check(kLi, m, *req);
    EXPECT_TRUE(Denied(s)) << m;
    EXPECT_EQ(s.message(), absl::StrCat("case ", west_case->case_id(), ": owned by another team"));
    EXPECT_THAT(s.message(), Not(HasSubstr("kiln")));
    EXPECT_TRUE(Check(kMa, m, *req).ok()) << m;
  }
  get.set_case_id(east_case->case_id());
  EXPECT_TRUE(Check(kLi, "GetCase", get).ok());
  EXPECT_TRUE(Check(kManager, "GetCase", get).ok());
}

TEST_F(AccessTest, BulkMethodsActOnlyOnTheManagersTeams) {
  auto handover = [](const std::string& from, const std::string& to) {
    v1::HandOverPortfolioRequest r;
    r.set_from_owner_id(from);
    r.set_to_owner_id(to);
    return r;
  };
  EXPECT_TRUE(Check(kManager, "HandOverPortfolio", handover("u:wu", "u:zhao")).ok());
  absl::Status s = Check(kManager, "HandOverPortfolio", handover("u:ma", "u:zhao"));
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr("only an operator"));
  // Li owns a client outside every team: the manager may not move Li's portfolio.
  EXPECT_TRUE(Denied(Check(kManager, "HandOverPortfolio", handover("u:li", "u:wu"))));
  EXPECT_TRUE(Check(kOperator, "HandOverPortfolio", handover("u:li", "u:wu")).ok());

  auto offboard = [](const std::string& person, const std::string& successor,
                     const std::string& team) {
    v1::OffboardPersonRequest r;
    r.set_person_id(person);
    r.set_successor_id(successor);
    r.set_team_id(team);
    return r;
  };
  EXPECT_TRUE(Check(kManager, "OffboardPerson", offboard("u:wu", "u:zhao", "")).ok());
  EXPECT_TRUE(Check(kManager, "OffboardPerson", offboard("u:wu", "", "east")).ok());
  EXPECT_TRUE(Denied(Check(kManager, "OffboardPerson", offboard("u:wu", "", "west"))));
  EXPECT_TRUE(Denied(Check(kManager, "OffboardPerson", offboard("u:ma", "u:zhao", ""))));
  EXPECT_TRUE(Denied(Check(kManager, "OffboardPerson", offboard("u:li", "u:zhao", ""))));
  // An open case of a west client assigned to Wu makes Wu's offboarding an operator's job.
  v1::OpenCaseRequest oc;
  oc.set_client_id(other_);
  oc.set_severity(v1::CASE_SEVERITY_LOW);
  oc.set_description("manual missing");
  *oc.mutable_actor() = MakeActor("u:ma");
  auto c = d().OpenCase(oc);
  ASSERT_TRUE(c.ok());
  v1::AssignCaseRequest ac;
  ac.set_case_id(c->case_id());
  ac.set_assignee_id("u:wu");
  *ac.mutable_actor() = MakeActor("u:ma");
  ASSERT_TRUE(d().AssignCase(ac).ok());
  s = Check(kManager, "OffboardPerson", offboard("u:wu", "u:zhao", ""));
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("case ", c->case_id())));
  EXPECT_TRUE(Check(kOperator, "OffboardPerson", offboard("u:wu", "u:zhao", "")).ok());

  v1::ImportClientsCsvRequest import;
  import.set_csv("name,owner_id,team_id\nA Works,u:zhao,east\nB Works,,east\n");
  import.set_default_owner_id("u:wu");
  EXPECT_TRUE(Check(kManager, "ImportClientsCsv", import).ok());
  import.set_csv("name,owner_id,team_id\nA Works,u:zhao,east\nB Works,u:ma,west\n");
  s = Check(kManager, "ImportClientsCsv", import);
  EXPECT_TRUE(Denied(s));
  EXPECT_THAT(s.message(), HasSubstr("csv row 2"));
  import.set_csv("name\nC Works\n");  // default owner Wu without a team: not the manager's
  EXPECT_TRUE(Denied(Check(kManager, "ImportClientsCsv", import)));
  EXPECT_TRUE(Check(kOperator, "ImportClientsCsv", import).ok());
  import.set_csv("\"unterminated\n");  // the domain names the bad CSV
  EXPECT_TRUE(Check(kManager, "ImportClientsCsv", import).ok());
}

TEST_F(AccessTest, HandoversAndOffboardingsAreVisibleToThoseTheyConcern) {
  v1::HandOverPortfolioRequest hr;
  hr.set_request_id("ho-1");
  hr.set_from_owner_id("u:ma");
  hr.set_to_owner_id("u:qian");
  *hr.mutable_actor() = MakeActor("u:ops", "Ma moves to projects");
  auto h = d().HandOverPortfolio(hr);
  ASSERT_TRUE(h.ok()) << h.status();
  v1::GetHandoverRequest get;
  get.set_handover_id(h->handover_id());
  EXPECT_TRUE(Check(kMa, "GetHandover", get).ok());
  EXPECT_TRUE(Check(Who("u:qian", Role::kSales), "GetHandover", get).ok());
  EXPECT_EQ(Check(kLi, "GetHandover", get).message(),
            absl::StrCat("handover ", h->handover_id(), ": owned by another team"));

  Create("East depot", "u:li", [](v1::Client& c) { c.set_team_id("east"); });  // a receiver
  v1::OffboardPersonRequest off;
  off.set_request_id("off-wu");
  off.set_person_id("u:wu");
  off.set_team_id("east");
  *off.mutable_actor() = MakeActor("u:zhang", "Wu leaves");
  auto o = d().OffboardPerson(off);
  ASSERT_TRUE(o.ok()) << o.status();
  v1::GetOffboardingRequest go;
  go.set_offboarding_id(o->offboarding_id());
  EXPECT_TRUE(Check(kManager, "GetOffboarding", go).ok());
  EXPECT_TRUE(Check(kLi, "GetOffboarding", go).ok());  // in the receiving team
  EXPECT_TRUE(Denied(Check(kMa, "GetOffboarding", go)));

  v1::ListOffboardingsRequest lo;
  EXPECT_THAT(Check(kMa, "ListOffboardings", lo).message(), HasSubstr("set person_id"));
  lo.set_person_id("u:wu");
  EXPECT_TRUE(Check(kMa, "ListOffboardings", lo).ok());
  auto listed = d().ListOffboardings(lo);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->offboardings_size(), 1);
  v1::ListOffboardingsResponse for_ma = *listed;
  access_.FilterResponse(kMa, "ListOffboardings", &for_ma);
  EXPECT_EQ(for_ma.offboardings_size(), 0);
  v1::ListOffboardingsResponse for_li = *listed;
  access_.FilterResponse(kLi, "ListOffboardings", &for_li);
  EXPECT_EQ(for_li.offboardings_size(), 1);
}

TEST_F(AccessTest, OtherTeamsDuplicateCandidatesAreRedactedToTheirIds) {
  v1::CreateClientRequest twin = testing::NewClientRequest("West mill", "u:li");
  twin.set_force(true);
  auto mine = d().CreateClient(twin);
  ASSERT_TRUE(mine.ok());
  v1::FindDuplicatesRequest probe;
  probe.mutable_client()->set_name("West Mill Co., Ltd.");
  EXPECT_TRUE(Check(kLi, "FindDuplicates", probe).ok());
  auto found = d().FindDuplicates(probe);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->candidates_size(), 2);
  v1::FindDuplicatesResponse for_li = *found;
  access_.FilterResponse(kLi, "FindDuplicates", &for_li);
  ASSERT_EQ(for_li.candidates_size(), 2);
  for (const v1::DuplicateCandidate& c : for_li.candidates()) {
    if (c.client_id() == other_) {
      EXPECT_EQ(c.matched_on_size(), 0);  // the id only: a duplicate exists
    } else {
      EXPECT_EQ(c.client_id(), mine->client_id());
      EXPECT_THAT(c.matched_on(), ::testing::ElementsAre("name"));
    }
  }
  v1::FindDuplicatesResponse for_ops = *found;
  access_.FilterResponse(kOperator, "FindDuplicates", &for_ops);
  EXPECT_EQ(for_ops.SerializeAsString(), found->SerializeAsString());
}

TEST_F(AccessTest, CreateClientsDuplicateErrorNamesIdsAndKeysOnly) {
  // The ALREADY_EXISTS error is not a response (nothing to filter): it must not carry the other
  // team's fields.
  v1::CreateClientRequest twin = testing::NewClientRequest("West mill", "u:li");
  twin.mutable_client()->set_phone("027-88886666");
  absl::StatusOr<v1::Client> refused = d().CreateClient(twin);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.status().message(), HasSubstr(other_));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("u:ma")));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("west")));
}

}  // namespace
}  // namespace triad::clients
