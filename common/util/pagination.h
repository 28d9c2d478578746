// Page-size/page-token pagination (AIP-158) over ordered RocksDB keys.
//
// A page token is opaque to clients: it carries the last key returned and a fingerprint of the
// request's filter, so a token cannot be replayed against a different filter.
#ifndef TRIAD_COMMON_UTIL_PAGINATION_H_
#define TRIAD_COMMON_UTIL_PAGINATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace triad::util {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

struct PageRequest {
  // Number of items to return (1..kMaxPageSize).
  int page_size = kDefaultPageSize;
  // Resume after this key ("" for the first page).
  std::string after_key;
};

// ParsePage validates page_size (negative is INVALID_ARGUMENT naming "page_size"; 0 means the
// default; above the maximum is clamped) and decodes page_token (INVALID_ARGUMENT naming
// "page_token" when malformed or issued for another filter).
absl::StatusOr<PageRequest> ParsePage(int32_t page_size, std::string_view page_token,
                                      std::string_view filter_fingerprint = {});

// MakePageToken returns the token that resumes after `last_key` for this filter.
std::string MakePageToken(std::string_view last_key, std::string_view filter_fingerprint = {});

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_PAGINATION_H_
