// JwtVerifier: verifies the bearer tokens (JWT, RS256 or ES256) of gRPC calls against the
// public keys of a key directory and turns their claims into a Principal.
//
// Refused, each with its own reason: a malformed token, the algorithms `none` and HS* (also
// as the algorithm-confusion defence: the header's alg must match the key's type, so an HS256
// token "signed" with an RSA public key as the secret never verifies), an unknown `kid`, a bad
// signature, a critical header extension (`crit`), a missing or passed `exp`, a future `nbf`/`iat`
// (60 s leeway), a wrong `iss`, an `aud` without the audience, and a missing `sub`. Messages say
// why, never echo the token.
#ifndef TRIAD_COMMON_AUTH_JWT_H_
#define TRIAD_COMMON_AUTH_JWT_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"

namespace triad::auth {

// The largest bearer token accepted, in bytes.
inline constexpr size_t kMaxTokenBytes = 16 * 1024;
// The longest `sub` accepted, in bytes (the length of an id).
inline constexpr size_t kMaxSubjectBytes = 200;

// The payload key under which authentication and authorisation errors carry their short,
// fixed reason (e.g. "expired", "bad_signature", "role"): the `reason` label of
// triad_auth_denied_total.
inline constexpr char kDenialReasonPayload[] = "type.triad.dev/auth.reason";

// DenialReason is the short reason attached to `status` (kDenialReasonPayload), or "" when none.
std::string DenialReason(const absl::Status& status);

// Unauthenticated returns UNAUTHENTICATED with `message` and the short `reason` attached.
absl::Status Unauthenticated(std::string_view reason, std::string_view message);

// PermissionDenied returns PERMISSION_DENIED with `message` and the short `reason` attached.
absl::Status PermissionDenied(std::string_view reason, std::string_view message);

struct JwtOptions {
  // `iss` must equal it (required).
  std::string issuer;
  // `aud` (a string or an array) must contain it.
  std::string audience = "triad";
  // Clock skew allowed for exp, nbf and iat.
  absl::Duration leeway = absl::Seconds(60);
};

class JwtVerifier {
 public:
  explicit JwtVerifier(JwtOptions options);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // FromKeysDir loads every `<kid>.pem` of `dir` (RSA or EC P-256 public keys); fails when
  // the issuer is empty, the directory cannot be read, a key cannot be parsed or there is none.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> FromKeysDir(const std::string& dir,
                                                                  JwtOptions options);

  // AddKey adds the public key `pem` (RSA, or EC on P-256) under `kid`.
  absl::Status AddKey(std::string kid, std::string pem);

  // key_count is the number of keys loaded.
  size_t key_count() const { return keys_.size(); }

  // Verify checks `token` at time `now` and returns who it names: subject = `sub`, the known
  // roles of `roles` (unknown names are ignored), the teams of `teams`, method kJwt. Errors are
  // UNAUTHENTICATED with a reason (DenialReason).
  absl::StatusOr<Principal> Verify(std::string_view token, absl::Time now) const;

 private:
  enum class KeyType { kRsa, kEcP256 };
  struct Key {
    KeyType type;
    std::string pem;
  };
  JwtOptions options_;
  std::map<std::string, Key, std::less<>> keys_;
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_JWT_H_
