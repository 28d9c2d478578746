// Optimistic concurrency: one etag check for every update-style RPC. The stored and the given
// etag are distinct types, so the arguments cannot be swapped by mistake.
#ifndef TRIAD_COMMON_API_ETAG_H_
#define TRIAD_COMMON_API_ETAG_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace triad::api {

// StoredEtag is the etag of the record as stored.
struct StoredEtag {
  explicit StoredEtag(std::string_view v) : value(v) {}
  std::string_view value;
};

// GivenEtag is the etag a request carries ("" when the caller sent none).
struct GivenEtag {
  explicit GivenEtag(std::string_view v) : value(v) {}
  std::string_view value;
};

// Whether a request must carry an etag.
enum class EtagPolicy {
  // An empty etag skips the check (last writer wins).
  kOptional,
  // An empty etag is INVALID_ARGUMENT naming "etag".
  kRequired,
};

// CheckEtag returns ABORTED when `given` is set and differs from `stored` (the message names
// `resource` and both etags), INVALID_ARGUMENT naming "etag" when it is required and missing,
// OK otherwise.
absl::Status CheckEtag(StoredEtag stored, GivenEtag given, std::string_view resource,
                       EtagPolicy policy = EtagPolicy::kOptional);

// NextEtag returns the etag that follows `etag` (decimal versions: "" or "0" -> "1" -> "2").
std::string NextEtag(std::string_view etag);

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_ETAG_H_
