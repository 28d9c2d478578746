// Opaque, time-ordered identifiers for resources and events.
#ifndef TRIAD_COMMON_UTIL_IDS_H_
#define TRIAD_COMMON_UTIL_IDS_H_

#include <string>
#include <string_view>

namespace triad::util {

// NewId returns "<prefix>_" followed by 12 hex digits of milliseconds since the epoch and 16
// random hex digits: unique, and sorting by id sorts by creation time.
std::string NewId(std::string_view prefix);

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_IDS_H_
