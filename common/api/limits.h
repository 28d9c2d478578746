// Request limits every RPC's request passes before its domain sees it, checked by reflection:
// the size of the whole request, the length of every string and bytes field, the number of items
// of every repeated field and map, the nesting depth of messages and the page size of lists.
// Fields that need more than the defaults (long texts, documents, a CSV file) are listed in one
// override table (FieldOverrides), so the limits of a service are read in one place.
//
// Errors: INVALID_ARGUMENT "<field path>: at most N <unit> (got M)" naming the field and its limit;
// RESOURCE_EXHAUSTED "request: at most N bytes (got M)" for a request larger than
// kMaxRequestBytes.
#ifndef TRIAD_COMMON_API_LIMITS_H_
#define TRIAD_COMMON_API_LIMITS_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace triad::api {

// The largest request, in serialized bytes: the server-wide --grpc_max_message_bytes default
// (4 MiB). gRPC refuses larger messages on the wire; this check also covers in-process callers.
inline constexpr size_t kMaxRequestBytes = 4 << 20;
// The most items of a repeated field or map unless a field says otherwise.
inline constexpr int kMaxRepeatedCount = 1000;
// The deepest nesting of messages in a request (the top-level request is level 0). Triad's own
// schemas nest at most a handful of levels; recursive types (google.protobuf.Struct) are bounded.
inline constexpr int kMaxNestingDepth = 16;
// A long free text: review requirements and judgements, checkpoint requirements.
inline constexpr size_t kMaxLongTextLength = 10000;
// A document: service case descriptions and resolutions, touchpoint summaries, knowledge base
// bodies.
inline constexpr size_t kMaxDocumentLength = 20000;
// The largest CSV file of one ImportClientsCsv request (send bigger files in chunks).
inline constexpr size_t kMaxCsvBytes = 3 << 20;

// FieldLimit overrides the default limits of one field, named by its full protobuf name
// (e.g. "triad.review.v1.Solution.body"): wherever the message is nested, the override holds.
// A zero member keeps the default.
struct FieldLimit {
  std::string_view field;
  size_t max_bytes = 0;
  int max_count = 0;
};

// FieldOverrides returns the table of per-field overrides.
std::span<const FieldLimit> FieldOverrides();

// MaxBytes returns the longest value (bytes) of string or bytes field `f`: its override, else
// kMaxTextLength. (Id fields are further held to kMaxIdLength by CheckIdFields.)
size_t MaxBytes(const google::protobuf::FieldDescriptor& f);

// MaxCount returns the most items of repeated field or map `f`: its override, else
// kMaxRepeatedCount.
int MaxCount(const google::protobuf::FieldDescriptor& f);

// CheckRequestSize refuses a request whose serialized size exceeds kMaxRequestBytes
// (RESOURCE_EXHAUSTED).
absl::Status CheckRequestSize(const google::protobuf::Message& request);

// CheckLimits checks, recursively, every set field of `message` against its limits (MaxBytes,
// MaxCount, kMaxNestingDepth) and every int32 field named `page_size` (0..kMaxPageSize). Paths
// name repeated items as `field[i]` and map entries as `field[i].key` / `field[i].value`;
// `prefix` is prepended to paths.
absl::Status CheckLimits(const google::protobuf::Message& message, std::string_view prefix = {});

// SchemaDepth returns the deepest message nesting the schema of `descriptor` allows, counting
// the top level as 0 and map entries as part of their map; -1 when the schema is recursive.
int SchemaDepth(const google::protobuf::Descriptor& descriptor);

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_LIMITS_H_
