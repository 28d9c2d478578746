// Tests of the playbook RPCs: seeding, paging, and deals keeping their playbook version.
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

}  // namespace
}  // namespace triad::pipeline
