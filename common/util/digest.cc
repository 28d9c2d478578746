// Implements SHA-256 (digest.h). EVP_Digest with EVP_sha256() allocates a context and looks the
// implementation up in OpenSSL 3's provider store on every call, which perf showed costing more
// than hashing a short input (a bearer token, an audit entry's field).
#include "common/util/digest.h"

#include <openssl/evp.h>

#include <memory>

namespace triad::util {

std::string Sha256(std::string_view data) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (sha256 == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

}  // namespace triad::util
