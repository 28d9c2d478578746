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

}  // namespace
}  // namespace triad::clients
