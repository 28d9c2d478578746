// Implements the etag check.
#include "common/api/etag.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/api/validation.h"

namespace triad::api {
namespace {

// Sv converts to absl::string_view (a distinct type from std::string_view in this Abseil).
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

absl::Status CheckEtag(StoredEtag stored, GivenEtag given, std::string_view resource,
                       EtagPolicy policy) {
  if (given.value.empty()) {
    if (policy == EtagPolicy::kRequired) return InvalidField("etag", "required");
    return absl::OkStatus();
  }
  if (given.value != stored.value) {
    return absl::AbortedError(absl::StrCat("etag: stale; ", Sv(resource), " is at etag ",
                                           Sv(stored.value), ", the request had ",
                                           Sv(given.value)));
  }
  return absl::OkStatus();
}

std::string NextEtag(std::string_view etag) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Sv(etag), &v)) v = 0;
  return absl::StrCat(v + 1);
}

}  // namespace triad::api
