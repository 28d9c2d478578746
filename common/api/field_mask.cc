// Implements update-mask checking and application.
#include "common/api/field_mask.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/validation.h"
#include "google/protobuf/descriptor.h"

namespace triad::api {

absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             absl::Span<const std::string_view> allowed) {
  if (mask.paths_size() == 0) return InvalidField("update_mask", "required");
  for (const std::string& path : mask.paths()) {
    if (std::find(allowed.begin(), allowed.end(), path) == allowed.end()) {
      std::string shown = IsValidUtf8(path) && path.size() <= 100 ? path : "(unprintable)";
      return InvalidField(
          "update_mask.paths",
          absl::StrCat("unknown or read-only field '", shown, "' (allowed: ",
                       absl::StrJoin(allowed, ", ",
                                     [](std::string* out, std::string_view a) { out->append(a); }),
                       ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyUpdateMask(const google::protobuf::FieldMask& mask,
                             absl::Span<const std::string_view> allowed,
                             const google::protobuf::Message& from, google::protobuf::Message& to) {
  if (absl::Status s = CheckUpdateMask(mask, allowed); !s.ok()) return s;
  const google::protobuf::Descriptor* d = to.GetDescriptor();
  if (from.GetDescriptor() != d) {
    return absl::InternalError("ApplyUpdateMask: messages of different types");
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  for (const std::string& path : mask.paths()) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(path);
    if (f == nullptr) {
      return absl::InternalError(
          absl::StrCat("ApplyUpdateMask: ", d->full_name(), " has no field ", path));
    }
    if (std::find(fields.begin(), fields.end(), f) == fields.end()) fields.push_back(f);
  }
  // Swapping the fields out of a copy of `from` moves them whole (values, presence, repeated).
  std::unique_ptr<google::protobuf::Message> copy(from.New());
  copy->CopyFrom(from);
  to.GetReflection()->SwapFields(copy.get(), &to, fields);
  return absl::OkStatus();
}

}  // namespace triad::api
