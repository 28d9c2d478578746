// Update masks (google.protobuf.FieldMask): which paths an update may name, and applying the
// named top-level fields of a request's resource onto the stored one.
#ifndef TRIAD_COMMON_API_FIELD_MASK_H_
#define TRIAD_COMMON_API_FIELD_MASK_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace triad::api {

// CheckUpdateMask refuses an empty mask (INVALID_ARGUMENT "update_mask: required") and a path
// not in `allowed` (INVALID_ARGUMENT naming "update_mask.paths", the path and the allowed ones).
absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             absl::Span<const std::string_view> allowed);

// ApplyUpdateMask checks the mask with CheckUpdateMask, then copies each named top-level field
// of `from` onto `to` (a repeated field is replaced, an unset field cleared). `from` and `to`
// must be of the same type; `allowed` names fields of that type.
absl::Status ApplyUpdateMask(const google::protobuf::FieldMask& mask,
                             absl::Span<const std::string_view> allowed,
                             const google::protobuf::Message& from, google::protobuf::Message& to);

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_FIELD_MASK_H_
