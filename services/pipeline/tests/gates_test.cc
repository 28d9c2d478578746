// Tests of gates: opened only by events, a verdict applied once.
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

TEST_F(PipelineTest, GatesOpenOnlyByEventsAndVerdictAppliesOnce) {
  RegisterClient("c1");
  v1::Opportunity opp = ToConcept("c1");
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.review_requested.v1").size(), 1u);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.feasibility_requested.v1").size(), 1u);
  // A gate is not a checklist item.
  v1::CompleteChecklistItemRequest tick;
  tick.set_opportunity_id(opp.id());
  tick.set_checkpoint_id("concept.expert_review");
  EXPECT_EQ(p_->CompleteChecklistItem(tick).status().code(), absl::StatusCode::kFailedPrecondition);
  auto r = Advance(opp.id(), "proposal");
  EXPECT_THAT(r.status().message(), HasSubstr("concept.expert_review"));
  EXPECT_THAT(r.status().message(), HasSubstr("concept.feasibility"));

  ASSERT_TRUE(Verdict(NewEvent(), opp.id(), review::v1::VERDICT_REVISE, 30).ok());
  r = Advance(opp.id(), "proposal");
  EXPECT_THAT(r.status().message(), HasSubstr("concept.expert_review (review gate, domain "
                                              "architecture: held)"));
  events::Event approved = NewEvent();
  ASSERT_TRUE(Verdict(approved, opp.id(), review::v1::VERDICT_APPROVED, 120).ok());
  auto after = p_->GetOpportunity(Get(opp.id()));
  ASSERT_TRUE(after.ok());
  const int history = after->history_size();
  EXPECT_DOUBLE_EQ(after->expert_effort_hours(), 120);
  // The same event again (a redelivery) changes nothing.
  ASSERT_TRUE(Verdict(approved, opp.id(), review::v1::VERDICT_APPROVED, 120).ok());
  auto again = p_->GetOpportunity(Get(opp.id()));
  EXPECT_EQ(again->history_size(), history);
  EXPECT_EQ(again->etag(), after->etag());

  ASSERT_TRUE(Feasibility(opp.id(), false).ok());
  r = Advance(opp.id(), "proposal");
  EXPECT_THAT(r.status().message(), HasSubstr("concept.feasibility (feasibility gate: held)"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("concept.expert_review")));
  ASSERT_TRUE(Feasibility(opp.id(), true).ok());
  r = Advance(opp.id(), "proposal");
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::CheckpointState* fs = FindCheckpointState(*r, "concept.feasibility");
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->bottleneck_resource(), "team:structural");
  EXPECT_TRUE(fs->has_earliest_completion_time());
}

}  // namespace
}  // namespace triad::pipeline
