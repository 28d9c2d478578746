// JwtVerifier: verifies the bearer tokens (JWT, RS256 or ES256) of gRPC calls against the
// public keys of a key directory and turns their claims into a Principal.
//
// Refused, each with its own reason: a malformed token, the algorithms `none` and HS* (also
// as the algorithm-confusion defence: the header's alg must match the key's type, so an HS256
// token "signed" with an RSA public key as the secret never verifies), an unknown `kid`, a bad
// signature, a critical header extension (`crit`), a missing or passed `exp`, a future `nbf`/`iat`
// (60 s leeway), a wrong `iss`, an `aud` without the audience, and a missing `sub`. Messages say
// why, never echo the token.
//
// Verified tokens are remembered (VerifiedTokenCache, keyed by the exact token): the same token
// presented again within its validity is answered without parsing and checking the signature
// again. A different or tampered token is another key and is verified in full.
#ifndef TRIAD_COMMON_AUTH_JWT_H_
#define TRIAD_COMMON_AUTH_JWT_H_

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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
  // How many verified tokens are remembered (VerifiedTokenCache); 0 verifies every call in full.
  size_t token_cache_capacity = 4096;
};

// VerifiedTokenCache remembers the principals of tokens that verified, keyed by the exact token
// bytes (compared in full: a lookup never trusts a hash alone), each only for the window it was
// valid in (never past its `exp`). It holds at most `capacity` entries of at most
// kMaxTokenBytes each: sixteen shards chosen by the token's hash, each with its own mutex
// (little contention), each emptied when full. Thread-safe.
class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t capacity);
  VerifiedTokenCache(const VerifiedTokenCache&) = delete;
  VerifiedTokenCache& operator=(const VerifiedTokenCache&) = delete;

  // Lookup returns the principal remembered for `token` when `now` lies in [valid_from,
  // valid_until) of its entry; nullopt otherwise (an entry past its end is dropped).
  std::optional<Principal> Lookup(std::string_view token, absl::Time now) const;

  // Insert remembers `principal` for `token` from `valid_from` until (before) `valid_until`.
  void Insert(std::string_view token, const Principal& principal, absl::Time valid_from,
              absl::Time valid_until);

  // Clear forgets every entry.
  void Clear();

  // size is the number of entries remembered.
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    Principal principal;
    absl::Time valid_from;
    absl::Time valid_until;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, Entry> entries ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(std::string_view token) const;

  size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
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

  // AddKey adds the public key `pem` (RSA, or EC on P-256) under `kid`; it forgets every
  // remembered token (the cache never outlives the key set it was verified against).
  absl::Status AddKey(std::string kid, std::string pem);

  // key_count is the number of keys loaded.
  size_t key_count() const { return keys_.size(); }

  // Verify checks `token` at time `now` and returns who it names: subject = `sub`, the known
  // roles of `roles` (unknown names are ignored), the teams of `teams`, method kJwt. Errors are
  // UNAUTHENTICATED with a reason (DenialReason). A token verified before and still inside its
  // validity window is answered from the token cache.
  absl::StatusOr<Principal> Verify(std::string_view token, absl::Time now) const;

  // cached_tokens is the number of verified tokens remembered (0 without a cache).
  size_t cached_tokens() const { return cache_ ? cache_->size() : 0; }

 private:
  // VerifyInFull is Verify without the cache; on success it sets the window in which the token
  // is valid (`*valid_from`: nbf/iat less the leeway; `*valid_until`: exp).
  absl::StatusOr<Principal> VerifyInFull(std::string_view token, absl::Time now,
                                         absl::Time* valid_from, absl::Time* valid_until) const;

  enum class KeyType { kRsa, kEcP256 };
  struct Key {
    KeyType type;
    std::string pem;
  };
  JwtOptions options_;
  std::map<std::string, Key, std::less<>> keys_;
  std::unique_ptr<VerifiedTokenCache> cache_;
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_JWT_H_
