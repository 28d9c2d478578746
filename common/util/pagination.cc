// Implements page tokens: base64url(fingerprint hash (8 bytes) + last key).
#include "common/util/pagination.h"

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"

namespace triad::util {
namespace {

std::string FingerprintBytes(std::string_view filter) {
  // A stable (not per-process) hash: FNV-1a 64.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : filter) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((h >> (56 - 8 * i)) & 0xFF);
  return out;
}

}  // namespace

absl::StatusOr<PageRequest> ParsePage(int32_t page_size, std::string_view page_token,
                                      std::string_view filter_fingerprint) {
  if (page_size < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  PageRequest req;
  req.page_size = page_size == 0 ? kDefaultPageSize : std::min<int32_t>(page_size, kMaxPageSize);
  if (page_token.empty()) return req;
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(page_token), &raw) || raw.size() < 8) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  if (raw.compare(0, 8, FingerprintBytes(filter_fingerprint)) != 0) {
    return absl::InvalidArgumentError("page_token: was issued for a different filter");
  }
  req.after_key = raw.substr(8);
  return req;
}

std::string MakePageToken(std::string_view last_key, std::string_view filter_fingerprint) {
  std::string raw = FingerprintBytes(filter_fingerprint);
  raw.append(last_key);
  return absl::WebSafeBase64Escape(raw);
}

}  // namespace triad::util
