// Implements Pager and its tokens: base64url(filter hash (8 bytes) + last key + checksum
// (8 bytes) of both). The checksum detects edits, it is not a secret.
#include "common/api/pager.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/util/strings.h"

namespace triad::api {
namespace {

constexpr size_t kHashBytes = 8;

// Fnv64 is FNV-1a 64: stable across processes and builds (page tokens outlive a process).
uint64_t Fnv64(std::string_view data, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Bytes(uint64_t h) {
  std::string out(kHashBytes, '\0');
  for (size_t i = 0; i < kHashBytes; ++i) out[i] = static_cast<char>((h >> (56 - 8 * i)) & 0xFF);
  return out;
}

// Checksum covers the fingerprint and the key; a different seed than the fingerprint's.
std::string Checksum(std::string_view body) { return Bytes(Fnv64(body, 0x9e3779b97f4a7c15ull)); }

}  // namespace

absl::StatusOr<int> PageSize(int32_t page_size) {
  if (page_size < 0) return InvalidField("page_size", "must not be negative");
  if (page_size == 0) return kDefaultPageSize;
  return std::min<int32_t>(page_size, kMaxPageSize);
}

absl::StatusOr<Pager> Pager::Start(int32_t page_size, std::string_view page_token,
                                   std::string_view filter_fingerprint) {
  absl::StatusOr<int> size = PageSize(page_size);
  if (!size.ok()) return size.status();
  std::string fingerprint = Bytes(Fnv64(filter_fingerprint));
  if (page_token.empty()) return Pager(*size, "", std::move(fingerprint));
  std::string raw;
  if (!absl::WebSafeBase64Unescape(absl::string_view(page_token.data(), page_token.size()), &raw) ||
      raw.size() < 2 * kHashBytes) {
    return InvalidField("page_token", "malformed");
  }
  std::string_view body(raw.data(), raw.size() - kHashBytes);
  if (Checksum(body) != std::string_view(raw).substr(raw.size() - kHashBytes)) {
    return InvalidField("page_token", "malformed");
  }
  if (body.substr(0, kHashBytes) != fingerprint) {
    return InvalidField("page_token", "was issued for a different filter");
  }
  return Pager(*size, std::string(body.substr(kHashBytes)), std::move(fingerprint));
}

bool Pager::Accept(std::string_view key, int items) {
  if (count_ >= page_size_) {
    more_ = true;
    return false;
  }
  count_ += items;
  last_key_.assign(key);  // Reuses the buffer: one allocation a page, not one a key.
  return true;
}

std::string Pager::NextPageToken() const {
  if (!more_) return "";
  std::string body = fingerprint_;
  body.append(last_key_);
  std::string raw = body + Checksum(body);
  return absl::WebSafeBase64Escape(raw);
}

std::string FilterFingerprint(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) absl::StrAppend(&out, p.size(), ":", util::AsAbsl(p), "|");
  return out;
}

std::string MakePageToken(std::string_view last_key, std::string_view filter_fingerprint) {
  std::string body = Bytes(Fnv64(filter_fingerprint));
  body.append(last_key);
  return absl::WebSafeBase64Escape(body + Checksum(body));
}

}  // namespace triad::api
