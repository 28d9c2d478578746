// Tests of the consumed events' effects (repeat business, post-delivery follow-ups).
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
  *pc.mutable_complete_time() = util::ToProto(env_.clock.Now());
  events::Transaction txn;
  ASSERT_TRUE(d().ApplyProjectCompleted(pc, txn).ok());
  ASSERT_TRUE(env_.outbox->Commit(txn).ok());
  got = d().GetClient(c.client_id());
  EXPECT_EQ(util::FromProto(got->repeat_business().last_delivery_time()), env_.clock.Now());
  auto plan = d().GetFollowUpPlan(c.client_id());
  bool post_delivery = false;
  for (const auto& f : plan->pending()) {
    if (f.kind() == v1::FOLLOW_UP_KIND_POST_DELIVERY) {
      post_delivery = true;
      EXPECT_EQ(util::FromProto(f.due_time()), env_.clock.Now() + absl::Hours(24 * 7));
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

// The gRPC answer to ListClients carries each client's stored encoding with the repeat business
// put in its place: every listed client, through every way the list reads (the owner entries'
// copies, the other indexes' batched record reads, the scan of every client), is byte for byte
// what GetClient returns, including the wins of a merged client and with a stale repeat
// business left in a stored record replaced, not merged.
TEST_F(DomainTest, EncodedListAnswersMatchGetClientByteForByte) {
  auto win = [&](const std::string& client_id, const std::string& opp, int64_t amount) {
    pipeline::v1::OpportunityWon won;
    won.set_opportunity_id(opp);
    won.set_client_id(client_id);
    won.mutable_value()->set_amount_minor(amount);
    won.mutable_value()->set_currency("CNY");
    events::Transaction txn;
    ASSERT_TRUE(d().ApplyOpportunityWon(won, txn).ok());
    ASSERT_TRUE(env_.outbox->Commit(txn).ok());
  };
  auto in_water = [](v1::Client& c) { c.set_industry("water"); };
  v1::Client survivor = Create("Encoded Survivor", "u:li", in_water);
  v1::Client merged = Create("Encoded Merged", "u:wang", in_water);
  v1::Client plain = Create("Encoded Plain", "u:li", in_water);
  win(survivor.client_id(), "opp-1", 1000);
  win(merged.client_id(), "opp-2", 2000);
  win(merged.client_id(), "opp-3", 3000);
  v1::MergeClientsRequest mr;
  mr.set_survivor_id(survivor.client_id());
  mr.set_merged_id(merged.client_id());
  *mr.mutable_actor() = MakeActor("u:steward", "same company");
  ASSERT_TRUE(d().MergeClients(mr).ok());
  // A stored record holding a repeat business of its own (as a record written by hand or by an
  // older version could): the answer must carry the computed one alone.
  absl::StatusOr<v1::Client> stored = env_.repo->GetClient(plain.client_id());
  ASSERT_TRUE(stored.ok());
  v1::Client stale = *stored;
  stale.mutable_repeat_business()->set_deals_won(99);
  stale.mutable_repeat_business()->add_lifetime_value()->set_amount_minor(99);
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(env_.repo->PutClient(batch, &*stored, stale).ok());
  ASSERT_TRUE(env_.store->Write(batch).ok());

  std::vector<v1::ListClientsRequest> reads(3);
  reads[0].set_owner_id("u:li");   // The owner entries' copies.
  reads[1].set_industry("water");  // Index entries without copies: batched record reads.
  // reads[2] filters nothing: the scan of every client.
  for (v1::ListClientsRequest& r : reads) r.set_page_size(2);
  for (const v1::ListClientsRequest& first : reads) {
    SCOPED_TRACE(first.DebugString());
    v1::ListClientsRequest r = first;
    std::vector<std::string> ids;
    do {
      absl::StatusOr<v1::ListClientsResponse> encoded = d().ListClientsEncoded(r);
      ASSERT_TRUE(encoded.ok()) << encoded.status();
      EXPECT_EQ(encoded->clients_size(), 0);  // The clients are encoded fields only.
      v1::ListClientsResponse answer;
      ASSERT_TRUE(answer.ParseFromString(encoded->SerializeAsString()));
      absl::StatusOr<v1::ListClientsResponse> listed = d().ListClients(r);
      ASSERT_TRUE(listed.ok()) << listed.status();
      EXPECT_EQ(listed->SerializeAsString(), answer.SerializeAsString());
      for (const v1::Client& c : answer.clients()) {
        absl::StatusOr<v1::Client> got = d().GetClient(c.client_id());
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(c.SerializeAsString(), got->SerializeAsString()) << c.client_id();
        ids.push_back(c.client_id());
      }
      r.set_page_token(answer.next_page_token());
    } while (!r.page_token().empty());
    // The merged client is listed under no filter; the other two are listed once each.
    EXPECT_THAT(ids, ::testing::UnorderedElementsAre(survivor.client_id(), plain.client_id()));
  }
  absl::StatusOr<v1::Client> got = d().GetClient(survivor.client_id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->repeat_business().deals_won(), 3);  // Its own win and the merged client's two.
  ASSERT_EQ(got->repeat_business().lifetime_value_size(), 1);
  EXPECT_EQ(got->repeat_business().lifetime_value(0).amount_minor(), 6000);
  got = d().GetClient(plain.client_id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->repeat_business().deals_won(), 0);
  EXPECT_EQ(got->repeat_business().lifetime_value_size(), 0);
}

}  // namespace
}  // namespace triad::clients
