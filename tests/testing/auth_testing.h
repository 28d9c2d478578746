// The authentication test kit: signing keys (RSA and EC P-256) written to a keys directory,
// bearer tokens minted with any header and claims (also the refused kinds: alg none, HS256
// "signed" with the RSA public key, a foreign key), a test PKI (CA, server certificate for
// localhost/127.0.0.1, client certificates by CN) and helpers that attach a token to a call.
#ifndef TRIAD_TESTS_TESTING_AUTH_TESTING_H_
#define TRIAD_TESTS_TESTING_AUTH_TESTING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace triad::testing {

// A key pair in PEM.
struct PemKeyPair {
  std::string private_pem;
  std::string public_pem;
};

// GenerateRsaKey makes an RSA key pair (2048 bits).
PemKeyPair GenerateRsaKey();
// GenerateEcKey makes an EC key pair on P-256.
PemKeyPair GenerateEcKey();

// How a token is signed.
enum class TokenAlg { kRs256, kEs256, kHs256, kNone };

// What MintToken puts in a token. Claims left unset are not written; Standard() fills a valid
// set.
struct TokenSpec {
  TokenAlg alg = TokenAlg::kRs256;
  // Header kid ("" writes none).
  std::string kid;
  // The signing key: a private PEM for RS256/ES256, the secret for HS256.
  std::string key;
  nlohmann::json claims = nlohmann::json::object();
  // Extra header parameters.
  nlohmann::json headers = nlohmann::json::object();
};

// MintToken signs a compact JWS (libjwt) from `spec`.
std::string MintToken(const TokenSpec& spec);

// TestIssuer is the issuer the kit's tokens and verifiers use.
inline constexpr char kTestIssuer[] = "https://triad.test/issuer";

// AuthKit is a keys directory (`rsa.pem` and `ec.pem` public keys, kids "rsa" and "ec") with
// the private keys kept in memory, minting tokens the verifier of that directory accepts.
class AuthKit {
 public:
  // `dir` must exist; the keys are written to dir/jwt.
  explicit AuthKit(const std::string& dir);

  // keys_dir is the --auth_jwt_keys_dir of the kit's keys.
  const std::string& keys_dir() const { return keys_dir_; }
  const PemKeyPair& rsa() const { return rsa_; }
  const PemKeyPair& ec() const { return ec_; }

  // Claims returns valid claims for `sub` with `roles` and `teams` (iss kTestIssuer, aud
  // "triad", iat now, exp in an hour).
  static nlohmann::json Claims(const std::string& sub, const std::vector<std::string>& roles,
                               const std::vector<std::string>& teams = {});

  // Token mints an RS256 token (kid "rsa") for `sub` with `roles` and `teams`.
  std::string Token(const std::string& sub, const std::vector<std::string>& roles,
                    const std::vector<std::string>& teams = {}) const;
  // Signed mints an RS256 (kid "rsa") token of any claims.
  std::string Signed(const nlohmann::json& claims) const;
  // SignedEc mints an ES256 (kid "ec") token of any claims.
  std::string SignedEc(const nlohmann::json& claims) const;

 private:
  std::string keys_dir_;
  PemKeyPair rsa_;
  PemKeyPair ec_;
};

// TestPki is a CA with a server certificate (SAN localhost, 127.0.0.1) and client
// certificates, written as PEM files under a directory.
class TestPki {
 public:
  // `dir` must exist.
  explicit TestPki(const std::string& dir);

  const std::string& ca_file() const { return ca_file_; }
  const std::string& server_cert_file() const { return server_cert_file_; }
  const std::string& server_key_file() const { return server_key_file_; }
  const std::string& ca_pem() const { return ca_pem_; }

  // Client issues a client certificate with subject CN `cn` signed by the CA (or, with
  // `self_signed`, by itself: not verifiable); returns the PEM pair (certificate, key).
  PemKeyPair Client(const std::string& cn, bool self_signed = false) const;

  // Channel opens a TLS channel to `address` trusting the CA (server name "localhost"),
  // presenting `client` (certificate in public_pem, key in private_pem) when given.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                         const PemKeyPair* client = nullptr) const;

 private:
  std::string dir_;
  std::string ca_pem_;
  std::string ca_key_pem_;
  std::string ca_file_;
  std::string server_cert_file_;
  std::string server_key_file_;
};

// WithBearer sets `authorization: Bearer <token>` on a call.
void WithBearer(grpc::ClientContext* ctx, const std::string& token);

// BearerCredentials are per-call credentials carrying `token` (TLS channels only).
std::shared_ptr<grpc::CallCredentials> BearerCredentials(const std::string& token);

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_AUTH_TESTING_H_
