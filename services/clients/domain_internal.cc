// Implements the helpers shared by the ClientsDomain implementation files (domain_internal.h).
#include "services/clients/domain_internal.h"

#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/validation.h"
#include "common/events/envelope.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "services/clients/domain.h"
#include "services/clients/text_util.h"

namespace triad::clients {

// ValidateClient checks the writable fields; `prefix` is "client." for RPCs, "" for CSV rows.
absl::Status ValidateClient(const Client& c, std::string_view prefix) {
  auto field = [&](std::string_view f) { return std::string(prefix) + std::string(f); };
  if (IsBlank(c.name())) return InvalidField(field("name"), "required");
  if (IsBlank(c.owner_id()))
    return InvalidField(field("owner_id"), "required (every client has one)");
  RETURN_IF_ERROR(api::CheckLength(field("name"), c.name(), 300));
  if (NormalizeName(c.name()).empty()) {
    return InvalidField(field("name"), "must contain letters or digits");
  }
  for (const auto& [name, value] :
       std::vector<std::pair<const char*, const std::string*>>{{"tax_id", &c.tax_id()},
                                                               {"phone", &c.phone()},
                                                               {"email", &c.email()},
                                                               {"website", &c.website()},
                                                               {"address", &c.address()},
                                                               {"owner_id", &c.owner_id()},
                                                               {"team_id", &c.team_id()},
                                                               {"industry", &c.industry()},
                                                               {"region", &c.region()},
                                                               {"notes", &c.notes()}}) {
    RETURN_IF_ERROR(api::CheckText(field(name), *value));
  }
  RETURN_IF_ERROR(api::CheckText(field("name"), c.name()));
  if (!c.email().empty() && c.email().find('@') == std::string::npos) {
    return InvalidField(field("email"), "not an e-mail address");
  }
  if (!c.phone().empty() && NormalizePhone(c.phone()).empty()) {
    return InvalidField(field("phone"), "needs at least 6 digits");
  }
  if (!c.tax_id().empty() && NormalizeTaxId(c.tax_id()).empty()) {
    return InvalidField(field("tax_id"), "needs letters or digits");
  }
  if (!v1::ClientTier_IsValid(c.tier())) return InvalidField(field("tier"), "unknown value");
  RETURN_IF_ERROR(api::CheckCount(field("tags"), c.tags_size(), kMaxListItems));
  for (const std::string& t : c.tags()) {
    if (IsBlank(t)) return InvalidField(field("tags"), "empty tag");
    RETURN_IF_ERROR(api::CheckText(field("tags"), t, 100));
  }
  return absl::OkStatus();
}

const std::vector<FieldDef>& Fields() {
  static const auto* fields = new std::vector<FieldDef>{
      {"name", [](const Client& c) { return c.name(); },
       [](const Client& f, Client& t) { t.set_name(f.name()); }},
      {"tax_id", [](const Client& c) { return c.tax_id(); },
       [](const Client& f, Client& t) { t.set_tax_id(f.tax_id()); }},
      {"phone", [](const Client& c) { return c.phone(); },
       [](const Client& f, Client& t) { t.set_phone(f.phone()); }},
      {"email", [](const Client& c) { return c.email(); },
       [](const Client& f, Client& t) { t.set_email(f.email()); }},
      {"website", [](const Client& c) { return c.website(); },
       [](const Client& f, Client& t) { t.set_website(f.website()); }},
      {"address", [](const Client& c) { return c.address(); },
       [](const Client& f, Client& t) { t.set_address(f.address()); }},
      {"owner_id", [](const Client& c) { return c.owner_id(); },
       [](const Client& f, Client& t) { t.set_owner_id(f.owner_id()); }},
      {"team_id", [](const Client& c) { return c.team_id(); },
       [](const Client& f, Client& t) { t.set_team_id(f.team_id()); }},
      {"industry", [](const Client& c) { return c.industry(); },
       [](const Client& f, Client& t) { t.set_industry(f.industry()); }},
      {"region", [](const Client& c) { return c.region(); },
       [](const Client& f, Client& t) { t.set_region(f.region()); }},
      {"tier", [](const Client& c) { return v1::ClientTier_Name(c.tier()); },
       [](const Client& f, Client& t) { t.set_tier(f.tier()); }},
      {"tags", [](const Client& c) { return absl::StrJoin(c.tags(), ";"); },
       [](const Client& f, Client& t) { *t.mutable_tags() = f.tags(); }},
      {"notes", [](const Client& c) { return c.notes(); },
       [](const Client& f, Client& t) { t.set_notes(f.notes()); }},
  };
  return *fields;
}

std::vector<FieldChange> Diff(const Client& before, const Client& after) {
  std::vector<FieldChange> out;
  for (const FieldDef& f : Fields()) {
    std::string a = f.get(before), b = f.get(after);
    if (a == b) continue;
    FieldChange ch;
    ch.set_field(f.name);
    ch.set_old_value(a);
    ch.set_new_value(b);
    out.push_back(std::move(ch));
  }
  return out;
}

FieldChange Change(std::string_view field, std::string_view old_value, std::string_view new_value) {
  FieldChange ch;
  ch.set_field(std::string(field));
  ch.set_old_value(std::string(old_value));
  ch.set_new_value(std::string(new_value));
  return ch;
}

v1::ClientSummary SummaryOf(const Client& c, bool repeat_client) {
  v1::ClientSummary s;
  s.set_client_id(c.client_id());
  s.set_name(c.name());
  s.set_owner_id(c.owner_id());
  s.set_team_id(c.team_id());
  s.set_status(c.status());
  s.set_industry(c.industry());
  s.set_region(c.region());
  s.set_tier(c.tier());
  *s.mutable_tags() = c.tags();
  s.set_version(c.version());
  s.set_repeat_client(repeat_client);
  *s.mutable_update_time() = c.update_time();
  return s;
}

absl::StatusOr<v1::ClientTier> ParseTier(std::string_view text) {
  std::string t = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
  if (t.empty()) return v1::CLIENT_TIER_UNSPECIFIED;
  if (absl::StartsWith(t, "client_tier_")) t = t.substr(12);
  if (t == "strategic") return v1::CLIENT_TIER_STRATEGIC;
  if (t == "key") return v1::CLIENT_TIER_KEY;
  if (t == "standard") return v1::CLIENT_TIER_STANDARD;
  if (t == "small") return v1::CLIENT_TIER_SMALL;
  if (text.size() > 40 || !api::IsValidUtf8(text)) {
    return InvalidField("tier", "unknown value (strategic, key, standard or small)");
  }
  return InvalidField("tier", absl::StrCat("unknown value '", std::string(text),
                                           "' (strategic, key, standard or small)"));
}

// AddMoney adds `m` to the sum of its currency; false (and no change) when it would overflow.
bool AddMoney(google::protobuf::RepeatedPtrField<common::v1::Money>& sums,
              const common::v1::Money& m) {
  for (common::v1::Money& s : sums) {
    if (s.currency() == m.currency()) {
      int64_t total = 0;
      if (__builtin_add_overflow(s.amount_minor(), m.amount_minor(), &total)) return false;
      s.set_amount_minor(total);
      return true;
    }
  }
  *sums.Add() = m;
  return true;
}

// AddMoneySaturating adds for a read-side total: an overflow stays at the int64 limit.
void AddMoneySaturating(google::protobuf::RepeatedPtrField<common::v1::Money>& sums,
                        const common::v1::Money& m) {
  if (AddMoney(sums, m)) return;
  for (common::v1::Money& s : sums) {
    if (s.currency() == m.currency()) {
      s.set_amount_minor(m.amount_minor() < 0 ? std::numeric_limits<int64_t>::min()
                                              : std::numeric_limits<int64_t>::max());
    }
  }
}

std::string MoneyText(const google::protobuf::RepeatedPtrField<common::v1::Money>& sums) {
  std::vector<std::string> parts;
  for (const common::v1::Money& m : sums) {
    parts.push_back(absl::StrCat(m.amount_minor(), " ", m.currency()));
  }
  return absl::StrJoin(parts, "; ");
}

bool CaseActive(const v1::ServiceCase& c) {
  return !c.breached() &&
         (c.status() == v1::CASE_STATUS_OPEN || c.status() == v1::CASE_STATUS_IN_PROGRESS ||
          c.status() == v1::CASE_STATUS_REOPENED);
}

bool CaseOpen(const v1::ServiceCase& c) {
  return c.status() == v1::CASE_STATUS_OPEN || c.status() == v1::CASE_STATUS_IN_PROGRESS ||
         c.status() == v1::CASE_STATUS_REOPENED;
}

// ParseTimeKey reads (tag, time, ...) keys: returns the time component.
absl::StatusOr<absl::Time> KeyTime(std::string_view key) {
  storage::KeyReader r(key);
  RETURN_IF_ERROR(r.Str().status());
  ASSIGN_OR_RETURN(int64_t micros, r.I64());
  return absl::FromUnixMicros(micros);
}

absl::Status DuplicateError(const std::vector<v1::DuplicateCandidate>& dups) {
  std::vector<std::string> parts;
  for (const auto& d : dups) {
    parts.push_back(absl::StrCat(d.client_id(), " (", absl::StrJoin(d.matched_on(), ","), ")"));
  }
  return absl::AlreadyExistsError(
      absl::StrCat("possible duplicate of existing clients: ", absl::StrJoin(parts, ", "),
                   "; set force to save anyway"));
}

// ValidateTouchpoint checks the caller-given fields of a touchpoint; `prefix` names the field.
absl::Status ValidateTouchpoint(const v1::Touchpoint& in, std::string_view prefix,
                                bool require_participants) {
  auto field = [&](std::string_view f) {
    return absl::StrCat(std::string(prefix), std::string(f));
  };
  if (in.kind() == v1::TOUCHPOINT_KIND_UNSPECIFIED || !v1::TouchpointKind_IsValid(in.kind())) {
    return InvalidField(field("kind"), "required (visit, call, meeting, email or other)");
  }
  if (require_participants && in.participant_ids().empty()) {
    return InvalidField(field("participant_ids"), "at least one person from our side");
  }
  RETURN_IF_ERROR(
      api::CheckCount(field("participant_ids"), in.participant_ids_size(), kMaxListItems));
  for (const std::string& p : in.participant_ids()) {
    RETURN_IF_ERROR(api::CheckId(field("participant_ids"), p));
  }
  RETURN_IF_ERROR(api::CheckCount(field("contact_ids"), in.contact_ids_size(), kMaxListItems));
  for (const std::string& c : in.contact_ids())
    RETURN_IF_ERROR(api::CheckId(field("contact_ids"), c));
  RETURN_IF_ERROR(api::CheckLength(field("summary"), in.summary(), 10 * kMaxTextLength));
  if (in.has_occur_time())
    RETURN_IF_ERROR(api::CheckTimestamp(field("occur_time"), in.occur_time()));
  return absl::OkStatus();
}

}  // namespace triad::clients
