// Implements the shared request validation.
#include "common/api/validation.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/api/limits.h"
#include "common/status/status_macros.h"
#include "common/util/strings.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/common.h"

namespace triad::api {
namespace {

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

}  // namespace

absl::Status InvalidField(std::string_view path, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(util::AsAbsl(path), ": ", util::AsAbsl(why)));
}

bool IsValidUtf8(std::string_view s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

bool IsBlank(std::string_view s) {
  return absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size())).empty();
}

absl::Status CheckUtf8(const google::protobuf::Message& m, std::string_view prefix) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix.empty() ? std::string(f->name())
                                            : absl::StrCat(util::AsAbsl(prefix), ".", f->name());
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      for (int i = 0; i < n; ++i) {
        std::string scratch;
        const std::string& v = f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                                : r->GetStringReference(m, f, &scratch);
        if (!IsValidUtf8(v)) return InvalidField(path, "not valid UTF-8");
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      for (int i = 0; i < n; ++i) {
        absl::Status s = CheckUtf8(
            f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), path);
        if (!s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLength(std::string_view path, std::string_view value, size_t max) {
  if (value.size() > max) return InvalidField(path, absl::StrCat("longer than ", max, " bytes"));
  return absl::OkStatus();
}

absl::Status CheckText(std::string_view path, std::string_view value, size_t max) {
  if (absl::Status s = CheckLength(path, value, max); !s.ok()) return s;
  if (!IsValidUtf8(value)) return InvalidField(path, "not valid UTF-8");
  return absl::OkStatus();
}

absl::Status CheckRequired(std::string_view path, std::string_view value) {
  if (IsBlank(value)) return InvalidField(path, "required");
  return absl::OkStatus();
}

absl::Status CheckCount(std::string_view path, int count, int max) {
  if (count > max) return InvalidField(path, absl::StrCat("more than ", max, " items"));
  return absl::OkStatus();
}

bool HasControlCharacter(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < s.size()) {
      const unsigned char next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return true;
    }
  }
  return false;
}

namespace {

// CheckIdValue is the check of a given (non-empty) id.
absl::Status CheckIdValue(std::string_view path, std::string_view value) {
  if (absl::Status s = CheckText(path, value, kMaxIdLength); !s.ok()) return s;
  if (HasControlCharacter(value)) return InvalidField(path, "contains a control character");
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckId(std::string_view path, std::string_view value) {
  if (absl::Status s = CheckRequired(path, value); !s.ok()) return s;
  return CheckIdValue(path, value);
}

bool IsIdFieldName(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return name == "id" || ends_with("_id") || ends_with("_ids");
}

absl::Status CheckIdFields(const google::protobuf::Message& m, std::string_view prefix) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix.empty() ? std::string(f->name())
                                            : absl::StrCat(util::AsAbsl(prefix), ".", f->name());
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    auto item_path = [&](int i) {
      return f->is_repeated() ? absl::StrCat(path, "[", i, "]") : path;
    };
    if (f->type() == FieldDescriptor::TYPE_STRING && IsIdFieldName(f->name())) {
      for (int i = 0; i < n; ++i) {
        std::string scratch;
        const std::string& v = f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                                : r->GetStringReference(m, f, &scratch);
        if (v.empty()) continue;
        if (absl::Status s = CheckIdValue(item_path(i), v); !s.ok()) return s;
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map()) {
      for (int i = 0; i < n; ++i) {
        absl::Status s = CheckIdFields(
            f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), item_path(i));
        if (!s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const google::protobuf::Message& request) {
  RETURN_IF_ERROR(CheckRequestSize(request));
  RETURN_IF_ERROR(CheckIdFields(request));
  return CheckLimits(request);
}

absl::Status CheckOptionalId(std::string_view path, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  return CheckId(path, value);
}

absl::Status CheckActor(const common::v1::Actor& actor, bool reason_required, size_t max_reason) {
  if (IsBlank(actor.id())) return InvalidField("actor.id", "required (who makes the change)");
  RETURN_IF_ERROR(CheckId("actor.id", actor.id()));
  RETURN_IF_ERROR(CheckText("actor.reason", actor.reason(), max_reason));
  if (reason_required) return CheckRequired("actor.reason", actor.reason());
  return absl::OkStatus();
}

absl::Status CheckTimestamp(std::string_view path, const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return InvalidField(path, "out of range (0001-01-01 .. 9999-12-31, nanos 0..999999999)");
  }
  return absl::OkStatus();
}

bool IsMoneyGiven(const common::v1::Money& money) {
  return money.amount_minor() != 0 || !money.currency().empty();
}

absl::Status CheckMoney(std::string_view path, const common::v1::Money& m, MoneyPresence presence) {
  if (!IsMoneyGiven(m)) {
    if (presence == MoneyPresence::kRequired) return InvalidField(path, "required");
    return absl::OkStatus();
  }
  if (m.amount_minor() < 0) {
    return InvalidField(absl::StrCat(util::AsAbsl(path), ".amount_minor"), "must not be negative");
  }
  if (m.amount_minor() > kMaxAmountMinor) {
    return InvalidField(absl::StrCat(util::AsAbsl(path), ".amount_minor"),
                        absl::StrCat("must be at most ", kMaxAmountMinor));
  }
  const std::string& c = m.currency();
  if (c.size() != 3 || !absl::ascii_isupper(static_cast<unsigned char>(c[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(c[1])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(c[2]))) {
    return InvalidField(absl::StrCat(util::AsAbsl(path), ".currency"),
                        "must be a 3-letter ISO 4217 code");
  }
  return absl::OkStatus();
}

}  // namespace triad::api
