// Tests of ErasePersonalData (erasure.cc): what is blanked (record, contacts, touchpoints,
// history values, records merged in), what is kept (the chain, the company name, the audit of
// the erasure), the event, idempotency and the checks of the request.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/history_chain.h"
#include "services/clients/tests/test_support.h"

namespace triad::clients {
namespace {

using testing::DomainTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeActor;
using ::testing::Not;

constexpr char kErased[] = "triad.clients.client.personal_data_erased.v1";

class ErasureTest : public DomainTest {
 protected:
  // APersonWithData creates a client with personal values, a contact, a touchpoint and a
  // history entry changing the phone.
  v1::Client APersonWithData(const std::string& name) {
    v1::Client c = Create(name, "u:li", [](v1::Client& x) {
      x.set_phone("13811112222");
      x.set_email("wei.zhang@zhang-design.cn");
      x.set_notes("prefers calls after 6 pm");
      x.set_tax_id("110101199003074512");
      x.set_address("12 Lane 3, Wuhan");
    });
    v1::CreateContactRequest cr;
    cr.mutable_contact()->set_client_id(c.client_id());
    cr.mutable_contact()->set_name("Zhang Wei");
    cr.mutable_contact()->set_role("owner");
    cr.mutable_contact()->set_phone("13833334444");
    cr.mutable_contact()->set_email("zw@zhang-design.cn");
    *cr.mutable_actor() = MakeActor("u:li");
    EXPECT_TRUE(d().CreateContact(cr).ok());
    v1::CreateTouchpointRequest tr;
    tr.mutable_touchpoint()->set_client_id(c.client_id());
    tr.mutable_touchpoint()->set_kind(v1::TOUCHPOINT_KIND_MEETING);
    tr.mutable_touchpoint()->set_summary("Zhang Wei mentioned his daughter's wedding");
    tr.mutable_touchpoint()->add_participant_ids("u:li");
    *tr.mutable_actor() = MakeActor("u:li");
    EXPECT_TRUE(d().CreateTouchpoint(tr).ok());
    v1::UpdateClientRequest up;
    up.mutable_client()->set_client_id(c.client_id());
    up.mutable_client()->set_phone("13855556666");
    up.mutable_update_mask()->add_paths("phone");
    up.set_etag(c.etag());
    *up.mutable_actor() = MakeActor("u:li", "new mobile");
    auto r = d().UpdateClient(up);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : c;
  }

  v1::ErasePersonalDataRequest EraseRequest(const std::string& id, bool person) {
    v1::ErasePersonalDataRequest req;
    req.set_client_id(id);
    req.set_client_is_person(person);
    req.set_request_id("erase-" + id);
    *req.mutable_actor() = MakeActor("u:dpo", "erasure request of 2026-11-28");
    return req;
  }

  // Everything stored in the service's own column families, as one text.
  std::string EverythingStored() {
    std::string all;
    for (const std::string& cf : ColumnFamilies()) {
      EXPECT_TRUE(env_.store
                      ->ScanPrefix(cf, "",
                                   [&](std::string_view k, std::string_view v) {
                                     absl::StrAppend(&all, std::string(k), "=", std::string(v),
                                                     "\n");
                                     return true;
                                   })
                      .ok());
    }
    return all;
  }

  int VerifyChains(std::string* text) {
    std::vector<std::string> lines;
    auto n = VerifyClientHistory(*env_.store, [&](const std::string& l) { lines.push_back(l); });
    EXPECT_TRUE(n.ok());
    *text = absl::StrJoin(lines, "\n");
    return n.ok() ? *n : -1;
  }
};

TEST_F(ErasureTest, ACompanysPersonalDataIsBlankedAndItsNameKept) {
  v1::Client c = APersonWithData("Zhang Design Studio");
  auto resp = d().ErasePersonalData(EraseRequest(c.client_id(), false));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_THAT(resp->erased_fields(), ElementsAre("email", "notes", "phone"));
  EXPECT_EQ(resp->contacts_erased(), 1);
  EXPECT_EQ(resp->touchpoints_erased(), 1);
  EXPECT_GE(resp->history_entries_erased(), 2);  // registered (phone, e-mail) and updated
  auto got = d().GetClient(c.client_id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name(), "Zhang Design Studio");
  EXPECT_EQ(got->phone(), "");
  EXPECT_EQ(got->email(), "");
  EXPECT_EQ(got->notes(), "");
  EXPECT_EQ(got->tax_id(), "110101199003074512");  // a company's tax id is not personal

  const std::string stored = EverythingStored();
  for (const char* value :
       {"13811112222", "13855556666", "wei.zhang@zhang-design.cn", "prefers calls", "Zhang Wei",
        "13833334444", "zw@zhang-design.cn", "daughter"}) {
    // The requests column family keeps the replayed responses of the writes for
    // --dedupe_retention; the service's own records hold none of the values any more.
    EXPECT_THAT(stored, Not(HasSubstr(value))) << value;
  }
  // The chain still verifies, and the erasure is in the history: who, why, which fields.
  std::string report;
  EXPECT_EQ(VerifyChains(&report), 0) << report;
  v1::ListClientHistoryRequest hr;
  hr.set_client_id(c.client_id());
  auto history = d().ListClientHistory(hr);
  ASSERT_TRUE(history.ok());
  const v1::HistoryEntry& last = history->entries(history->entries_size() - 1);
  EXPECT_EQ(last.action(), "personal_data_erased");
  EXPECT_EQ(last.actor().id(), "u:dpo");
  EXPECT_EQ(last.actor().reason(), "erasure request of 2026-11-28");
  const v1::HistoryEntry& updated = history->entries(1);
  ASSERT_EQ(updated.changes(0).field(), "phone");
  EXPECT_TRUE(updated.changes(0).erased());
  EXPECT_FALSE(updated.changes(0).new_value_digest().empty());
  // One event, with the summary (the company name stays).
  auto events = env_.EventsOfType(kErased);
  ASSERT_EQ(events.size(), 1u);
  v1::ClientPersonalDataErased ev;
  ASSERT_TRUE(ev.ParseFromString(events[0].payload()));
  EXPECT_EQ(ev.client().name(), "Zhang Design Studio");
  EXPECT_FALSE(ev.client_is_person());
  EXPECT_EQ(ev.erasure_id(), resp->erasure_id());
}

TEST_F(ErasureTest, ANaturalPersonsNameTaxIdAndAddressAreErasedToo) {
  v1::Client c = APersonWithData("Zhang Wei (sole trader)");
  auto resp = d().ErasePersonalData(EraseRequest(c.client_id(), true));
  ASSERT_TRUE(resp.ok()) << resp.status();
  auto got = d().GetClient(c.client_id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name(), "[erased]");
  EXPECT_EQ(got->tax_id(), "");
  EXPECT_EQ(got->address(), "");
  const std::string stored = EverythingStored();
  for (const char* value : {"Zhang Wei", "110101199003074512", "12 Lane 3", "13811112222"}) {
    EXPECT_THAT(stored, Not(HasSubstr(value))) << value;
  }
  // The duplicate index no longer finds the person by name.
  v1::FindDuplicatesRequest fr;
  fr.mutable_client()->set_name("Zhang Wei (sole trader)");
  auto dups = d().FindDuplicates(fr);
  ASSERT_TRUE(dups.ok());
  EXPECT_EQ(dups->candidates_size(), 0);
  std::string report;
  EXPECT_EQ(VerifyChains(&report), 0) << report;
  v1::ClientPersonalDataErased ev;
  ASSERT_TRUE(ev.ParseFromString(env_.EventsOfType(kErased).at(0).payload()));
  EXPECT_EQ(ev.client().name(), "[erased]");
  EXPECT_TRUE(ev.client_is_person());
}

TEST_F(ErasureTest, IsIdempotentWithTheRequestId) {
  v1::Client c = APersonWithData("Zhang Design Studio");
  auto first = d().ErasePersonalData(EraseRequest(c.client_id(), false));
  ASSERT_TRUE(first.ok());
  auto again = d().ErasePersonalData(EraseRequest(c.client_id(), false));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->erasure_id(), first->erasure_id());
  EXPECT_EQ(env_.EventsOfType(kErased).size(), 1u);
  v1::ErasePersonalDataRequest other = EraseRequest(c.client_id(), true);
  EXPECT_THAT(d().ErasePersonalData(other).status().message(), HasSubstr("request_id"));
}

TEST_F(ErasureTest, RecordsMergedIntoTheClientAreErasedToo) {
  v1::Client survivor = APersonWithData("Zhang Design Studio");
  v1::Client loser =
      Create("Zhang Design", "u:li", [](v1::Client& x) { x.set_email("old.mail@zd-old.cn"); });
  v1::MergeClientsRequest mr;
  mr.set_survivor_id(survivor.client_id());
  mr.set_merged_id(loser.client_id());
  *mr.mutable_actor() = MakeActor("u:li", "same studio");
  ASSERT_TRUE(d().MergeClients(mr).ok());
  auto resp = d().ErasePersonalData(EraseRequest(survivor.client_id(), false));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_THAT(EverythingStored(), Not(HasSubstr("old.mail@zd-old.cn")));
  v1::ClientPersonalDataErased ev;
  ASSERT_TRUE(ev.ParseFromString(env_.EventsOfType(kErased).at(0).payload()));
  EXPECT_THAT(ev.merged_client_ids(), ElementsAre(loser.client_id()));
  std::string report;
  EXPECT_EQ(VerifyChains(&report), 0) << report;
}

TEST_F(ErasureTest, UpdatedEventsNameChangedPersonalFieldsWithoutTheirValues) {
  APersonWithData("Zhang Design Studio");
  auto updated = env_.EventsOfType("triad.clients.client.updated.v1");
  ASSERT_EQ(updated.size(), 1u);
  v1::ClientUpdated ev;
  ASSERT_TRUE(ev.ParseFromString(updated[0].payload()));
  ASSERT_EQ(ev.changes_size(), 1);
  EXPECT_EQ(ev.changes(0).field(), "phone");
  EXPECT_EQ(ev.changes(0).old_value(), "");
  EXPECT_EQ(ev.changes(0).new_value(), "");
}

TEST_F(ErasureTest, ChecksTheRequest) {
  v1::Client c = Create("Acme");
  v1::ErasePersonalDataRequest req = EraseRequest(c.client_id(), false);
  req.mutable_actor()->clear_reason();
  EXPECT_THAT(d().ErasePersonalData(req).status().message(), HasSubstr("actor.reason"));
  req = EraseRequest("", false);
  EXPECT_THAT(d().ErasePersonalData(req).status().message(), HasSubstr("client_id"));
  req = EraseRequest("cl-none", false);
  EXPECT_EQ(d().ErasePersonalData(req).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace triad::clients
