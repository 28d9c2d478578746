// Tests of ownership: reassigning a client and the chunked, resumable portfolio handover.
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
