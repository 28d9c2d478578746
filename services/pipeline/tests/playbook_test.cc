// Tests of the playbook rules: the default playbooks, validation, checkpoint evaluation.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PlaybookRulesTest, DefaultsAreValidAndDistinct) {
  std::vector<v1::Playbook> books = DefaultPlaybooks();
  ASSERT_EQ(books.size(), 2u);
  for (const v1::Playbook& pb : books) EXPECT_TRUE(ValidatePlaybook(pb).ok()) << pb.product_line();
  EXPECT_EQ(books[0].product_line(), kArchitecturalDesign);
  EXPECT_EQ(books[1].product_line(), kSpecialisedEquipment);
}

TEST(PlaybookRulesTest, ValidationNamesTheField) {
  v1::Playbook pb = DefaultPlaybooks()[0];
  pb.mutable_stages(1)->set_id(pb.stages(0).id());
  absl::Status s = ValidatePlaybook(pb);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("playbook.stages[1].id"));
  pb = DefaultPlaybooks()[0];
  pb.mutable_stages(2)->set_win_probability(1.5);
  EXPECT_THAT(ValidatePlaybook(pb).message(), HasSubstr("stages[2].win_probability"));
  pb = DefaultPlaybooks()[0];
  pb.mutable_targets(0)->set_to_step("nowhere");
  EXPECT_THAT(ValidatePlaybook(pb).message(), HasSubstr("unknown step: nowhere"));
}

TEST(PlaybookRulesTest, CheckpointEvaluation) {
  v1::Playbook pb = DefaultPlaybooks()[0];
  v1::Opportunity opp;
  opp.set_id("o");
  opp.set_state(v1::OPPORTUNITY_STATE_OPEN);
  opp.set_stage("qualification");
  std::vector<std::string> open = OpenCheckpoints(pb, 0, opp);
  ASSERT_EQ(open.size(), 3u);
  opp.mutable_value()->set_amount_minor(5);
  opp.mutable_value()->set_currency("CNY");
  *opp.mutable_expected_close_time() = util::ToProto(Day(3));
  open = OpenCheckpoints(pb, 0, opp);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_THAT(open[0], HasSubstr("qualification.decision_maker"));
  MutableCheckpointState(opp, "qualification.decision_maker")->set_done(true);
  EXPECT_TRUE(OpenCheckpoints(pb, 0, opp).empty());
  // A gate is open only when its event opened it.
  opp.set_stage("concept");
  MutableCheckpointState(opp, "concept.expert_review")->set_gate_status(v1::GATE_STATUS_HELD);
  open = OpenCheckpoints(pb, 2, opp);
  ASSERT_EQ(open.size(), 2u);
  EXPECT_THAT(open[0], HasSubstr("held"));
}

}  // namespace
}  // namespace triad::pipeline
