// Tests of service cases: the status flow, SLA and the breach scan.
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
  EXPECT_EQ(util::FromProto(opened->sla_due_time()), env_.clock.Now() + absl::Hours(4));
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

}  // namespace
}  // namespace triad::clients
