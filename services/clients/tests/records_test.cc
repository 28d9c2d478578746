// Tests of client records: idempotent create, validation, duplicate detection, name search,
// lifecycle transitions, masked updates with history, filtered and paged lists.
#include <algorithm>
#include <atomic>
#include <functional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/events/envelope.h"
#include "common/storage/key_codec.h"
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

// CreateConcurrently runs the creates `request(0..n-1)` on n threads at once and returns how
// many succeeded and how many were refused as duplicates.
std::pair<int, int> CreateConcurrently(ClientsDomain& d, int n,
                                       const std::function<v1::CreateClientRequest(int)>& request) {
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      auto r = d.CreateClient(request(i));
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kAlreadyExists) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  return {ok.load(), exists.load()};
}

TEST_F(DomainTest, ConcurrentDuplicateCreatesAdmitExactlyOne) {
  auto [ok, exists] = CreateConcurrently(d(), 8, [](int i) {
    return NewClientRequest(i % 2 ? "Same Name Ltd." : "SAME NAME", "u:li");
  });
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exists, 7);
}

// Creates that share no duplicate key run side by side: a create goes ahead while another
// holder has the domain lock shared (a create in progress), where an update waits for it.
TEST_F(DomainTest, CreatesDoNotWaitForEachOther) {
  const v1::Client first = Create("First Ltd.");
  std::atomic<bool> created{false}, updated{false};
  std::thread create, update;
  {
    std::shared_lock in_progress(d().mutex());
    create =
        std::thread([&] { created = d().CreateClient(NewClientRequest("Second", "u:li")).ok(); });
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!created && absl::Now() < deadline) std::this_thread::yield();
    EXPECT_TRUE(created.load());
    update = std::thread([&] {
      v1::UpdateClientRequest req;
      *req.mutable_client() = first;
      req.mutable_client()->set_industry("design");
      req.mutable_update_mask()->add_paths("industry");
      req.set_etag(first.etag());
      *req.mutable_actor() = testing::MakeActor("u:steward");
      updated = d().UpdateClient(req).ok();
    });
  }
  create.join();
  update.join();
  EXPECT_TRUE(updated.load());
}

// Different names that share a phone (written differently) are duplicates: of eight concurrent
// creates, one gets in.
TEST_F(DomainTest, ConcurrentCreatesSharingOnlyAPhoneAdmitExactlyOne) {
  auto [ok, exists] = CreateConcurrently(d(), 8, [](int i) {
    v1::CreateClientRequest req = NewClientRequest(absl::StrCat("Company ", i), "u:li");
    req.mutable_client()->set_phone(i % 2 ? "010-6210 0000" : "+86 10 62100000");
    return req;
  });
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exists, 7);
}

// Concurrent retries of one create (one request id) make one client and all answer it.
TEST_F(DomainTest, ConcurrentRetriesOfOneCreateMakeOneClient) {
  v1::CreateClientRequest req = NewClientRequest("Retried Ltd.", "u:li");
  req.set_request_id("req-create-1");
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = d().CreateClient(req);
      if (r.ok()) ids[i] = r->client_id();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_FALSE(ids[0].empty());
  v1::ListClientsRequest lr;
  lr.set_owner_id("u:li");
  EXPECT_EQ(d().ListClients(lr)->clients_size(), 1);
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

// Same converts between the lifecycle requests, which share one wire format.
template <typename To, typename From>
To Same(const From& from) {
  To to;
  EXPECT_TRUE(to.ParseFromString(from.SerializeAsString()));
  return to;
}

TEST_F(DomainTest, LifecycleAllowsOnlyValidTransitions) {
  v1::Client c = Create("Acme", "u:li", [](v1::Client& c) { c.set_tax_id("T1"); });
  v1::VerifyClientRequest lr;
  lr.set_client_id(c.client_id());
  *lr.mutable_actor() = MakeActor("u:steward");
  auto restored = d().RestoreClient(Same<v1::RestoreClientRequest>(lr));
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("only ARCHIVED"));
  auto verified = d().VerifyClient(lr);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->status(), v1::CLIENT_STATUS_VERIFIED);
  EXPECT_EQ(verified->completeness_score(), 30);
  EXPECT_EQ(d().VerifyClient(lr).status().code(), absl::StatusCode::kFailedPrecondition);
  lr.set_etag("1");  // stale
  EXPECT_EQ(d().ArchiveClient(Same<v1::ArchiveClientRequest>(lr)).status().code(),
            absl::StatusCode::kAborted);
  lr.set_etag(verified->etag());
  auto archived = d().ArchiveClient(Same<v1::ArchiveClientRequest>(lr));
  ASSERT_TRUE(archived.ok());
  EXPECT_EQ(archived->status(), v1::CLIENT_STATUS_ARCHIVED);
  EXPECT_EQ(d().ArchiveClient(Same<v1::ArchiveClientRequest>(lr)).status().code(),
            absl::StatusCode::kAborted);
  lr.clear_etag();
  EXPECT_EQ(d().ArchiveClient(Same<v1::ArchiveClientRequest>(lr)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::UpdateClientRequest up;
  up.mutable_client()->set_client_id(c.client_id());
  up.mutable_client()->set_region("north");
  up.mutable_update_mask()->add_paths("region");
  up.set_etag(archived->etag());
  *up.mutable_actor() = MakeActor("u:li");
  EXPECT_EQ(d().UpdateClient(up).status().code(), absl::StatusCode::kFailedPrecondition);
  auto back = d().RestoreClient(Same<v1::RestoreClientRequest>(lr));
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
  // Filters the index does not answer reject most of its entries: a page still fills, in
  // order, and the pages together hold each match once.
  std::set<std::string> east;
  for (int i = 0; i < 20; ++i) {
    v1::Client c = Create(absl::StrCat("Owner C Client ", i), "u:c",
                          [&](v1::Client& c) { c.set_region(i % 5 == 0 ? "east" : "west"); });
    if (i % 5 == 0) east.insert(c.client_id());
  }
  v1::ListClientsRequest sparse;
  sparse.set_owner_id("u:c");
  sparse.set_region("east");
  sparse.set_page_size(1);
  std::vector<std::string> listed;
  for (int page = 0; page < 10; ++page) {
    auto got = d().ListClients(sparse);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->clients_size(), 1);
    listed.push_back(got->clients(0).client_id());
    if (got->next_page_token().empty()) break;
    sparse.set_page_token(got->next_page_token());
  }
  EXPECT_EQ(listed.size(), east.size());
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), east);
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  v1::ListClientsRequest bad;
  bad.set_page_size(-1);
  EXPECT_THAT(d().ListClients(bad).status().message(), HasSubstr("page_size"));
}

// Lists by owner read the owner index's copy of each client: the copy follows every change of
// the record, and entries written before the copies existed (value "") still list their client.
// ScanIndexedClients visits the entries in key order whichever of them hold a copy of their
// client and whichever wait for the batched lookup, for every chunk size, each with its
// client's stored record, and stops at the entry whose visit says so.
TEST_F(DomainTest, IndexedScanVisitsEntriesInOrderWhateverHoldsACopy) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Create(absl::StrCat("Mixed ", i), "u:mix").client_id());
  std::sort(ids.begin(), ids.end());
  // Entries 1, 2 and 4 lose their copies, as entries written before the copies existed.
  rocksdb::WriteBatch batch;
  for (int i : {1, 2, 4}) {
    std::string key = storage::KeyBuilder().Str("owner").Str("u:mix").Str(ids[i]).Build();
    ASSERT_TRUE(batch.Put(env_.store->Cf(kCfClientIndex), key, "").ok());
  }
  ASSERT_TRUE(env_.store->Write(batch).ok());
  for (size_t chunk = 1; chunk <= ids.size() + 1; ++chunk) {
    for (size_t stop_after = 1; stop_after <= ids.size() + 1; ++stop_after) {
      SCOPED_TRACE(absl::StrCat("chunk ", chunk, ", stop after ", stop_after));
      std::vector<std::string> visited;
      ASSERT_TRUE(env_.repo
                      ->ScanIndexedClients(
                          ClientIndex::kOwner, "u:mix", /*prefix=*/false, "", chunk,
                          [&](std::string_view key, std::string_view record) {
                            const std::string id = LastComponent(key);
                            auto stored =
                                env_.store->Get(kCfClients, storage::KeyBuilder().Str(id).Build());
                            EXPECT_TRUE(stored.ok());
                            EXPECT_EQ(record, stored.value_or("")) << id;
                            visited.push_back(id);
                            return visited.size() < stop_after;
                          })
                      .ok());
      std::vector<std::string> expected(ids.begin(),
                                        ids.begin() + std::min(stop_after, ids.size()));
      EXPECT_EQ(visited, expected);
    }
  }
}

TEST_F(DomainTest, ListByOwnerShowsEachClientAsStoredAfterEveryChange) {
  v1::Client a = Create("Copy Alpha", "u:li");
  v1::Client b = Create("Copy Beta", "u:li");
  v1::UpdateClientRequest up;
  up.mutable_client()->set_client_id(a.client_id());
  up.mutable_client()->set_phone("13800138000");
  up.mutable_client()->set_industry("hospitals");
  up.mutable_update_mask()->add_paths("phone");
  up.mutable_update_mask()->add_paths("industry");
  up.set_etag(a.etag());
  *up.mutable_actor() = MakeActor("u:li");
  ASSERT_TRUE(d().UpdateClient(up).ok());
  v1::UpdateClientRequest move;
  move.mutable_client()->set_client_id(b.client_id());
  move.mutable_client()->set_owner_id("u:wang");
  move.mutable_update_mask()->add_paths("owner_id");
  move.set_etag(b.etag());
  *move.mutable_actor() = MakeActor("u:zhang", "Li moved to the Shanghai office");
  ASSERT_TRUE(d().UpdateClient(move).ok());

  // listed returns the clients of `owner` by the list, checked field for field against GetClient.
  auto listed = [&](const std::string& owner) {
    v1::ListClientsRequest lr;
    lr.set_owner_id(owner);
    auto page = d().ListClients(lr);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> ids;
    for (const v1::Client& c : page->clients()) {
      auto got = d().GetClient(c.client_id());
      EXPECT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(c.SerializeAsString(), got->SerializeAsString()) << c.client_id();
      ids.push_back(c.client_id());
    }
    return ids;
  };
  EXPECT_THAT(listed("u:li"), ::testing::ElementsAre(a.client_id()));
  EXPECT_THAT(listed("u:wang"), ::testing::ElementsAre(b.client_id()));
  v1::ListClientsRequest lr;
  lr.set_owner_id("u:li");
  EXPECT_EQ(d().ListClients(lr)->clients(0).phone(), "13800138000");
  lr.set_industry("hospitals");
  EXPECT_EQ(d().ListClients(lr)->clients_size(), 1);

  // The owner entries hold the stored record's bytes; the other entries hold nothing.
  int owner_entries = 0;
  ASSERT_TRUE(env_.store
                  ->ScanPrefix(kCfClientIndex, "",
                               [&](std::string_view key, std::string_view value) {
                                 storage::KeyReader kr(key);
                                 if (kr.Str().value_or("") != "owner") {
                                   EXPECT_EQ(value, "") << key;
                                   return true;
                                 }
                                 ++owner_entries;
                                 auto stored = env_.store->Get(
                                     kCfClients,
                                     storage::KeyBuilder().Str(LastComponent(key)).Build());
                                 EXPECT_TRUE(stored.ok());
                                 EXPECT_EQ(value, stored.value_or("")) << key;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(owner_entries, 2);

  // An owner entry without a copy, as written before the copies existed, still lists its
  // client (read from the clients family), in order with the entries that have one.
  v1::Client c = Create("Copy Gamma", "u:li");
  rocksdb::WriteBatch batch;
  std::string legacy_key =
      storage::KeyBuilder().Str("owner").Str("u:li").Str(c.client_id()).Build();
  ASSERT_TRUE(batch.Put(env_.store->Cf(kCfClientIndex), legacy_key, "").ok());
  ASSERT_TRUE(env_.store->Write(batch).ok());
  v1::ListClientsRequest both;
  both.set_owner_id("u:li");
  both.set_page_size(1);
  std::vector<std::string> pages;
  for (int i = 0; i < 3; ++i) {
    auto page = d().ListClients(both);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->clients_size(), 1);
    pages.push_back(page->clients(0).name());
    if (page->next_page_token().empty()) break;
    both.set_page_token(page->next_page_token());
  }
  std::vector<std::string> expected = {"Copy Alpha", "Copy Gamma"};
  if (c.client_id() < a.client_id()) std::swap(expected[0], expected[1]);
  EXPECT_EQ(pages, expected);

  // A copy that does not decode is reported, not skipped.
  batch.Clear();
  ASSERT_TRUE(batch.Put(env_.store->Cf(kCfClientIndex), legacy_key, "\xff\xff").ok());
  ASSERT_TRUE(env_.store->Write(batch).ok());
  v1::ListClientsRequest all;
  all.set_owner_id("u:li");
  EXPECT_EQ(d().ListClients(all).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace triad::clients
