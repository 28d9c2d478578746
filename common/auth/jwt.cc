// Implements JwtVerifier: JOSE header checks (alg, kid) before libjwt verifies the signature,
// then the registered claims (exp, nbf, iat, iss, aud, sub) and Triad's roles and teams; and
// VerifiedTokenCache, which remembers the tokens that passed.
#include "common/auth/jwt.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/util/strings.h"
#include "nlohmann/json.hpp"

namespace triad::auth {
namespace {

using Json = nlohmann::json;

// DecodeJsonPart decodes one base64url part of a compact JWS into a JSON object.
std::optional<Json> DecodeJsonPart(absl::string_view part) {
  std::string raw;
  if (part.empty() || !absl::WebSafeBase64Unescape(part, &raw)) return std::nullopt;
  Json json = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

// NumericDate reads a NumericDate claim: nullopt when absent; an error when not a number.
absl::StatusOr<std::optional<absl::Time>> NumericDate(const Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return std::optional<absl::Time>();
  if (!it->is_number()) {
    return Unauthenticated("malformed", absl::StrCat("token claim ", name, " is not a number"));
  }
  double seconds = it->get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) {
    return Unauthenticated("malformed", absl::StrCat("token claim ", name, " is out of range"));
  }
  return std::optional<absl::Time>(absl::FromUnixSeconds(static_cast<int64_t>(seconds)));
}

// StringList reads a claim that is a string array (a missing claim is empty); non-string
// items make it malformed.
absl::StatusOr<std::vector<std::string>> StringList(const Json& claims, const char* name) {
  std::vector<std::string> out;
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return out;
  if (!it->is_array()) {
    return Unauthenticated("malformed", absl::StrCat("token claim ", name, " is not an array"));
  }
  for (const Json& item : *it) {
    if (!item.is_string()) {
      return Unauthenticated("malformed",
                             absl::StrCat("token claim ", name, " holds a non-string item"));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool HasControlCharacter(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string DenialReason(const absl::Status& status) {
  auto reason = status.GetPayload(kDenialReasonPayload);
  return reason.has_value() ? std::string(*reason) : std::string();
}

absl::Status Unauthenticated(std::string_view reason, std::string_view message) {
  absl::Status s = absl::UnauthenticatedError(std::string(message));
  s.SetPayload(kDenialReasonPayload, absl::Cord(std::string(reason)));
  return s;
}

absl::Status PermissionDenied(std::string_view reason, std::string_view message) {
  absl::Status s = absl::PermissionDeniedError(std::string(message));
  s.SetPayload(kDenialReasonPayload, absl::Cord(std::string(reason)));
  return s;
}

VerifiedTokenCache::VerifiedTokenCache(size_t capacity)
    : shard_capacity_(std::max<size_t>(1, (capacity + kShards - 1) / kShards)) {}

VerifiedTokenCache::Shard& VerifiedTokenCache::ShardOf(std::string_view token) const {
  return shards_[absl::Hash<absl::string_view>{}(util::AsAbsl(token)) % kShards];
}

std::optional<Principal> VerifiedTokenCache::Lookup(std::string_view token, absl::Time now) const {
  Shard& shard = ShardOf(token);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(util::AsAbsl(token));
  if (it == shard.entries.end()) return std::nullopt;
  if (now >= it->second.valid_until) {
    shard.entries.erase(it);
    return std::nullopt;
  }
  if (now < it->second.valid_from) return std::nullopt;
  return it->second.principal;
}

void VerifiedTokenCache::Insert(std::string_view token, const Principal& principal,
                                absl::Time valid_from, absl::Time valid_until) {
  if (valid_until <= valid_from || token.empty() || token.size() > kMaxTokenBytes) return;
  Shard& shard = ShardOf(token);
  absl::MutexLock lock(&shard.mu);
  if (shard.entries.size() >= shard_capacity_ && !shard.entries.contains(util::AsAbsl(token))) {
    shard.entries.clear();
  }
  shard.entries.insert_or_assign(std::string(token), Entry{principal, valid_from, valid_until});
}

void VerifiedTokenCache::Clear() {
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    shard.entries.clear();
  }
}

size_t VerifiedTokenCache::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    n += shard.entries.size();
  }
  return n;
}

JwtVerifier::JwtVerifier(JwtOptions options) : options_(std::move(options)) {
  if (options_.token_cache_capacity > 0) {
    cache_ = std::make_unique<VerifiedTokenCache>(options_.token_cache_capacity);
  }
}

JwtVerifier::~JwtVerifier() = default;

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::FromKeysDir(const std::string& dir,
                                                                      JwtOptions options) {
  if (options.issuer.empty()) {
    return absl::InvalidArgumentError("--auth_issuer is required with --auth_mode=jwt");
  }
  if (options.audience.empty()) {
    return absl::InvalidArgumentError("--auth_audience must not be empty");
  }
  if (dir.empty()) {
    return absl::InvalidArgumentError("--auth_jwt_keys_dir is required with --auth_mode=jwt");
  }
  auto verifier = std::make_unique<JwtVerifier>(std::move(options));
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read --auth_jwt_keys_dir ", dir, ": ", ec.message()));
  }
  for (const auto& entry : it) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != ".pem" || !entry.is_regular_file()) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
    if (absl::Status s = verifier->AddKey(path.stem().string(), pem.str()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", s.message()));
    }
  }
  if (verifier->key_count() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no <kid>.pem public key in --auth_jwt_keys_dir ", dir));
  }
  return verifier;
}

absl::Status JwtVerifier::AddKey(std::string kid, std::string pem) {
  if (kid.empty()) return absl::InvalidArgumentError("a key needs a kid");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return absl::InvalidArgumentError("not a PEM public key");
  absl::Status status = absl::OkStatus();
  KeyType type = KeyType::kRsa;
  switch (EVP_PKEY_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_bits(key) < 2048) status = absl::InvalidArgumentError("RSA key below 2048 bits");
      type = KeyType::kRsa;
      break;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1 ||
          (std::string_view(group) != "prime256v1" && std::string_view(group) != "P-256")) {
        status = absl::InvalidArgumentError("EC key not on P-256");
      }
      type = KeyType::kEcP256;
      break;
    }
    default:
      status = absl::InvalidArgumentError("neither an RSA nor an EC public key");
  }
  EVP_PKEY_free(key);
  if (!status.ok()) return status;
  keys_[std::move(kid)] = Key{type, std::move(pem)};
  if (cache_) cache_->Clear();
  return absl::OkStatus();
}

absl::StatusOr<Principal> JwtVerifier::Verify(std::string_view token, absl::Time now) const {
  if (cache_ == nullptr || token.empty() || token.size() > kMaxTokenBytes) {
    absl::Time from, until;
    return VerifyInFull(token, now, &from, &until);
  }
  if (std::optional<Principal> hit = cache_->Lookup(token, now); hit.has_value()) return *hit;
  absl::Time valid_from = absl::InfinitePast(), valid_until = absl::InfinitePast();
  absl::StatusOr<Principal> principal = VerifyInFull(token, now, &valid_from, &valid_until);
  if (principal.ok() && valid_until > now) {
    cache_->Insert(token, *principal, valid_from, valid_until);
  }
  return principal;
}

absl::StatusOr<Principal> JwtVerifier::VerifyInFull(std::string_view token, absl::Time now,
                                                    absl::Time* valid_from,
                                                    absl::Time* valid_until) const {
  if (token.empty()) return Unauthenticated("no_token", "empty bearer token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("malformed", "token too long");
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  if (parts.size() != 3) return Unauthenticated("malformed", "malformed token");
  std::optional<Json> header = DecodeJsonPart(parts[0]);
  if (!header.has_value()) return Unauthenticated("malformed", "malformed token header");

  // The algorithm: only RS256 and ES256, and only with a key of the same type.
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) {
    return Unauthenticated("malformed", "token header has no alg");
  }
  const std::string alg = alg_it->get<std::string>();
  if (absl::EqualsIgnoreCase(alg, "none")) {
    return Unauthenticated("alg_refused", "unsigned token (alg none) refused");
  }
  if (absl::StartsWithIgnoreCase(alg, "HS")) {
    return Unauthenticated("alg_refused", "token algorithm HS* refused (only RS256 and ES256)");
  }
  if (alg != "RS256" && alg != "ES256") {
    return Unauthenticated("alg_refused", "token algorithm not supported (only RS256 and ES256)");
  }
  if (header->contains("crit")) {
    return Unauthenticated("malformed",
                           "token header has critical extensions (crit) not supported");
  }
  auto kid_it = header->find("kid");
  if (kid_it == header->end() || !kid_it->is_string()) {
    return Unauthenticated("unknown_key", "token header has no kid");
  }
  auto key_it = keys_.find(kid_it->get<std::string>());
  if (key_it == keys_.end()) return Unauthenticated("unknown_key", "token kid names no known key");
  const Key& key = key_it->second;
  const KeyType wanted = alg == "RS256" ? KeyType::kRsa : KeyType::kEcP256;
  if (key.type != wanted) {
    return Unauthenticated("alg_refused", "token algorithm does not match its key's type");
  }

  // The signature, by libjwt with the key the header named.
  const std::string compact(token);
  jwt_t* jwt = nullptr;
  int rc = jwt_decode(&jwt, compact.c_str(), reinterpret_cast<const unsigned char*>(key.pem.data()),
                      static_cast<int>(key.pem.size()));
  const bool decoded = rc == 0 && jwt != nullptr;
  const jwt_alg_t verified_alg = jwt != nullptr ? jwt_get_alg(jwt) : JWT_ALG_NONE;
  if (jwt != nullptr) jwt_free(jwt);
  if (!decoded) return Unauthenticated("bad_signature", "token signature invalid");
  if (verified_alg != (wanted == KeyType::kRsa ? JWT_ALG_RS256 : JWT_ALG_ES256)) {
    return Unauthenticated("alg_refused", "token algorithm does not match its key's type");
  }

  // The claims.
  std::optional<Json> claims = DecodeJsonPart(parts[1]);
  if (!claims.has_value()) return Unauthenticated("malformed", "malformed token claims");
  absl::StatusOr<std::optional<absl::Time>> exp = NumericDate(*claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Unauthenticated("malformed", "token has no exp");
  if (now > **exp + options_.leeway) return Unauthenticated("expired", "token expired");
  absl::StatusOr<std::optional<absl::Time>> nbf = NumericDate(*claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now + options_.leeway < **nbf) {
    return Unauthenticated("not_yet_valid", "token not yet valid (nbf)");
  }
  absl::StatusOr<std::optional<absl::Time>> iat = NumericDate(*claims, "iat");
  if (!iat.ok()) return iat.status();
  if (iat->has_value() && now + options_.leeway < **iat) {
    return Unauthenticated("not_yet_valid", "token issued in the future (iat)");
  }
  auto iss = claims->find("iss");
  if (iss == claims->end() || !iss->is_string() || iss->get<std::string>() != options_.issuer) {
    return Unauthenticated("wrong_issuer", "token issuer not accepted");
  }
  bool audience_ok = false;
  if (auto aud = claims->find("aud"); aud != claims->end()) {
    if (aud->is_string()) {
      audience_ok = aud->get<std::string>() == options_.audience;
    } else if (aud->is_array()) {
      for (const Json& a : *aud) {
        if (a.is_string() && a.get<std::string>() == options_.audience) audience_ok = true;
      }
    }
  }
  if (!audience_ok) return Unauthenticated("wrong_audience", "token audience not accepted");
  auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return Unauthenticated("no_subject", "token has no sub");
  }
  Principal principal;
  principal.subject = sub->get<std::string>();
  if (principal.subject.size() > kMaxSubjectBytes || HasControlCharacter(principal.subject)) {
    return Unauthenticated("malformed", "token sub is not a valid id");
  }
  absl::StatusOr<std::vector<std::string>> roles = StringList(*claims, "roles");
  if (!roles.ok()) return roles.status();
  for (const std::string& name : *roles) {
    std::optional<Role> role = ParseRole(name);
    if (role.has_value() && !principal.Has(*role)) principal.roles.push_back(*role);
  }
  absl::StatusOr<std::vector<std::string>> teams = StringList(*claims, "teams");
  if (!teams.ok()) return teams.status();
  principal.teams = *std::move(teams);
  principal.method = AuthMethod::kJwt;
  // The window a cached answer may be given in: never past exp (the leeway after it is left to
  // a full verification), never before nbf/iat less the leeway (what was checked above).
  *valid_until = **exp;
  *valid_from = absl::InfinitePast();
  if (nbf->has_value()) *valid_from = std::max(*valid_from, **nbf - options_.leeway);
  if (iat->has_value()) *valid_from = std::max(*valid_from, **iat - options_.leeway);
  return principal;
}

}  // namespace triad::auth
