// Tests of common/auth/method_rules.h: the ownership helpers (who may scope a list how, who may
// give a record which owner and team) and the per-method decision table (default deny, roles
// that see everything pass, typed checks, response filters).
#include "common/auth/method_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "triad/common/v1/types.pb.h"

namespace triad::auth {
namespace {

using ::testing::HasSubstr;

Principal Who(const std::string& subject, Role role, std::vector<std::string> teams = {}) {
  Principal p;
  p.subject = subject;
  p.roles = {role};
  p.teams = std::move(teams);
  p.method = AuthMethod::kJwt;
  return p;
}

TEST(OwnershipHelpersTest, MayScopeAcceptsOnlyTheCallerOrTheirTeams) {
  const Principal li = Who("u:li", Role::kSales, {"east"});
  EXPECT_TRUE(MayScope(li, "u:li", ""));
  EXPECT_TRUE(MayScope(li, "", "east"));
  EXPECT_TRUE(MayScope(li, "u:other", "east"));
  EXPECT_FALSE(MayScope(li, "", ""));
  EXPECT_FALSE(MayScope(li, "u:other", "west"));
  EXPECT_TRUE(MayScope(Who("u:ops", Role::kOperator), "", ""));
  EXPECT_EQ(OwnScopeHint(li, "owner_id", "team_id"),
            "set owner_id to u:li or team_id to one of your teams (east)");
  EXPECT_EQ(OwnScopeHint(Who("u:solo", Role::kSales), "owner_id", "team_id"),
            "set owner_id to u:solo");
}

TEST(OwnershipHelpersTest, CanAssignKeepsTheRecordVisibleAndTheTeamTheCallers) {
  const Principal li = Who("u:li", Role::kSales, {"east"});
  EXPECT_TRUE(CanAssign(li, {"u:li", ""}, {}));
  EXPECT_TRUE(CanAssign(li, {"", ""}, {}));  // the domain requires or defaults the owner
  EXPECT_TRUE(CanAssign(li, {"u:wu", "east"}, {}));
  EXPECT_FALSE(CanAssign(li, {"u:wu", ""}, {}));                    // Li could not see it
  EXPECT_FALSE(CanAssign(li, {"u:li", "west"}, {}));                // a team not Li's
  EXPECT_TRUE(CanAssign(li, {"u:li", "west"}, {"u:ma", "west"}));   // the team stays
  EXPECT_FALSE(CanAssign(li, {"u:ma", "west"}, {"u:li", "west"}));  // Li would lose it
  EXPECT_TRUE(CanAssign(Who("u:ops", Role::kOperator), {"u:ma", "west"}, {}));
  EXPECT_TRUE(CanAssign(Who("u:zhang", Role::kSalesManager, {"east"}), {"u:x", "east"}, {}));
}

TEST(MethodRulesTest, UndecidedMethodsAreDeniedForEveryone) {
  MethodRules rules;
  rules.Open("Ping");
  common::v1::Actor req;
  EXPECT_TRUE(rules.CheckRequest(Who("u:li", Role::kSales), "Ping", req).ok());
  for (const Principal& p : {Who("u:li", Role::kSales), Who("u:ops", Role::kOperator)}) {
    absl::Status s = rules.CheckRequest(p, "Pong", req);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(s.message(), HasSubstr("Pong: no access rule"));
  }
  EXPECT_TRUE(rules.Decides("Ping"));
  EXPECT_FALSE(rules.Decides("Pong"));
  EXPECT_EQ(rules.Methods(), std::vector<std::string>{"Ping"});
}

TEST(MethodRulesTest, ChecksRunForRestrictedPrincipalsOnTheTypedRequest) {
  MethodRules rules;
  int calls = 0;
  rules.Check<common::v1::Actor>("Act", [&](const Principal& p, const common::v1::Actor& a) {
    ++calls;
    if (a.id() == p.subject) return absl::OkStatus();
    return NotVisible("actor", a.id());
  });
  rules.EverythingOnly("Scan");
  common::v1::Actor self;
  self.set_id("u:li");
  common::v1::Actor other;
  other.set_id("u:ma");
  const Principal li = Who("u:li", Role::kSales, {"east"});
  EXPECT_TRUE(rules.CheckRequest(li, "Act", self).ok());
  EXPECT_EQ(rules.CheckRequest(li, "Act", other).message(), "actor u:ma: owned by another team");
  EXPECT_EQ(calls, 2);
  // Roles that see everything, and the disabled-authentication principal, are not checked.
  EXPECT_TRUE(rules.CheckRequest(Who("u:x", Role::kExpert), "Act", other).ok());
  EXPECT_TRUE(rules.CheckRequest(Principal(), "Act", other).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(rules.CheckRequest(li, "Scan", self).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(rules.CheckRequest(Who("u:ops", Role::kOperator), "Scan", self).ok());
  // A request of another type is an internal error naming both types.
  common::v1::Money wrong;
  absl::Status s = rules.CheckRequest(li, "Act", wrong);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("triad.common.v1.Money"));
}

TEST(MethodRulesTest, FiltersRunOnlyForRestrictedPrincipals) {
  MethodRules rules;
  rules.Open("Read");
  rules.Filter<common::v1::Actor>(
      "Read", [](const Principal&, common::v1::Actor* a) { a->set_reason(kOwnedByAnotherTeam); });
  EXPECT_TRUE(rules.HasFilter("Read"));
  common::v1::Actor resp;
  rules.FilterResponse(Who("u:ops", Role::kOperator), "Read", &resp);
  EXPECT_EQ(resp.reason(), "");
  rules.FilterResponse(Who("u:li", Role::kSales), "Read", &resp);
  EXPECT_EQ(resp.reason(), kOwnedByAnotherTeam);
  common::v1::Money other_type;  // ignored, not cast
  rules.FilterResponse(Who("u:li", Role::kSales), "Read", &other_type);
  rules.FilterResponse(Who("u:li", Role::kSales), "Read", nullptr);
}

}  // namespace
}  // namespace triad::auth
