// Implements the --auth_* flags' checks and the authenticator they build.
#include "common/server/auth_config.h"

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"
#include "common/config/flags.h"
#include "common/config/logging.h"

namespace triad::server {

AuthConfig AuthConfigFromFlags() {
  AuthConfig c;
  c.mode = absl::GetFlag(FLAGS_auth_mode);
  c.jwt_keys_dir = absl::GetFlag(FLAGS_auth_jwt_keys_dir);
  c.issuer = absl::GetFlag(FLAGS_auth_issuer);
  c.audience = absl::GetFlag(FLAGS_auth_audience);
  c.allow_plaintext = absl::GetFlag(FLAGS_allow_plaintext);
  return c;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::shared_ptr<const auth::Authenticator>> BuildAuthenticator(
    const AuthConfig& config, const ServerOptions& server) {
  if (absl::Status s = CheckTlsOptions(server.tls); !s.ok()) return s;
  if (config.mode == "disabled") {
    logging::Warn(
        "AUTHENTICATION IS DISABLED (--auth_mode=disabled): every caller is trusted and the "
        "request's actor stands. Development and tests only; never in production.",
        {{"service", server.service_name}, {"tls", server.tls.enabled()}});
    return auth::Authenticator::Disabled();
  }
  if (config.mode != "jwt") {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_mode must be jwt or disabled, not \"", config.mode, "\""));
  }
  if (!server.tls.enabled()) {
    if (!config.allow_plaintext) {
      return absl::InvalidArgumentError(
          "refusing to serve bearer tokens over plaintext: set --tls_cert_file and "
          "--tls_key_file (or --allow_plaintext for loopback development, or "
          "--auth_mode=disabled)");
    }
    if (!IsLoopbackHost(server.host)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--allow_plaintext is for loopback development only; --listen_host is ", server.host));
    }
    logging::Warn("serving gRPC in plaintext (--allow_plaintext): loopback development only",
                  {{"service", server.service_name}, {"host", server.host}});
  }
  absl::StatusOr<std::unique_ptr<auth::JwtVerifier>> verifier = auth::JwtVerifier::FromKeysDir(
      config.jwt_keys_dir, auth::JwtOptions{.issuer = config.issuer, .audience = config.audience});
  if (!verifier.ok()) return verifier.status();
  logging::Info("authentication: bearer tokens (JWT RS256/ES256) and mTLS service accounts",
                {{"service", server.service_name},
                 {"keys", (*verifier)->key_count()},
                 {"issuer", config.issuer},
                 {"audience", config.audience},
                 {"mtls", !server.tls.client_ca_file.empty()}});
  return auth::Authenticator::Jwt(*std::move(verifier));
}

}  // namespace triad::server
