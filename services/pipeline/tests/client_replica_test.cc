// Tests of the client replica: unknown, archived and merged clients, and owner changes moving
// the old owner's open deals.
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

TEST_F(PipelineTest, UnknownArchivedAndMergedClients) {
  v1::CreateOpportunityRequest req;
  req.set_request_id("r1");
  req.set_client_id("ghost");
  req.set_owner_id("u:wang");
  req.set_title("t");
  req.mutable_value()->set_amount_minor(10);
  req.mutable_value()->set_currency("CNY");
  req.set_product_line(kArchitecturalDesign);
  auto r = p_->CreateOpportunity(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("ghost"));

  clients::v1::ClientSummary archived = Client("arch", "u:wang", 2);
  archived.set_status(clients::v1::CLIENT_STATUS_ARCHIVED);
  ASSERT_TRUE(p_->OnClient(NewEvent(), archived).ok());
  req.set_client_id("arch");
  req.set_request_id("r2");
  r = p_->CreateOpportunity(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("archived"));

  RegisterClient("old");
  RegisterClient("survivor");
  v1::Opportunity before = CreateOpp("old", kArchitecturalDesign);
  ASSERT_TRUE(p_->OnClient(NewEvent(), Client("survivor", "u:wang", 3), {}, {}, "old").ok());
  auto remapped = p_->GetOpportunity(Get(before.id()));
  ASSERT_TRUE(remapped.ok());
  EXPECT_EQ(remapped->client_id(), "survivor");
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.client_remapped.v1").size(), 1u);
  // New deals on the merged id land on the survivor.
  req.set_client_id("old");
  req.set_request_id("r3");
  r = p_->CreateOpportunity(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->client_id(), "survivor");
  v1::ListOpportunitiesRequest list;
  list.set_client_id("survivor");
  auto listed = p_->ListOpportunities(list);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->opportunities_size(), 2);
}

TEST_F(PipelineTest, ClientOwnerChangeMovesOnlyTheOldOwnersOpenDeals) {
  RegisterClient("c1", "u:wang");
  v1::Opportunity a = CreateOpp("c1", kArchitecturalDesign, 100, "u:wang");
  v1::Opportunity b = CreateOpp("c1", kArchitecturalDesign, 100, "u:li");
  clients::v1::ClientSummary c = Client("c1", "u:chen", 2);
  ASSERT_TRUE(p_->OnClient(NewEvent(), c, "u:wang", "u:chen").ok());
  auto a2 = p_->GetOpportunity(Get(a.id()));
  auto b2 = p_->GetOpportunity(Get(b.id()));
  EXPECT_EQ(a2->owner_id(), "u:chen");
  EXPECT_EQ(b2->owner_id(), "u:li");
  ASSERT_GT(a2->history_size(), 0);
  EXPECT_THAT(a2->history(a2->history_size() - 1).detail(), HasSubstr("owner changed"));
  auto ev = Emitted("triad.pipeline.opportunity.owner_changed.v1");
  ASSERT_EQ(ev.size(), 1u);
}

}  // namespace
}  // namespace triad::pipeline
