// Tests of offboarding.cc: a person leaves; the clients step moves owned clients (with their
// follow-ups) and open assigned cases in chunks, resumably; the other services' reports complete
// the steps; the person is inactive for every assignment field.
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/tests/test_support.h"
#include "triad/clients/v1/events.pb.h"

namespace triad::clients {
namespace {

using testing::DomainEnv;
using testing::DomainTest;
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

v1::OffboardPersonRequest Offboard(const std::string& person, const std::string& successor,
                                   const std::string& team = "") {
  v1::OffboardPersonRequest req;
  req.set_request_id(absl::StrCat("off-", person));
  *req.mutable_actor() = MakeActor("u:boss", "leaves the company");
  req.set_person_id(person);
  req.set_successor_id(successor);
  req.set_team_id(team);
  return req;
}

v1::ServiceCase OpenAssignedCase(ClientsDomain& d, const std::string& client_id,
                                 const std::string& assignee) {
  v1::OpenCaseRequest oc;
  oc.set_client_id(client_id);
  oc.set_severity(v1::CASE_SEVERITY_HIGH);
  oc.set_description("the pump leaks");
  *oc.mutable_actor() = MakeActor("u:desk");
  absl::StatusOr<v1::ServiceCase> c = d.OpenCase(oc);
  EXPECT_TRUE(c.ok()) << c.status();
  v1::AssignCaseRequest ac;
  ac.set_case_id(c->case_id());
  ac.set_assignee_id(assignee);
  *ac.mutable_actor() = MakeActor("u:desk");
  absl::StatusOr<v1::ServiceCase> a = d.AssignCase(ac);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : v1::ServiceCase();
}

const v1::OffboardingStep& StepOf(const v1::Offboarding& o, const std::string& service) {
  for (const v1::OffboardingStep& s : o.steps()) {
    if (s.service() == service) return s;
  }
  static const v1::OffboardingStep kNone;
  return kNone;
}

int64_t Moved(const v1::OffboardingStep& s, const std::string& kind) {
  auto it = s.moved().find(kind);
  return it == s.moved().end() ? -1 : it->second;
}

TEST_F(DomainTest, OffboardPersonValidatesItsRequest) {
  Create("Acme", "u:wang");
  auto both = Offboard("u:wang", "u:li", "t1");
  EXPECT_THAT(d().OffboardPerson(both).status().message(), HasSubstr("successor_id"));
  auto none = Offboard("u:wang", "");
  EXPECT_EQ(d().OffboardPerson(none).status().code(), absl::StatusCode::kInvalidArgument);
  auto self = Offboard("u:wang", "u:wang");
  EXPECT_THAT(d().OffboardPerson(self).status().message(), HasSubstr("successor_id"));
  auto no_reason = Offboard("u:wang", "u:li");
  no_reason.mutable_actor()->clear_reason();
  EXPECT_THAT(d().OffboardPerson(no_reason).status().message(), HasSubstr("actor.reason"));
  auto lonely_team = Offboard("u:wang", "", "t-empty");
  absl::Status s = d().OffboardPerson(lonely_team).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("team_id"));
  // Nothing was written by the refusals.
  EXPECT_EQ(d().ListOffboardings({})->offboardings_size(), 0);
  EXPECT_TRUE(env_.EventsOfType("triad.clients.person.offboarded.v1").empty());
}

TEST_F(DomainTest, OffboardingMovesClientsCasesAndFollowUpsAndCompletesWithTheReports) {
  v1::Client a = Create("Acme", "u:wang");
  v1::Client b = Create("Beta", "u:wang");
  v1::Client other = Create("Gamma", "u:zhao");
  OpenAssignedCase(d(), a.client_id(), "u:wang");
  OpenAssignedCase(d(), other.client_id(), "u:wang");
  v1::ServiceCase not_his = OpenAssignedCase(d(), other.client_id(), "u:zhao");

  absl::StatusOr<v1::Offboarding> o = d().OffboardPerson(Offboard("u:wang", "u:li"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->status(), v1::OFFBOARDING_STATUS_RUNNING);
  const v1::OffboardingStep& clients = StepOf(*o, "clients");
  EXPECT_EQ(clients.status(), v1::OFFBOARDING_STEP_STATUS_COMPLETED);
  EXPECT_EQ(Moved(clients, "clients"), 2);
  EXPECT_EQ(Moved(clients, "cases"), 2);
  EXPECT_EQ(Moved(clients, "follow_ups"), 2);  // one cadence follow-up per client
  EXPECT_EQ(StepOf(*o, "pipeline").status(), v1::OFFBOARDING_STEP_STATUS_PENDING);

  for (const v1::Client& c : {a, b}) EXPECT_EQ(d().GetClient(c.client_id())->owner_id(), "u:li");
  v1::ListCasesRequest lc;
  lc.set_client_id(other.client_id());
  absl::StatusOr<v1::ListCasesResponse> cases = d().ListCases(lc);
  ASSERT_TRUE(cases.ok()) << cases.status();
  for (const v1::ServiceCase& c : cases->cases()) {
    EXPECT_EQ(c.assignee_id(), c.case_id() == not_his.case_id() ? "u:zhao" : "u:li");
  }
  EXPECT_EQ(d().ListInactiveHoldings({})->holdings_size(), 0);
  // One announcement, carrying the successor.
  auto announced = env_.EventsOfType("triad.clients.person.offboarded.v1");
  ASSERT_EQ(announced.size(), 1u);
  v1::PersonOffboarded ev;
  ASSERT_TRUE(ev.ParseFromString(announced[0].payload()));
  EXPECT_EQ(ev.person_id(), "u:wang");
  EXPECT_EQ(ev.successor_id(), "u:li");
  EXPECT_EQ(ev.offboarding_id(), o->offboarding_id());

  // The other services report; the last report completes the offboarding.
  google::protobuf::Map<std::string, int64_t> moved;
  moved["opportunities"] = 3;
  for (const char* service : {"pipeline", "review", "production"}) {
    events::Transaction txn;
    std::lock_guard lock(d().mutex());
    ASSERT_TRUE(
        d().ApplyOffboardingProgress(service, o->offboarding_id(), moved, 0, true, txn).ok());
    ASSERT_TRUE(env_.outbox->Commit(txn).ok());
  }
  auto done = d().GetOffboarding(o->offboarding_id());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status(), v1::OFFBOARDING_STATUS_COMPLETED);
  EXPECT_EQ(Moved(StepOf(*done, "pipeline"), "opportunities"), 3);
  // A late, unfinished report (redelivered out of order) does not reopen a completed step.
  {
    events::Transaction txn;
    std::lock_guard lock(d().mutex());
    moved["opportunities"] = 1;
    ASSERT_TRUE(
        d().ApplyOffboardingProgress("pipeline", o->offboarding_id(), moved, 5, false, txn).ok());
    ASSERT_TRUE(env_.outbox->Commit(txn).ok());
  }
  done = d().GetOffboarding(o->offboarding_id());
  EXPECT_EQ(StepOf(*done, "pipeline").status(), v1::OFFBOARDING_STEP_STATUS_COMPLETED);
  EXPECT_EQ(Moved(StepOf(*done, "pipeline"), "opportunities"), 3);
  // The same request again returns the offboarding; no second announcement.
  auto again = d().OffboardPerson(Offboard("u:wang", "u:li"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->offboarding_id(), o->offboarding_id());
  EXPECT_EQ(env_.EventsOfType("triad.clients.person.offboarded.v1").size(), 1u);
  // Listed, by person too.
  v1::ListOffboardingsRequest lr;
  lr.set_person_id("u:wang");
  EXPECT_EQ(d().ListOffboardings(lr)->offboardings_size(), 1);
  lr.set_person_id("u:li");
  EXPECT_EQ(d().ListOffboardings(lr)->offboardings_size(), 0);
}

TEST_F(DomainTest, AnInactivePersonCannotBeGivenAnything) {
  v1::Client a = Create("Acme", "u:wang");
  v1::ServiceCase c = OpenAssignedCase(d(), a.client_id(), "u:zhao");
  ASSERT_TRUE(d().OffboardPerson(Offboard("u:wang", "u:li")).ok());

  absl::Status s = d().CreateClient(NewClientRequest("New", "u:wang")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("client.owner_id"));
  v1::AssignCaseRequest ac;
  ac.set_case_id(c.case_id());
  ac.set_assignee_id("u:wang");
  *ac.mutable_actor() = MakeActor("u:desk");
  s = d().AssignCase(ac).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("assignee_id"));
  v1::ReassignClientRequest rr;
  rr.set_client_id(a.client_id());
  rr.set_new_owner_id("u:wang");
  *rr.mutable_actor() = MakeActor("u:boss", "back");
  s = d().ReassignClient(rr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("new_owner_id"));
  // Offboarding them again, or handing work to them, is refused too.
  auto twice = Offboard("u:wang", "u:li");
  twice.set_request_id("another");
  EXPECT_THAT(d().OffboardPerson(twice).status().message(), HasSubstr("person_id"));
  auto to_leaver = Offboard("u:zhao", "u:wang");
  EXPECT_THAT(d().OffboardPerson(to_leaver).status().message(), HasSubstr("successor_id"));
}

TEST_F(DomainTest, ATeamShareGoesToTheLeastLoadedMembers) {
  auto in_team = [](v1::Client& c) { c.set_team_id("t1"); };
  for (int i = 0; i < 3; ++i) Create(absl::StrCat("A", i), "u:a", in_team);
  Create("B0", "u:b", in_team);
  Create("Outsider", "u:c");  // not in the team: never receives
  for (int i = 0; i < 4; ++i) Create(absl::StrCat("W", i), "u:wang", in_team);
  auto o = d().OffboardPerson(Offboard("u:wang", "", "t1"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->team_member_ids(), ::testing::ElementsAre("u:a", "u:b"));
  std::map<std::string, int> owned;
  v1::ListClientsRequest lr;
  lr.set_team_id("t1");
  absl::StatusOr<v1::ListClientsResponse> listed = d().ListClients(lr);
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (const v1::Client& c : listed->clients()) ++owned[c.owner_id()];
  EXPECT_EQ(owned["u:wang"], 0);
  EXPECT_EQ(owned["u:a"], 4);
  EXPECT_EQ(owned["u:b"], 4);
}

TEST(OffboardingResumeTest, ACrashMidWayResumesAtStartAndMovesEachItemOnce) {
  triad::testing::TempDir dir;
  std::string id;
  {
    DomainOptions o;
    o.handover_chunk_size = 2;
    o.offboarding_stop_after_chunks = 1;  // "crash" after the first chunk
    DomainEnv env(dir.Sub("db"), o);
    std::string first;
    for (int i = 0; i < 5; ++i) {
      auto c = env.domain->CreateClient(NewClientRequest(absl::StrCat("C", i), "u:wang"));
      ASSERT_TRUE(c.ok());
      if (i == 0) first = c->client_id();
    }
    OpenAssignedCase(*env.domain, first, "u:wang");
    OpenAssignedCase(*env.domain, first, "u:wang");
    auto off = env.domain->OffboardPerson(Offboard("u:wang", "u:li"));
    ASSERT_TRUE(off.ok()) << off.status();
    id = off->offboarding_id();
    EXPECT_EQ(StepOf(*off, "clients").status(), v1::OFFBOARDING_STEP_STATUS_RUNNING);
    EXPECT_EQ(Moved(StepOf(*off, "clients"), "clients"), 2);
    // Still held: 3 clients and 2 cases.
    EXPECT_EQ(env.domain->ListInactiveHoldings({})->holdings_size(), 5);
    ASSERT_TRUE(env.store->Close().ok());
  }
  DomainOptions o;
  o.handover_chunk_size = 2;
  DomainEnv env(dir.Sub("db"), o);
  ASSERT_TRUE(env.domain->ResumeOffboardings().ok());
  auto off = env.domain->GetOffboarding(id);
  ASSERT_TRUE(off.ok());
  const v1::OffboardingStep& step = StepOf(*off, "clients");
  EXPECT_EQ(step.status(), v1::OFFBOARDING_STEP_STATUS_COMPLETED);
  EXPECT_EQ(Moved(step, "clients"), 5);
  EXPECT_EQ(Moved(step, "cases"), 2);
  EXPECT_EQ(env.domain->ListInactiveHoldings({})->holdings_size(), 0);
  // Once per client and per case: resuming again moves nothing more.
  ASSERT_TRUE(env.domain->ResumeOffboardings().ok());
  EXPECT_EQ(env.EventsOfType("triad.clients.client.owner_changed.v1").size(), 5u);
  size_t assigned_to_li = 0;
  for (const auto& r : env.EventsOfType("triad.clients.case.assigned.v1")) {
    v1::CaseAssigned ev;
    ASSERT_TRUE(ev.ParseFromString(r.payload()));
    if (ev.case_summary().assignee_id() == "u:li") ++assigned_to_li;
  }
  EXPECT_EQ(assigned_to_li, 2u);
}

TEST(OffboardingHoldingsTest, InactiveHoldingsPageThroughEverythingStillHeld) {
  DomainOptions o;
  // Mark the person inactive without moving anything: the first chunk "crashes" at once.
  ::triad::testing::TempDir dir;
  o.handover_chunk_size = 1;
  o.offboarding_stop_after_chunks = 1;
  DomainEnv env(dir.Sub("db"), o);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(env.domain->CreateClient(NewClientRequest(absl::StrCat("C", i), "u:wang")).ok());
  }
  ASSERT_TRUE(env.domain->OffboardPerson(Offboard("u:wang", "u:li")).ok());
  v1::ListInactiveHoldingsRequest req;
  req.set_page_size(2);
  int pages = 0;
  int total = 0;
  do {
    auto page = env.domain->ListInactiveHoldings(req);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& h : page->holdings()) {
      EXPECT_EQ(h.person_id(), "u:wang");
      EXPECT_EQ(h.kind(), "client");
    }
    total += page->holdings_size();
    ++pages;
    req.set_page_token(page->next_page_token());
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(total, 4);  // 5 minus the one moved by the first chunk
  EXPECT_EQ(pages, 2);
}

}  // namespace
}  // namespace triad::clients
