// Implements id generation.
#include "common/util/ids.h"

#include <random>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace triad::util {

std::string NewId(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  return absl::StrFormat("%s_%012x%016x", prefix, millis & 0xFFFFFFFFFFFFull, rng());
}

}  // namespace triad::util
