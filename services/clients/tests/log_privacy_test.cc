// No personal data in logs: the clients service in-process (gRPC adapter in the test kit's
// harness, whose ServiceHost logs every call with its status message), clients created with
// distinctive names, phones and e-mails, contacts and touchpoints, and errors provoked on
// purpose (duplicates, invalid values, stale etags, a bad CSV row, an unknown client's event);
// every log line written meanwhile (debug level: every call is logged) is captured and must
// hold none of the values.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config/logging.h"
#include "common/events/outbox.h"
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
using testing::MakeActor;
using testing::NewClientRequest;

// The personal values used below; none may appear in a log line.
const std::vector<std::string>& PersonalValues() {
  static const auto* values = new std::vector<std::string>{
      "Xuanzang Qiqiao",      "13966601234",        "966601234",
      "qiqiao.xuanzang@",     "xz-privacy-test.cn", "Mrs Lanfang Oubai",
      "13977705678",          "lanfang.oubai@",     "talked about her surgery",
      "Duplicate Qiqiao Ltd", "not-an-email-oubai", "Hongyu Csv Person",
      "13988809999",
  };
  return *values;
}

class LogPrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logging::Init("clients", "debug");
    logging::SetLineObserver([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
    env_ = std::make_unique<DomainEnv>(dir_.Sub("db"));
    service_ = std::make_unique<ClientsGrpcService>(env_->domain.get());
    harness_ = std::make_unique<triad::testing::GrpcHarness>(
        service_.get(), "triad.clients.v1.ClientsService", "clients");
    ASSERT_TRUE(harness_->Start().ok());
    stub_ = v1::ClientsService::NewStub(harness_->channel());
  }

  void TearDown() override {
    harness_.reset();
    logging::SetLineObserver(nullptr);
    logging::Init("clients", "info");
  }

  template <typename Req, typename Resp, typename Method>
  grpc::Status Call(Method method, const Req& req, Resp* resp) {
    return triad::testing::CallRpc(*stub_, method, req, resp);
  }

  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

  triad::testing::TempDir dir_;
  std::unique_ptr<DomainEnv> env_;
  std::unique_ptr<ClientsGrpcService> service_;
  std::unique_ptr<triad::testing::GrpcHarness> harness_;
  std::unique_ptr<v1::ClientsService::Stub> stub_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(LogPrivacyTest, NoNamePhoneOrEmailReachesTheLogs) {
  using S = v1::ClientsService::Stub;
  // A client whose name is a person's (a sole trader), with phone and e-mail.
  auto create = NewClientRequest("Xuanzang Qiqiao", "u:li");
  create.mutable_client()->set_phone("13966601234");
  create.mutable_client()->set_email("qiqiao.xuanzang@xz-privacy-test.cn");
  v1::Client client;
  ASSERT_TRUE(Call(&S::CreateClient, create, &client).ok());

  // ALREADY_EXISTS: same phone and e-mail domain under another name.
  auto dup = NewClientRequest("Duplicate Qiqiao Ltd", "u:li");
  dup.mutable_client()->set_phone("139-6660-1234");
  dup.mutable_client()->set_email("other@xz-privacy-test.cn");
  v1::Client ignored;
  grpc::Status s = Call(&S::CreateClient, dup, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // INVALID_ARGUMENT on an e-mail and on a phone.
  auto bad = NewClientRequest("Mrs Lanfang Oubai", "u:li");
  bad.mutable_client()->set_email("not-an-email-oubai");
  EXPECT_EQ(Call(&S::CreateClient, bad, &ignored).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A contact (a person), one with a bad phone, and a touchpoint about her.
  v1::CreateContactRequest contact;
  contact.mutable_contact()->set_client_id(client.client_id());
  contact.mutable_contact()->set_name("Mrs Lanfang Oubai");
  contact.mutable_contact()->set_phone("13977705678");
  contact.mutable_contact()->set_email("lanfang.oubai@xz-privacy-test.cn");
  *contact.mutable_actor() = MakeActor("u:li");
  v1::Contact created_contact;
  ASSERT_TRUE(Call(&S::CreateContact, contact, &created_contact).ok());
  contact.mutable_contact()->set_phone("12-3");
  EXPECT_EQ(Call(&S::CreateContact, contact, &created_contact).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::CreateTouchpointRequest tp;
  tp.mutable_touchpoint()->set_client_id(client.client_id());
  tp.mutable_touchpoint()->set_kind(v1::TOUCHPOINT_KIND_CALL);
  tp.mutable_touchpoint()->set_summary("Mrs Lanfang Oubai talked about her surgery");
  tp.mutable_touchpoint()->add_participant_ids("u:li");
  tp.mutable_touchpoint()->add_contact_ids("ct_unknown");  // NOT_FOUND / INVALID_ARGUMENT
  *tp.mutable_actor() = MakeActor("u:li");
  v1::Touchpoint touchpoint;
  EXPECT_FALSE(Call(&S::CreateTouchpoint, tp, &touchpoint).ok());
  tp.mutable_touchpoint()->clear_contact_ids();
  ASSERT_TRUE(Call(&S::CreateTouchpoint, tp, &touchpoint).ok());

  // A stale etag and a duplicate on update.
  v1::UpdateClientRequest up;
  up.mutable_client()->set_client_id(client.client_id());
  up.mutable_client()->set_phone("13977705678");
  up.mutable_update_mask()->add_paths("phone");
  up.set_etag("99");
  *up.mutable_actor() = MakeActor("u:li", "new number");
  EXPECT_EQ(Call(&S::UpdateClient, up, &ignored).error_code(), grpc::StatusCode::ABORTED);

  // A CSV import with a valid row, a duplicate row and an invalid row.
  v1::ImportClientsCsvRequest csv;
  csv.set_csv(
      "name,owner_id,phone,email\n"
      "Hongyu Csv Person,u:li,13988809999,hongyu@csv-privacy.cn\n"
      "Xuanzang Qiqiao,u:li,13966601234,qiqiao.xuanzang@xz-privacy-test.cn\n"
      "Mrs Lanfang Oubai,u:li,1,not-an-email-oubai\n");
  *csv.mutable_actor() = MakeActor("u:li");
  v1::ImportClientsCsvResponse report;
  ASSERT_TRUE(Call(&S::ImportClientsCsv, csv, &report).ok());

  // Reads that return the values (logged calls, not their payloads).
  v1::ListClientHistoryRequest hist;
  hist.set_client_id(client.client_id());
  v1::ListHistoryResponse history;
  ASSERT_TRUE(Call(&S::ListClientHistory, hist, &history).ok());

  // A consumed event naming a client this service does not know (logged and skipped).
  pipeline::v1::OpportunityWon won;
  won.set_client_id("cl_unknown_to_clients");
  won.set_opportunity_id("op-1");
  {
    std::lock_guard lock(env_->domain->mutex());
    events::Transaction txn;
    EXPECT_TRUE(env_->domain->ApplyOpportunityWon(won, txn).ok());
  }

  // The erasure itself (operator API, called on the domain).
  v1::ErasePersonalDataRequest erase;
  erase.set_client_id(client.client_id());
  erase.set_client_is_person(true);
  *erase.mutable_actor() = MakeActor("u:dpo", "erasure request");
  ASSERT_TRUE(env_->domain->ErasePersonalData(erase).ok());

  const std::vector<std::string> lines = Lines();
  ASSERT_GE(lines.size(), 10u);  // every call was logged: the capture works
  int rpc_lines = 0;
  for (const std::string& line : lines) {
    if (line.find("\"msg\":\"rpc\"") != std::string::npos) ++rpc_lines;
    for (const std::string& value : PersonalValues()) {
      EXPECT_EQ(line.find(value), std::string::npos)
          << "log line holds \"" << value << "\": " << line;
    }
  }
  EXPECT_GE(rpc_lines, 10);
}

}  // namespace
}  // namespace triad::clients
