// gRPC tests of the clients service: ClientsGrpcService in the test kit's in-process harness,
// over a real channel (status codes, field names in errors, pagination).
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/clients/grpc_service.h"
#include "services/clients/tests/test_support.h"
#include "tests/testing/grpc_harness.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"

namespace triad::clients {
namespace {

using testing::DomainEnv;
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

class GrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = std::make_unique<DomainEnv>(dir_.Sub("db"));
    service_ = std::make_unique<ClientsGrpcService>(env_->domain.get());
    harness_ = std::make_unique<triad::testing::GrpcHarness>(
        service_.get(), "triad.clients.v1.ClientsService", "clients");
    ASSERT_TRUE(harness_->Start().ok());
    stub_ = v1::ClientsService::NewStub(harness_->channel());
  }

  template <typename Req, typename Resp, typename Method>
  grpc::Status Call(Method method, const Req& req, Resp* resp) {
    return triad::testing::CallRpc(*stub_, method, req, resp);
  }

  triad::testing::TempDir dir_;
  std::unique_ptr<DomainEnv> env_;
  std::unique_ptr<ClientsGrpcService> service_;
  std::unique_ptr<triad::testing::GrpcHarness> harness_;
  std::unique_ptr<v1::ClientsService::Stub> stub_;
};

TEST_F(GrpcTest, CreateGetAndValidationErrorsNameTheField) {
  v1::Client created;
  auto req = NewClientRequest("Huaxin Design 有限公司", "u:li");
  req.set_request_id("r1");
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::CreateClient, req, &created).ok());
  v1::Client again;
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::CreateClient, req, &again).ok());
  EXPECT_EQ(again.client_id(), created.client_id());

  v1::GetClientRequest get;
  get.set_client_id(created.client_id());
  v1::Client got;
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::GetClient, get, &got).ok());
  EXPECT_EQ(got.name(), "Huaxin Design 有限公司");

  get.set_client_id("cl_nope");
  grpc::Status s = Call(&v1::ClientsService::Stub::GetClient, get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  get.clear_client_id();
  s = Call(&v1::ClientsService::Stub::GetClient, get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("client_id"));

  auto bad = NewClientRequest("Acme", "");
  s = Call(&v1::ClientsService::Stub::CreateClient, bad, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("client.owner_id"));

  auto dup = NewClientRequest("HUAXIN DESIGN", "u:wang");
  s = Call(&v1::ClientsService::Stub::CreateClient, dup, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr(created.client_id()));
}

TEST_F(GrpcTest, StaleEtagIsAbortedAndLifecycleIsFailedPrecondition) {
  v1::Client c;
  ASSERT_TRUE(
      Call(&v1::ClientsService::Stub::CreateClient, NewClientRequest("Acme", "u:li"), &c).ok());
  v1::UpdateClientRequest up;
  up.mutable_client()->set_client_id(c.client_id());
  up.mutable_client()->set_industry("healthcare");
  up.mutable_update_mask()->add_paths("industry");
  up.set_etag(c.etag());
  *up.mutable_actor() = MakeActor("u:li");
  v1::Client updated;
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::UpdateClient, up, &updated).ok());
  EXPECT_EQ(updated.industry(), "healthcare");
  up.mutable_client()->set_industry("education");
  grpc::Status s = Call(&v1::ClientsService::Stub::UpdateClient, up, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("etag"));

  v1::RestoreClientRequest lr;
  lr.set_client_id(c.client_id());
  *lr.mutable_actor() = MakeActor("u:steward");
  v1::Client out;
  s = Call(&v1::ClientsService::Stub::RestoreClient, lr, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("ARCHIVED"));

  v1::TransitionCaseRequest tr;
  tr.set_case_id("case_missing");
  tr.set_target_status(v1::CASE_STATUS_RESOLVED);
  *tr.mutable_actor() = MakeActor("u:li");
  v1::ServiceCase sc;
  EXPECT_EQ(Call(&v1::ClientsService::Stub::TransitionCase, tr, &sc).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcTest, ListPaginatesThroughTheChannel) {
  for (int i = 0; i < 12; ++i) {
    v1::Client c;
    ASSERT_TRUE(Call(&v1::ClientsService::Stub::CreateClient,
                     NewClientRequest(absl::StrCat("Client number ", i), "u:owner"), &c)
                    .ok());
  }
  v1::ListClientsRequest lr;
  lr.set_owner_id("u:owner");
  lr.set_page_size(5);
  std::set<std::string> ids;
  int pages = 0;
  while (true) {
    v1::ListClientsResponse resp;
    ASSERT_TRUE(Call(&v1::ClientsService::Stub::ListClients, lr, &resp).ok());
    ++pages;
    EXPECT_LE(resp.clients_size(), 5);
    for (const auto& c : resp.clients()) {
      ids.insert(c.client_id());
      // The list answers from stored encodings; each client reads as GetClient answers it.
      v1::GetClientRequest gr;
      gr.set_client_id(c.client_id());
      v1::Client got;
      ASSERT_TRUE(Call(&v1::ClientsService::Stub::GetClient, gr, &got).ok());
      EXPECT_EQ(c.SerializeAsString(), got.SerializeAsString()) << c.client_id();
    }
    if (resp.next_page_token().empty()) break;
    lr.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(ids.size(), 12u);
  EXPECT_EQ(pages, 3);
  lr.set_page_token("garbage!");
  v1::ListClientsResponse resp;
  grpc::Status s = Call(&v1::ClientsService::Stub::ListClients, lr, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));

  // History pages too.
  v1::ListActorHistoryRequest ah;
  ah.set_actor_id("u:steward");
  ah.set_page_size(10);
  v1::ListHistoryResponse h1, h2;
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::ListActorHistory, ah, &h1).ok());
  EXPECT_EQ(h1.entries_size(), 10);
  ah.set_page_token(h1.next_page_token());
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::ListActorHistory, ah, &h2).ok());
  EXPECT_EQ(h2.entries_size(), 2);
}

TEST_F(GrpcTest, HandoverAndImportOverTheWire) {
  for (int i = 0; i < 30; ++i) {
    v1::Client c;
    ASSERT_TRUE(Call(&v1::ClientsService::Stub::CreateClient,
                     NewClientRequest(absl::StrCat("Portfolio ", i), "u:from"), &c)
                    .ok());
  }
  v1::HandOverPortfolioRequest hr;
  hr.set_from_owner_id("u:from");
  hr.set_to_owner_id("u:from");
  *hr.mutable_actor() = MakeActor("u:boss", "leaving");
  v1::Handover h;
  grpc::Status s = Call(&v1::ClientsService::Stub::HandOverPortfolio, hr, &h);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("to_owner_id"));
  hr.set_to_owner_id("u:to");
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::HandOverPortfolio, hr, &h).ok());
  EXPECT_EQ(h.moved(), 30);
  v1::GetHandoverRequest gh;
  gh.set_handover_id(h.handover_id());
  v1::Handover got;
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::GetHandover, gh, &got).ok());
  EXPECT_EQ(got.status(), v1::HANDOVER_STATUS_COMPLETED);

  v1::ImportClientsCsvRequest ir;
  ir.set_csv("name,owner_id\nImported One,u:x\nPortfolio 3,u:x\n");
  *ir.mutable_actor() = MakeActor("u:importer");
  v1::ImportClientsCsvResponse report;
  ASSERT_TRUE(Call(&v1::ClientsService::Stub::ImportClientsCsv, ir, &report).ok());
  EXPECT_EQ(report.created(), 1);
  EXPECT_EQ(report.duplicates(), 1);
  ir.clear_csv();
  s = Call(&v1::ClientsService::Stub::ImportClientsCsv, ir, &report);
  EXPECT_THAT(s.error_message(), HasSubstr("csv"));
}

}  // namespace
}  // namespace triad::clients
