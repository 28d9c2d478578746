// gRPC tests: the pipeline service hosted in-process by ServiceHost and called through a real
// channel: field-naming errors, open-checkpoint refusals, stale etags and pagination.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>

#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/grpc_service.h"
#include "services/pipeline/pipeline.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/test_env.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;

class PipelineGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/pipeline");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    auto p = Pipeline::Create(store_.get(), outbox_.get());
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
    service_ = std::make_unique<PipelineGrpcService>(p_.get());
    harness_ = std::make_unique<testing::GrpcHarness>(service_.get(), kServiceFullName, "pipeline");
    ASSERT_TRUE(harness_->Start().ok());
    stub_ = v1::PipelineService::NewStub(harness_->channel());
    clients::v1::ClientSummary c;
    c.set_client_id("c1");
    c.set_owner_id("u:wang");
    c.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
    c.set_version(1);
    events::Event e;
    e.id = events::NewEventId();
    ASSERT_TRUE(p_->OnClient(e, c).ok());
  }

  v1::CreateOpportunityRequest ValidCreate(const std::string& request_id) {
    v1::CreateOpportunityRequest req;
    req.set_request_id(request_id);
    req.set_client_id("c1");
    req.set_owner_id("u:wang");
    req.set_title("Museum");
    req.mutable_value()->set_amount_minor(1'000'000);
    req.mutable_value()->set_currency("EUR");
    *req.mutable_expected_close_time() = util::ToProto(absl::Now() + absl::Hours(24 * 30));
    req.set_product_line(kArchitecturalDesign);
    return req;
  }

  grpc::Status Create(const v1::CreateOpportunityRequest& req, v1::Opportunity* out) {
    grpc::ClientContext ctx;
    return stub_->CreateOpportunity(&ctx, req, out);
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Pipeline> p_;
  std::unique_ptr<PipelineGrpcService> service_;
  std::unique_ptr<testing::GrpcHarness> harness_;
  std::unique_ptr<v1::PipelineService::Stub> stub_;
};

TEST_F(PipelineGrpcTest, InvalidArgumentNamesTheField) {
  v1::Opportunity out;
  for (const char* field : {"request_id", "client_id", "owner_id", "title", "value"}) {
    v1::CreateOpportunityRequest req = ValidCreate("r");
    if (std::string(field) == "request_id") req.clear_request_id();
    if (std::string(field) == "client_id") req.clear_client_id();
    if (std::string(field) == "owner_id") req.clear_owner_id();
    if (std::string(field) == "title") req.clear_title();
    if (std::string(field) == "value") req.clear_value();
    grpc::Status s = Create(req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), HasSubstr(field));
  }
  v1::CreateOpportunityRequest req = ValidCreate("r");
  req.set_client_id("nobody");
  grpc::Status s = Create(req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::ClientContext ctx;
  v1::GetOpportunityRequest get;
  get.set_opportunity_id("opp_missing");
  EXPECT_EQ(stub_->GetOpportunity(&ctx, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext ctx2;
  v1::GetPlaybookRequest pb;
  v1::Playbook pb_out;
  s = stub_->GetPlaybook(&ctx2, pb, &pb_out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("product_line"));
}

TEST_F(PipelineGrpcTest, AdvanceStageListsOpenCheckpoints) {
  v1::CreateOpportunityRequest req = ValidCreate("r1");
  req.clear_expected_close_time();
  v1::Opportunity opp;
  ASSERT_TRUE(Create(req, &opp).ok());
  grpc::ClientContext ctx;
  v1::AdvanceStageRequest adv;
  adv.set_opportunity_id(opp.id());
  adv.set_target_stage("needs_analysis");
  v1::Opportunity out;
  grpc::Status s = stub_->AdvanceStage(&ctx, adv, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("2 open checkpoint(s)"));
  EXPECT_THAT(s.error_message(), HasSubstr("qualification.expected_close_time"));
  EXPECT_THAT(s.error_message(), HasSubstr("qualification.decision_maker"));
}

TEST_F(PipelineGrpcTest, StaleEtagIsAborted) {
  v1::Opportunity opp;
  ASSERT_TRUE(Create(ValidCreate("r2"), &opp).ok());
  v1::UpdateOpportunityRequest up;
  up.mutable_opportunity()->set_id(opp.id());
  up.mutable_opportunity()->set_title("First");
  up.mutable_update_mask()->add_paths("title");
  up.set_etag(opp.etag());
  v1::Opportunity out;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->UpdateOpportunity(&c1, up, &out).ok());
  up.mutable_opportunity()->set_title("Second");
  grpc::ClientContext c2;
  grpc::Status s = stub_->UpdateOpportunity(&c2, up, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  up.clear_etag();
  grpc::ClientContext c3;
  s = stub_->UpdateOpportunity(&c3, up, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("etag"));
}

TEST_F(PipelineGrpcTest, ListPaginates) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    v1::Opportunity opp;
    ASSERT_TRUE(Create(ValidCreate("p" + std::to_string(i)), &opp).ok());
    created.insert(opp.id());
  }
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListOpportunitiesRequest req;
    req.set_page_size(2);
    req.set_owner_id("u:wang");
    req.set_page_token(token);
    v1::ListOpportunitiesResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListOpportunities(&ctx, req, &resp).ok());
    EXPECT_LE(resp.opportunities_size(), 2);
    for (const auto& o : resp.opportunities()) EXPECT_TRUE(seen.insert(o.id()).second);
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);
  // A token is bound to its filter.
  v1::ListOpportunitiesRequest first;
  first.set_page_size(2);
  v1::ListOpportunitiesResponse resp;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->ListOpportunities(&c1, first, &resp).ok());
  v1::ListOpportunitiesRequest other;
  other.set_page_token(resp.next_page_token());
  other.set_owner_id("u:li");
  grpc::ClientContext c2;
  grpc::Status s = stub_->ListOpportunities(&c2, other, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));
  v1::ListOpportunitiesRequest negative;
  negative.set_page_size(-1);
  grpc::ClientContext c3;
  s = stub_->ListOpportunities(&c3, negative, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_size"));
}

TEST_F(PipelineGrpcTest, FunnelReportValidatesThePeriod) {
  v1::GetFunnelReportRequest req;
  v1::FunnelReport out;
  grpc::ClientContext c1;
  grpc::Status s = stub_->GetFunnelReport(&c1, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("start_time"));
  *req.mutable_start_time() = util::ToProto(absl::Now());
  *req.mutable_end_time() = util::ToProto(absl::Now() - absl::Hours(1));
  grpc::ClientContext c2;
  s = stub_->GetFunnelReport(&c2, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("end_time"));
}

}  // namespace
}  // namespace triad::pipeline
