// Pager: page_size/page_token pagination (AIP-158) over an ordered key scan, with one rule for
// every list RPC: the pager looks one item ahead, so a token is emitted only when another item
// follows (an exactly-full last page has no next_page_token).
//
// Page tokens are opaque to clients: they carry the last key returned, a fingerprint of the
// request's filter (a token cannot be replayed against another filter) and a checksum, so a
// tampered or truncated token is INVALID_ARGUMENT naming "page_token".
#ifndef TRIAD_COMMON_API_PAGER_H_
#define TRIAD_COMMON_API_PAGER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace triad::api {

// The page size used when a request gives none (0).
inline constexpr int kDefaultPageSize = 50;
// The largest page; larger requests are clamped to it.
inline constexpr int kMaxPageSize = 1000;

// PageSize validates a request's page_size: negative is INVALID_ARGUMENT naming "page_size",
// 0 is kDefaultPageSize, above kMaxPageSize is clamped.
absl::StatusOr<int> PageSize(int32_t page_size);

class Pager {
 public:
  // Start validates page_size (see PageSize) and decodes page_token for the filter described by
  // `filter_fingerprint` (any string that differs between filters).
  static absl::StatusOr<Pager> Start(int32_t page_size, std::string_view page_token,
                                     std::string_view filter_fingerprint = {});

  // page_size is the number of items a page holds.
  int page_size() const { return page_size_; }
  // after_key is the key to resume after ("" on the first page).
  const std::string& after_key() const { return after_key_; }

  // Accept is called for each matching item, in key order, before adding it: true when the item
  // belongs on this page (`key` is remembered as the page's last key), false when the page is
  // full (the scan should stop: a next page exists). `items` counts what the entry adds (e.g. a
  // group of items listed under one key).
  bool Accept(std::string_view key, int items = 1);

  // NextPageToken is the token of the next page, or "" when the scan ended without one.
  std::string NextPageToken() const;

 private:
  Pager(int page_size, std::string after_key, std::string fingerprint)
      : page_size_(page_size),
        after_key_(std::move(after_key)),
        fingerprint_(std::move(fingerprint)) {}

  int page_size_;
  std::string after_key_;
  std::string fingerprint_;
  int count_ = 0;
  bool more_ = false;
  std::string last_key_;
};

// FilterFingerprint renders the filter fields of a list request unambiguously (length-prefixed),
// for Pager::Start.
std::string FilterFingerprint(std::initializer_list<std::string_view> parts);

// MakePageToken returns the token that resumes after `last_key` for this filter (Pager uses it;
// exposed for tests).
std::string MakePageToken(std::string_view last_key, std::string_view filter_fingerprint = {});

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_PAGER_H_
