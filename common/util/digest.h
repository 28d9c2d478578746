// Holds SHA-256 over OpenSSL, with the implementation fetched once and one digest context per
// thread reused from call to call.
#ifndef TRIAD_COMMON_UTIL_DIGEST_H_
#define TRIAD_COMMON_UTIL_DIGEST_H_

#include <string>
#include <string_view>

namespace triad::util {

// Sha256 returns the 32 bytes of the SHA-256 digest of `data`; an empty string if OpenSSL
// cannot compute it.
std::string Sha256(std::string_view data);

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_DIGEST_H_
