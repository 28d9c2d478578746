// Implements Authenticator: bearer tokens first, then the verified client certificate.
#include "common/auth/authenticator.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/auth_context.h"

namespace triad::auth {

Credentials CredentialsOf(const grpc::ServerContextBase* ctx) {
  Credentials c;
  if (ctx == nullptr) return c;
  const auto& metadata = ctx->client_metadata();
  auto [begin, end] = metadata.equal_range("authorization");
  for (auto it = begin; it != end; ++it) {
    c.authorization.emplace_back(it->second.data(), it->second.size());
  }
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    // The SSL transport sets the peer identity only for a client certificate it verified.
    std::vector<grpc::string_ref> cn = auth->FindPropertyValues("x509_common_name");
    if (!cn.empty()) c.certificate_cn = std::string(cn.front().data(), cn.front().size());
  }
  return c;
}

std::shared_ptr<const Authenticator> Authenticator::Disabled() {
  return std::shared_ptr<const Authenticator>(new Authenticator(nullptr, nullptr));
}

std::shared_ptr<const Authenticator> Authenticator::Jwt(std::unique_ptr<JwtVerifier> verifier,
                                                        std::function<absl::Time()> clock) {
  return std::shared_ptr<const Authenticator>(
      new Authenticator(std::move(verifier), std::move(clock)));
}

Authenticator::Authenticator(std::unique_ptr<JwtVerifier> verifier,
                             std::function<absl::Time()> clock)
    : verifier_(std::move(verifier)), clock_(std::move(clock)) {}

Authenticator::~Authenticator() = default;

absl::StatusOr<Principal> Authenticator::Authenticate(const Credentials& credentials) const {
  if (disabled()) return Principal{.method = AuthMethod::kNone};
  if (credentials.authorization.size() > 1) {
    return Unauthenticated("malformed", "more than one authorization header");
  }
  if (credentials.authorization.size() == 1) {
    absl::string_view value = credentials.authorization.front();
    constexpr absl::string_view kBearer = "bearer ";
    if (value.size() < kBearer.size() ||
        !absl::EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
      return Unauthenticated("malformed", "authorization is not a Bearer token");
    }
    absl::string_view token = absl::StripAsciiWhitespace(value.substr(kBearer.size()));
    return verifier_->Verify(std::string_view(token.data(), token.size()), clock_());
  }
  if (credentials.certificate_cn.has_value()) {
    const std::string& cn = *credentials.certificate_cn;
    if (cn.empty() || cn.size() > kMaxSubjectBytes) {
      return Unauthenticated("malformed", "client certificate CN is not a valid id");
    }
    for (unsigned char ch : cn) {
      if (ch < 0x20 || ch == 0x7f) {
        return Unauthenticated("malformed", "client certificate CN is not a valid id");
      }
    }
    return Principal{.subject = cn, .roles = {Role::kService}, .method = AuthMethod::kMtls};
  }
  return Unauthenticated("no_token", "no bearer token (authorization: Bearer <JWT>)");
}

absl::StatusOr<Principal> Authenticator::AuthenticateCall(
    const grpc::ServerContextBase* ctx) const {
  if (disabled()) return Principal{.method = AuthMethod::kNone};
  return Authenticate(CredentialsOf(ctx));
}

}  // namespace triad::auth
