// Tests of follow-ups: cadence, overdue list, completion, and rescheduling on a tier change.
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

TEST_F(DomainTest, FollowUpsCadenceOverdueAndCompletion) {
  v1::Client c =
      Create("School", "u:li", [](v1::Client& c) { c.set_tier(v1::CLIENT_TIER_STANDARD); });
  auto plan = d().GetFollowUpPlan(c.client_id());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->cadence_days(), 90);
  EXPECT_EQ(util::FromProto(plan->next_due_time()), env_.clock.Now() + absl::Hours(24 * 90));
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
  EXPECT_EQ(util::FromProto(done->next().due_time()), env_.clock.Now() + absl::Hours(24 * 90));
  EXPECT_EQ(d().CompleteFollowUp(cr).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::ListTouchpointsRequest tl;
  tl.set_client_id(c.client_id());
  auto tps = d().ListTouchpoints(tl);
  ASSERT_EQ(tps->touchpoints_size(), 1);
  EXPECT_EQ(tps->touchpoints(0).follow_up_id(), cr.follow_up_id());
  EXPECT_EQ(d().ListOverdueFollowUps(orq)->follow_ups_size(), 0);
  EXPECT_EQ(env_.EventsOfType("triad.clients.followup.completed.v1").size(), 1u);
}

TEST_F(DomainTest, TierChangeReschedulesThePendingCadenceFollowUp) {
  const absl::Time t0 = env_.clock.Now();
  v1::Client c =
      Create("Cadence Co", "u:li", [](v1::Client& c) { c.set_tier(v1::CLIENT_TIER_STANDARD); });
  auto next_due = [&] {
    auto plan = d().GetFollowUpPlan(c.client_id());
    EXPECT_TRUE(plan.ok());
    return util::FromProto(plan->next_due_time());
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
    if (absl::StartsWith(ch.field(), "follow_up_due_time")) {
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
  EXPECT_EQ(util::FromProto(ev.previous_due_time()), t0 + absl::Hours(24 * 90));
  EXPECT_EQ(util::FromProto(ev.follow_up().due_time()), t0 + absl::Hours(24 * 30));
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

}  // namespace
}  // namespace triad::clients
