// Implements the reflection-driven request limits.
#include "common/api/limits.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/util/strings.h"

namespace triad::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The per-field overrides; keep docs/security.md's limits table in sync.
constexpr FieldLimit kOverrides[] = {
    // clients: a CSV file per import request (ImportClientsCsv also bounds its rows).
    {.field = "triad.clients.v1.ImportClientsCsvRequest.csv", .max_bytes = kMaxCsvBytes},
    // clients: service cases and touchpoints carry documents.
    {.field = "triad.clients.v1.OpenCaseRequest.description", .max_bytes = kMaxDocumentLength},
    {.field = "triad.clients.v1.ServiceCase.description", .max_bytes = kMaxDocumentLength},
    {.field = "triad.clients.v1.ServiceCase.resolution", .max_bytes = kMaxDocumentLength},
    {.field = "triad.clients.v1.TransitionCaseRequest.resolution", .max_bytes = kMaxDocumentLength},
    {.field = "triad.clients.v1.Touchpoint.summary", .max_bytes = kMaxDocumentLength},
    // pipeline: what a review gate asks the expert (handed on to review's requirements).
    {.field = "triad.pipeline.v1.Checkpoint.requirements", .max_bytes = kMaxLongTextLength},
    // review: requirements, judgements and knowledge base documents.
    {.field = "triad.review.v1.ReviewRequest.requirements", .max_bytes = kMaxLongTextLength},
    {.field = "triad.review.v1.RecordVerdictRequest.judgement", .max_bytes = kMaxLongTextLength},
    {.field = "triad.review.v1.VerdictRecord.judgement", .max_bytes = kMaxLongTextLength},
    {.field = "triad.review.v1.Solution.body", .max_bytes = kMaxDocumentLength},
};

// Index of kOverrides by full field name, built once.
const absl::flat_hash_map<std::string, const FieldLimit*>& OverrideIndex() {
  static const auto* index = [] {
    auto* m = new absl::flat_hash_map<std::string, const FieldLimit*>();
    for (const FieldLimit& l : kOverrides) (*m)[std::string(l.field)] = &l;
    return m;
  }();
  return *index;
}

const FieldLimit* FindOverride(const FieldDescriptor& f) {
  const auto& index = OverrideIndex();
  auto it = index.find(f.full_name());
  return it == index.end() ? nullptr : it->second;
}

absl::Status AtMost(std::string_view path, size_t max, std::string_view unit, size_t got) {
  return InvalidField(path,
                      absl::StrCat("at most ", max, " ", util::AsAbsl(unit), " (got ", got, ")"));
}

absl::Status CheckMessage(const Message& m, const std::string& prefix, int depth);

// CheckField checks one set field of `m`.
absl::Status CheckField(const Message& m, const FieldDescriptor& f, const std::string& path,
                        int depth) {
  const Reflection* r = m.GetReflection();
  const int n = f.is_repeated() ? r->FieldSize(m, &f) : 1;
  if (f.is_repeated()) {
    const int max = MaxCount(f);
    if (n > max) return AtMost(path, static_cast<size_t>(max), "items", static_cast<size_t>(n));
  }
  auto item_path = [&](int i) { return f.is_repeated() ? absl::StrCat(path, "[", i, "]") : path; };
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const size_t max = MaxBytes(f);
      for (int i = 0; i < n; ++i) {
        std::string scratch;
        const std::string& v = f.is_repeated() ? r->GetRepeatedStringReference(m, &f, i, &scratch)
                                               : r->GetStringReference(m, &f, &scratch);
        if (v.size() > max) return AtMost(item_path(i), max, "bytes", v.size());
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      // A map entry is part of its map: it does not count as a level of nesting.
      const int next = f.is_map() ? depth : depth + 1;
      if (next > kMaxNestingDepth) {
        return InvalidField(
            path, absl::StrCat("at most ", kMaxNestingDepth, " levels of nested messages"));
      }
      for (int i = 0; i < n; ++i) {
        const Message& sub =
            f.is_repeated() ? r->GetRepeatedMessage(m, &f, i) : r->GetMessage(m, &f);
        if (absl::Status s = CheckMessage(sub, item_path(i), next); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32:
      if (!f.is_repeated() && f.name() == "page_size") {
        const int32_t v = r->GetInt32(m, &f);
        if (v < 0) return InvalidField(path, "must not be negative");
        if (v > kMaxPageSize) {
          return AtMost(path, kMaxPageSize, "items per page", static_cast<size_t>(v));
        }
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status CheckMessage(const Message& m, const std::string& prefix, int depth) {
  std::vector<const FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (absl::Status s = CheckField(m, *f, path, depth); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Depth walks the schema; `on_path` holds the messages being walked (a repeat is recursion).
int Depth(const Descriptor& d, std::vector<const Descriptor*>& on_path) {
  for (const Descriptor* p : on_path) {
    if (p == &d) return -1;
  }
  on_path.push_back(&d);
  int deepest = 0;
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor* f = d.field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const int sub = Depth(*f->message_type(), on_path);
    if (sub < 0) {
      deepest = -1;
      break;
    }
    deepest = std::max(deepest, f->is_map() ? sub : sub + 1);
  }
  on_path.pop_back();
  return deepest;
}

}  // namespace

std::span<const FieldLimit> FieldOverrides() { return kOverrides; }

size_t MaxBytes(const FieldDescriptor& f) {
  const FieldLimit* o = FindOverride(f);
  return o != nullptr && o->max_bytes > 0 ? o->max_bytes : kMaxTextLength;
}

int MaxCount(const FieldDescriptor& f) {
  const FieldLimit* o = FindOverride(f);
  return o != nullptr && o->max_count > 0 ? o->max_count : kMaxRepeatedCount;
}

absl::Status CheckRequestSize(const Message& request) {
  const size_t size = request.ByteSizeLong();
  if (size > kMaxRequestBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("request: at most ", kMaxRequestBytes, " bytes (got ", size, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckLimits(const Message& message, std::string_view prefix) {
  return CheckMessage(message, std::string(prefix), 0);
}

int SchemaDepth(const Descriptor& descriptor) {
  std::vector<const Descriptor*> on_path;
  return Depth(descriptor, on_path);
}

}  // namespace triad::api
