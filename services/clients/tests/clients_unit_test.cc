// Unit tests of the clients service: the normaliser and CSV reader, and the domain (lifecycle,
// history, duplicates, merge, handover, cases, follow-ups, consumed events, import) on a real
// RocksDB in a TempDir.
#include <atomic>
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
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

// --- Normaliser and CSV ----------------------------------------------------------------------

TEST(NormalizeTest, FoldsWidthCaseAndPunctuation) {
  EXPECT_EQ(FoldText("ＡＣＭＥ　Ｄｅｓｉｇｎ，Ｉｎｃ．"), "acme design inc");
  EXPECT_EQ(FoldText("  Hello,   World!! "), "hello world");
  EXPECT_EQ(FoldText("北京（华信）设计。"), "北京 华信 设计");
}

TEST(NormalizeTest, RemovesCompanySuffixes) {
  EXPECT_EQ(NormalizeName("Acme Co., Ltd."), "acme");
  EXPECT_EQ(NormalizeName("ACME CO LTD"), "acme");
  EXPECT_EQ(NormalizeName("Acme Inc."), "acme");
  EXPECT_EQ(NormalizeName("Acme GmbH"), "acme");
  EXPECT_EQ(NormalizeName("acme, llc"), "acme");
  EXPECT_EQ(NormalizeName("Acme Corp"), "acme");
  EXPECT_EQ(NormalizeName("北京华信设计有限公司"), "北京华信设计");
  EXPECT_EQ(NormalizeName("北京华信设计股份有限公司"), "北京华信设计");
  EXPECT_EQ(NormalizeName("北京华信设计有限责任公司"), "北京华信设计");
  EXPECT_EQ(NormalizeName("北京华信设计（有限公司）"), "北京华信设计");
  EXPECT_EQ(NormalizeName("Ｈｕａｘｉｎ Design Co.,Ltd"), "huaxindesign");
  // A name made only of a suffix word is kept rather than emptied.
  EXPECT_EQ(NormalizeName("Company"), "company");
  EXPECT_EQ(NormalizeName("有限公司"), "有限公司");
  // Deterministic.
  EXPECT_EQ(NormalizeName("Acme Co., Ltd."), NormalizeName("ACME co ltd"));
}

TEST(NormalizeTest, TaxPhoneEmail) {
  EXPECT_EQ(NormalizeTaxId("91110000-ab12 34ｃｄ"), "91110000AB1234CD");
  EXPECT_EQ(NormalizePhone("+86 138-0013-8000"), "13800138000");
  EXPECT_EQ(NormalizePhone("0086 13800138000"), "13800138000");
  EXPECT_EQ(NormalizePhone("010-6552 1234"), "1065521234");
  EXPECT_EQ(NormalizePhone("12"), "");
  EXPECT_EQ(EmailDomain("Li.Wei@Huaxin-Design.CN"), "huaxin-design.cn");
  EXPECT_EQ(EmailDomain("someone@qq.com"), "");
  EXPECT_EQ(EmailDomain("no-at-sign"), "");
}

TEST(CsvTest, ParsesQuotesAndLineEndings) {
  auto rows =
      ParseCsv("\xEF\xBB\xBFname,notes\r\n\"Acme, Inc.\",\"say \"\"hi\"\"\nline2\"\r\n\r\nB,\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0], (std::vector<std::string>{"name", "notes"}));
  EXPECT_EQ((*rows)[1], (std::vector<std::string>{"Acme, Inc.", "say \"hi\"\nline2"}));
  EXPECT_EQ((*rows)[2], (std::vector<std::string>{"B", ""}));
  EXPECT_FALSE(ParseCsv("a\n\"open").ok());
}

TEST(PolicyTest, SlaCadenceAndCompleteness) {
  EXPECT_EQ(SlaDuration(v1::CASE_SEVERITY_CRITICAL, v1::CLIENT_TIER_STRATEGIC), absl::Hours(4));
  EXPECT_EQ(SlaDuration(v1::CASE_SEVERITY_LOW, v1::CLIENT_TIER_SMALL), absl::Hours(240));
  EXPECT_EQ(SlaDuration(v1::CASE_SEVERITY_HIGH, v1::CLIENT_TIER_UNSPECIFIED), absl::Hours(48));
  EXPECT_EQ(CadenceDays(v1::CLIENT_TIER_STRATEGIC), 30);
  EXPECT_EQ(CadenceDays(v1::CLIENT_TIER_STANDARD), 90);
  EXPECT_EQ(CadenceDays(v1::CLIENT_TIER_SMALL), 180);
  v1::Client c;
  c.set_name("x");
  c.set_owner_id("u");
  EXPECT_EQ(CompletenessScore(c), 20);
}

// --- Domain ------------------------------------------------------------------------------------

class DomainTest : public ::testing::Test {
 protected:
  DomainTest() : env_(dir_.Sub("db")) {}

  v1::Client Create(const std::string& name, const std::string& owner = "u:li",
                    std::function<void(v1::Client&)> edit = nullptr) {
    v1::CreateClientRequest req = NewClientRequest(name, owner);
    if (edit) edit(*req.mutable_client());
    absl::StatusOr<v1::Client> c = env_.domain->CreateClient(req);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : v1::Client();
  }

  ClientsDomain& d() { return *env_.domain; }

  triad::testing::TempDir dir_;
  DomainEnv env_;
};

TEST_F(DomainTest, CreateIsIdempotentAndEmitsRegistered) {
  v1::CreateClientRequest req = NewClientRequest("Huaxin Design", "u:li");
  req.set_request_id("req-1");
  auto first = d().CreateClient(req);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status(), v1::CLIENT_STATUS_COLLECTED);
  EXPECT_EQ(first->etag(), "1");
  auto again = d().CreateClient(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->client_id(), first->client_id());
  auto registered = env_.EventsOfType("triad.clients.client.registered.v1");
  ASSERT_EQ(registered.size(), 1u);
  EXPECT_EQ(registered[0].topic(), "triad.clients.client");
  EXPECT_EQ(registered[0].key(), first->client_id());
  v1::ClientRegistered ev;
  ASSERT_TRUE(ev.ParseFromString(registered[0].payload()));
  EXPECT_EQ(ev.client().name(), "Huaxin Design");
  EXPECT_EQ(ev.actor().id(), "u:steward");
}

TEST_F(DomainTest, ValidationNamesTheField) {
  auto r = d().CreateClient(NewClientRequest("", "u:li"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("client.name"));
  r = d().CreateClient(NewClientRequest("Acme", ""));
  EXPECT_THAT(r.status().message(), HasSubstr("client.owner_id"));
  auto req = NewClientRequest("Acme", "u:li");
  req.mutable_client()->set_email("nope");
  EXPECT_THAT(d().CreateClient(req).status().message(), HasSubstr("client.email"));
  req = NewClientRequest("Acme", "u:li");
  req.clear_actor();
  EXPECT_THAT(d().CreateClient(req).status().message(), HasSubstr("actor.id"));
  EXPECT_EQ(d().GetClient("cl_missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DomainTest, DuplicatesAreDetectedByNormalisedKeys) {
  v1::Client a = Create("北京华信设计有限公司", "u:li", [](v1::Client& c) {
    c.set_tax_id("91110000AB1234");
    c.set_phone("010-6552-1234");
    c.set_email("info@huaxin.cn");
  });
  // Same company, different legal suffix.
  auto r = d().CreateClient(NewClientRequest("北京华信设计股份有限公司", "u:wang"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(r.status().message(), HasSubstr(a.client_id()));
  // Tax id written differently.
  auto req = NewClientRequest("Totally Different", "u:wang");
  req.mutable_client()->set_tax_id("9111 0000 ab12 34");
  EXPECT_EQ(d().CreateClient(req).status().code(), absl::StatusCode::kAlreadyExists);
  // Phone and e-mail domain.
  req = NewClientRequest("Other One", "u:wang");
  req.mutable_client()->set_phone("+86 10 6552 1234");
  EXPECT_EQ(d().CreateClient(req).status().code(), absl::StatusCode::kAlreadyExists);
  req = NewClientRequest("Other Two", "u:wang");
  req.mutable_client()->set_email("sales@HUAXIN.cn");
  EXPECT_EQ(d().CreateClient(req).status().code(), absl::StatusCode::kAlreadyExists);
  // A public mailbox domain is not evidence.
  req = NewClientRequest("Other Three", "u:wang");
  req.mutable_client()->set_email("x@qq.com");
  EXPECT_TRUE(d().CreateClient(req).ok());
  // force creates anyway.
  req = NewClientRequest("北京华信设计", "u:wang");
  req.set_force(true);
  EXPECT_TRUE(d().CreateClient(req).ok());
  v1::FindDuplicatesRequest fd;
  fd.mutable_client()->set_name("BEIJING HUAXIN");  // no match
  EXPECT_EQ(d().FindDuplicates(fd)->candidates_size(), 0);
  fd.mutable_client()->set_name("北京华信设计 Co., Ltd.");
  EXPECT_EQ(d().FindDuplicates(fd)->candidates_size(), 2);
}

TEST_F(DomainTest, ConcurrentDuplicateCreatesAdmitExactlyOne) {
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = d().CreateClient(NewClientRequest(i % 2 ? "Same Name Ltd." : "SAME NAME", "u:li"));
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kAlreadyExists) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 7);
}

TEST_F(DomainTest, NamePrefixSearchIsNormalised) {
  Create("北京华信设计有限公司");
  Create("上海建筑设计研究院");
  v1::ListClientsRequest lr;
  lr.set_name_prefix("北京华信");
  auto r = d().ListClients(lr);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->clients_size(), 1);
  EXPECT_EQ(r->clients(0).name(), "北京华信设计有限公司");
  lr.set_name_prefix("!!!");
  EXPECT_THAT(d().ListClients(lr).status().message(), HasSubstr("name_prefix"));
}

TEST_F(DomainTest, LifecycleAllowsOnlyValidTransitions) {
  v1::Client c = Create("Acme", "u:li", [](v1::Client& c) { c.set_tax_id("T1"); });
  v1::LifecycleRequest lr;
  lr.set_client_id(c.client_id());
  *lr.mutable_actor() = MakeActor("u:steward");
  auto restored = d().RestoreClient(lr);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("only ARCHIVED"));
  auto verified = d().VerifyClient(lr);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->status(), v1::CLIENT_STATUS_VERIFIED);
  EXPECT_EQ(verified->completeness_score(), 30);
  EXPECT_EQ(d().VerifyClient(lr).status().code(), absl::StatusCode::kFailedPrecondition);
  lr.set_etag("1");  // stale
  EXPECT_EQ(d().ArchiveClient(lr).status().code(), absl::StatusCode::kAborted);
  lr.set_etag(verified->etag());
  auto archived = d().ArchiveClient(lr);
  ASSERT_TRUE(archived.ok());
  EXPECT_EQ(archived->status(), v1::CLIENT_STATUS_ARCHIVED);
  EXPECT_EQ(d().ArchiveClient(lr).status().code(), absl::StatusCode::kAborted);
  lr.clear_etag();
  EXPECT_EQ(d().ArchiveClient(lr).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::UpdateClientRequest up;
  up.mutable_client()->set_client_id(c.client_id());
  up.mutable_client()->set_region("north");
  up.mutable_update_mask()->add_paths("region");
  up.set_etag(archived->etag());
  *up.mutable_actor() = MakeActor("u:li");
  EXPECT_EQ(d().UpdateClient(up).status().code(), absl::StatusCode::kFailedPrecondition);
  auto back = d().RestoreClient(lr);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status(), v1::CLIENT_STATUS_VERIFIED);
  EXPECT_EQ(env_.EventsOfType("triad.clients.client.verified.v1").size(), 1u);
  EXPECT_EQ(env_.EventsOfType("triad.clients.client.archived.v1").size(), 1u);
  EXPECT_EQ(env_.EventsOfType("triad.clients.client.restored.v1").size(), 1u);
}

TEST_F(DomainTest, UpdateRecordsFieldHistoryAndNeedsReasonForKeyFields) {
  v1::Client c = Create("Acme", "u:li");
  v1::UpdateClientRequest up;
  up.mutable_client()->set_client_id(c.client_id());
  up.mutable_client()->set_phone("13800138000");
  up.mutable_client()->set_owner_id("u:wang");
  up.mutable_update_mask()->add_paths("phone");
  up.mutable_update_mask()->add_paths("owner_id");
  up.set_etag(c.etag());
  *up.mutable_actor() = MakeActor("u:zhang");
  auto r = d().UpdateClient(up);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("actor.reason"));
  up.mutable_actor()->set_reason("Li left the Beijing office");
  r = d().UpdateClient(up);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->owner_id(), "u:wang");
  EXPECT_EQ(r->etag(), "2");
  // Stale etag.
  EXPECT_EQ(d().UpdateClient(up).status().code(), absl::StatusCode::kAborted);
  // Unknown mask path.
  up.set_etag(r->etag());
  up.mutable_update_mask()->add_paths("status");
  EXPECT_THAT(d().UpdateClient(up).status().message(), HasSubstr("update_mask"));

  v1::ListClientHistoryRequest hr;
  hr.set_client_id(c.client_id());
  auto h = d().ListClientHistory(hr);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->entries_size(), 2);
  EXPECT_EQ(h->entries(0).action(), "registered");
  const v1::HistoryEntry& e = h->entries(1);
  EXPECT_EQ(e.action(), "updated");
  EXPECT_EQ(e.actor().id(), "u:zhang");
  EXPECT_EQ(e.actor().reason(), "Li left the Beijing office");
  EXPECT_EQ(absl::FromUnixSeconds(e.time().seconds()), env_.clock.Now());
  std::map<std::string, std::pair<std::string, std::string>> changes;
  for (const auto& ch : e.changes()) changes[ch.field()] = {ch.old_value(), ch.new_value()};
  EXPECT_EQ(changes["owner_id"], std::make_pair(std::string("u:li"), std::string("u:wang")));
  EXPECT_EQ(changes["phone"], std::make_pair(std::string(""), std::string("13800138000")));
  v1::ListActorHistoryRequest ar;
  ar.set_actor_id("u:zhang");
  EXPECT_EQ(d().ListActorHistory(ar)->entries_size(), 1);
  auto updated = env_.EventsOfType("triad.clients.client.updated.v1");
  ASSERT_EQ(updated.size(), 1u);
  v1::ClientUpdated ev;
  ASSERT_TRUE(ev.ParseFromString(updated[0].payload()));
  EXPECT_EQ(ev.changes_size(), 2);
  EXPECT_EQ(env_.EventsOfType("triad.clients.client.owner_changed.v1").size(), 1u);
}

TEST_F(DomainTest, ListUsesFiltersAndPaginates) {
  for (int i = 0; i < 7; ++i) {
    Create(absl::StrCat("Owner A Client ", i), "u:a", [&](v1::Client& c) {
      c.set_region(i % 2 ? "north" : "south");
      c.add_tags(i < 3 ? "hospital" : "school");
    });
  }
  Create("Owner B Client", "u:b");
  v1::ListClientsRequest lr;
  lr.set_owner_id("u:a");
  lr.set_page_size(3);
  std::set<std::string> seen;
  int pages = 0;
  while (true) {
    auto page = d().ListClients(lr);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const auto& c : page->clients()) {
      EXPECT_EQ(c.owner_id(), "u:a");
      seen.insert(c.client_id());
    }
    if (page->next_page_token().empty()) break;
    lr.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_GE(pages, 3);
  // A token cannot be replayed against another filter.
  v1::ListClientsRequest other;
  other.set_owner_id("u:b");
  other.set_page_token(lr.page_token());
  EXPECT_THAT(d().ListClients(other).status().message(), HasSubstr("page_token"));
  v1::ListClientsRequest combo;
  combo.set_owner_id("u:a");
  combo.set_region("north");
  combo.set_tag("school");
  EXPECT_EQ(d().ListClients(combo)->clients_size(), 2);  // i = 3, 5
  v1::ListClientsRequest search;
  search.set_name_prefix("ＯＷＮＥＲ b");
  auto found = d().ListClients(search);
  ASSERT_EQ(found->clients_size(), 1);
  EXPECT_EQ(found->clients(0).owner_id(), "u:b");
  v1::ListClientsRequest bad;
  bad.set_page_size(-1);
  EXPECT_THAT(d().ListClients(bad).status().message(), HasSubstr("page_size"));
}

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

TEST_F(DomainTest, ReassignNeedsReason) {
  v1::Client c = Create("Acme", "u:li");
  v1::ReassignClientRequest rr;
  rr.set_client_id(c.client_id());
  rr.set_new_owner_id("u:wang");
  *rr.mutable_actor() = MakeActor("u:boss");
  EXPECT_THAT(d().ReassignClient(rr).status().message(), HasSubstr("actor.reason"));
  rr.mutable_actor()->set_reason("territory change");
  auto r = d().ReassignClient(rr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->owner_id(), "u:wang");
  EXPECT_EQ(env_.EventsOfType("triad.clients.client.owner_changed.v1").size(), 1u);
}

TEST(HandoverTest, ChunkedResumableAndOneEventPerClient) {
  triad::testing::TempDir dir;
  constexpr int kClients = 1203;
  std::string handover_id;
  {
    DomainOptions o;
    o.handover_chunk_size = 500;
    o.handover_stop_after_chunks = 1;  // simulate a crash after the first chunk
    DomainEnv env(dir.Sub("db"), o);
    for (int i = 0; i < kClients; ++i) {
      auto req = NewClientRequest(absl::StrCat("Client ", i), "u:leaving");
      ASSERT_TRUE(env.domain->CreateClient(req).ok());
    }
    ASSERT_TRUE(env.domain->CreateClient(NewClientRequest("Someone else's", "u:other")).ok());
    v1::HandOverPortfolioRequest hr;
    hr.set_request_id("ho-1");
    hr.set_from_owner_id("u:leaving");
    hr.set_to_owner_id("u:staying");
    *hr.mutable_actor() = MakeActor("u:boss");
    EXPECT_THAT(env.domain->HandOverPortfolio(hr).status().message(), HasSubstr("actor.reason"));
    hr.mutable_actor()->set_reason("Li leaves the company");
    auto h = env.domain->HandOverPortfolio(hr);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->status(), v1::HANDOVER_STATUS_RUNNING);
    EXPECT_EQ(h->total(), kClients);
    EXPECT_EQ(h->moved(), 500);
    handover_id = h->handover_id();
    auto progress = env.domain->GetHandover(handover_id);
    ASSERT_TRUE(progress.ok());
    EXPECT_EQ(progress->moved(), 500);
    ASSERT_TRUE(env.store->Close().ok());
  }
  // "Restart": a new domain on the same store resumes the handover.
  DomainEnv env(dir.Sub("db"));
  ASSERT_TRUE(env.domain->ResumeHandovers().ok());
  auto h = env.domain->GetHandover(handover_id);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status(), v1::HANDOVER_STATUS_COMPLETED);
  EXPECT_EQ(h->moved(), kClients);
  v1::ListClientsRequest lr;
  lr.set_owner_id("u:leaving");
  EXPECT_EQ(env.domain->ListClients(lr)->clients_size(), 0);
  lr.set_owner_id("u:staying");
  lr.set_page_size(1000);
  int staying = 0;
  while (true) {
    auto page = env.domain->ListClients(lr);
    ASSERT_TRUE(page.ok());
    staying += page->clients_size();
    if (page->next_page_token().empty()) break;
    lr.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(staying, kClients);
  auto events = env.EventsOfType("triad.clients.client.owner_changed.v1");
  std::set<std::string> keys;
  for (const auto& e : events) {
    v1::ClientOwnerChanged oc;
    ASSERT_TRUE(oc.ParseFromString(e.payload()));
    EXPECT_EQ(oc.handover_id(), handover_id);
    EXPECT_EQ(oc.previous_owner_id(), "u:leaving");
    keys.insert(e.key());
  }
  EXPECT_EQ(events.size(), static_cast<size_t>(kClients));
  EXPECT_EQ(keys.size(), static_cast<size_t>(kClients));
  // A retry of the same request returns the finished handover.
  v1::HandOverPortfolioRequest hr;
  hr.set_request_id("ho-1");
  hr.set_from_owner_id("u:leaving");
  hr.set_to_owner_id("u:staying");
  *hr.mutable_actor() = MakeActor("u:boss", "Li leaves the company");
  auto again = env.domain->HandOverPortfolio(hr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->handover_id(), handover_id);
  EXPECT_EQ(again->status(), v1::HANDOVER_STATUS_COMPLETED);
  // The same request id on a different request is refused, naming the request id.
  hr.set_to_owner_id("u:someone-else");
  auto reused = env.domain->HandOverPortfolio(hr);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reused.status().message()), HasSubstr("request_id"));
}

TEST_F(DomainTest, CasesFollowStatusFlowAndBreachOnce) {
  v1::Client c =
      Create("Hospital", "u:li", [](v1::Client& c) { c.set_tier(v1::CLIENT_TIER_STRATEGIC); });
  v1::OpenCaseRequest oc;
  oc.set_client_id(c.client_id());
  oc.set_severity(v1::CASE_SEVERITY_CRITICAL);
  *oc.mutable_actor() = MakeActor("u:li");
  EXPECT_THAT(d().OpenCase(oc).status().message(), HasSubstr("description"));
  oc.set_description("chiller design question");
  auto opened = d().OpenCase(oc);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(util::FromProto(opened->sla_due_at()), env_.clock.Now() + absl::Hours(4));
  v1::TransitionCaseRequest tr;
  tr.set_case_id(opened->case_id());
  tr.set_target_status(v1::CASE_STATUS_IN_PROGRESS);
  *tr.mutable_actor() = MakeActor("u:li");
  EXPECT_THAT(d().TransitionCase(tr).status().message(), HasSubstr("assign"));
  v1::AssignCaseRequest ar;
  ar.set_case_id(opened->case_id());
  ar.set_assignee_id("u:engineer");
  *ar.mutable_actor() = MakeActor("u:li");
  ASSERT_TRUE(d().AssignCase(ar).ok());
  ASSERT_TRUE(d().TransitionCase(tr).ok());
  tr.set_target_status(v1::CASE_STATUS_CLOSED);
  tr.set_satisfaction_score(4);
  EXPECT_EQ(d().TransitionCase(tr).status().code(), absl::StatusCode::kFailedPrecondition);
  // Nothing breached yet; then the clock passes the due time.
  EXPECT_EQ(d().ScanSlaBreaches()->breached_case_ids_size(), 0);
  env_.clock.Advance(absl::Hours(5));
  auto scan = d().ScanSlaBreaches();
  ASSERT_EQ(scan->breached_case_ids_size(), 1);
  EXPECT_EQ(d().ScanSlaBreaches()->breached_case_ids_size(), 0);
  EXPECT_EQ(env_.EventsOfType("triad.clients.case.breached.v1").size(), 1u);
  v1::ListCasesRequest lr;
  lr.set_breached_only(true);
  EXPECT_EQ(d().ListCases(lr)->cases_size(), 1);
  tr.set_target_status(v1::CASE_STATUS_RESOLVED);
  tr.set_satisfaction_score(0);
  ASSERT_TRUE(d().TransitionCase(tr).ok());
  tr.set_target_status(v1::CASE_STATUS_CLOSED);
  EXPECT_THAT(d().TransitionCase(tr).status().message(), HasSubstr("satisfaction_score"));
  tr.set_satisfaction_score(4);
  auto closed = d().TransitionCase(tr);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->satisfaction_score(), 4);
  tr.set_target_status(v1::CASE_STATUS_REOPENED);
  tr.set_satisfaction_score(0);
  auto reopened = d().TransitionCase(tr);
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(reopened->breached());
  for (const char* t : {"opened", "assigned", "started", "resolved", "closed", "reopened"}) {
    EXPECT_EQ(env_.EventsOfType(absl::StrCat("triad.clients.case.", t, ".v1")).size(), 1u) << t;
  }
  EXPECT_EQ(d().GetCase("case_missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DomainTest, FollowUpsCadenceOverdueAndCompletion) {
  v1::Client c =
      Create("School", "u:li", [](v1::Client& c) { c.set_tier(v1::CLIENT_TIER_STANDARD); });
  auto plan = d().GetFollowUpPlan(c.client_id());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->cadence_days(), 90);
  EXPECT_EQ(util::FromProto(plan->next_due_at()), env_.clock.Now() + absl::Hours(24 * 90));
  v1::ListOverdueFollowUpsRequest orq;
  orq.set_owner_id("u:li");
  EXPECT_EQ(d().ListOverdueFollowUps(orq)->follow_ups_size(), 0);
  env_.clock.Advance(absl::Hours(24 * 91));
  auto overdue = d().ListOverdueFollowUps(orq);
  ASSERT_EQ(overdue->follow_ups_size(), 1);
  EXPECT_EQ(d().ScanDueFollowUps()->due_follow_up_ids_size(), 1);
  EXPECT_EQ(d().ScanDueFollowUps()->due_follow_up_ids_size(), 0);
  EXPECT_EQ(env_.EventsOfType("triad.clients.followup.due.v1").size(), 1u);
  v1::CompleteFollowUpRequest cr;
  cr.set_client_id(c.client_id());
  cr.set_follow_up_id(overdue->follow_ups(0).follow_up_id());
  cr.mutable_touchpoint()->set_kind(v1::TOUCHPOINT_KIND_VISIT);
  cr.mutable_touchpoint()->set_summary("quarterly visit");
  *cr.mutable_actor() = MakeActor("u:li");
  auto done = d().CompleteFollowUp(cr);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->follow_up().status(), v1::FOLLOW_UP_STATUS_COMPLETED);
  EXPECT_EQ(util::FromProto(done->next().due_at()), env_.clock.Now() + absl::Hours(24 * 90));
  EXPECT_EQ(d().CompleteFollowUp(cr).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::ListTouchpointsRequest tl;
  tl.set_client_id(c.client_id());
  auto tps = d().ListTouchpoints(tl);
  ASSERT_EQ(tps->touchpoints_size(), 1);
  EXPECT_EQ(tps->touchpoints(0).follow_up_id(), cr.follow_up_id());
  EXPECT_EQ(d().ListOverdueFollowUps(orq)->follow_ups_size(), 0);
  EXPECT_EQ(env_.EventsOfType("triad.clients.followup.completed.v1").size(), 1u);
}

TEST_F(DomainTest, TouchpointsNeedParticipantsAndKnownContacts) {
  v1::Client c = Create("Acme", "u:li");
  v1::CreateTouchpointRequest tr;
  tr.mutable_touchpoint()->set_client_id(c.client_id());
  tr.mutable_touchpoint()->set_kind(v1::TOUCHPOINT_KIND_MEETING);
  *tr.mutable_actor() = MakeActor("u:li");
  EXPECT_THAT(d().CreateTouchpoint(tr).status().message(), HasSubstr("participant_ids"));
  tr.mutable_touchpoint()->add_participant_ids("u:li");
  tr.mutable_touchpoint()->add_contact_ids("ct_unknown");
  EXPECT_THAT(d().CreateTouchpoint(tr).status().message(), HasSubstr("contact_ids"));
  tr.mutable_touchpoint()->clear_contact_ids();
  tr.set_request_id("tp-1");
  auto t1 = d().CreateTouchpoint(tr);
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(d().CreateTouchpoint(tr)->touchpoint_id(), t1->touchpoint_id());
}

TEST_F(DomainTest, ConsumedEventsBuildRepeatBusiness) {
  v1::Client c = Create("Repeat Co", "u:li");
  for (int i = 0; i < 2; ++i) {
    pipeline::v1::OpportunityWon won;
    won.set_opportunity_id(absl::StrCat("opp-", i));
    won.set_client_id(c.client_id());
    won.mutable_value()->set_amount_minor(100000000);
    won.mutable_value()->set_currency("CNY");
    events::Transaction txn;
    ASSERT_TRUE(d().ApplyOpportunityWon(won, txn).ok());
    ASSERT_TRUE(env_.outbox->Commit(txn).ok());
    auto got = d().GetClient(c.client_id());
    EXPECT_EQ(got->repeat_business().deals_won(), i + 1);
    EXPECT_EQ(got->repeat_business().repeat_client(), i == 1);
  }
  auto got = d().GetClient(c.client_id());
  ASSERT_EQ(got->repeat_business().lifetime_value_size(), 1);
  EXPECT_EQ(got->repeat_business().lifetime_value(0).amount_minor(), 200000000);
  production::v1::ProjectCompleted pc;
  pc.set_project_id("prj-1");
  pc.set_client_id(c.client_id());
  *pc.mutable_completed_at() = util::ToProto(env_.clock.Now());
  events::Transaction txn;
  ASSERT_TRUE(d().ApplyProjectCompleted(pc, txn).ok());
  ASSERT_TRUE(env_.outbox->Commit(txn).ok());
  got = d().GetClient(c.client_id());
  EXPECT_EQ(util::FromProto(got->repeat_business().last_delivery_at()), env_.clock.Now());
  auto plan = d().GetFollowUpPlan(c.client_id());
  bool post_delivery = false;
  for (const auto& f : plan->pending()) {
    if (f.kind() == v1::FOLLOW_UP_KIND_POST_DELIVERY) {
      post_delivery = true;
      EXPECT_EQ(util::FromProto(f.due_at()), env_.clock.Now() + absl::Hours(24 * 7));
    }
  }
  EXPECT_TRUE(post_delivery);
  // Unknown clients are ignored (no effect, no error); a missing client id is a poison message.
  pipeline::v1::OpportunityLost lost;
  lost.set_client_id("cl_unknown");
  events::Transaction t2;
  EXPECT_TRUE(d().ApplyOpportunityLost(lost, t2).ok());
  lost.clear_client_id();
  EXPECT_EQ(d().ApplyOpportunityLost(lost, t2).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, CsvImportReportsEachRow) {
  Create("Existing Design Co., Ltd.", "u:li");
  v1::ImportClientsCsvRequest req;
  req.set_csv(
      "name,owner_id,tax_id,tier,tags\n"
      "New Client,u:wang,T-1,key,hospital;north\n"
      "EXISTING DESIGN,u:wang,,,\n"
      ",u:wang,,,\n"
      "Bad Tier,u:wang,,platinum,\n"
      "\"Quoted, Inc.\",,,small,\n");
  req.set_default_owner_id("u:default");
  *req.mutable_actor() = MakeActor("u:importer");
  auto r = d().ImportClientsCsv(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows_size(), 5);
  EXPECT_EQ(r->rows(0).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(r->rows(1).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_EQ(r->rows(1).duplicate_of_size(), 1);
  EXPECT_EQ(r->rows(2).outcome(), v1::IMPORT_OUTCOME_INVALID);
  EXPECT_THAT(r->rows(2).error(), HasSubstr("name"));
  EXPECT_EQ(r->rows(3).outcome(), v1::IMPORT_OUTCOME_INVALID);
  EXPECT_THAT(r->rows(3).error(), HasSubstr("tier"));
  EXPECT_EQ(r->rows(4).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(r->created(), 2);
  auto created = d().GetClient(r->rows(0).client_id());
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->tier(), v1::CLIENT_TIER_KEY);
  EXPECT_EQ(created->tags_size(), 2);
  EXPECT_EQ(d().GetClient(r->rows(4).client_id())->owner_id(), "u:default");
  // Invalid rows left nothing behind: 1 existing + 2 created.
  v1::ListClientsRequest all;
  EXPECT_EQ(d().ListClients(all)->clients_size(), 3);
  v1::ImportClientsCsvRequest bad;
  bad.set_csv("owner_id\nu:x\n");
  *bad.mutable_actor() = MakeActor("u:importer");
  EXPECT_THAT(d().ImportClientsCsv(bad).status().message(), HasSubstr("name"));
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
      EXPECT_EQ(util::FromProto(f.due_at()),
                util::FromProto(survivor.created_at()) + absl::Hours(24 * 30));
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

TEST_F(DomainTest, TierChangeReschedulesThePendingCadenceFollowUp) {
  const absl::Time t0 = env_.clock.Now();
  v1::Client c =
      Create("Cadence Co", "u:li", [](v1::Client& c) { c.set_tier(v1::CLIENT_TIER_STANDARD); });
  auto next_due = [&] {
    auto plan = d().GetFollowUpPlan(c.client_id());
    EXPECT_TRUE(plan.ok());
    return util::FromProto(plan->next_due_at());
  };
  EXPECT_EQ(next_due(), t0 + absl::Hours(24 * 90));
  auto set_tier = [&](v1::ClientTier tier) {
    v1::UpdateClientRequest up;
    up.mutable_client()->set_client_id(c.client_id());
    up.mutable_client()->set_tier(tier);
    up.mutable_update_mask()->add_paths("tier");
    up.set_etag(c.etag());
    *up.mutable_actor() = MakeActor("u:li");
    auto r = d().UpdateClient(up);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) c = *r;
  };
  env_.clock.Advance(absl::Hours(24 * 10));
  set_tier(v1::CLIENT_TIER_KEY);
  EXPECT_EQ(next_due(), t0 + absl::Hours(24 * 30));
  // History records the move; a follow-up.scheduled event carries the previous due time.
  v1::ListClientHistoryRequest hr;
  hr.set_client_id(c.client_id());
  auto h = d().ListClientHistory(hr);
  ASSERT_TRUE(h.ok());
  bool recorded = false;
  for (const auto& ch : h->entries(h->entries_size() - 1).changes()) {
    if (absl::StartsWith(ch.field(), "follow_up_due_at")) {
      recorded = true;
      EXPECT_EQ(ch.old_value(), events::FormatEventTime(t0 + absl::Hours(24 * 90)));
      EXPECT_EQ(ch.new_value(), events::FormatEventTime(t0 + absl::Hours(24 * 30)));
    }
  }
  EXPECT_TRUE(recorded);
  auto scheduled = env_.EventsOfType("triad.clients.followup.scheduled.v1");
  ASSERT_EQ(scheduled.size(), 2u);
  v1::FollowUpScheduled ev;
  ASSERT_TRUE(ev.ParseFromString(scheduled[1].payload()));
  EXPECT_EQ(util::FromProto(ev.previous_due_at()), t0 + absl::Hours(24 * 90));
  EXPECT_EQ(util::FromProto(ev.follow_up().due_at()), t0 + absl::Hours(24 * 30));
  EXPECT_THAT(ev.reschedule_reason(), HasSubstr("CLIENT_TIER_KEY"));
  // The due scan follows the new date, and again after a move to a longer cadence.
  env_.clock.Set(t0 + absl::Hours(24 * 31));
  EXPECT_EQ(d().ScanDueFollowUps()->due_follow_up_ids_size(), 1);
  set_tier(v1::CLIENT_TIER_SMALL);
  EXPECT_EQ(next_due(), t0 + absl::Hours(24 * 180));
  EXPECT_EQ(d().ScanDueFollowUps()->due_follow_up_ids_size(), 0);
  env_.clock.Set(t0 + absl::Hours(24 * 181));
  EXPECT_EQ(d().ScanDueFollowUps()->due_follow_up_ids_size(), 1);
  // Strategic and key share a cadence: nothing moves.
  set_tier(v1::CLIENT_TIER_KEY);
  size_t events_before = env_.EventsOfType("triad.clients.followup.scheduled.v1").size();
  set_tier(v1::CLIENT_TIER_STRATEGIC);
  EXPECT_EQ(env_.EventsOfType("triad.clients.followup.scheduled.v1").size(), events_before);
}

TEST(ImportResumeTest, CrashInTheMiddleThenRetryReturnsTheSameReport) {
  triad::testing::TempDir dir;
  const std::string csv =
      "name,owner_id\n"
      "Alpha Works,u:a\n"             // created
      "Existing Design,u:a\n"         // duplicate of a client from before
      ",u:a\n"                        // invalid
      "Beta Works,u:a\n"              // created (after the crash)
      "Gamma Works,u:a\n"             // created
      "ALPHA WORKS Co., Ltd.,u:a\n";  // a duplicate of row 1 within the same file
  v1::ImportClientsCsvRequest req;
  req.set_request_id("imp-1");
  req.set_csv(csv);
  *req.mutable_actor() = MakeActor("u:importer");
  std::string existing_id, alpha_id;
  {
    DomainOptions o;
    o.import_stop_after_rows = 3;  // the process dies after three rows
    DomainEnv env(dir.Sub("db"), o);
    existing_id =
        env.domain->CreateClient(NewClientRequest("Existing Design Co., Ltd.", "u:x"))->client_id();
    auto first = env.domain->ImportClientsCsv(req);
    EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
    v1::ListClientsRequest all;
    auto listed = env.domain->ListClients(all);
    ASSERT_EQ(listed->clients_size(), 2);  // Existing + Alpha
    for (const auto& c : listed->clients()) {
      if (c.client_id() != existing_id) alpha_id = c.client_id();
    }
    // The request id is bound to its CSV while the import is unfinished.
    v1::ImportClientsCsvRequest other = req;
    other.set_csv("name,owner_id\nOther,u:a\n");
    EXPECT_THAT(std::string(env.domain->ImportClientsCsv(other).status().message()),
                ::testing::StartsWith("request_id:"));
    ASSERT_TRUE(env.store->Close().ok());
  }
  DomainEnv env(dir.Sub("db"));
  auto report = env.domain->ImportClientsCsv(req);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 6);
  EXPECT_EQ(report->rows(0).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(report->rows(0).client_id(), alpha_id);  // not re-created, not "duplicate of itself"
  EXPECT_EQ(report->rows(1).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_THAT(report->rows(1).duplicate_of(), ::testing::ElementsAre(existing_id));
  EXPECT_EQ(report->rows(2).outcome(), v1::IMPORT_OUTCOME_INVALID);
  EXPECT_EQ(report->rows(3).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(report->rows(4).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(report->rows(5).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_THAT(report->rows(5).duplicate_of(), ::testing::ElementsAre(alpha_id));
  EXPECT_EQ(report->created(), 3);
  EXPECT_EQ(report->duplicates(), 2);
  EXPECT_EQ(report->invalid(), 1);
  v1::ListClientsRequest all;
  EXPECT_EQ(env.domain->ListClients(all)->clients_size(), 4);
  EXPECT_EQ(env.EventsOfType("triad.clients.client.registered.v1").size(), 4u);
  // Another retry gets the stored report; the per-row progress is gone.
  auto again = env.domain->ImportClientsCsv(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), report->SerializeAsString());
  int progress = 0;
  ASSERT_TRUE(env.repo
                  ->ScanRecords(ImportRowPrefix("imp-1"), "",
                                [&](std::string_view, std::string_view) {
                                  ++progress;
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(progress, 0);
  v1::ImportJob job;
  EXPECT_TRUE(absl::IsNotFound(env.repo->GetRecord(ImportJobKey("imp-1"), &job)));
}

TEST(ImportResumeTest, ConcurrentRetriesCreateEachRowOnce) {
  triad::testing::TempDir dir;
  DomainEnv env(dir.Sub("db"));
  std::string csv = "name,owner_id\n";
  for (int i = 0; i < 60; ++i) absl::StrAppend(&csv, "Company ", i, " Works,u:a\n");
  v1::ImportClientsCsvRequest req;
  req.set_request_id("imp-2");
  req.set_csv(csv);
  *req.mutable_actor() = MakeActor("u:importer");
  std::vector<v1::ImportClientsCsvResponse> reports(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto r = env.domain->ImportClientsCsv(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (r.ok()) reports[t] = *r;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : reports) {
    EXPECT_EQ(r.created(), 60);
    EXPECT_EQ(r.duplicates(), 0);
  }
  v1::ListClientsRequest all;
  all.set_page_size(1000);
  EXPECT_EQ(env.domain->ListClients(all)->clients_size(), 60);
}

TEST(HandoverTest, ConcurrentRetriesWithTheSameRequestIdReportCorrectProgress) {
  triad::testing::TempDir dir;
  DomainOptions o;
  o.handover_chunk_size = 7;
  DomainEnv env(dir.Sub("db"), o);
  constexpr int kClients = 300;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(
        env.domain->CreateClient(NewClientRequest(absl::StrCat("Client ", i), "u:leaving")).ok());
  }
  v1::HandOverPortfolioRequest hr;
  hr.set_request_id("ho-concurrent");
  hr.set_from_owner_id("u:leaving");
  hr.set_to_owner_id("u:staying");
  *hr.mutable_actor() = MakeActor("u:boss", "Li leaves");
  std::vector<v1::Handover> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto h = env.domain->HandOverPortfolio(hr);
      EXPECT_TRUE(h.ok()) << h.status();
      if (h.ok()) results[t] = *h;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& h : results) {
    EXPECT_EQ(h.handover_id(), results[0].handover_id());
    EXPECT_EQ(h.status(), v1::HANDOVER_STATUS_COMPLETED);
    EXPECT_EQ(h.moved(), kClients);
    EXPECT_EQ(h.total(), kClients);
  }
  auto stored = env.domain->GetHandover(results[0].handover_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->moved(), kClients);
  auto events = env.EventsOfType("triad.clients.client.owner_changed.v1");
  std::set<std::string> keys;
  for (const auto& e : events) keys.insert(e.key());
  EXPECT_EQ(events.size(), static_cast<size_t>(kClients));
  EXPECT_EQ(keys.size(), static_cast<size_t>(kClients));
}

}  // namespace
}  // namespace triad::clients
