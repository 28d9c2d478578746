// Tests of MergeClients: redirects, history, and moving contacts, cases, follow-ups and repeat
// business to the survivor.
#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/tests/test_support.h"
#include "services/clients/text_util.h"

namespace triad::clients {
namespace {

using testing::DomainEnv;
using testing::DomainTest;
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

TEST_F(DomainTest, MergeRedirectsKeepsHistoryAndMovesContacts) {
  v1::Client survivor = Create("Acme Design", "u:li");
  // The second record is a duplicate: refused unless forced.
  auto req = NewClientRequest("ACME DESIGN Co., Ltd.", "u:wang");
  req.mutable_client()->set_phone("13800138000");
  EXPECT_EQ(d().CreateClient(req).status().code(), absl::StatusCode::kAlreadyExists);
  req.set_force(true);
  v1::Client loser = *d().CreateClient(req);
  v1::CreateContactRequest cr;
  cr.mutable_contact()->set_client_id(loser.client_id());
  cr.mutable_contact()->set_name("Zhao");
  cr.mutable_contact()->set_role("procurement");
  *cr.mutable_actor() = MakeActor("u:wang");
  ASSERT_TRUE(d().CreateContact(cr).ok());
  v1::MergeClientsRequest mr;
  mr.set_survivor_id(survivor.client_id());
  mr.set_merged_id(loser.client_id());
  *mr.mutable_actor() = MakeActor("u:steward");
  EXPECT_THAT(d().MergeClients(mr).status().message(), HasSubstr("actor.reason"));
  mr.mutable_actor()->set_reason("same company");
  auto merged = d().MergeClients(mr);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->phone(), "13800138000");  // filled from the loser
  auto got = d().GetClient(loser.client_id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->client_id(), survivor.client_id());
  v1::ListContactsRequest lc;
  lc.set_client_id(survivor.client_id());
  EXPECT_EQ(d().ListContacts(lc)->contacts_size(), 1);
  v1::ListClientHistoryRequest hr;
  hr.set_client_id(loser.client_id());
  auto h = d().ListClientHistory(hr);
  ASSERT_EQ(h->entries_size(), 2);
  EXPECT_EQ(h->entries(1).action(), "merged");
  // The merged record leaves the lists and cannot be merged or archived again.
  v1::ListClientsRequest lr;
  lr.set_owner_id("u:wang");
  EXPECT_EQ(d().ListClients(lr)->clients_size(), 0);
  EXPECT_EQ(d().MergeClients(mr).status().code(), absl::StatusCode::kFailedPrecondition);
  auto ev = env_.EventsOfType("triad.clients.client.merged.v1");
  ASSERT_EQ(ev.size(), 1u);
  v1::ClientsMerged m;
  ASSERT_TRUE(m.ParseFromString(ev[0].payload()));
  EXPECT_EQ(m.merged_client_id(), loser.client_id());
  EXPECT_EQ(m.survivor().client_id(), survivor.client_id());
}

// --- Closed known limits ---------------------------------------------------------------------

TEST_F(DomainTest, MergeRemapsCasesFollowUpsAndRepeatBusinessToTheSurvivor) {
  v1::Client survivor = Create("Survivor Design", "u:li");
  v1::Client loser = Create("Loser Engineering", "u:wang", [](v1::Client& c) {
    c.set_tier(v1::CLIENT_TIER_KEY);  // the survivor has none: it takes the loser's tier
  });
  v1::Client older = Create("Older Record", "u:wang");
  auto merge = [&](const std::string& s, const std::string& m) {
    v1::MergeClientsRequest mr;
    mr.set_survivor_id(s);
    mr.set_merged_id(m);
    *mr.mutable_actor() = MakeActor("u:steward", "same company");
    return d().MergeClients(mr);
  };
  ASSERT_TRUE(merge(loser.client_id(), older.client_id()).ok());  // older -> loser
  // The loser has a case, a won deal and a delivered project; the survivor one won deal.
  v1::OpenCaseRequest oc;
  oc.set_client_id(loser.client_id());
  oc.set_severity(v1::CASE_SEVERITY_HIGH);
  oc.set_description("pump noise");
  *oc.mutable_actor() = MakeActor("u:wang");
  auto opened = d().OpenCase(oc);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto apply = [&](auto fn) {
    events::Transaction txn;
    ASSERT_TRUE(fn(txn).ok());
    ASSERT_TRUE(env_.outbox->Commit(txn).ok());
  };
  auto won = [&](const std::string& client, const std::string& opp) {
    pipeline::v1::OpportunityWon m;
    m.set_opportunity_id(opp);
    m.set_client_id(client);
    m.mutable_value()->set_amount_minor(1000);
    m.mutable_value()->set_currency("CNY");
    return m;
  };
  apply([&](events::Transaction& t) {
    return d().ApplyOpportunityWon(won(loser.client_id(), "o1"), t);
  });
  apply([&](events::Transaction& t) {
    return d().ApplyOpportunityWon(won(survivor.client_id(), "o2"), t);
  });
  production::v1::ProjectCompleted pc;
  pc.set_project_id("prj-9");
  pc.set_client_id(loser.client_id());
  apply([&](events::Transaction& t) { return d().ApplyProjectCompleted(pc, t); });

  auto merged = merge(survivor.client_id(), loser.client_id());
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->tier(), v1::CLIENT_TIER_KEY);
  // Repeat business reads through the survivor: both deals, so a repeat client.
  EXPECT_EQ(merged->repeat_business().deals_won(), 2);
  EXPECT_TRUE(merged->repeat_business().repeat_client());
  EXPECT_EQ(merged->repeat_business().lifetime_value(0).amount_minor(), 2000);
  // A list answers the same repeat business as a get, through the index and without a filter,
  // beside clients with none of their own.
  Create("Bystander Without Deals", merged->owner_id());
  for (bool by_owner : {true, false}) {
    v1::ListClientsRequest lr;
    if (by_owner) lr.set_owner_id(merged->owner_id());
    auto listed = d().ListClients(lr);
    ASSERT_TRUE(listed.ok()) << listed.status();
    int checked = 0;
    for (const v1::Client& c : listed->clients()) {
      auto got = d().GetClient(c.client_id());
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(c.repeat_business().SerializeAsString(), got->repeat_business().SerializeAsString())
          << c.name();
      if (c.client_id() == survivor.client_id()) {
        EXPECT_EQ(c.repeat_business().deals_won(), 2);
        ++checked;
      }
    }
    EXPECT_EQ(checked, 1) << "by_owner=" << by_owner;
    EXPECT_GE(listed->clients_size(), 2);
  }
  // The case moved to the survivor, under either id.
  auto moved_case = d().GetCase(opened->case_id());
  ASSERT_TRUE(moved_case.ok());
  EXPECT_EQ(moved_case->client_id(), survivor.client_id());
  for (const std::string& id : {survivor.client_id(), loser.client_id()}) {
    v1::ListCasesRequest lc;
    lc.set_client_id(id);
    auto cases = d().ListCases(lc);
    ASSERT_TRUE(cases.ok());
    ASSERT_EQ(cases->cases_size(), 1) << id;
    EXPECT_EQ(cases->cases(0).case_id(), opened->case_id());
  }
  // The post-delivery follow-up moved; the loser's cadence one was dropped; the survivor's
  // cadence follow-up follows its new tier (key: 30 days).
  auto plan = d().GetFollowUpPlan(survivor.client_id());
  ASSERT_TRUE(plan.ok());
  int cadence = 0, post_delivery = 0;
  for (const auto& f : plan->pending()) {
    EXPECT_EQ(f.client_id(), survivor.client_id());
    if (f.kind() == v1::FOLLOW_UP_KIND_CADENCE) {
      ++cadence;
      EXPECT_EQ(util::FromProto(f.due_time()),
                util::FromProto(survivor.create_time()) + absl::Hours(24 * 30));
    }
    if (f.kind() == v1::FOLLOW_UP_KIND_POST_DELIVERY) ++post_delivery;
  }
  EXPECT_EQ(cadence, 1);
  EXPECT_EQ(post_delivery, 1);
  // The pipeline-facing event: the survivor's current summary, every redirected id, the cases.
  auto ev = env_.EventsOfType("triad.clients.client.merged.v1");
  ASSERT_EQ(ev.size(), 2u);
  v1::ClientsMerged m;
  ASSERT_TRUE(m.ParseFromString(ev[1].payload()));
  EXPECT_EQ(m.survivor().client_id(), survivor.client_id());
  EXPECT_EQ(m.survivor().version(), merged->version());
  EXPECT_EQ(m.survivor().status(), v1::CLIENT_STATUS_COLLECTED);
  EXPECT_EQ(m.survivor().tier(), v1::CLIENT_TIER_KEY);
  EXPECT_TRUE(m.survivor().repeat_client());
  EXPECT_EQ(m.merged_client_id(), loser.client_id());
  EXPECT_THAT(m.redirected_client_ids(),
              ::testing::UnorderedElementsAre(loser.client_id(), older.client_id()));
  EXPECT_THAT(m.remapped_case_ids(), ::testing::ElementsAre(opened->case_id()));
  // Later events naming either merged id land on the survivor; the case keeps working.
  apply([&](events::Transaction& t) {
    return d().ApplyOpportunityWon(won(older.client_id(), "o3"), t);
  });
  EXPECT_EQ(d().GetClient(survivor.client_id())->repeat_business().deals_won(), 3);
  env_.clock.Advance(absl::Hours(49));
  auto breaches = d().ScanSlaBreaches();
  ASSERT_EQ(breaches->breached_case_ids_size(), 1);
  v1::CaseBreached cb;
  ASSERT_TRUE(cb.ParseFromString(env_.EventsOfType("triad.clients.case.breached.v1")[0].payload()));
  EXPECT_EQ(cb.case_summary().client_id(), survivor.client_id());
  EXPECT_EQ(cb.case_summary().client_owner_id(), "u:li");
  // A reassignment of the survivor reports the merged figures (repeat client).
  v1::ReassignClientRequest rr;
  rr.set_client_id(survivor.client_id());
  rr.set_new_owner_id("u:zhang");
  *rr.mutable_actor() = MakeActor("u:boss", "territory");
  ASSERT_TRUE(d().ReassignClient(rr).ok());
  auto oc_events = env_.EventsOfType("triad.clients.client.owner_changed.v1");
  v1::ClientOwnerChanged changed;
  ASSERT_TRUE(changed.ParseFromString(oc_events.back().payload()));
  EXPECT_TRUE(changed.client().repeat_client());
}

}  // namespace
}  // namespace triad::clients
