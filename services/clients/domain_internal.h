// Helpers shared by the .cc files that implement ClientsDomain (records, merge, history,
// handover, contacts, cases, follow-ups, CSV import, consumed events). Private to the domain:
// nothing outside services/clients/*.cc includes it.
#ifndef TRIAD_SERVICES_CLIENTS_DOMAIN_INTERNAL_H_
#define TRIAD_SERVICES_CLIENTS_DOMAIN_INTERNAL_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/api/validation.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "triad/clients/v1/clients_service.pb.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/common/v1/types.pb.h"

namespace triad::clients {

// Shorthands of the domain's implementation files (this header is internal to them).
using api::InvalidField;
using api::IsBlank;
using api::kMaxIdLength;
using api::kMaxTextLength;
using common::v1::Actor;
using v1::Client;
using v1::FieldChange;

// The most records a periodic scan handles per call.
inline constexpr int kMaxScanPerCall = 1000;
// The most items of a list field (tags, participants, contacts of a touchpoint).
inline constexpr int kMaxListItems = 50;

// The paths an update mask may name (the fields of Fields()).
inline constexpr std::string_view kUpdatablePaths[] = {
    "name",    "tax_id",   "phone",  "email", "website", "address", "owner_id",
    "team_id", "industry", "region", "tier",  "tags",    "notes"};

// ValidateClient checks the writable fields; `prefix` is "client." for RPCs, "" for CSV rows.
absl::Status ValidateClient(const v1::Client& c, std::string_view prefix);

// ValidateTouchpoint checks the caller-given fields of a touchpoint; `prefix` names the field.
absl::Status ValidateTouchpoint(const v1::Touchpoint& in, std::string_view prefix,
                                bool require_participants);

// FieldDef is a writable client field, rendered as text for history.
struct FieldDef {
  const char* name;
  std::function<std::string(const v1::Client&)> get;
  std::function<void(const v1::Client& from, v1::Client& to)> copy;
};

// Fields lists the writable client fields.
const std::vector<FieldDef>& Fields();

// Diff lists the writable fields that differ between two versions of a client.
std::vector<v1::FieldChange> Diff(const v1::Client& before, const v1::Client& after);

// Change builds one history change.
v1::FieldChange Change(std::string_view field, std::string_view old_value,
                       std::string_view new_value);

// IsAlwaysPersonalField is true for the client fields that may hold a person's data whatever
// the client is (phone, email, notes): erased by ErasePersonalData, and their values are never
// carried by events (the client topic is kept for ever). See erasure.cc.
bool IsAlwaysPersonalField(std::string_view field);

// SummaryOf is the summary events carry.
v1::ClientSummary SummaryOf(const v1::Client& c, bool repeat_client);

// ParseTier reads a tier from CSV text ("" is unspecified).
absl::StatusOr<v1::ClientTier> ParseTier(std::string_view text);

// AddMoney adds `m` to the sum of its currency; false (and no change) when it would overflow.
bool AddMoney(google::protobuf::RepeatedPtrField<common::v1::Money>& sums,
              const common::v1::Money& m);

// AddMoneySaturating adds for a read-side total: an overflow stays at the int64 limit.
void AddMoneySaturating(google::protobuf::RepeatedPtrField<common::v1::Money>& sums,
                        const common::v1::Money& m);

// MoneyText renders sums per currency for history.
std::string MoneyText(const google::protobuf::RepeatedPtrField<common::v1::Money>& sums);

// CaseActive is true for a case whose SLA is still watched.
bool CaseActive(const v1::ServiceCase& c);

// CaseOpen is true for a case someone still works on (open, in progress or reopened; breached
// or not).
bool CaseOpen(const v1::ServiceCase& c);

// KeyTime reads the time component of a (tag, time, ...) key.
absl::StatusOr<absl::Time> KeyTime(std::string_view key);

// DuplicateError is the ALREADY_EXISTS listing the possible duplicates.
absl::Status DuplicateError(const std::vector<v1::DuplicateCandidate>& dups);

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_DOMAIN_INTERNAL_H_
