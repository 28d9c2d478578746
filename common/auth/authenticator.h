// Authenticator: who makes a gRPC call. A bearer token (`authorization: Bearer <JWT>`) is
// verified by JwtVerifier; a call without one that arrived with a verified mTLS client
// certificate is the service account named by the certificate's CN (role `service`). With
// authentication disabled (development and tests only) every call is the anonymous principal
// of AuthMethod::kNone and the request's actor stands.
#ifndef TRIAD_COMMON_AUTH_AUTHENTICATOR_H_
#define TRIAD_COMMON_AUTH_AUTHENTICATOR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/jwt.h"
#include "common/auth/principal.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace triad::auth {

// What a call presented: its `authorization` metadata values and the verified client
// certificate's CN, if any.
struct Credentials {
  // Every `authorization` metadata value of the call (more than one is refused).
  std::vector<std::string> authorization;
  // The common name of a client certificate the TLS handshake verified; nullopt without one.
  std::optional<std::string> certificate_cn;
};

// CredentialsOf reads the credentials of a server call (`ctx` may be null: none).
Credentials CredentialsOf(const grpc::ServerContextBase* ctx);

class Authenticator {
 public:
  // Disabled makes an authenticator that authenticates everyone as the kNone principal.
  static std::shared_ptr<const Authenticator> Disabled();

  // Jwt makes an authenticator that verifies bearer tokens with `verifier` and accepts mTLS
  // client certificates as service accounts; `clock` is the time tokens are checked at.
  static std::shared_ptr<const Authenticator> Jwt(
      std::unique_ptr<JwtVerifier> verifier,
      std::function<absl::Time()> clock = [] { return absl::Now(); });

  ~Authenticator();

  // disabled is true for the authenticator of --auth_mode=disabled.
  bool disabled() const { return verifier_ == nullptr; }

  // Authenticate returns the principal `credentials` prove, or UNAUTHENTICATED saying why
  // (with a DenialReason).
  absl::StatusOr<Principal> Authenticate(const Credentials& credentials) const;

  // AuthenticateCall is Authenticate on the credentials of a server call.
  absl::StatusOr<Principal> AuthenticateCall(const grpc::ServerContextBase* ctx) const;

 private:
  Authenticator(std::unique_ptr<JwtVerifier> verifier, std::function<absl::Time()> clock);

  std::unique_ptr<JwtVerifier> verifier_;
  std::function<absl::Time()> clock_;
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_AUTHENTICATOR_H_
