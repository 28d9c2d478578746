// Tests of opportunities: idempotent create, masked update with etags, concurrent updates,
// timestamp validation.
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

TEST_F(PipelineTest, CreateIsIdempotentAndValidates) {
  RegisterClient("c1");
  v1::CreateOpportunityRequest req;
  req.set_request_id("same");
  req.set_client_id("c1");
  req.set_owner_id("u:wang");
  req.set_title("t");
  req.mutable_value()->set_amount_minor(10);
  req.mutable_value()->set_currency("cny");
  req.set_product_line(kArchitecturalDesign);
  auto bad = p_->CreateOpportunity(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("value.currency"));
  req.mutable_value()->set_currency("CNY");
  auto a = p_->CreateOpportunity(req);
  auto b = p_->CreateOpportunity(req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->id(), b->id());
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.created.v1").size(), 1u);
}

TEST_F(PipelineTest, UpdateNeedsCurrentEtagAndKnownPaths) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  v1::UpdateOpportunityRequest req;
  req.mutable_opportunity()->set_id(opp.id());
  req.mutable_opportunity()->set_title("New title");
  req.mutable_update_mask()->add_paths("title");
  req.set_etag("stale");
  EXPECT_EQ(p_->UpdateOpportunity(req).status().code(), absl::StatusCode::kAborted);
  req.set_etag(opp.etag());
  req.mutable_update_mask()->add_paths("stage");
  auto bad = p_->UpdateOpportunity(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("update_mask.paths: unknown or read-only field 'stage'"));
  req.mutable_update_mask()->clear_paths();
  req.mutable_update_mask()->add_paths("title");
  auto ok = p_->UpdateOpportunity(req);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->title(), "New title");
  EXPECT_NE(ok->etag(), opp.etag());
}

TEST_F(PipelineTest, ConcurrentUpdatesWithOneEtagLetExactlyOneWin) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateOpportunityRequest req;
      req.mutable_opportunity()->set_id(opp.id());
      req.mutable_opportunity()->set_title("title " + std::to_string(i));
      req.mutable_update_mask()->add_paths("title");
      req.set_etag(opp.etag());
      absl::Status s = p_->UpdateOpportunity(req).status();
      if (s.ok()) ++ok;
      if (s.code() == absl::StatusCode::kAborted) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
}

TEST_F(PipelineTest, BadTimestampsAreRejected) {
  RegisterClient("c1");
  v1::CreateOpportunityRequest req;
  req.set_request_id("t");
  req.set_client_id("c1");
  req.set_owner_id("u:wang");
  req.set_title("t");
  req.mutable_value()->set_amount_minor(10);
  req.mutable_value()->set_currency("CNY");
  req.set_product_line(kArchitecturalDesign);
  req.mutable_expected_close_time()->set_seconds(int64_t{1} << 62);
  auto r = p_->CreateOpportunity(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("expected_close_time"));
}

}  // namespace
}  // namespace triad::pipeline
