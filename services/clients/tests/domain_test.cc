// Tests of the ClientsDomain facade's policy tables: SLA by severity and tier, follow-up
// cadence, completeness score.
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

}  // namespace
}  // namespace triad::clients
