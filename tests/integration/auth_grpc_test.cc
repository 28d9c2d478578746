// Black-box tests of authentication and the request guard through a real gRPC server over TLS
// (and mTLS): the clients service and the AdminService on a ServiceRuntime (real RocksDB on
// disk, real Kafka broker), called as a client would. Every refused token kind is
// UNAUTHENTICATED; a sales token on an operator-only method is PERMISSION_DENIED and counted;
// the recorded actor is the token's sub whatever the request says; health answers without a
// token; a CA-signed client certificate is a service account; an oversized message is
// RESOURCE_EXHAUSTED and the server keeps serving; the service binary refuses to start
// half-secured.
#include <cstdio>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/denials.h"
#include "common/auth/jwt.h"
#include "common/server/admin_service.h"
#include "common/server/runtime.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/clients/admin_grpc_service.h"
#include "services/clients/domain.h"
#include "services/clients/grpc_service.h"
#include "services/clients/repository.h"
#include "tests/testing/auth_testing.h"
#include "tests/testing/test_env.h"
#include "triad/admin/v1/admin_service.grpc.pb.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"
#include "triad/testing/v1/health_service.grpc.pb.h"

namespace triad::clients {
namespace {

using nlohmann::json;
using triad::testing::AuthKit;
using triad::testing::MintToken;
using triad::testing::TokenAlg;

class AuthGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::RuntimeOptions o;
    o.service = "clients";
    o.column_families = ColumnFamilies();
    o.topics = {kClientTopic, kCaseTopic, kFollowUpTopic};
    o.data_dir = dir_.Sub("db");
    o.kafka = triad::testing::TestKafkaConfig();
    o.server.grpc_port = 0;
    o.server.admin_port = -1;
    o.server.tls.cert_file = pki_.server_cert_file();
    o.server.tls.key_file = pki_.server_key_file();
    o.server.tls.client_ca_file = pki_.ca_file();
    o.consumer_group = triad::testing::UniqueName("triad-clients-auth-");
    auto verifier = auth::JwtVerifier::FromKeysDir(
        kit_.keys_dir(), auth::JwtOptions{.issuer = triad::testing::kTestIssuer});
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    o.authenticator = auth::Authenticator::Jwt(*std::move(verifier));
    auto rt = server::ServiceRuntime::Create(o);
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = std::move(*rt);
    repo_ = std::make_unique<RocksClientsRepository>(&runtime_->store());
    domain_ = std::make_unique<ClientsDomain>(&runtime_->store(), &runtime_->outbox(), repo_.get());
    service_ = std::make_unique<ClientsGrpcService>(domain_.get(), runtime_->call_security());
    runtime_->host().AddService(service_.get(), kServiceFullName);
    admin_ = server::AddAdminService(*runtime_);
    ASSERT_TRUE(runtime_->Start().ok());
    // Connected (lease taken, relay and consumers running) before the test acts, so that the
    // shutdown never races a lease still being taken.
    ASSERT_TRUE(triad::testing::PollUntil([&] { return runtime_->Connected(); }, absl::Seconds(60)))
        << runtime_->Failed();
    address_ = runtime_->host().grpc_address();
    channel_ = pki_.Channel(address_);
    clients_ = v1::ClientsService::NewStub(channel_);
    admin_stub_ = admin::v1::AdminService::NewStub(channel_);
  }

  void TearDown() override {
    if (runtime_) runtime_->Shutdown();
  }

  static void Deadline(grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  // ListClients calls ListClients with `token` ("" sends none) on `stub`.
  grpc::Status ListClients(const std::string& token, v1::ClientsService::Stub* stub = nullptr) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    if (!token.empty()) triad::testing::WithBearer(&ctx, token);
    v1::ListClientsRequest req;
    v1::ListClientsResponse resp;
    return (stub != nullptr ? stub : clients_.get())->ListClients(&ctx, req, &resp);
  }

  void ExpectUnauthenticated(const std::string& token, const std::string& says) {
    grpc::Status s = ListClients(token);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << says << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(says), std::string::npos) << s.error_message();
    if (!token.empty()) {
      EXPECT_EQ(s.error_message().find(token), std::string::npos) << "token echoed";
    }
  }

  triad::testing::TempDir dir_;
  AuthKit kit_{dir_.path()};
  triad::testing::TestPki pki_{dir_.Sub("pki")};
  std::unique_ptr<server::ServiceRuntime> runtime_;
  std::unique_ptr<RocksClientsRepository> repo_;
  std::unique_ptr<ClientsDomain> domain_;
  std::unique_ptr<ClientsGrpcService> service_;
  std::unique_ptr<server::AdminGrpcService> admin_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ClientsService::Stub> clients_;
  std::unique_ptr<admin::v1::AdminService::Stub> admin_stub_;
};

TEST_F(AuthGrpcTest, ValidTokensAreServed) {
  EXPECT_TRUE(ListClients(kit_.Token("u:pm", {"production_manager"})).ok());
  EXPECT_TRUE(ListClients(kit_.SignedEc(AuthKit::Claims("u:ph", {"product_head"}))).ok());
}

TEST_F(AuthGrpcTest, EveryBadTokenIsUnauthenticated) {
  const double before = auth::DeniedCount("clients", "ListClients", "no_token");
  ExpectUnauthenticated("", "no bearer token");
  EXPECT_EQ(auth::DeniedCount("clients", "ListClients", "no_token"), before + 1);

  json claims = AuthKit::Claims("u:op", {"operator"});
  triad::testing::PemKeyPair foreign = triad::testing::GenerateRsaKey();
  ExpectUnauthenticated(
      MintToken(
          {.alg = TokenAlg::kRs256, .kid = "rsa", .key = foreign.private_pem, .claims = claims}),
      "signature");
  json expired = claims;
  expired["exp"] = absl::ToUnixSeconds(absl::Now()) - 3600;
  ExpectUnauthenticated(kit_.Signed(expired), "token expired");
  json issuer = claims;
  issuer["iss"] = "https://evil.example";
  ExpectUnauthenticated(kit_.Signed(issuer), "issuer");
  json audience = claims;
  audience["aud"] = "someone-else";
  ExpectUnauthenticated(kit_.Signed(audience), "audience");
  ExpectUnauthenticated(MintToken({.alg = TokenAlg::kNone, .kid = "rsa", .claims = claims}),
                        "alg none");
  ExpectUnauthenticated(
      MintToken(
          {.alg = TokenAlg::kHs256, .kid = "rsa", .key = kit_.rsa().public_pem, .claims = claims}),
      "HS");
  json no_sub = claims;
  no_sub.erase("sub");
  ExpectUnauthenticated(kit_.Signed(no_sub), "no sub");
  ExpectUnauthenticated("not-a-jwt", "malformed");
  EXPECT_GE(auth::DeniedCount("clients", "ListClients", "alg_refused"), 2);
}

TEST_F(AuthGrpcTest, SalesOnOperatorMethodIsPermissionDeniedAndCounted) {
  const std::string sales = kit_.Token("u:alice", {"sales"}, {"t:east"});
  const double before = auth::DeniedCount("clients", "ListBackups", "role");
  grpc::ClientContext ctx;
  Deadline(&ctx);
  triad::testing::WithBearer(&ctx, sales);
  admin::v1::ListBackupsResponse resp;
  grpc::Status s = admin_stub_->ListBackups(&ctx, admin::v1::ListBackupsRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("operator"), std::string::npos) << s.error_message();
  EXPECT_EQ(auth::DeniedCount("clients", "ListBackups", "role"), before + 1);

  // A sales manager is not an operator either; the operator is served.
  grpc::ClientContext manager;
  Deadline(&manager);
  triad::testing::WithBearer(&manager, kit_.Token("u:boss", {"sales_manager"}));
  EXPECT_EQ(admin_stub_->ListBackups(&manager, admin::v1::ListBackupsRequest(), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext op;
  Deadline(&op);
  triad::testing::WithBearer(&op, kit_.Token("u:root", {"operator"}));
  grpc::Status ok = admin_stub_->ListBackups(&op, admin::v1::ListBackupsRequest(), &resp);
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  // The operator sees the refusals, newest first, with who, what and why.
  grpc::ClientContext list;
  Deadline(&list);
  triad::testing::WithBearer(&list, kit_.Token("u:root", {"operator"}));
  admin::v1::ListAccessDenialsResponse denials;
  grpc::Status listed =
      admin_stub_->ListAccessDenials(&list, admin::v1::ListAccessDenialsRequest(), &denials);
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  ASSERT_GE(denials.denials_size(), 2);
  EXPECT_EQ(denials.denials(0).subject(), "u:boss");
  EXPECT_EQ(denials.denials(1).subject(), "u:alice");
  EXPECT_EQ(denials.denials(1).method(), "ListBackups");
  EXPECT_EQ(denials.denials(1).reason(), "role");
  EXPECT_EQ(denials.denials(1).code(), "PERMISSION_DENIED");
  EXPECT_FALSE(denials.denials(1).peer().empty());
  EXPECT_GT(denials.denials(0).sequence(), denials.denials(1).sequence());

  // A token without any known role may call nothing.
  EXPECT_EQ(ListClients(kit_.Token("u:nobody", {"janitor"})).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthGrpcTest, RecordedActorIsTheTokensSubjectNotTheRequests) {
  const std::string sales = kit_.Token("u:alice", {"sales"}, {"t:east"});
  v1::CreateClientRequest create;
  create.mutable_client()->set_name(triad::testing::UniqueName("Auth Client "));
  create.mutable_client()->set_owner_id("u:alice");
  create.mutable_actor()->set_id("u:mallory");  // spoofed
  create.mutable_actor()->set_reason("met at the trade fair");
  create.set_request_id(triad::testing::UniqueName("req-"));
  v1::Client client;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    triad::testing::WithBearer(&ctx, sales);
    grpc::Status s = clients_->CreateClient(&ctx, create, &client);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  v1::ListClientHistoryRequest history;
  history.set_client_id(client.client_id());
  v1::ListHistoryResponse entries;
  grpc::ClientContext ctx;
  Deadline(&ctx);
  triad::testing::WithBearer(&ctx, sales);
  grpc::Status s = clients_->ListClientHistory(&ctx, history, &entries);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(entries.entries_size(), 1);
  for (const v1::HistoryEntry& e : entries.entries()) {
    EXPECT_EQ(e.actor().id(), "u:alice");
    EXPECT_NE(e.actor().id(), "u:mallory");
  }
  EXPECT_EQ(entries.entries(0).actor().reason(), "met at the trade fair");
}

TEST_F(AuthGrpcTest, HealthAnswersWithoutAToken) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  Deadline(&ctx);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(kServiceFullName);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = health->Check(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AuthGrpcTest, ClientCertificateIsAServiceAccount) {
  triad::testing::PemKeyPair cert = pki_.Client("triad-pipeline");
  auto stub = v1::ClientsService::NewStub(pki_.Channel(address_, &cert));
  grpc::Status s = ListClients("", stub.get());
  EXPECT_TRUE(s.ok()) << s.error_message();
  // A service account is no operator.
  auto admin = admin::v1::AdminService::NewStub(pki_.Channel(address_, &cert));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  admin::v1::ListBackupsResponse resp;
  EXPECT_EQ(admin->ListBackups(&ctx, admin::v1::ListBackupsRequest(), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A certificate the CA did not sign does not get through the handshake.
  triad::testing::PemKeyPair rogue = pki_.Client("triad-pipeline", /*self_signed=*/true);
  auto rogue_stub = v1::ClientsService::NewStub(pki_.Channel(address_, &rogue));
  grpc::Status refused = ListClients("", rogue_stub.get());
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.error_code(), grpc::StatusCode::OK);
}

TEST_F(AuthGrpcTest, PlaintextClientsCannotTalkToTheTlsServer) {
  auto plain = v1::ClientsService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  grpc::Status s = ListClients(kit_.Token("u:root", {"operator"}), plain.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(AuthGrpcTest, OversizedMessageIsResourceExhaustedAndTheServerKeepsServing) {
  const std::string token = kit_.Token("u:alice", {"sales"});
  v1::CreateClientRequest big;
  big.mutable_client()->set_name(std::string(5 << 20, 'x'));  // over the 4 MiB default
  big.mutable_actor()->set_id("u:alice");
  v1::Client resp;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    triad::testing::WithBearer(&ctx, token);
    grpc::Status s = clients_->CreateClient(&ctx, big, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  }
  EXPECT_TRUE(ListClients(kit_.Token("u:pm", {"production_manager"})).ok());
}

// RunBinary runs `command` through the shell (stderr folded into stdout) and returns its exit
// status and output.
std::pair<int, std::string> RunBinary(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  return {pclose(pipe), out};
}

TEST(RunServiceAuthTest, RefusesToStartHalfSecured) {
  triad::testing::TempDir dir;
  AuthKit kit(dir.path());
  triad::testing::TestPki pki(dir.Sub("pki"));
  const std::string base = absl::StrCat(TRIAD_CLIENTS_BIN, " --data_dir=", dir.Sub("db"),
                                        " --grpc_port=0 --admin_port=-1");
  // The default (--auth_mode=jwt) without TLS: tokens would travel in plaintext.
  auto [code, out] = RunBinary(base);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("refusing to start"), std::string::npos) << out;
  EXPECT_NE(out.find("--tls_cert_file"), std::string::npos) << out;
  // TLS but no issuer.
  const std::string tls = absl::StrCat(" --tls_cert_file=", pki.server_cert_file(),
                                       " --tls_key_file=", pki.server_key_file());
  std::tie(code, out) = RunBinary(base + tls + " --auth_jwt_keys_dir=" + kit.keys_dir());
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("--auth_issuer"), std::string::npos) << out;
  // An issuer but no keys.
  std::tie(code, out) = RunBinary(base + tls + " --auth_issuer=https://x");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("--auth_jwt_keys_dir"), std::string::npos) << out;
  // A certificate without its key.
  std::tie(code, out) =
      RunBinary(base + " --tls_cert_file=" + pki.server_cert_file() + " --auth_mode=disabled");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("--tls_key_file"), std::string::npos) << out;
}

}  // namespace
}  // namespace triad::clients
