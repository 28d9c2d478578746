// Unit tests of authentication and the request guard's parts: JwtVerifier (every refusal and
// its reason, no token echoed), Authenticator (bearer first, mTLS service accounts, disabled
// mode), Policy (default deny, implied roles), actor stamping, the guard's ownership denial and
// the start-up checks of the --auth_* and --tls_* flags.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/auth/authenticator.h"
#include "common/auth/denials.h"
#include "common/auth/guard.h"
#include "common/auth/jwt.h"
#include "common/auth/policy.h"
#include "common/config/logging.h"
#include "common/server/auth_config.h"
#include "common/server/denial_log.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "tests/testing/auth_testing.h"
#include "tests/testing/test_env.h"
#include "triad/clients/v1/clients_service.pb.h"

namespace triad::auth {
namespace {

using nlohmann::json;
using triad::testing::AuthKit;
using triad::testing::MintToken;
using triad::testing::TokenAlg;

class JwtVerifierTest : public ::testing::Test {
 protected:
  JwtVerifierTest() : kit_(dir_.path()) {
    auto v = JwtVerifier::FromKeysDir(kit_.keys_dir(), JwtOptions{.issuer = testing::kTestIssuer});
    EXPECT_TRUE(v.ok()) << v.status();
    if (v.ok()) verifier_ = *std::move(v);
  }

  // Refused expects `token` to be refused with `reason`, a message containing `says`, and
  // the token nowhere in the message.
  void ExpectRefused(const std::string& token, const std::string& reason, const std::string& says) {
    absl::StatusOr<Principal> p = verifier_->Verify(token, absl::Now());
    ASSERT_FALSE(p.ok()) << "accepted: " << reason;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(DenialReason(p.status()), reason) << p.status();
    EXPECT_NE(p.status().message().find(says), std::string::npos) << p.status();
    if (token.size() > 10) {
      EXPECT_EQ(p.status().ToString().find(token), std::string::npos) << "token echoed";
    }
  }

  testing::TempDir dir_;
  AuthKit kit_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtVerifierTest, AcceptsRs256AndEs256WithRolesAndTeams) {
  json claims = AuthKit::Claims("u:alice", {"sales", "no_such_role", "sales"}, {"t:east"});
  absl::StatusOr<Principal> rs = verifier_->Verify(kit_.Signed(claims), absl::Now());
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(rs->subject, "u:alice");
  EXPECT_EQ(rs->roles, std::vector<Role>{Role::kSales});  // unknown ignored, no duplicates
  EXPECT_EQ(rs->teams, std::vector<std::string>{"t:east"});
  EXPECT_EQ(rs->method, AuthMethod::kJwt);

  claims["aud"] = json::array({"other", "triad"});
  claims["roles"] = json::array({"operator"});
  absl::StatusOr<Principal> es = verifier_->Verify(kit_.SignedEc(claims), absl::Now());
  ASSERT_TRUE(es.ok()) << es.status();
  EXPECT_EQ(es->roles, std::vector<Role>{Role::kOperator});
}

TEST_F(JwtVerifierTest, RefusesUnsignedAndSymmetricTokens) {
  json claims = AuthKit::Claims("u:alice", {"operator"});
  ExpectRefused(MintToken({.alg = TokenAlg::kNone, .kid = "rsa", .claims = claims}), "alg_refused",
                "alg none");
  ExpectRefused(
      MintToken({.alg = TokenAlg::kHs256, .kid = "rsa", .key = "secret", .claims = claims}),
      "alg_refused", "HS");
  // Algorithm confusion: HS256 "signed" with the RSA public key (what a verifier that trusts
  // the header's alg would accept).
  ExpectRefused(
      MintToken(
          {.alg = TokenAlg::kHs256, .kid = "rsa", .key = kit_.rsa().public_pem, .claims = claims}),
      "alg_refused", "HS");
}

TEST_F(JwtVerifierTest, RefusesAlgorithmNotMatchingTheKeyType) {
  json claims = AuthKit::Claims("u:alice", {"operator"});
  // An RS256 token naming the EC key.
  ExpectRefused(
      MintToken(
          {.alg = TokenAlg::kRs256, .kid = "ec", .key = kit_.rsa().private_pem, .claims = claims}),
      "alg_refused", "does not match");
  ExpectRefused(
      MintToken(
          {.alg = TokenAlg::kEs256, .kid = "rsa", .key = kit_.ec().private_pem, .claims = claims}),
      "alg_refused", "does not match");
}

TEST_F(JwtVerifierTest, RefusesForeignSignatureAndUnknownKid) {
  json claims = AuthKit::Claims("u:alice", {"operator"});
  testing::PemKeyPair other = testing::GenerateRsaKey();
  ExpectRefused(
      MintToken(
          {.alg = TokenAlg::kRs256, .kid = "rsa", .key = other.private_pem, .claims = claims}),
      "bad_signature", "signature");
  ExpectRefused(
      MintToken(
          {.alg = TokenAlg::kRs256, .kid = "nope", .key = other.private_pem, .claims = claims}),
      "unknown_key", "kid");
  ExpectRefused(
      MintToken({.alg = TokenAlg::kRs256, .key = kit_.rsa().private_pem, .claims = claims}),
      "unknown_key", "no kid");
  // A critical header extension the verifier does not know.
  ExpectRefused(MintToken({.alg = TokenAlg::kRs256,
                           .kid = "rsa",
                           .key = kit_.rsa().private_pem,
                           .claims = claims,
                           .headers = {{"crit", json::array({"exp"})}, {"exp", 1}}}),
                "malformed", "crit");
  // A valid token with its payload swapped for another one's.
  std::string good = kit_.Signed(claims);
  std::string admin = kit_.Signed(AuthKit::Claims("u:mallory", {"operator"}));
  std::string spliced = good.substr(0, good.find('.')) +
                        admin.substr(admin.find('.'), admin.rfind('.') - admin.find('.')) +
                        good.substr(good.rfind('.'));
  ExpectRefused(spliced, "bad_signature", "signature");
}

TEST_F(JwtVerifierTest, RefusesBadTimes) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  json claims = AuthKit::Claims("u:alice", {"sales"});
  claims["exp"] = now - 120;
  ExpectRefused(kit_.Signed(claims), "expired", "token expired");
  claims["exp"] = now - 30;  // within the 60 s leeway
  EXPECT_TRUE(verifier_->Verify(kit_.Signed(claims), absl::Now()).ok());
  claims.erase("exp");
  ExpectRefused(kit_.Signed(claims), "malformed", "no exp");
  claims["exp"] = "tomorrow";
  ExpectRefused(kit_.Signed(claims), "malformed", "exp is not a number");
  claims["exp"] = now + 3600;
  claims["nbf"] = now + 600;
  ExpectRefused(kit_.Signed(claims), "not_yet_valid", "not yet valid");
  claims["nbf"] = now + 30;  // within the leeway
  EXPECT_TRUE(verifier_->Verify(kit_.Signed(claims), absl::Now()).ok());
  claims.erase("nbf");
  claims["iat"] = now + 600;
  ExpectRefused(kit_.Signed(claims), "not_yet_valid", "iat");
}

TEST_F(JwtVerifierTest, RefusesWrongIssuerAudienceAndMissingSubject) {
  json claims = AuthKit::Claims("u:alice", {"sales"});
  json wrong = claims;
  wrong["iss"] = "https://evil.example";
  ExpectRefused(kit_.Signed(wrong), "wrong_issuer", "issuer");
  wrong = claims;
  wrong.erase("iss");
  ExpectRefused(kit_.Signed(wrong), "wrong_issuer", "issuer");
  wrong = claims;
  wrong["aud"] = "other";
  ExpectRefused(kit_.Signed(wrong), "wrong_audience", "audience");
  wrong["aud"] = json::array({"a", "b"});
  ExpectRefused(kit_.Signed(wrong), "wrong_audience", "audience");
  wrong = claims;
  wrong.erase("aud");
  ExpectRefused(kit_.Signed(wrong), "wrong_audience", "audience");
  wrong = claims;
  wrong.erase("sub");
  ExpectRefused(kit_.Signed(wrong), "no_subject", "no sub");
  wrong["sub"] = "";
  ExpectRefused(kit_.Signed(wrong), "no_subject", "no sub");
  wrong["sub"] = std::string(300, 'x');
  ExpectRefused(kit_.Signed(wrong), "malformed", "sub");
  wrong = claims;
  wrong["roles"] = "operator";
  ExpectRefused(kit_.Signed(wrong), "malformed", "roles");
}

TEST_F(JwtVerifierTest, RefusesMalformedTokensWithoutCrashing) {
  ExpectRefused("", "no_token", "empty");
  ExpectRefused("abc", "malformed", "malformed");
  ExpectRefused("a.b.c", "malformed", "malformed");
  ExpectRefused("..", "malformed", "malformed");
  ExpectRefused("eyJhbGciOiJSUzI1NiJ9.e30.", "unknown_key", "kid");
  ExpectRefused("e30.e30.e30", "malformed", "no alg");
  ExpectRefused(std::string(kMaxTokenBytes + 1, 'a'), "malformed", "too long");
  std::string good = kit_.Token("u:alice", {"sales"});
  ExpectRefused(good + ".x", "malformed", "malformed");
  ExpectRefused(good.substr(0, good.size() - 4), "bad_signature", "signature");
}

TEST(JwtVerifierKeysTest, FromKeysDirRefusesMissingIssuerEmptyDirAndBadKeys) {
  testing::TempDir dir;
  EXPECT_FALSE(JwtVerifier::FromKeysDir(dir.path(), JwtOptions{}).ok());  // no issuer
  auto none = JwtVerifier::FromKeysDir(dir.path(), JwtOptions{.issuer = "i"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no <kid>.pem"), std::string::npos);
  EXPECT_FALSE(JwtVerifier::FromKeysDir(dir.Sub("missing"), JwtOptions{.issuer = "i"}).ok());
  std::ofstream(dir.Sub("bad.pem")) << "not a key";
  auto bad = JwtVerifier::FromKeysDir(dir.path(), JwtOptions{.issuer = "i"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.pem"), std::string::npos);
  JwtVerifier v(JwtOptions{.issuer = "i"});
  EXPECT_FALSE(v.AddKey("private", testing::GenerateRsaKey().private_pem).ok());
  EXPECT_TRUE(v.AddKey("ec", testing::GenerateEcKey().public_pem).ok());
}

class AuthenticatorTest : public JwtVerifierTest {
 protected:
  std::shared_ptr<const Authenticator> Jwt() {
    auto v = JwtVerifier::FromKeysDir(kit_.keys_dir(), JwtOptions{.issuer = testing::kTestIssuer});
    EXPECT_TRUE(v.ok());
    return Authenticator::Jwt(*std::move(v));
  }
};

TEST_F(AuthenticatorTest, BearerTokenFirstThenClientCertificate) {
  auto authn = Jwt();
  std::string token = kit_.Token("u:alice", {"sales"});
  auto p = authn->Authenticate({.authorization = {"Bearer " + token}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->subject, "u:alice");
  // "bearer" is case-insensitive; the token wins over a certificate.
  p = authn->Authenticate({.authorization = {"bearer " + token}, .certificate_cn = "svc"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->subject, "u:alice");
  p = authn->Authenticate({.certificate_cn = "triad-pipeline"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->subject, "triad-pipeline");
  EXPECT_EQ(p->roles, std::vector<Role>{Role::kService});
  EXPECT_EQ(p->method, AuthMethod::kMtls);
}

TEST_F(AuthenticatorTest, RefusesMissingDuplicateAndNonBearerCredentials) {
  auto authn = Jwt();
  std::string token = kit_.Token("u:alice", {"sales"});
  auto p = authn->Authenticate({});
  EXPECT_EQ(DenialReason(p.status()), "no_token");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
  p = authn->Authenticate({.authorization = {"Bearer " + token, "Bearer " + token}});
  EXPECT_EQ(DenialReason(p.status()), "malformed");
  p = authn->Authenticate({.authorization = {"Basic dXNlcjpwdw=="}});
  EXPECT_EQ(DenialReason(p.status()), "malformed");
  p = authn->Authenticate({.authorization = {"Bearer"}});
  EXPECT_FALSE(p.ok());
  p = authn->Authenticate({.certificate_cn = ""});
  EXPECT_FALSE(p.ok());
}

TEST(AuthenticatorDisabledTest, EveryoneIsTheAnonymousPrincipal) {
  auto authn = Authenticator::Disabled();
  EXPECT_TRUE(authn->disabled());
  auto p = authn->Authenticate({});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->method, AuthMethod::kNone);
  EXPECT_TRUE(SeesEverything(*p));
}

TEST(PolicyTest, DefaultDenyAndImpliedRoles) {
  Policy api("x.Api", PolicyKind::kServiceApi,
             {{"Read", kSellers | kReadEverything}, {"Write", RoleSet{Role::kSalesManager}}});
  EXPECT_TRUE(api.Allowed("Read", {Role::kSales}));
  EXPECT_TRUE(api.Allowed("Read", {Role::kExpert, Role::kProductHead}));
  EXPECT_FALSE(api.Allowed("Read", {Role::kExpert}));
  EXPECT_FALSE(api.Allowed("Write", {Role::kSales}));
  EXPECT_TRUE(api.Allowed("Write", {Role::kService}));
  EXPECT_TRUE(api.Allowed("Write", {Role::kOperator}));
  EXPECT_FALSE(api.Allowed("Write", {}));
  EXPECT_FALSE(api.Allowed("Unlisted", {Role::kOperator, Role::kService}));
  Policy admin("x.Admin", PolicyKind::kAdminApi, {{"Scan", {}}});
  EXPECT_TRUE(admin.Allowed("Scan", {Role::kOperator}));
  EXPECT_FALSE(admin.Allowed("Scan", {Role::kService}));
  EXPECT_FALSE(admin.Allowed("Scan", {Role::kSalesManager}));
  EXPECT_EQ(admin.RolesFor("Scan").Names(), std::vector<std::string_view>{"operator"});
}

TEST(StampActorTest, OverwritesTheActorIdAndKeepsTheReason) {
  clients::v1::CreateClientRequest req;
  req.mutable_actor()->set_id("u:mallory");
  req.mutable_actor()->set_reason("trade fair");
  EXPECT_TRUE(HasActorField(req.GetDescriptor()));
  EXPECT_TRUE(StampActor("u:alice", &req));
  EXPECT_EQ(req.actor().id(), "u:alice");
  EXPECT_EQ(req.actor().reason(), "trade fair");
  clients::v1::CreateClientRequest unset;
  EXPECT_TRUE(StampActor("u:alice", &unset));
  EXPECT_EQ(unset.actor().id(), "u:alice");
  clients::v1::GetClientRequest get;
  EXPECT_FALSE(HasActorField(get.GetDescriptor()));
  EXPECT_FALSE(StampActor("u:alice", &get));
}

// DenyAll is a ResourceAccess refusing every call, remembering what it saw.
class DenyAll : public ResourceAccess {
 public:
  absl::Status CheckRequest(const Principal& principal, std::string_view method,
                            const google::protobuf::Message&) override {
    seen_method = std::string(method);
    return absl::PermissionDeniedError("client c1 belongs to another team");
  }
  std::string seen_method;
};

TEST(GuardTest, OwnershipDenialIsCountedAndTheDomainIsNotCalled) {
  Policy policy("x.Api", PolicyKind::kServiceApi, {{"GetClient", kSellers}});
  DenyAll access;
  Guard guard("guardtest", policy, CallSecurity{.access = &access});
  const double before = DeniedCount("guardtest", "GetClient", "ownership");
  clients::v1::GetClientRequest req;
  req.set_client_id("c1");
  clients::v1::Client resp;
  bool called = false;
  grpc::Status s = guard.Call(nullptr, "GetClient", req, &resp, [&](const auto&) {
    called = true;
    return absl::StatusOr<clients::v1::Client>(clients::v1::Client());
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(called);
  EXPECT_EQ(access.seen_method, "GetClient");
  EXPECT_EQ(DeniedCount("guardtest", "GetClient", "ownership"), before + 1);
}

TEST(GuardTest, BadIdIsInvalidArgumentBeforeTheDomain) {
  Policy policy("x.Api", PolicyKind::kServiceApi, {{"GetClient", kSellers}});
  Guard guard("guardtest", policy, CallSecurity{});
  clients::v1::GetClientRequest req;
  req.set_client_id(std::string(500, 'x'));
  clients::v1::Client resp;
  bool called = false;
  grpc::Status s = guard.Call(nullptr, "GetClient", req, &resp, [&](const auto&) {
    called = true;
    return absl::StatusOr<clients::v1::Client>(clients::v1::Client());
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("client_id"), std::string::npos);
  EXPECT_FALSE(called);
}

TEST(DenialAuditTest, WritesAnAuditLineAndCounts) {
  logging::Init("authtest", "info");
  const double before = DeniedCount("audittest", "GetClient", "expired");
  ::testing::internal::CaptureStderr();
  AuditDenial(Denial{.service = "audittest",
                     .method = "GetClient",
                     .reason = "expired",
                     .subject = "",
                     .peer = "ipv4:127.0.0.1:40000",
                     .code = absl::StatusCode::kUnauthenticated,
                     .message = "token expired",
                     .time = absl::Now()});
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(DeniedCount("audittest", "GetClient", "expired"), before + 1);
  bool found = false;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    json line = json::parse(out.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (line.is_discarded() || line.value("audit", "") != "access_denied") continue;
    found = true;
    EXPECT_EQ(line.value("method", ""), "GetClient");
    EXPECT_EQ(line.value("reason", ""), "expired");
    EXPECT_EQ(line.value("code", ""), "UNAUTHENTICATED");
    EXPECT_EQ(line.value("peer", ""), "ipv4:127.0.0.1:40000");
    EXPECT_FALSE(line.value("time", "").empty());
    EXPECT_TRUE(line.contains("subject"));
  }
  EXPECT_TRUE(found) << out;
}

Denial MakeDenial(int i) {
  return Denial{.service = "clients",
                .method = "GetClient",
                .reason = "role",
                .subject = "u:" + std::to_string(i),
                .peer = "ipv4:127.0.0.1:1",
                .code = absl::StatusCode::kPermissionDenied,
                .message = "role sales may not call GetClient",
                .time = absl::Now()};
}

TEST(DenialLogTest, KeepsTheNewestBoundedAndListsNewestFirstAcrossReopen) {
  testing::TempDir dir;
  storage::StoreOptions so;
  so.path = dir.Sub("db");
  {
    auto store = storage::Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    auto log = server::DenialLog::Open(store->get(), /*keep=*/150);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 1; i <= 250; ++i) (*log)->Keep(MakeDenial(i));
    auto all = (*log)->List(1000, "");
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), 150u);
    EXPECT_EQ(all->front().second.sequence(), 250u);
    EXPECT_EQ(all->front().second.subject(), "u:250");
    EXPECT_EQ(all->front().second.code(), "PERMISSION_DENIED");
    EXPECT_EQ(all->back().second.sequence(), 101u);
    // Paging: after the 10th key comes the 11th newest.
    auto page = (*log)->List(5, (*all)[9].first);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->size(), 5u);
    EXPECT_EQ(page->front().second.sequence(), 240u);
  }
  auto store = storage::Store::Open(so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto log = server::DenialLog::Open(store->get(), /*keep=*/150);
  ASSERT_TRUE(log.ok());
  (*log)->Keep(MakeDenial(251));
  auto all = (*log)->List(1000, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 150u);
  EXPECT_EQ(all->front().second.sequence(), 251u);
  EXPECT_EQ(all->back().second.sequence(), 102u);
}

TEST(AuthConfigTest, RefusesToStartHalfSecured) {
  testing::TempDir dir;
  AuthKit kit(dir.path());
  server::ServerOptions plain;
  plain.host = "127.0.0.1";
  server::AuthConfig jwt{
      .mode = "jwt", .jwt_keys_dir = kit.keys_dir(), .issuer = testing::kTestIssuer};
  // Tokens over plaintext: refused unless --allow_plaintext on loopback.
  auto s = server::BuildAuthenticator(jwt, plain);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--tls_cert_file"), std::string::npos);
  server::AuthConfig dev = jwt;
  dev.allow_plaintext = true;
  EXPECT_TRUE(server::BuildAuthenticator(dev, plain).ok());
  server::ServerOptions exposed = plain;
  exposed.host = "0.0.0.0";
  EXPECT_FALSE(server::BuildAuthenticator(dev, exposed).ok());
  // jwt without keys or issuer.
  server::ServerOptions tls = plain;
  tls.tls.cert_file = "c.pem";
  tls.tls.key_file = "k.pem";
  server::AuthConfig no_issuer = jwt;
  no_issuer.issuer = "";
  EXPECT_FALSE(server::BuildAuthenticator(no_issuer, tls).ok());
  server::AuthConfig no_keys = jwt;
  no_keys.jwt_keys_dir = "";
  EXPECT_FALSE(server::BuildAuthenticator(no_keys, tls).ok());
  EXPECT_TRUE(server::BuildAuthenticator(jwt, tls).ok());
  // Disabled is allowed over plaintext; an unknown mode is not.
  auto disabled = server::BuildAuthenticator(server::AuthConfig{.mode = "disabled"}, plain);
  ASSERT_TRUE(disabled.ok());
  EXPECT_TRUE((*disabled)->disabled());
  EXPECT_FALSE(server::BuildAuthenticator(server::AuthConfig{.mode = "none"}, plain).ok());
  // Incomplete TLS.
  server::ServerOptions half = plain;
  half.tls.cert_file = "c.pem";
  EXPECT_FALSE(server::BuildAuthenticator(server::AuthConfig{.mode = "disabled"}, half).ok());
  server::ServerOptions require = tls;
  require.tls.require_client_cert = true;
  EXPECT_FALSE(server::BuildAuthenticator(jwt, require).ok());
}

}  // namespace
}  // namespace triad::auth
