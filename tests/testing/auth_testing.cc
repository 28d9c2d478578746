// Implements the authentication test kit with OpenSSL (keys, certificates) and libjwt (tokens).
#include "tests/testing/auth_testing.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace triad::testing {
namespace {

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio);
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  return BioString(bio);
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  return BioString(bio);
}

EVP_PKEY* ReadPrivate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

X509* ReadCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) {
    ADD_FAILURE() << "bad extension " << value;
    return;
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// MakeCert issues a certificate for `key` with subject CN `cn`, signed by `issuer` and
// `issuer_key` (null: self-signed).
X509* MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
               bool server) {
  static std::atomic<long> serial{1000};
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  AddExtension(cert, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  AddExtension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (ca) {
    AddExtension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    AddExtension(cert, &ctx, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
    if (server) AddExtension(cert, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

}  // namespace

PemKeyPair GenerateRsaKey() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  PemKeyPair pair{PrivatePem(key), PublicPem(key)};
  EVP_PKEY_free(key);
  return pair;
}

PemKeyPair GenerateEcKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  PemKeyPair pair{PrivatePem(key), PublicPem(key)};
  EVP_PKEY_free(key);
  return pair;
}

std::string MintToken(const TokenSpec& spec) {
  jwt_t* jwt = nullptr;
  if (jwt_new(&jwt) != 0) return "";
  const std::string claims = spec.claims.dump();
  jwt_add_grants_json(jwt, claims.c_str());
  if (!spec.kid.empty()) jwt_add_header(jwt, "kid", spec.kid.c_str());
  if (!spec.headers.empty()) jwt_add_headers_json(jwt, spec.headers.dump().c_str());
  const auto* key = reinterpret_cast<const unsigned char*>(spec.key.data());
  const int len = static_cast<int>(spec.key.size());
  int rc = 0;
  switch (spec.alg) {
    case TokenAlg::kRs256:
      rc = jwt_set_alg(jwt, JWT_ALG_RS256, key, len);
      break;
    case TokenAlg::kEs256:
      rc = jwt_set_alg(jwt, JWT_ALG_ES256, key, len);
      break;
    case TokenAlg::kHs256:
      rc = jwt_set_alg(jwt, JWT_ALG_HS256, key, len);
      break;
    case TokenAlg::kNone:
      rc = jwt_set_alg(jwt, JWT_ALG_NONE, nullptr, 0);
      break;
  }
  std::string token;
  if (rc == 0) {
    char* out = jwt_encode_str(jwt);
    if (out != nullptr) {
      token = out;
      free(out);
    }
  }
  jwt_free(jwt);
  if (token.empty()) ADD_FAILURE() << "libjwt could not mint the token";
  return token;
}

AuthKit::AuthKit(const std::string& dir)
    : keys_dir_(dir + "/jwt"), rsa_(GenerateRsaKey()), ec_(GenerateEcKey()) {
  std::filesystem::create_directories(keys_dir_);
  WriteFile(keys_dir_ + "/rsa.pem", rsa_.public_pem);
  WriteFile(keys_dir_ + "/ec.pem", ec_.public_pem);
}

nlohmann::json AuthKit::Claims(const std::string& sub, const std::vector<std::string>& roles,
                               const std::vector<std::string>& teams) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  return nlohmann::json{{"iss", kTestIssuer}, {"aud", "triad"}, {"sub", sub},    {"iat", now},
                        {"exp", now + 3600},  {"roles", roles}, {"teams", teams}};
}

std::string AuthKit::Token(const std::string& sub, const std::vector<std::string>& roles,
                           const std::vector<std::string>& teams) const {
  return Signed(Claims(sub, roles, teams));
}

std::string AuthKit::Signed(const nlohmann::json& claims) const {
  return MintToken(
      {.alg = TokenAlg::kRs256, .kid = "rsa", .key = rsa_.private_pem, .claims = claims});
}

std::string AuthKit::SignedEc(const nlohmann::json& claims) const {
  return MintToken(
      {.alg = TokenAlg::kEs256, .kid = "ec", .key = ec_.private_pem, .claims = claims});
}

TestPki::TestPki(const std::string& dir) : dir_(dir) {
  std::filesystem::create_directories(dir_);
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  X509* ca = MakeCert(ca_key, "Triad Test CA", nullptr, nullptr, /*ca=*/true, /*server=*/false);
  ca_pem_ = CertPem(ca);
  ca_key_pem_ = PrivatePem(ca_key);
  EVP_PKEY* server_key = EVP_EC_gen("P-256");
  X509* server = MakeCert(server_key, "localhost", ca, ca_key, /*ca=*/false, /*server=*/true);
  ca_file_ = dir_ + "/ca.pem";
  server_cert_file_ = dir_ + "/server.pem";
  server_key_file_ = dir_ + "/server.key";
  WriteFile(ca_file_, ca_pem_);
  WriteFile(server_cert_file_, CertPem(server));
  WriteFile(server_key_file_, PrivatePem(server_key));
  X509_free(server);
  EVP_PKEY_free(server_key);
  X509_free(ca);
  EVP_PKEY_free(ca_key);
}

PemKeyPair TestPki::Client(const std::string& cn, bool self_signed) const {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* ca = self_signed ? nullptr : ReadCert(ca_pem_);
  EVP_PKEY* ca_key = self_signed ? nullptr : ReadPrivate(ca_key_pem_);
  X509* cert = MakeCert(key, cn, ca, ca_key, /*ca=*/false, /*server=*/false);
  PemKeyPair pair{PrivatePem(key), CertPem(cert)};
  X509_free(cert);
  if (ca != nullptr) X509_free(ca);
  if (ca_key != nullptr) EVP_PKEY_free(ca_key);
  EVP_PKEY_free(key);
  return pair;
}

std::shared_ptr<grpc::Channel> TestPki::Channel(const std::string& address,
                                                const PemKeyPair* client) const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem_;
  if (client != nullptr) {
    options.pem_private_key = client->private_pem;
    options.pem_cert_chain = client->public_pem;
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  // A fresh connection per channel: tests compare callers with different certificates.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

void WithBearer(grpc::ClientContext* ctx, const std::string& token) {
  ctx->AddMetadata("authorization", "Bearer " + token);
}

std::shared_ptr<grpc::CallCredentials> BearerCredentials(const std::string& token) {
  return grpc::AccessTokenCredentials(token);
}

}  // namespace triad::testing
