// Implements the etag check.
#include "common/api/etag.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/util/strings.h"

namespace triad::api {
namespace {}  // namespace

absl::Status CheckEtag(StoredEtag stored, GivenEtag given, std::string_view resource,
                       EtagPolicy policy) {
  if (given.value.empty()) {
    if (policy == EtagPolicy::kRequired) return InvalidField("etag", "required");
    return absl::OkStatus();
  }
  if (given.value != stored.value) {
    return absl::AbortedError(absl::StrCat("etag: stale; ", util::AsAbsl(resource), " is at etag ",
                                           util::AsAbsl(stored.value), ", the request had ",
                                           util::AsAbsl(given.value)));
  }
  return absl::OkStatus();
}

std::string NextEtag(std::string_view etag) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(util::AsAbsl(etag), &v)) v = 0;
  return absl::StrCat(v + 1);
}

}  // namespace triad::api
