// Table-driven tests of the assignment policy (policy.h): load ratio order and ties, leave,
// capacity, no candidate, continuity, conflicts of interest, declines and the ordered
// relaxation.
#include "services/review/policy.h"

#include <string>
#include <vector>

#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triad::review {
namespace {

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0), absl::UTCTimeZone());

struct ExpertSpec {
  std::string id;
  std::string domain = "structural";
  v1::Proficiency level = v1::PROFICIENCY_SENIOR;
  double capacity = 40;
  double load = 0;
  int open = 0;
  bool active = true;
  // Leave window as days from now (start, end); none when start == end.
  int leave_from_day = 0;
  int leave_to_day = 0;
  std::string conflict_client;
};

struct Case {
  std::string name;
  std::vector<ExpertSpec> experts;
  double hours = 4;
  v1::Proficiency min_level = v1::PROFICIENCY_SENIOR;
  std::vector<std::string> acceptable;
  std::vector<std::string> continuity;
  std::vector<std::string> declined;
  int due_in_days = 5;
  // Expected outcome: "" when the request must queue.
  std::string want_expert;
  v1::AssignmentRule want_rule = v1::ASSIGNMENT_RULE_UNSPECIFIED;
  bool want_continuity = false;
};

v1::Expert Build(const ExpertSpec& s) {
  v1::Expert e;
  e.set_expert_id(s.id);
  v1::DomainSkill* d = e.add_domains();
  d->set_domain(s.domain);
  d->set_level(s.level);
  e.set_weekly_capacity_hours(s.capacity);
  e.set_load_hours(s.load);
  e.set_open_reviews(s.open);
  e.set_active(s.active);
  if (s.leave_from_day != s.leave_to_day) {
    v1::LeaveWindow* w = e.add_leave_windows();
    *w->mutable_start_time() = util::ToProto(kNow + absl::Hours(24 * s.leave_from_day));
    *w->mutable_end_time() = util::ToProto(kNow + absl::Hours(24 * s.leave_to_day));
  }
  if (!s.conflict_client.empty()) e.add_conflicts()->set_client_id(s.conflict_client);
  return e;
}

std::vector<Case> Cases() {
  using R = v1::AssignmentRule;
  const R kStrict = v1::ASSIGNMENT_RULE_STRICT;
  return {
      {.name = "LowestLoadRatioWins",
       .experts = {{.id = "a", .capacity = 40, .load = 20}, {.id = "b", .capacity = 10, .load = 2}},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "RatioNotHoursDecides",
       .experts = {{.id = "a", .capacity = 40, .load = 12}, {.id = "b", .capacity = 10, .load = 4}},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "TieBrokenByOpenReviews",
       .experts = {{.id = "a", .load = 8, .open = 3}, {.id = "b", .load = 8, .open = 2}},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "FullTieBrokenById",
       .experts = {{.id = "b"}, {.id = "a"}},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "ExactFitIsAllowed",
       .experts = {{.id = "a", .capacity = 40, .load = 36}},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "OverCapacityQueues",
       .experts = {{.id = "a", .capacity = 40, .load = 37}, {.id = "b", .capacity = 4, .load = 1}},
       .want_expert = ""},
      {.name = "NoExpertOfTheDomainQueues",
       .experts = {{.id = "a", .domain = "hvac"}},
       .want_expert = ""},
      {.name = "LeaveBeforeDueIsPassedOver",
       .experts = {{.id = "a", .leave_from_day = 1, .leave_to_day = 10}, {.id = "b", .load = 30}},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "LeaveAfterDueDoesNotMatter",
       .experts = {{.id = "a", .leave_from_day = 10, .leave_to_day = 20}, {.id = "b", .load = 30}},
       .due_in_days = 5,
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "EveryoneOnLeaveQueues",
       .experts = {{.id = "a", .leave_from_day = -1, .leave_to_day = 3}},
       .want_expert = ""},
      {.name = "BackFromLeaveIsNotFlooded",
       .experts = {{.id = "a", .load = 18, .leave_from_day = -15, .leave_to_day = -1},
                   {.id = "b", .load = 30}},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "BackFromLeaveStillTakesWhatFitsItsRamp",
       .experts = {{.id = "a", .load = 8, .leave_from_day = -15, .leave_to_day = -1},
                   {.id = "b", .load = 30}},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "RampEndsAfterAWeek",
       .experts = {{.id = "a", .load = 18, .leave_from_day = -30, .leave_to_day = -8},
                   {.id = "b", .load = 30}},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "InactiveIsPassedOver",
       .experts = {{.id = "a", .active = false}, {.id = "b", .load = 20}},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "ContinuityPreferredOverLowerRatio",
       .experts = {{.id = "a"}, {.id = "c", .load = 30}},
       .continuity = {"c"},
       .want_expert = "c",
       .want_rule = kStrict,
       .want_continuity = true},
      {.name = "ContinuityNeverExceedsCapacity",
       .experts = {{.id = "a", .load = 10}, {.id = "c", .load = 38}},
       .continuity = {"c"},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "ContinuityNeverSkipsTheDomain",
       .experts = {{.id = "a", .load = 10}, {.id = "c", .domain = "hvac"}},
       .continuity = {"c"},
       .want_expert = "a",
       .want_rule = kStrict},
      {.name = "ConflictIsNeverAssigned",
       .experts = {{.id = "a", .conflict_client = "client-1"}, {.id = "b", .load = 30}},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "ConflictEvenWithContinuity",
       .experts = {{.id = "a", .conflict_client = "client-1"}},
       .continuity = {"a"},
       .want_expert = ""},
      {.name = "DeclinedIsNotOfferedAgain",
       .experts = {{.id = "a"}, {.id = "b", .load = 30}},
       .declined = {"a"},
       .want_expert = "b",
       .want_rule = kStrict},
      {.name = "RelaxToLowerProficiency",
       .experts = {{.id = "s", .load = 40}, {.id = "j", .level = v1::PROFICIENCY_JUNIOR}},
       .want_expert = "j",
       .want_rule = v1::ASSIGNMENT_RULE_LOWER_PROFICIENCY},
      {.name = "StrictPreferredOverLowerProficiency",
       .experts = {{.id = "s", .load = 30}, {.id = "j", .level = v1::PROFICIENCY_JUNIOR}},
       .want_expert = "s",
       .want_rule = kStrict},
      {.name = "RelaxToNeighbourDomainAfterProficiency",
       .experts = {{.id = "s", .load = 40},
                   {.id = "j", .level = v1::PROFICIENCY_JUNIOR, .load = 40},
                   {.id = "n", .domain = "civil"}},
       .acceptable = {"civil"},
       .want_expert = "n",
       .want_rule = v1::ASSIGNMENT_RULE_NEIGHBOUR_DOMAIN},
      {.name = "NeighbourNotAcceptableQueues",
       .experts = {{.id = "s", .load = 40}, {.id = "n", .domain = "civil"}},
       .want_expert = ""},
      {.name = "RelaxationKeepsConflicts",
       .experts = {{.id = "s", .load = 40},
                   {.id = "n", .domain = "civil", .conflict_client = "client-1"}},
       .acceptable = {"civil"},
       .want_expert = ""},
  };
}

class PolicyTest : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyTest, Decides) {
  const Case& c = GetParam();
  std::vector<v1::Expert> experts;
  for (const ExpertSpec& s : c.experts) experts.push_back(Build(s));
  std::vector<const v1::Expert*> ptrs;
  for (const v1::Expert& e : experts) ptrs.push_back(&e);
  PolicyRequest r;
  r.domain = "structural";
  r.min_proficiency = c.min_level;
  r.acceptable_domains = c.acceptable;
  r.client_id = "client-1";
  r.hours = c.hours;
  r.now = kNow;
  r.due = kNow + absl::Hours(24 * c.due_in_days);
  r.continuity.insert(c.continuity.begin(), c.continuity.end());
  r.excluded.insert(c.declined.begin(), c.declined.end());

  v1::Assignment a = Decide(r, ptrs);
  EXPECT_EQ(a.expert_id(), c.want_expert) << a.reason();
  EXPECT_EQ(a.rule(), c.want_rule) << a.reason();
  EXPECT_EQ(a.continuity(), c.want_continuity);
  EXPECT_FALSE(a.reason().empty());
  // Every decision records the candidates it looked at and why the others were passed over.
  int chosen = 0;
  for (const v1::Candidate& cand : a.candidates()) {
    if (cand.chosen()) {
      ++chosen;
      EXPECT_EQ(cand.expert_id(), c.want_expert);
      EXPECT_TRUE(cand.passed_over().empty());
    } else {
      EXPECT_FALSE(cand.passed_over().empty()) << cand.expert_id();
    }
  }
  EXPECT_EQ(chosen, c.want_expert.empty() ? 0 : 1);
  // Whatever the rule, the chosen expert has room for the request.
  for (const v1::Expert& e : experts) {
    if (e.expert_id() == a.expert_id()) {
      EXPECT_LE(e.load_hours() + c.hours, e.weekly_capacity_hours());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, PolicyTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(PolicyReasonTest, RelaxedAssignmentSaysWhichRuleWasRelaxed) {
  v1::Expert j = Build({.id = "j", .level = v1::PROFICIENCY_JUNIOR});
  PolicyRequest r;
  r.domain = "structural";
  r.min_proficiency = v1::PROFICIENCY_SENIOR;
  r.hours = 2;
  r.now = kNow;
  r.due = kNow + absl::Hours(48);
  v1::Assignment a = Decide(r, {&j});
  EXPECT_EQ(a.rule(), v1::ASSIGNMENT_RULE_LOWER_PROFICIENCY);
  EXPECT_NE(a.reason().find("relaxed after: ASSIGNMENT_RULE_STRICT"), std::string::npos)
      << a.reason();
}

TEST(PolicyReasonTest, RecordsAtMostTheCapButCountsAll) {
  std::vector<v1::Expert> experts;
  for (int i = 0; i < 120; ++i) {
    experts.push_back(Build({.id = "e" + std::to_string(1000 + i), .load = double(i % 30)}));
  }
  std::vector<const v1::Expert*> ptrs;
  for (const v1::Expert& e : experts) ptrs.push_back(&e);
  PolicyRequest r;
  r.domain = "structural";
  r.hours = 4;
  r.now = kNow;
  r.due = kNow + absl::Hours(48);
  v1::Assignment a = Decide(r, ptrs);
  EXPECT_EQ(a.candidates_total(), 120);
  EXPECT_EQ(a.candidates_size(), kMaxRecordedCandidates);
  EXPECT_TRUE(a.candidates(0).chosen());
  EXPECT_EQ(a.candidates(0).load_hours(), 0);
}

TEST(PolicyReasonTest, NobodyFitsRecordsEveryExpertsOwnReason) {
  std::vector<v1::Expert> experts = {
      Build({.id = "full", .capacity = 40, .load = 38}),
      Build({.id = "inactive", .active = false}),
      Build({.id = "away", .leave_from_day = 1, .leave_to_day = 3}),
      Build({.id = "conflicted", .conflict_client = "client-1"}),
      Build({.id = "junior-full", .level = v1::PROFICIENCY_JUNIOR, .capacity = 10, .load = 9}),
      Build({.id = "other-domain", .domain = "geotechnical"}),
  };
  std::vector<const v1::Expert*> ptrs;
  for (const v1::Expert& e : experts) ptrs.push_back(&e);
  PolicyRequest r;
  r.domain = "structural";
  r.min_proficiency = v1::PROFICIENCY_SENIOR;
  r.client_id = "client-1";
  r.hours = 4;
  r.now = kNow;
  r.due = kNow + absl::Hours(24 * 5);
  v1::Assignment a = Decide(r, ptrs);
  ASSERT_TRUE(a.expert_id().empty()) << a.reason();
  // Every expert of the domain, in order, with the reason of its own; none of another domain.
  ASSERT_EQ(a.candidates_size(), 5) << a.DebugString();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.candidates(i).expert_id(), experts[i].expert_id());
    EXPECT_EQ(a.candidates(i).passed_over(), PassOverReason(experts[i], r)) << i;
    EXPECT_FALSE(a.candidates(i).chosen());
  }
  EXPECT_THAT(a.candidates(0).passed_over(), ::testing::HasSubstr("over capacity (38 + 4 > 40"));
  EXPECT_EQ(a.candidates(1).passed_over(), "inactive");
  EXPECT_EQ(a.candidates(2).passed_over(), "on leave before the due time");
  EXPECT_EQ(a.candidates(3).passed_over(), "conflict of interest");
  EXPECT_THAT(a.candidates(4).passed_over(), ::testing::HasSubstr("over capacity (9 + 4 > 10"));
  // The reason names the rules tried and the first passed-over experts of each.
  EXPECT_THAT(a.reason(), ::testing::HasSubstr("ASSIGNMENT_RULE_STRICT: 4 considered, none fits "
                                               "(full: over capacity"));
  EXPECT_THAT(a.reason(), ::testing::HasSubstr("ASSIGNMENT_RULE_LOWER_PROFICIENCY: 1 considered, "
                                               "none fits (junior-full: over capacity"));
}

}  // namespace
}  // namespace triad::review
