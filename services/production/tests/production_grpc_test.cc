// In-process gRPC tests of the production service: the adapter over a real channel (status
// mapping, pagination, feasibility and utilisation round trips).
#include <memory>

#include "gtest/gtest.h"
#include "services/production/grpc_service.h"
#include "tests/testing/bad_ids.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

using ::triad::testing::CallRpc;
using Stub = v1::ProductionService::Stub;

class ProductionGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/production");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    ProductionOptions o;
    o.clock = clock_.AsFunction();
    auto p = Production::Create(store_.get(), outbox_.get(), o);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
    service_ = std::make_unique<ProductionGrpcService>(p_.get());
    harness_ = std::make_unique<::triad::testing::GrpcHarness>(service_.get(), kServiceFullName);
    ASSERT_TRUE(harness_->Start().ok());
    stub_ = v1::ProductionService::NewStub(harness_->channel());
  }
  void TearDown() override { harness_.reset(); }

  static common::v1::Actor Actor() {
    common::v1::Actor a;
    a.set_id("u:planner");
    return a;
  }

  ::triad::testing::TempDir dir_;
  ::triad::testing::FakeClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Production> p_;
  std::unique_ptr<ProductionGrpcService> service_;
  std::unique_ptr<::triad::testing::GrpcHarness> harness_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(ProductionGrpcTest, ResourcesProjectsAndErrorsOverTheWire) {
  for (const char* id : {"arch-1", "draft-1"}) {
    v1::CreateResourceRequest req;
    req.mutable_resource()->set_resource_id(id);
    req.mutable_resource()->set_display_name(id);
    req.mutable_resource()->add_skills(std::string(id) == "arch-1" ? "architectural-design"
                                                                   : "drafting");
    req.mutable_resource()->set_weekly_capacity_hours(40);
    *req.mutable_actor() = Actor();
    v1::Resource r;
    ASSERT_TRUE(CallRpc(*stub_, &Stub::CreateResource, req, &r).ok());
    EXPECT_EQ(r.state(), v1::RESOURCE_STATE_ACTIVE);
  }
  v1::CreateProjectRequest cp;
  cp.mutable_project()->set_client_id("c");
  cp.mutable_project()->set_product_line(kArchitecturalDesign);
  cp.mutable_project()->set_title("t");
  cp.mutable_project()->set_due_date("2026-09-01");
  *cp.mutable_actor() = Actor();
  for (int i = 0; i < 3; ++i) {
    v1::CreateProjectResponse resp;
    grpc::Status s = CallRpc(*stub_, &Stub::CreateProject, cp, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_FALSE(resp.project().planned_end_date().empty());
  }
  v1::ListProjectsRequest list;
  list.set_page_size(2);
  v1::ListProjectsResponse page;
  ASSERT_TRUE(CallRpc(*stub_, &Stub::ListProjects, list, &page).ok());
  EXPECT_EQ(page.projects_size(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(CallRpc(*stub_, &Stub::ListProjects, list, &page).ok());
  EXPECT_EQ(page.projects_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());

  v1::GetProjectRequest get;
  get.set_project_id("prj-missing");
  v1::Project p;
  EXPECT_EQ(CallRpc(*stub_, &Stub::GetProject, get, &p).error_code(), grpc::StatusCode::NOT_FOUND);
  cp.mutable_project()->set_due_date("2026-13-01");
  v1::CreateProjectResponse bad;
  grpc::Status s = CallRpc(*stub_, &Stub::CreateProject, cp, &bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("project.due_date"), std::string::npos) << s.error_message();

  v1::CheckFeasibilityRequest f;
  f.set_product_line(kArchitecturalDesign);
  f.set_effort_hours(80);
  v1::CheckFeasibilityResponse fr;
  ASSERT_TRUE(CallRpc(*stub_, &Stub::CheckFeasibility, f, &fr).ok());
  EXPECT_TRUE(fr.feasible());
  EXPECT_FALSE(fr.earliest_completion_date().empty());

  v1::GetUtilisationRequest u;
  u.set_weeks(4);
  v1::GetUtilisationResponse ur;
  ASSERT_TRUE(CallRpc(*stub_, &Stub::GetUtilisation, u, &ur).ok());
  EXPECT_EQ(ur.rows_size(), 2 * 4);
  u.set_weeks(99);
  EXPECT_EQ(CallRpc(*stub_, &Stub::GetUtilisation, u, &ur).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Every id field of every RPC's request is checked first: a control character in any of them
// is INVALID_ARGUMENT naming the field, never NOT_FOUND (the domain never looks it up).
TEST_F(ProductionGrpcTest, EveryIdFieldOfEveryRpcRefusesControlCharacters) {
  int called = 0;
  std::vector<std::string> findings = ::triad::testing::BadIdFindings(
      *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(kServiceFullName),
      harness_->channel(), &called);
  EXPECT_GE(called, 10);
  EXPECT_TRUE(findings.empty()) << ::testing::PrintToString(findings);
}

}  // namespace
}  // namespace triad::production
