// Conversions between absl::Time and google.protobuf.Timestamp.
#ifndef TRIAD_COMMON_UTIL_PROTO_TIME_H_
#define TRIAD_COMMON_UTIL_PROTO_TIME_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace triad::util {

// ToProto converts a time to a Timestamp (nanosecond precision).
google::protobuf::Timestamp ToProto(absl::Time t);

// FromProto converts a Timestamp to a time; an unset Timestamp is the Unix epoch.
absl::Time FromProto(const google::protobuf::Timestamp& ts);

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_PROTO_TIME_H_
