// AuthConfig: how a service process authenticates calls, from the --auth_* flags, checked
// against its transport: --auth_mode=jwt needs keys and an issuer, and plaintext gRPC is only
// allowed with --auth_mode=disabled or with --allow_plaintext on a loopback address.
#ifndef TRIAD_COMMON_SERVER_AUTH_CONFIG_H_
#define TRIAD_COMMON_SERVER_AUTH_CONFIG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/auth/authenticator.h"
#include "common/server/service_host.h"

namespace triad::server {

struct AuthConfig {
  // "jwt" or "disabled".
  std::string mode = "jwt";
  std::string jwt_keys_dir;
  std::string issuer;
  std::string audience = "triad";
  bool allow_plaintext = false;
};

// AuthConfigFromFlags reads --auth_mode, --auth_jwt_keys_dir, --auth_issuer, --auth_audience
// and --allow_plaintext.
AuthConfig AuthConfigFromFlags();

// IsLoopbackHost is true for 127.0.0.0/8, ::1 and localhost.
bool IsLoopbackHost(const std::string& host);

// BuildAuthenticator checks `config` against the server's transport and builds the
// authenticator (Authenticator::Disabled for mode "disabled", with a loud warning). Errors
// say which flag to set.
absl::StatusOr<std::shared_ptr<const auth::Authenticator>> BuildAuthenticator(
    const AuthConfig& config, const ServerOptions& server);

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_AUTH_CONFIG_H_
