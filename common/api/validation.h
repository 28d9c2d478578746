// Request validation shared by every service: one error grammar (INVALID_ARGUMENT with the
// message "<field path>: <why>") and the checks for UTF-8, ids, lengths, money and timestamps.
#ifndef TRIAD_COMMON_API_VALIDATION_H_
#define TRIAD_COMMON_API_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "triad/common/v1/types.pb.h"

namespace triad::api {

// The longest id (resource ids, owner ids, request ids ...), in bytes.
inline constexpr size_t kMaxIdLength = 200;
// The longest free-text field unless a field says otherwise, in bytes.
inline constexpr size_t kMaxTextLength = 2000;
// The largest accepted amount of money in minor units: 10^15 keeps every sum a service keeps
// (funnels, lifetime values) far from int64 overflow.
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;

// InvalidField returns INVALID_ARGUMENT with the message "<path>: <why>", the one error format
// of a bad request field.
absl::Status InvalidField(std::string_view path, std::string_view why);

// IsValidUtf8 is true when `s` is structurally valid UTF-8.
bool IsValidUtf8(std::string_view s);

// IsBlank is true when `s` is empty or only ASCII whitespace.
bool IsBlank(std::string_view s);

// CheckUtf8 checks every string field of `message` (recursively: nested messages, repeated
// fields, map keys and values), naming the first that is not valid UTF-8. Such a value could
// be written but never read back (proto3 parsing rejects it). `prefix` is prepended to paths.
absl::Status CheckUtf8(const google::protobuf::Message& message, std::string_view prefix = {});

// CheckLength refuses a value longer than `max` bytes.
absl::Status CheckLength(std::string_view path, std::string_view value, size_t max);

// CheckText refuses a value longer than `max` bytes or not valid UTF-8.
absl::Status CheckText(std::string_view path, std::string_view value, size_t max = kMaxTextLength);

// CheckRequired refuses a blank value.
absl::Status CheckRequired(std::string_view path, std::string_view value);

// CheckCount refuses a list of more than `max` items.
absl::Status CheckCount(std::string_view path, int count, int max);

// HasControlCharacter is true when `s` holds an ASCII control character (U+0000..U+001F,
// U+007F) or a C1 control (U+0080..U+009F, encoded C2 80..C2 9F).
bool HasControlCharacter(std::string_view s);

// CheckId checks a required id: not blank, at most kMaxIdLength bytes, valid UTF-8, no control
// characters.
absl::Status CheckId(std::string_view path, std::string_view value);

// CheckOptionalId checks an id that may be empty; when given it must pass CheckId.
absl::Status CheckOptionalId(std::string_view path, std::string_view value);

// CheckActor checks who makes a change: actor.id is a required id (INVALID_ARGUMENT
// "actor.id: required (who makes the change)" when blank), actor.reason is UTF-8 text of at most
// `max_reason` bytes and, when `reason_required`, not blank.
absl::Status CheckActor(const common::v1::Actor& actor, bool reason_required = false,
                        size_t max_reason = kMaxTextLength);

// IsIdFieldName is true for the names of id fields: `id`, `*_id` and `*_ids`.
bool IsIdFieldName(std::string_view name);

// CheckIdFields checks every id field of `message` (by name, see IsIdFieldName; string fields,
// repeated or not, recursively through nested messages) that is set: at most kMaxIdLength
// bytes, valid UTF-8, no control characters. The error names the field's path (`prefix`
// prepended, `[i]` for repeated items). Every RPC's request passes it before its domain sees it,
// so a malformed id is INVALID_ARGUMENT, never NOT_FOUND.
absl::Status CheckIdFields(const google::protobuf::Message& message, std::string_view prefix = {});

// CheckRequest is the check every RPC's request passes before its domain sees it: the size of
// the whole request (CheckRequestSize, RESOURCE_EXHAUSTED), the id fields (CheckIdFields) and the
// generic limits of every field (CheckLimits in limits.h: string lengths, item counts, nesting,
// page_size). The request guard calls it after authentication.
absl::Status CheckRequest(const google::protobuf::Message& request);

// CheckTimestamp checks a Timestamp lies in the range the type allows (0001-01-01 ..
// 9999-12-31, nanos 0..999999999).
absl::Status CheckTimestamp(std::string_view path, const google::protobuf::Timestamp& ts);

// Whether an amount of money must be given. A Money with amount 0 and no currency is "not
// given".
enum class MoneyPresence { kOptional, kRequired };

// IsMoneyGiven is false for a Money with amount 0 and no currency.
bool IsMoneyGiven(const common::v1::Money& money);

// CheckMoney checks an amount: 0..kMaxAmountMinor minor units with a 3-letter upper-case ISO
// 4217 currency. A Money that is not given passes when optional. Errors name
// "<path>.amount_minor" or "<path>.currency".
absl::Status CheckMoney(std::string_view path, const common::v1::Money& money,
                        MoneyPresence presence);

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_VALIDATION_H_
