// String helpers shared by the common libraries.
#ifndef TRIAD_COMMON_UTIL_STRINGS_H_
#define TRIAD_COMMON_UTIL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace triad::util {

// AsAbsl views `s` as an absl::string_view, a distinct type from std::string_view in the
// Abseil Debian ships (StrCat, StrSplit and the heterogeneous lookups of its string-keyed
// containers take it).
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_STRINGS_H_
