// Tests of the playbook RPCs: seeding, paging, and deals keeping their playbook version.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(PipelineTest, PlaybooksAreSeededAndPaginated) {
  v1::GetPlaybookRequest g;
  g.set_product_line(kSpecialisedEquipment);
  auto pb = p_->GetPlaybook(g);
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(pb->version(), 1);
  EXPECT_EQ(pb->stages_size(), 6);
  v1::ListPlaybooksRequest l;
  l.set_page_size(1);
  auto page1 = p_->ListPlaybooks(l);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->playbooks_size(), 1);
  ASSERT_FALSE(page1->next_page_token().empty());
  l.set_page_token(page1->next_page_token());
  auto page2 = p_->ListPlaybooks(l);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->playbooks_size(), 1);
  EXPECT_NE(page1->playbooks(0).product_line(), page2->playbooks(0).product_line());
  EXPECT_TRUE(page2->next_page_token().empty());
}

TEST_F(PipelineTest, OpportunityKeepsItsPlaybookVersion) {
  RegisterClient("c1");
  v1::Opportunity old = CreateOpp("c1", kArchitecturalDesign);
  v1::CreatePlaybookVersionRequest req;
  *req.mutable_playbook() = DefaultPlaybooks()[0];
  req.mutable_playbook()->mutable_stages(0)->clear_checkpoints();
  req.set_request_id("pb-2");
  auto v2 = p_->CreatePlaybookVersion(req);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  v1::Opportunity fresh = CreateOpp("c1", kArchitecturalDesign);
  EXPECT_EQ(fresh.playbook_version(), 2);
  EXPECT_TRUE(Advance(fresh.id(), "needs_analysis").ok());
  // The old deal still needs its v1 checklist item.
  auto r = Advance(old.id(), "needs_analysis");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("qualification.decision_maker"));
}

TEST(PlaybookLimitsTest, StagesCheckpointsAndTargetsAreBounded) {
  v1::Playbook pb = DefaultPlaybooks()[0];
  ASSERT_TRUE(ValidatePlaybook(pb).ok());
  v1::Playbook many_stages = pb;
  while (many_stages.stages_size() <= kMaxStages) {
    v1::Stage* s = many_stages.add_stages();
    *s = pb.stages(pb.stages_size() - 1);
    s->set_id(absl::StrCat("extra-", many_stages.stages_size()));
    s->clear_checkpoints();
  }
  EXPECT_EQ(ValidatePlaybook(many_stages).message(),
            absl::StrCat("playbook.stages: at most 30 stages (got ", kMaxStages + 1, ")"));
  v1::Playbook many_items = pb;
  v1::Stage* first = many_items.mutable_stages(0);
  first->clear_checkpoints();
  for (int i = 0; i < kMaxCheckpointsPerStage; ++i) {
    v1::Checkpoint* c = first->add_checkpoints();
    c->set_id(absl::StrCat("item-", i));
    c->set_kind(v1::CHECKPOINT_KIND_CHECKLIST_ITEM);
  }
  EXPECT_TRUE(ValidatePlaybook(many_items).ok());
  first->add_checkpoints()->set_id("one-more");
  EXPECT_EQ(ValidatePlaybook(many_items).message(),
            "playbook.stages[0].checkpoints: at most 50 checkpoints (got 51)");
  v1::Playbook many_targets = pb;
  many_targets.clear_targets();
  for (int i = 0; i <= kMaxFunnelTargets; ++i) {
    v1::FunnelTarget* t = many_targets.add_targets();
    t->set_from_step("signal");
    t->set_to_step("lead");
    t->set_target_ratio(7);
  }
  EXPECT_EQ(ValidatePlaybook(many_targets).message(),
            "playbook.targets: at most 50 funnel targets (got 51)");
}

TEST_F(PipelineTest, AtMostMaxPlaybookVersionsAreKeptPerProductLine) {
  v1::CreatePlaybookVersionRequest req;
  *req.mutable_playbook() = DefaultPlaybooks()[0];
  // Version 1 is seeded; create up to the limit.
  for (int v = 2; v <= kMaxPlaybookVersions; ++v) {
    req.set_request_id(absl::StrCat("pb-", v));
    auto created = p_->CreatePlaybookVersion(req);
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_EQ(created->version(), v);
  }
  req.set_request_id("pb-over");
  auto over = p_->CreatePlaybookVersion(req);
  EXPECT_TRUE(absl::IsResourceExhausted(over.status())) << over.status();
  EXPECT_THAT(over.status().message(), HasSubstr("at most 100 versions are kept per product line"));
  // Another product line is still free.
  req.mutable_playbook()->set_product_line("survey-services");
  req.set_request_id("pb-other");
  EXPECT_TRUE(p_->CreatePlaybookVersion(req).ok());
}

TEST_F(PipelineTest, AnOpportunityHoldsAtMostMaxOpportunityFields) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  v1::UpdateOpportunityRequest up;
  up.mutable_opportunity()->set_id(opp.id());
  up.mutable_update_mask()->add_paths("fields");
  up.mutable_actor()->set_id("u:li");
  up.set_etag(opp.etag());
  for (int i = 0; i < kMaxOpportunityFields; ++i) {
    (*up.mutable_opportunity()->mutable_fields())[absl::StrCat("f", i)] = "v";
  }
  auto full = p_->UpdateOpportunity(up);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->fields_size(), kMaxOpportunityFields);
  // Updates merge: one new field more would exceed the limit.
  up.mutable_opportunity()->clear_fields();
  (*up.mutable_opportunity()->mutable_fields())["one-more"] = "v";
  up.set_etag(full->etag());
  auto over = p_->UpdateOpportunity(up);
  EXPECT_TRUE(absl::IsInvalidArgument(over.status())) << over.status();
  EXPECT_THAT(over.status().message(),
              HasSubstr("opportunity.fields: at most 100 fields per opportunity"));
  // A field name is bounded too.
  up.mutable_opportunity()->clear_fields();
  (*up.mutable_opportunity()->mutable_fields())[std::string(kMaxFieldNameLength + 1, 'k')] = "v";
  EXPECT_THAT(p_->UpdateOpportunity(up).status().message(),
              HasSubstr("at most 100 bytes per field name"));
}

}  // namespace
}  // namespace triad::pipeline
