// Implements ClientsDomain: client records, history, duplicates, merge, ownership, handover,
// contacts, touchpoints, service cases, follow-ups, CSV import and consumed events.
#include "services/clients/domain.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/events/envelope.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/text_util.h"

namespace triad::clients {
namespace {

using common::v1::Actor;
using v1::Client;
using v1::FieldChange;

using api::InvalidField;
using api::IsBlank;
using api::kMaxIdLength;
using api::kMaxTextLength;

constexpr int kMaxScanPerCall = 1000;
constexpr int kMaxListItems = 50;

std::string ClientType(std::string_view name) {
  return events::EventType("clients", "client", name);
}
std::string CaseType(std::string_view name) { return events::EventType("clients", "case", name); }
std::string FollowUpType(std::string_view name) {
  return events::EventType("clients", "followup", name);
}

absl::Status ValidateActor(const Actor& actor) {
  if (api::IsBlank(actor.id())) {
    return api::InvalidField("actor.id", "required (who makes the change)");
  }
  RETURN_IF_ERROR(api::CheckId("actor.id", actor.id()));
  return api::CheckText("actor.reason", actor.reason());
}

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

// The paths an update mask may name (the fields of Fields()).
constexpr std::string_view kUpdatablePaths[] = {
    "name",    "tax_id",   "phone",  "email", "website", "address", "owner_id",
    "team_id", "industry", "region", "tier",  "tags",    "notes"};

// The fields an update mask may name, rendered as text for history.
struct FieldDef {
  const char* name;
  std::function<std::string(const Client&)> get;
  std::function<void(const Client& from, Client& to)> copy;
};

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
  *s.mutable_updated_at() = c.updated_at();
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

// ParseTimeKey reads (tag, time, ...) keys: returns the time component.
absl::StatusOr<absl::Time> KeyTime(std::string_view key) {
  storage::KeyReader r(key);
  RETURN_IF_ERROR(r.Str().status());
  ASSIGN_OR_RETURN(int64_t micros, r.I64());
  return absl::FromUnixMicros(micros);
}

}  // namespace

int CadenceDays(v1::ClientTier tier) {
  switch (tier) {
    case v1::CLIENT_TIER_STRATEGIC:
    case v1::CLIENT_TIER_KEY:
      return 30;
    case v1::CLIENT_TIER_SMALL:
      return 180;
    default:
      return 90;
  }
}

absl::Duration SlaDuration(v1::CaseSeverity severity, v1::ClientTier tier) {
  // Hours to resolve, by severity (rows) and tier (strategic, key, standard/unset, small).
  static constexpr int kHours[4][4] = {
      {4, 8, 24, 48},      // critical
      {8, 24, 48, 72},     // high
      {24, 48, 72, 120},   // medium
      {72, 120, 168, 240}  // low
  };
  int row = std::clamp(static_cast<int>(severity), 1, 4) - 1;
  int col = 2;
  if (tier == v1::CLIENT_TIER_STRATEGIC) col = 0;
  if (tier == v1::CLIENT_TIER_KEY) col = 1;
  if (tier == v1::CLIENT_TIER_SMALL) col = 3;
  return absl::Hours(kHours[row][col]);
}

int CompletenessScore(const Client& c) {
  const bool filled[] = {!IsBlank(c.name()),     !IsBlank(c.tax_id()),
                         !IsBlank(c.phone()),    !IsBlank(c.email()),
                         !IsBlank(c.address()),  !IsBlank(c.industry()),
                         !IsBlank(c.region()),   c.tier() != v1::CLIENT_TIER_UNSPECIFIED,
                         !IsBlank(c.owner_id()), !IsBlank(c.website())};
  int n = 0;
  for (bool f : filled) n += f ? 1 : 0;
  return n * 100 / static_cast<int>(sizeof(filled) / sizeof(filled[0]));
}

ClientsDomain::ClientsDomain(storage::Store* store, events::Outbox* outbox, ClientsRepository* repo,
                             DomainOptions options)
    : store_(store), outbox_(outbox), repo_(repo), options_(std::move(options)) {}

// ---------------------------------------------------------------------------------------------
// Loading.

absl::StatusOr<Client> ClientsDomain::LoadClient(std::string_view client_id,
                                                 bool follow_merge) const {
  absl::StatusOr<Client> c = repo_->GetClient(client_id);
  if (absl::IsNotFound(c.status())) {
    return absl::NotFoundError(absl::StrCat("client ", std::string(client_id), " not found"));
  }
  RETURN_IF_ERROR(c.status());
  for (int hops = 0; follow_merge && c->status() == v1::CLIENT_STATUS_MERGED &&
                     !c->merged_into().empty() && hops < 16;
       ++hops) {
    c = repo_->GetClient(c->merged_into());
    RETURN_IF_ERROR(c.status());
  }
  return c;
}

absl::StatusOr<Client> ClientsDomain::LoadLiveClient(std::string_view client_id) const {
  ASSIGN_OR_RETURN(Client c, LoadClient(client_id, /*follow_merge=*/false));
  if (c.status() == v1::CLIENT_STATUS_MERGED) {
    return absl::FailedPreconditionError(absl::StrCat("client ", std::string(client_id),
                                                      " was merged into ", c.merged_into(),
                                                      "; use the survivor"));
  }
  return c;
}

absl::Status ClientsDomain::WithRepeatBusiness(Client& client) const {
  std::vector<std::string> ids = {client.client_id()};
  ids.insert(ids.end(), client.merged_client_ids().begin(), client.merged_client_ids().end());
  v1::RepeatBusiness total;
  for (const std::string& id : ids) {
    v1::RepeatBusiness rb;
    absl::Status s = repo_->GetRecord(RepeatBusinessKey(id), &rb);
    if (absl::IsNotFound(s)) continue;
    RETURN_IF_ERROR(s);
    total.set_deals_won(total.deals_won() + rb.deals_won());
    total.set_deals_lost(total.deals_lost() + rb.deals_lost());
    for (const auto& m : rb.lifetime_value()) {
      AddMoneySaturating(*total.mutable_lifetime_value(), m);
    }
    if (util::FromProto(rb.last_won_at()) > util::FromProto(total.last_won_at())) {
      *total.mutable_last_won_at() = rb.last_won_at();
    }
    if (util::FromProto(rb.last_delivery_at()) > util::FromProto(total.last_delivery_at())) {
      *total.mutable_last_delivery_at() = rb.last_delivery_at();
      total.set_last_delivered_project_id(rb.last_delivered_project_id());
    }
    total.set_repeat_client(total.repeat_client() || rb.repeat_client());
  }
  if (total.deals_won() > 1) total.set_repeat_client(true);
  *client.mutable_repeat_business() = std::move(total);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::DuplicateCandidate>> ClientsDomain::Duplicates(
    const Client& probe, std::string_view self_id) const {
  std::map<std::string, std::vector<std::string>> found;
  auto scan = [&](ClientIndex index, const std::string& value, const char* label) {
    if (value.empty()) return absl::OkStatus();
    return repo_->ScanIndex(index, value, /*prefix=*/false, "",
                            [&](std::string_view, std::string_view id) {
                              if (id != self_id) found[std::string(id)].push_back(label);
                              return found.size() < 100;
                            });
  };
  RETURN_IF_ERROR(scan(ClientIndex::kDupName, NormalizeName(probe.name()), "name"));
  RETURN_IF_ERROR(scan(ClientIndex::kDupTaxId, NormalizeTaxId(probe.tax_id()), "tax_id"));
  RETURN_IF_ERROR(scan(ClientIndex::kDupPhone, NormalizePhone(probe.phone()), "phone"));
  RETURN_IF_ERROR(scan(ClientIndex::kDupEmailDomain, EmailDomain(probe.email()), "email_domain"));
  std::vector<v1::DuplicateCandidate> out;
  for (auto& [id, labels] : found) {
    v1::DuplicateCandidate c;
    c.set_client_id(id);
    for (const std::string& l : labels) c.add_matched_on(l);
    out.push_back(std::move(c));
  }
  return out;
}

namespace {
absl::Status DuplicateError(const std::vector<v1::DuplicateCandidate>& dups) {
  std::vector<std::string> parts;
  for (const auto& d : dups) {
    parts.push_back(absl::StrCat(d.client_id(), " (", absl::StrJoin(d.matched_on(), ","), ")"));
  }
  return absl::AlreadyExistsError(
      absl::StrCat("possible duplicate of existing clients: ", absl::StrJoin(parts, ", "),
                   "; set force to save anyway"));
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Writing a client: record + indexes + history (events are emitted by the callers).

absl::Status ClientsDomain::WriteClient(events::Transaction& txn, const Client* before,
                                        Client& after, std::string_view action, const Actor& actor,
                                        std::vector<FieldChange> changes,
                                        std::string_view handover_id) {
  absl::Time now = Now();
  after.set_version((before ? before->version() : 0) + 1);
  after.set_etag(absl::StrCat(after.version()));
  *after.mutable_updated_at() = util::ToProto(now);
  after.clear_repeat_business();
  RETURN_IF_ERROR(repo_->PutClient(txn.batch(), before, after));
  v1::HistoryEntry h;
  h.set_client_id(after.client_id());
  h.set_action(std::string(action));
  *h.mutable_actor() = actor;
  *h.mutable_time() = util::ToProto(now);
  for (FieldChange& ch : changes) *h.add_changes() = std::move(ch);
  h.set_version(after.version());
  h.set_handover_id(std::string(handover_id));
  return repo_->AddHistory(txn.batch(), h);
}

absl::Status ClientsDomain::RescheduleCadence(events::Transaction& txn, const Client& before,
                                              const Client& after,
                                              std::vector<FieldChange>* history) {
  const int old_days = CadenceDays(before.tier());
  const int new_days = CadenceDays(after.tier());
  if (old_days == new_days) return absl::OkStatus();
  std::vector<v1::FollowUp> pending;
  absl::Status inner;
  RETURN_IF_ERROR(repo_->ScanRecords(
      FollowUpPrefix(after.client_id()), "", [&](std::string_view, std::string_view v) {
        v1::FollowUp f;
        if (!f.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          inner = absl::DataLossError("follow-up does not decode");
          return false;
        }
        if (f.status() == v1::FOLLOW_UP_STATUS_PENDING && f.kind() == v1::FOLLOW_UP_KIND_CADENCE) {
          pending.push_back(std::move(f));
        }
        return true;
      }));
  RETURN_IF_ERROR(inner);
  const std::string reason = absl::StrCat("tier changed from ", v1::ClientTier_Name(before.tier()),
                                          " to ", v1::ClientTier_Name(after.tier()), ": cadence ",
                                          old_days, " -> ", new_days, " days");
  for (const v1::FollowUp& f : pending) {
    // The cadence counts from when the follow-up was scheduled (the last contact or creation).
    const absl::Time old_due = util::FromProto(f.due_at());
    const absl::Time new_due = util::FromProto(f.created_at()) + absl::Hours(24 * new_days);
    if (new_due == old_due) continue;
    v1::FollowUp moved = f;
    *moved.mutable_due_at() = util::ToProto(new_due);
    moved.set_due_notified(false);
    RETURN_IF_ERROR(
        repo_->DeleteRecord(txn.batch(), FollowUpDueKey(old_due, f.client_id(), f.follow_up_id())));
    RETURN_IF_ERROR(
        repo_->PutMarker(txn.batch(), FollowUpDueKey(new_due, f.client_id(), f.follow_up_id())));
    RETURN_IF_ERROR(
        repo_->PutRecord(txn.batch(), FollowUpKey(f.client_id(), f.follow_up_id()), moved));
    v1::FollowUpScheduled ev;
    *ev.mutable_follow_up() = FollowUpSummaryOf(moved, after.owner_id());
    *ev.mutable_previous_due_at() = f.due_at();
    ev.set_reschedule_reason(reason);
    txn.Emit(kFollowUpTopic, f.client_id(), FollowUpType("scheduled"), ev);
    history->push_back(Change(absl::StrCat("follow_up_due_at[", f.follow_up_id(), "]"),
                              events::FormatEventTime(old_due), events::FormatEventTime(new_due)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Clients.

absl::StatusOr<ClientsDomain::CreateOutcome> ClientsDomain::CreateLocked(
    const Client& input, bool force, const Actor& actor, const api::Replay<Client>* replay,
    const std::function<absl::Status(events::Transaction&, const Client&)>& extra) {
  CreateOutcome out;
  if (!force) {
    ASSIGN_OR_RETURN(out.duplicates, Duplicates(input, ""));
    if (!out.duplicates.empty()) return out;
  }
  Client c;
  for (const FieldDef& f : Fields()) f.copy(input, c);
  c.set_client_id(util::NewId("cl"));
  c.set_status(v1::CLIENT_STATUS_COLLECTED);
  *c.mutable_created_at() = util::ToProto(Now());
  c.set_created_by(actor.id());
  std::vector<FieldChange> changes = Diff(Client(), c);
  events::Transaction txn;
  RETURN_IF_ERROR(WriteClient(txn, nullptr, c, "registered", actor, std::move(changes), ""));
  RETURN_IF_ERROR(ScheduleFollowUp(txn, c, v1::FOLLOW_UP_KIND_CADENCE,
                                   Now() + absl::Hours(24 * CadenceDays(c.tier())), "",
                                   util::NewId("fu"), nullptr));
  v1::ClientRegistered ev;
  *ev.mutable_client() = SummaryOf(c, false);
  *ev.mutable_actor() = actor;
  txn.Emit(kClientTopic, c.client_id(), ClientType("registered"), ev);
  if (replay != nullptr) RETURN_IF_ERROR(replay->Record(txn.batch(), c));
  if (extra) RETURN_IF_ERROR(extra(txn, c));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  out.client = std::move(c);
  return out;
}

absl::StatusOr<Client> ClientsDomain::CreateClient(const v1::CreateClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  RETURN_IF_ERROR(ValidateClient(req.client(), "client."));
  std::lock_guard<std::mutex> lock(mu_);
  const api::Replay<Client> replay(*store_, "CreateClient", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<Client> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  ASSIGN_OR_RETURN(CreateOutcome out,
                   CreateLocked(req.client(), req.force(), req.actor(), &replay));
  if (!out.duplicates.empty()) return DuplicateError(out.duplicates);
  return std::move(out.client);
}

absl::StatusOr<Client> ClientsDomain::GetClient(std::string_view client_id) const {
  RETURN_IF_ERROR(api::CheckId("client_id", client_id));
  ASSIGN_OR_RETURN(Client c, LoadClient(client_id, /*follow_merge=*/true));
  RETURN_IF_ERROR(WithRepeatBusiness(c));
  return c;
}

absl::StatusOr<v1::ListClientsResponse> ClientsDomain::ListClients(
    const v1::ListClientsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  if (!v1::ClientStatus_IsValid(req.status())) return InvalidField("status", "unknown value");
  if (!v1::ClientTier_IsValid(req.tier())) return InvalidField("tier", "unknown value");
  std::string status = req.status() ? absl::StrCat(static_cast<int>(req.status())) : "";
  std::string tier = req.tier() ? absl::StrCat(static_cast<int>(req.tier())) : "";
  std::string search = NormalizeSearch(req.name_prefix());
  if (!req.name_prefix().empty() && search.empty()) {
    return InvalidField("name_prefix", "must contain letters or digits");
  }
  std::string fp = api::FilterFingerprint({req.owner_id(), req.team_id(), status, req.industry(),
                                           req.region(), tier, req.tag(), search});
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));

  auto matches = [&](const Client& c) {
    if (c.status() == v1::CLIENT_STATUS_MERGED) return false;
    if (!req.owner_id().empty() && c.owner_id() != req.owner_id()) return false;
    if (!req.team_id().empty() && c.team_id() != req.team_id()) return false;
    if (req.status() && c.status() != req.status()) return false;
    if (!req.industry().empty() && c.industry() != req.industry()) return false;
    if (!req.region().empty() && c.region() != req.region()) return false;
    if (req.tier() && c.tier() != req.tier()) return false;
    if (!req.tag().empty() &&
        std::find(c.tags().begin(), c.tags().end(), req.tag()) == c.tags().end()) {
      return false;
    }
    if (!search.empty() && !absl::StartsWith(NormalizeSearch(c.name()), search)) return false;
    return true;
  };

  v1::ListClientsResponse resp;
  absl::Status inner;
  auto visit = [&](std::string_view key, const Client& c) {
    if (!matches(c)) return true;
    if (!pager.Accept(key)) return false;
    Client out = c;
    inner = WithRepeatBusiness(out);
    if (!inner.ok()) return false;
    *resp.add_clients() = std::move(out);
    return true;
  };
  // Pick the most selective index given; the other filters are checked on the records.
  std::optional<std::pair<ClientIndex, std::string>> index;
  bool prefix = false;
  if (!req.owner_id().empty()) {
    index.emplace(ClientIndex::kOwner, req.owner_id());
  } else if (!req.team_id().empty()) {
    index.emplace(ClientIndex::kTeam, req.team_id());
  } else if (!req.tag().empty()) {
    index.emplace(ClientIndex::kTag, req.tag());
  } else if (!search.empty()) {
    index.emplace(ClientIndex::kSearchName, search);
    prefix = true;
  } else if (!req.industry().empty()) {
    index.emplace(ClientIndex::kIndustry, req.industry());
  } else if (!req.region().empty()) {
    index.emplace(ClientIndex::kRegion, req.region());
  } else if (!status.empty()) {
    index.emplace(ClientIndex::kStatus, status);
  } else if (!tier.empty()) {
    index.emplace(ClientIndex::kTier, tier);
  }
  if (!index.has_value()) {
    RETURN_IF_ERROR(repo_->ScanClients(pager.after_key(), visit));
    RETURN_IF_ERROR(inner);
    resp.set_next_page_token(pager.NextPageToken());
    return resp;
  }
  RETURN_IF_ERROR(repo_->ScanIndex(index->first, index->second, prefix, pager.after_key(),
                                   [&](std::string_view key, std::string_view id) {
                                     absl::StatusOr<Client> c = repo_->GetClient(id);
                                     if (absl::IsNotFound(c.status())) return true;
                                     if (!c.ok()) {
                                       inner = c.status();
                                       return false;
                                     }
                                     return visit(key, *c);
                                   }));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<Client> ClientsDomain::UpdateClient(const v1::UpdateClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client.client_id", req.client().client_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kUpdatablePaths));
  if (req.etag().empty()) return InvalidField("etag", "required");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Client before, LoadLiveClient(req.client().client_id()));
  if (before.status() == v1::CLIENT_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", before.client_id(), " is archived; restore it before editing"));
  }
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(before.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("client ", before.client_id()),
                                 api::EtagPolicy::kRequired));
  Client after = before;
  RETURN_IF_ERROR(api::ApplyUpdateMask(req.update_mask(), kUpdatablePaths, req.client(), after));
  RETURN_IF_ERROR(ValidateClient(after, "client."));
  std::vector<FieldChange> changes = Diff(before, after);
  if (changes.empty()) {
    RETURN_IF_ERROR(WithRepeatBusiness(before));
    return before;
  }
  bool dup_relevant = false;
  for (const FieldChange& ch : changes) {
    if (ch.field() == "name" || ch.field() == "tax_id" || ch.field() == "owner_id") {
      if (IsBlank(req.actor().reason())) {
        return InvalidField("actor.reason", absl::StrCat("required when changing ", ch.field()));
      }
    }
    if (ch.field() == "name" || ch.field() == "tax_id" || ch.field() == "phone" ||
        ch.field() == "email") {
      dup_relevant = true;
    }
  }
  if (dup_relevant && !req.force()) {
    ASSIGN_OR_RETURN(std::vector<v1::DuplicateCandidate> dups,
                     Duplicates(after, after.client_id()));
    // Only keys that changed count: an old shared key is a known, accepted match.
    Client old_probe = before;
    ASSIGN_OR_RETURN(std::vector<v1::DuplicateCandidate> old_dups,
                     Duplicates(old_probe, after.client_id()));
    std::set<std::string> known;
    for (const auto& d : old_dups) known.insert(d.client_id());
    std::vector<v1::DuplicateCandidate> fresh;
    for (auto& d : dups) {
      if (!known.count(d.client_id())) fresh.push_back(std::move(d));
    }
    if (!fresh.empty()) return DuplicateError(fresh);
  }
  events::Transaction txn;
  std::vector<FieldChange> ev_changes = changes;
  RETURN_IF_ERROR(RescheduleCadence(txn, before, after, &changes));
  RETURN_IF_ERROR(WriteClient(txn, &before, after, "updated", req.actor(), std::move(changes), ""));
  Client with_rb = after;
  RETURN_IF_ERROR(WithRepeatBusiness(with_rb));
  bool repeat = with_rb.repeat_business().repeat_client();
  v1::ClientUpdated ev;
  *ev.mutable_client() = SummaryOf(after, repeat);
  for (const FieldChange& ch : ev_changes) *ev.add_changes() = ch;
  *ev.mutable_actor() = req.actor();
  txn.Emit(kClientTopic, after.client_id(), ClientType("updated"), ev);
  if (before.owner_id() != after.owner_id()) {
    v1::ClientOwnerChanged oc;
    *oc.mutable_client() = SummaryOf(after, repeat);
    oc.set_previous_owner_id(before.owner_id());
    oc.set_new_owner_id(after.owner_id());
    *oc.mutable_actor() = req.actor();
    txn.Emit(kClientTopic, after.client_id(), ClientType("owner_changed"), oc);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return with_rb;
}

absl::StatusOr<Client> ClientsDomain::Transition(const v1::LifecycleRequest& req,
                                                 std::string_view action) {
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Client before, LoadLiveClient(req.client_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(before.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("client ", before.client_id())));
  Client after = before;
  std::vector<FieldChange> changes;
  const std::string from = v1::ClientStatus_Name(before.status());
  if (action == "verified") {
    if (before.status() != v1::CLIENT_STATUS_COLLECTED) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot verify client ", before.client_id(), " in status ", from,
                       ": only COLLECTED clients can be verified"));
    }
    after.set_status(v1::CLIENT_STATUS_VERIFIED);
    after.set_completeness_score(CompletenessScore(before));
    changes.push_back(Change("completeness_score", absl::StrCat(before.completeness_score()),
                             absl::StrCat(after.completeness_score())));
  } else if (action == "archived") {
    if (before.status() != v1::CLIENT_STATUS_COLLECTED &&
        before.status() != v1::CLIENT_STATUS_VERIFIED) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot archive client ", before.client_id(), " in status ", from,
                       ": only COLLECTED or VERIFIED clients can be archived"));
    }
    after.set_status(v1::CLIENT_STATUS_ARCHIVED);
    after.set_status_before_archive(before.status());
  } else {
    if (before.status() != v1::CLIENT_STATUS_ARCHIVED) {
      return absl::FailedPreconditionError(absl::StrCat("cannot restore client ",
                                                        before.client_id(), " in status ", from,
                                                        ": only ARCHIVED clients can be restored"));
    }
    after.set_status(before.status_before_archive() == v1::CLIENT_STATUS_VERIFIED
                         ? v1::CLIENT_STATUS_VERIFIED
                         : v1::CLIENT_STATUS_COLLECTED);
    after.clear_status_before_archive();
  }
  changes.insert(changes.begin(), Change("status", from, v1::ClientStatus_Name(after.status())));
  events::Transaction txn;
  RETURN_IF_ERROR(WriteClient(txn, &before, after, action, req.actor(), std::move(changes), ""));
  Client out = after;
  RETURN_IF_ERROR(WithRepeatBusiness(out));
  v1::ClientSummary summary = SummaryOf(after, out.repeat_business().repeat_client());
  if (action == "verified") {
    v1::ClientVerified ev;
    *ev.mutable_client() = summary;
    ev.set_completeness_score(after.completeness_score());
    *ev.mutable_actor() = req.actor();
    txn.Emit(kClientTopic, after.client_id(), ClientType("verified"), ev);
  } else if (action == "archived") {
    v1::ClientArchived ev;
    *ev.mutable_client() = summary;
    *ev.mutable_actor() = req.actor();
    txn.Emit(kClientTopic, after.client_id(), ClientType("archived"), ev);
  } else {
    v1::ClientRestored ev;
    *ev.mutable_client() = summary;
    *ev.mutable_actor() = req.actor();
    txn.Emit(kClientTopic, after.client_id(), ClientType("restored"), ev);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return out;
}

absl::StatusOr<Client> ClientsDomain::VerifyClient(const v1::LifecycleRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  return Transition(req, "verified");
}
absl::StatusOr<Client> ClientsDomain::ArchiveClient(const v1::LifecycleRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  return Transition(req, "archived");
}
absl::StatusOr<Client> ClientsDomain::RestoreClient(const v1::LifecycleRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  return Transition(req, "restored");
}

absl::StatusOr<v1::FindDuplicatesResponse> ClientsDomain::FindDuplicates(
    const v1::FindDuplicatesRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const Client& c = req.client();
  if (IsBlank(c.name()) && IsBlank(c.tax_id()) && IsBlank(c.phone()) && IsBlank(c.email())) {
    return InvalidField("client", "give at least one of name, tax_id, phone, email");
  }
  ASSIGN_OR_RETURN(std::vector<v1::DuplicateCandidate> dups, Duplicates(c, c.client_id()));
  v1::FindDuplicatesResponse resp;
  for (auto& d : dups) *resp.add_candidates() = std::move(d);
  return resp;
}

absl::StatusOr<Client> ClientsDomain::MergeClients(const v1::MergeClientsRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("survivor_id", req.survivor_id()));
  RETURN_IF_ERROR(api::CheckId("merged_id", req.merged_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  if (req.survivor_id() == req.merged_id()) {
    return InvalidField("merged_id", "must differ from survivor_id");
  }
  if (IsBlank(req.actor().reason())) return InvalidField("actor.reason", "required for a merge");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Client survivor, LoadLiveClient(req.survivor_id()));
  ASSIGN_OR_RETURN(Client loser, LoadLiveClient(req.merged_id()));
  events::Transaction txn;
  // The survivor keeps its values and takes the loser's where it has none.
  Client s_after = survivor;
  for (const FieldDef& f : Fields()) {
    if (std::string_view(f.name) == "tags") continue;
    if (f.get(s_after).empty() ||
        (std::string_view(f.name) == "tier" && s_after.tier() == v1::CLIENT_TIER_UNSPECIFIED)) {
      f.copy(loser, s_after);
    }
  }
  std::set<std::string> tags(s_after.tags().begin(), s_after.tags().end());
  for (const std::string& t : loser.tags()) {
    if (tags.insert(t).second) s_after.add_tags(t);
  }
  s_after.add_merged_client_ids(loser.client_id());
  for (const std::string& id : loser.merged_client_ids()) s_after.add_merged_client_ids(id);
  std::vector<FieldChange> s_changes = Diff(survivor, s_after);
  s_changes.push_back(Change("merged_client_ids", "", loser.client_id()));
  Client l_after = loser;
  l_after.set_status(v1::CLIENT_STATUS_MERGED);
  l_after.set_merged_into(survivor.client_id());
  std::vector<FieldChange> l_changes = {
      Change("status", v1::ClientStatus_Name(loser.status()), "CLIENT_STATUS_MERGED"),
      Change("merged_into", "", survivor.client_id())};
  // Contacts and touchpoints move to the survivor; the loser's pending follow-ups are dropped.
  absl::Status inner;
  auto move_all = [&](const std::string& prefix, auto make_key, auto proto) -> absl::Status {
    std::vector<std::pair<std::string, std::string>> rows;
    RETURN_IF_ERROR(repo_->ScanRecords(prefix, "", [&](std::string_view k, std::string_view v) {
      rows.emplace_back(std::string(k), std::string(v));
      return true;
    }));
    for (auto& [k, v] : rows) {
      auto msg = proto;
      if (!msg.ParseFromString(v)) return absl::DataLossError("record does not decode");
      msg.set_client_id(survivor.client_id());
      RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), k));
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), make_key(msg), msg));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(move_all(
      ContactPrefix(loser.client_id()),
      [](const v1::Contact& m) { return ContactKey(m.client_id(), m.contact_id()); },
      v1::Contact()));
  RETURN_IF_ERROR(move_all(
      TouchpointPrefix(loser.client_id()),
      [](const v1::Touchpoint& m) { return TouchpointKey(m.client_id(), m.touchpoint_id()); },
      v1::Touchpoint()));
  // Follow-ups: the loser's pending cadence follow-ups are dropped (the survivor has its own);
  // its post-delivery and completed ones move to the survivor.
  std::vector<v1::FollowUp> loser_fus;
  RETURN_IF_ERROR(repo_->ScanRecords(FollowUpPrefix(loser.client_id()), "",
                                     [&](std::string_view k, std::string_view v) {
                                       v1::FollowUp f;
                                       if (f.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
                                         loser_fus.push_back(f);
                                       } else {
                                         inner = absl::DataLossError("follow-up does not decode");
                                       }
                                       return inner.ok();
                                     }));
  RETURN_IF_ERROR(inner);
  for (const v1::FollowUp& f : loser_fus) {
    const bool pending = f.status() == v1::FOLLOW_UP_STATUS_PENDING;
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), FollowUpKey(f.client_id(), f.follow_up_id())));
    if (pending) {
      RETURN_IF_ERROR(repo_->DeleteRecord(
          txn.batch(),
          FollowUpDueKey(util::FromProto(f.due_at()), f.client_id(), f.follow_up_id())));
    }
    if (pending && f.kind() == v1::FOLLOW_UP_KIND_CADENCE) continue;
    v1::FollowUp existing;
    absl::Status es =
        repo_->GetRecord(FollowUpKey(survivor.client_id(), f.follow_up_id()), &existing);
    if (es.ok()) continue;  // the survivor already has it (same project delivered to both)
    if (!absl::IsNotFound(es)) return es;
    v1::FollowUp moved = f;
    moved.set_client_id(survivor.client_id());
    RETURN_IF_ERROR(
        repo_->PutRecord(txn.batch(), FollowUpKey(moved.client_id(), moved.follow_up_id()), moved));
    if (pending && !moved.due_notified()) {
      RETURN_IF_ERROR(
          repo_->PutMarker(txn.batch(), FollowUpDueKey(util::FromProto(moved.due_at()),
                                                       moved.client_id(), moved.follow_up_id())));
    }
  }
  // Service cases move to the survivor (their SLA and history stay as they are).
  std::vector<std::string> case_ids;
  RETURN_IF_ERROR(repo_->ScanRecords(CaseByClientPrefix(loser.client_id()), "",
                                     [&](std::string_view k, std::string_view) {
                                       case_ids.push_back(LastComponent(k));
                                       return true;
                                     }));
  for (const std::string& id : case_ids) {
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), CaseByClientKey(loser.client_id(), id)));
    absl::StatusOr<v1::ServiceCase> before_case = LoadCase(id);
    if (absl::IsNotFound(before_case.status())) continue;
    RETURN_IF_ERROR(before_case.status());
    v1::ServiceCase after_case = *before_case;
    after_case.set_client_id(survivor.client_id());
    RETURN_IF_ERROR(WriteCase(txn, &*before_case, after_case));
    RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), CaseByClientKey(survivor.client_id(), id)));
  }
  if (!case_ids.empty()) {
    s_changes.push_back(
        Change("cases", "", absl::StrCat(case_ids.size(), " moved from ", loser.client_id())));
  }
  // Taking the loser's tier may change the survivor's cadence.
  RETURN_IF_ERROR(RescheduleCadence(txn, survivor, s_after, &s_changes));
  RETURN_IF_ERROR(
      WriteClient(txn, &loser, l_after, "merged", req.actor(), std::move(l_changes), ""));
  RETURN_IF_ERROR(
      WriteClient(txn, &survivor, s_after, "merged_in", req.actor(), std::move(s_changes), ""));
  Client out = s_after;
  RETURN_IF_ERROR(WithRepeatBusiness(out));
  v1::ClientsMerged ev;
  *ev.mutable_survivor() = SummaryOf(s_after, out.repeat_business().repeat_client());
  ev.set_merged_client_id(loser.client_id());
  *ev.mutable_actor() = req.actor();
  ev.add_redirected_client_ids(loser.client_id());
  for (const std::string& id : loser.merged_client_ids()) ev.add_redirected_client_ids(id);
  for (const std::string& id : case_ids) ev.add_remapped_case_ids(id);
  txn.Emit(kClientTopic, s_after.client_id(), ClientType("merged"), ev);
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return out;
}

absl::StatusOr<v1::ListHistoryResponse> ClientsDomain::ListClientHistory(
    const v1::ListClientHistoryRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), "c:" + req.client_id()));
  RETURN_IF_ERROR(LoadClient(req.client_id(), false).status());
  v1::ListHistoryResponse resp;
  RETURN_IF_ERROR(repo_->ScanHistory(false, req.client_id(), pager.after_key(),
                                     [&](std::string_view key, const v1::HistoryEntry& e) {
                                       if (!pager.Accept(key)) return false;
                                       *resp.add_entries() = e;
                                       return true;
                                     }));
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ListHistoryResponse> ClientsDomain::ListActorHistory(
    const v1::ListActorHistoryRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("actor_id", req.actor_id()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), "a:" + req.actor_id()));
  v1::ListHistoryResponse resp;
  RETURN_IF_ERROR(repo_->ScanHistory(true, req.actor_id(), pager.after_key(),
                                     [&](std::string_view key, const v1::HistoryEntry& e) {
                                       if (!pager.Accept(key)) return false;
                                       *resp.add_entries() = e;
                                       return true;
                                     }));
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Ownership.

absl::Status ClientsDomain::ChangeOwner(events::Transaction& txn, Client client,
                                        const std::string& new_owner, const Actor& actor,
                                        std::string_view handover_id) {
  Client before = client;
  client.set_owner_id(new_owner);
  RETURN_IF_ERROR(WriteClient(txn, &before, client, "owner_changed", actor,
                              {Change("owner_id", before.owner_id(), new_owner)}, handover_id));
  Client with_rb = client;  // repeat-business figures summed over the ids merged into it
  RETURN_IF_ERROR(WithRepeatBusiness(with_rb));
  v1::ClientOwnerChanged ev;
  *ev.mutable_client() = SummaryOf(client, with_rb.repeat_business().repeat_client());
  ev.set_previous_owner_id(before.owner_id());
  ev.set_new_owner_id(new_owner);
  *ev.mutable_actor() = actor;
  ev.set_handover_id(std::string(handover_id));
  txn.Emit(kClientTopic, client.client_id(), ClientType("owner_changed"), ev);
  return absl::OkStatus();
}

absl::StatusOr<Client> ClientsDomain::ReassignClient(const v1::ReassignClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckId("new_owner_id", req.new_owner_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  if (IsBlank(req.actor().reason()))
    return InvalidField("actor.reason", "required when changing owner");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Client c, LoadLiveClient(req.client_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(c.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("client ", c.client_id())));
  if (c.owner_id() != req.new_owner_id()) {
    events::Transaction txn;
    RETURN_IF_ERROR(ChangeOwner(txn, c, req.new_owner_id(), req.actor(), ""));
    RETURN_IF_ERROR(outbox_->Commit(txn));
  }
  ASSIGN_OR_RETURN(Client out, LoadClient(req.client_id(), false));
  RETURN_IF_ERROR(WithRepeatBusiness(out));
  return out;
}

absl::StatusOr<v1::Handover> ClientsDomain::HandOverPortfolio(
    const v1::HandOverPortfolioRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("from_owner_id", req.from_owner_id()));
  RETURN_IF_ERROR(api::CheckId("to_owner_id", req.to_owner_id()));
  if (req.from_owner_id() == req.to_owner_id()) {
    return InvalidField("to_owner_id", "must differ from from_owner_id");
  }
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  if (IsBlank(req.actor().reason())) return InvalidField("actor.reason", "required for a handover");
  v1::Handover h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The replay stores the handover as created; a retry continues it from its stored progress.
    const api::Replay<v1::Handover> replay(*store_, "HandOverPortfolio", req.request_id(), req);
    ASSIGN_OR_RETURN(std::optional<v1::Handover> prior, replay.Prior());
    if (prior.has_value()) {
      RETURN_IF_ERROR(repo_->GetRecord(HandoverKey(prior->handover_id()), &h));
      if (h.status() == v1::HANDOVER_STATUS_COMPLETED) return h;
    } else {
      int64_t total = 0;
      RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, req.from_owner_id(), false, "",
                                       [&](std::string_view, std::string_view) {
                                         ++total;
                                         return true;
                                       }));
      h.set_handover_id(util::NewId("ho"));
      h.set_from_owner_id(req.from_owner_id());
      h.set_to_owner_id(req.to_owner_id());
      *h.mutable_actor() = req.actor();
      h.set_status(v1::HANDOVER_STATUS_RUNNING);
      h.set_total(total);
      *h.mutable_started_at() = util::ToProto(Now());
      *h.mutable_updated_at() = h.started_at();
      h.set_request_id(req.request_id());
      events::Transaction txn;
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), HandoverKey(h.handover_id()), h));
      RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), HandoverRunningKey(h.handover_id())));
      RETURN_IF_ERROR(replay.Record(txn.batch(), h));
      RETURN_IF_ERROR(outbox_->Commit(txn));
    }
  }
  return RunHandover(std::move(h));
}

absl::StatusOr<v1::Handover> ClientsDomain::RunHandover(v1::Handover h) {
  int chunks = 0;
  const int chunk_size = std::max(1, options_.handover_chunk_size);
  while (true) {
    std::lock_guard<std::mutex> lock(mu_);
    // Another caller may run the same handover (a concurrent retry, or the start-up resume):
    // continue from the progress persisted by the last chunk, whoever moved it.
    v1::Handover stored;
    absl::Status hs = repo_->GetRecord(HandoverKey(h.handover_id()), &stored);
    if (!hs.ok() && !absl::IsNotFound(hs)) return hs;
    if (hs.ok()) h = std::move(stored);
    if (h.status() == v1::HANDOVER_STATUS_COMPLETED) return h;
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, h.from_owner_id(), false, "",
                                     [&](std::string_view, std::string_view id) {
                                       ids.emplace_back(id);
                                       return static_cast<int>(ids.size()) < chunk_size;
                                     }));
    events::Transaction txn;
    *h.mutable_updated_at() = util::ToProto(Now());
    if (ids.empty()) {
      h.set_status(v1::HANDOVER_STATUS_COMPLETED);
      *h.mutable_completed_at() = h.updated_at();
      h.set_total(std::max(h.total(), h.moved()));
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), HandoverKey(h.handover_id()), h));
      RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), HandoverRunningKey(h.handover_id())));
      RETURN_IF_ERROR(outbox_->Commit(txn));
      logging::Info("handover completed", {{"handover_id", h.handover_id()},
                                           {"moved", static_cast<long long>(h.moved())}});
      return h;
    }
    int moved = 0;
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(Client c, LoadClient(id, false));
      if (c.owner_id() != h.from_owner_id()) continue;
      RETURN_IF_ERROR(ChangeOwner(txn, std::move(c), h.to_owner_id(), h.actor(), h.handover_id()));
      ++moved;
    }
    h.set_moved(h.moved() + moved);
    h.set_total(std::max(h.total(), h.moved()));
    RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), HandoverKey(h.handover_id()), h));
    RETURN_IF_ERROR(outbox_->Commit(txn));
    if (++chunks == options_.handover_stop_after_chunks) return h;
  }
}

absl::StatusOr<v1::Handover> ClientsDomain::GetHandover(std::string_view handover_id) const {
  RETURN_IF_ERROR(api::CheckId("handover_id", handover_id));
  v1::Handover h;
  absl::Status s = repo_->GetRecord(HandoverKey(handover_id), &h);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(absl::StrCat("handover ", std::string(handover_id), " not found"));
  }
  RETURN_IF_ERROR(s);
  return h;
}

absl::Status ClientsDomain::ResumeHandovers() {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(
      repo_->ScanRecords(HandoverRunningPrefix(), "", [&](std::string_view key, std::string_view) {
        ids.push_back(LastComponent(key));
        return true;
      }));
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Handover h, GetHandover(id));
    if (h.status() != v1::HANDOVER_STATUS_RUNNING) continue;
    logging::Info("resuming handover", {{"handover_id", id}});
    RETURN_IF_ERROR(RunHandover(std::move(h)).status());
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Contacts and touchpoints.

absl::StatusOr<v1::Contact> ClientsDomain::CreateContact(const v1::CreateContactRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const v1::Contact& in = req.contact();
  RETURN_IF_ERROR(api::CheckId("contact.client_id", in.client_id()));
  RETURN_IF_ERROR(api::CheckRequired("contact.name", in.name()));
  RETURN_IF_ERROR(api::CheckLength("contact.name", in.name(), 300));
  RETURN_IF_ERROR(api::CheckLength("contact.role", in.role(), 300));
  RETURN_IF_ERROR(api::CheckLength("contact.phone", in.phone(), 100));
  RETURN_IF_ERROR(api::CheckLength("contact.email", in.email(), 300));
  if (!in.email().empty() && in.email().find('@') == std::string::npos) {
    return InvalidField("contact.email", "not an e-mail address");
  }
  if (!in.phone().empty() && NormalizePhone(in.phone()).empty()) {
    return InvalidField("contact.phone", "needs at least 6 digits");
  }
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  std::lock_guard<std::mutex> lock(mu_);
  const api::Replay<v1::Contact> replay(*store_, "CreateContact", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Contact> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::Contact c;
  ASSIGN_OR_RETURN(Client client, LoadClient(in.client_id(), true));
  c.set_contact_id(util::NewId("ct"));
  c.set_client_id(client.client_id());
  c.set_name(in.name());
  c.set_role(in.role());
  c.set_phone(in.phone());
  c.set_email(in.email());
  *c.mutable_created_at() = util::ToProto(Now());
  c.set_created_by(req.actor().id());
  events::Transaction txn;
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), ContactKey(c.client_id(), c.contact_id()), c));
  RETURN_IF_ERROR(replay.Record(txn.batch(), c));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return c;
}

namespace {
// ListPrefix pages through the records of type Msg under `prefix`.
// `items` is the response's repeated field; `next_token` its next_page_token.
template <typename Msg>
absl::Status ListPrefix(const ClientsRepository& repo, const std::string& prefix, api::Pager& pager,
                        google::protobuf::RepeatedPtrField<Msg>* items, std::string* next_token) {
  absl::Status inner;
  RETURN_IF_ERROR(repo.ScanRecords(
      prefix, pager.after_key(), [&](std::string_view key, std::string_view value) {
        if (!pager.Accept(key)) return false;
        if (!items->Add()->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("record does not decode");
          return false;
        }
        return true;
      }));
  *next_token = pager.NextPageToken();
  return inner;
}
}  // namespace

absl::StatusOr<v1::ListContactsResponse> ClientsDomain::ListContacts(
    const v1::ListContactsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
  std::string fp = "contacts:" + client.client_id();
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListContactsResponse resp;
  RETURN_IF_ERROR(ListPrefix(*repo_, ContactPrefix(client.client_id()), pager,
                             resp.mutable_contacts(), resp.mutable_next_page_token()));
  return resp;
}

namespace {
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
  if (in.has_occurred_at())
    RETURN_IF_ERROR(api::CheckTimestamp(field("occurred_at"), in.occurred_at()));
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<v1::Touchpoint> ClientsDomain::CreateTouchpoint(
    const v1::CreateTouchpointRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const v1::Touchpoint& in = req.touchpoint();
  RETURN_IF_ERROR(api::CheckId("touchpoint.client_id", in.client_id()));
  RETURN_IF_ERROR(ValidateTouchpoint(in, "touchpoint.", /*require_participants=*/true));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  std::lock_guard<std::mutex> lock(mu_);
  const api::Replay<v1::Touchpoint> replay(*store_, "CreateTouchpoint", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Touchpoint> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::Touchpoint t;
  ASSIGN_OR_RETURN(Client client, LoadClient(in.client_id(), true));
  for (const std::string& contact : in.contact_ids()) {
    v1::Contact ct;
    absl::Status s = repo_->GetRecord(ContactKey(client.client_id(), contact), &ct);
    if (absl::IsNotFound(s)) {
      return InvalidField("touchpoint.contact_ids",
                          absl::StrCat("no contact ", contact, " at client ", client.client_id()));
    }
    RETURN_IF_ERROR(s);
  }
  t = in;
  t.set_touchpoint_id(util::NewId("tp"));
  t.set_client_id(client.client_id());
  if (!t.has_occurred_at()) *t.mutable_occurred_at() = util::ToProto(Now());
  t.set_recorded_by(req.actor().id());
  t.clear_follow_up_id();
  events::Transaction txn;
  RETURN_IF_ERROR(
      repo_->PutRecord(txn.batch(), TouchpointKey(t.client_id(), t.touchpoint_id()), t));
  RETURN_IF_ERROR(replay.Record(txn.batch(), t));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return t;
}

absl::StatusOr<v1::ListTouchpointsResponse> ClientsDomain::ListTouchpoints(
    const v1::ListTouchpointsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
  std::string fp = "touchpoints:" + client.client_id();
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListTouchpointsResponse resp;
  RETURN_IF_ERROR(ListPrefix(*repo_, TouchpointPrefix(client.client_id()), pager,
                             resp.mutable_touchpoints(), resp.mutable_next_page_token()));
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Service cases.

v1::CaseSummary ClientsDomain::CaseSummaryOf(const v1::ServiceCase& c) const {
  v1::CaseSummary s;
  s.set_case_id(c.case_id());
  s.set_client_id(c.client_id());
  s.set_contact_id(c.contact_id());
  s.set_severity(c.severity());
  s.set_status(c.status());
  s.set_assignee_id(c.assignee_id());
  absl::StatusOr<Client> client = repo_->GetClient(c.client_id());
  if (client.ok()) s.set_client_owner_id(client->owner_id());
  s.set_client_tier(c.client_tier());
  *s.mutable_opened_at() = c.opened_at();
  *s.mutable_sla_due_at() = c.sla_due_at();
  s.set_breached(c.breached());
  s.set_satisfaction_score(c.satisfaction_score());
  s.set_version(c.version());
  return s;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::LoadCase(std::string_view case_id) const {
  v1::ServiceCase c;
  absl::Status s = repo_->GetRecord(CaseKey(case_id), &c);
  if (absl::IsNotFound(s))
    return absl::NotFoundError(absl::StrCat("case ", std::string(case_id), " not found"));
  RETURN_IF_ERROR(s);
  return c;
}

absl::Status ClientsDomain::WriteCase(events::Transaction& txn, const v1::ServiceCase* before,
                                      v1::ServiceCase& after) {
  after.set_version((before ? before->version() : 0) + 1);
  after.set_etag(absl::StrCat(after.version()));
  if (before != nullptr && CaseActive(*before)) {
    RETURN_IF_ERROR(repo_->DeleteRecord(
        txn.batch(), CaseSlaWatchKey(util::FromProto(before->sla_due_at()), before->case_id())));
  }
  if (CaseActive(after)) {
    RETURN_IF_ERROR(repo_->PutMarker(
        txn.batch(), CaseSlaWatchKey(util::FromProto(after.sla_due_at()), after.case_id())));
  }
  if (before == nullptr) {
    RETURN_IF_ERROR(
        repo_->PutMarker(txn.batch(), CaseByClientKey(after.client_id(), after.case_id())));
  }
  if (after.breach_count() > 0) {
    RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), CaseBreachedKey(after.case_id())));
  }
  return repo_->PutRecord(txn.batch(), CaseKey(after.case_id()), after);
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::OpenCase(const v1::OpenCaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  if (req.severity() == v1::CASE_SEVERITY_UNSPECIFIED ||
      !v1::CaseSeverity_IsValid(req.severity())) {
    return InvalidField("severity", "required (critical, high, medium or low)");
  }
  if (IsBlank(req.description())) return InvalidField("description", "required");
  RETURN_IF_ERROR(api::CheckLength("description", req.description(), 10 * kMaxTextLength));
  RETURN_IF_ERROR(api::CheckOptionalId("contact_id", req.contact_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  std::lock_guard<std::mutex> lock(mu_);
  const api::Replay<v1::ServiceCase> replay(*store_, "OpenCase", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ServiceCase> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::ServiceCase c;
  ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
  if (client.status() == v1::CLIENT_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", client.client_id(), " is archived; restore it to open cases"));
  }
  if (!req.contact_id().empty()) {
    v1::Contact ct;
    absl::Status s = repo_->GetRecord(ContactKey(client.client_id(), req.contact_id()), &ct);
    if (absl::IsNotFound(s)) {
      return InvalidField("contact_id", absl::StrCat("no contact ", req.contact_id(), " at client ",
                                                     client.client_id()));
    }
    RETURN_IF_ERROR(s);
  }
  absl::Time now = Now();
  c.set_case_id(util::NewId("case"));
  c.set_client_id(client.client_id());
  c.set_contact_id(req.contact_id());
  c.set_severity(req.severity());
  c.set_description(req.description());
  c.set_status(v1::CASE_STATUS_OPEN);
  c.set_client_tier(client.tier());
  *c.mutable_opened_at() = util::ToProto(now);
  *c.mutable_sla_due_at() = util::ToProto(now + SlaDuration(req.severity(), client.tier()));
  c.set_opened_by(req.actor().id());
  events::Transaction txn;
  RETURN_IF_ERROR(WriteCase(txn, nullptr, c));
  v1::CaseOpened ev;
  *ev.mutable_case_summary() = CaseSummaryOf(c);
  ev.set_description(c.description());
  *ev.mutable_actor() = req.actor();
  txn.Emit(kCaseTopic, c.case_id(), CaseType("opened"), ev);
  RETURN_IF_ERROR(replay.Record(txn.batch(), c));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return c;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::GetCase(std::string_view case_id) const {
  RETURN_IF_ERROR(api::CheckId("case_id", case_id));
  return LoadCase(case_id);
}

absl::StatusOr<v1::ListCasesResponse> ClientsDomain::ListCases(
    const v1::ListCasesRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  if (req.client_id().empty() && !req.breached_only()) {
    return InvalidField("client_id", "required unless breached_only is set");
  }
  if (!v1::CaseStatus_IsValid(req.status())) return InvalidField("status", "unknown value");
  std::string prefix;
  std::string fp = api::FilterFingerprint({req.client_id(), req.breached_only() ? "b" : "",
                                           absl::StrCat(static_cast<int>(req.status()))});
  if (!req.client_id().empty()) {
    ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
    prefix = CaseByClientPrefix(client.client_id());
  } else {
    prefix = CaseBreachedPrefix();
  }
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListCasesResponse resp;
  absl::Status inner;
  RETURN_IF_ERROR(
      repo_->ScanRecords(prefix, pager.after_key(), [&](std::string_view key, std::string_view) {
        absl::StatusOr<v1::ServiceCase> c = LoadCase(LastComponent(key));
        if (!c.ok()) {
          inner = c.status();
          return false;
        }
        if (req.status() && c->status() != req.status()) return true;
        if (req.breached_only() && c->breach_count() == 0) return true;
        if (!pager.Accept(key)) return false;
        *resp.add_cases() = *std::move(c);
        return true;
      }));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::AssignCase(const v1::AssignCaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("case_id", req.case_id()));
  RETURN_IF_ERROR(api::CheckId("assignee_id", req.assignee_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(req.case_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(before.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("case ", before.case_id())));
  if (before.status() == v1::CASE_STATUS_CLOSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", before.case_id(), " is closed; reopen it before assigning"));
  }
  if (before.assignee_id() == req.assignee_id()) return before;
  v1::ServiceCase after = before;
  after.set_assignee_id(req.assignee_id());
  events::Transaction txn;
  RETURN_IF_ERROR(WriteCase(txn, &before, after));
  v1::CaseAssigned ev;
  *ev.mutable_case_summary() = CaseSummaryOf(after);
  ev.set_previous_assignee_id(before.assignee_id());
  *ev.mutable_actor() = req.actor();
  txn.Emit(kCaseTopic, after.case_id(), CaseType("assigned"), ev);
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return after;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::TransitionCase(
    const v1::TransitionCaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("case_id", req.case_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  const v1::CaseStatus to = req.target_status();
  if (to != v1::CASE_STATUS_IN_PROGRESS && to != v1::CASE_STATUS_RESOLVED &&
      to != v1::CASE_STATUS_CLOSED && to != v1::CASE_STATUS_REOPENED) {
    return InvalidField("target_status", "must be IN_PROGRESS, RESOLVED, CLOSED or REOPENED");
  }
  if (to == v1::CASE_STATUS_CLOSED &&
      (req.satisfaction_score() < 1 || req.satisfaction_score() > 5)) {
    return InvalidField("satisfaction_score", "required (1..5) when closing");
  }
  if (to != v1::CASE_STATUS_CLOSED && req.satisfaction_score() != 0) {
    return InvalidField("satisfaction_score", "only given when closing");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(req.case_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(before.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("case ", before.case_id())));
  const v1::CaseStatus from = before.status();
  static const std::map<v1::CaseStatus, std::set<v1::CaseStatus>> kAllowed = {
      {v1::CASE_STATUS_OPEN, {v1::CASE_STATUS_IN_PROGRESS, v1::CASE_STATUS_RESOLVED}},
      {v1::CASE_STATUS_IN_PROGRESS, {v1::CASE_STATUS_RESOLVED}},
      {v1::CASE_STATUS_RESOLVED, {v1::CASE_STATUS_CLOSED, v1::CASE_STATUS_REOPENED}},
      {v1::CASE_STATUS_CLOSED, {v1::CASE_STATUS_REOPENED}},
      {v1::CASE_STATUS_REOPENED, {v1::CASE_STATUS_IN_PROGRESS, v1::CASE_STATUS_RESOLVED}},
  };
  auto it = kAllowed.find(from);
  if (it == kAllowed.end() || !it->second.count(to)) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", before.case_id(), " cannot move from ", v1::CaseStatus_Name(from),
                     " to ", v1::CaseStatus_Name(to)));
  }
  if (to == v1::CASE_STATUS_IN_PROGRESS && before.assignee_id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", before.case_id(), " has no assignee; assign it first"));
  }
  absl::Time now = Now();
  v1::ServiceCase after = before;
  after.set_status(to);
  std::string type;
  switch (to) {
    case v1::CASE_STATUS_IN_PROGRESS:
      type = "started";
      break;
    case v1::CASE_STATUS_RESOLVED:
      type = "resolved";
      *after.mutable_resolved_at() = util::ToProto(now);
      after.set_resolution(req.resolution());
      break;
    case v1::CASE_STATUS_CLOSED:
      type = "closed";
      *after.mutable_closed_at() = util::ToProto(now);
      after.set_satisfaction_score(req.satisfaction_score());
      break;
    default:
      type = "reopened";
      after.set_breached(false);
      after.clear_breached_at();
      after.clear_resolved_at();
      after.clear_closed_at();
      after.set_satisfaction_score(0);
      *after.mutable_sla_due_at() =
          util::ToProto(now + SlaDuration(after.severity(), after.client_tier()));
  }
  events::Transaction txn;
  RETURN_IF_ERROR(WriteCase(txn, &before, after));
  v1::CaseStatusChanged ev;
  *ev.mutable_case_summary() = CaseSummaryOf(after);
  ev.set_previous_status(from);
  *ev.mutable_actor() = req.actor();
  ev.set_resolution(after.resolution());
  txn.Emit(kCaseTopic, after.case_id(), CaseType(type), ev);
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return after;
}

absl::StatusOr<v1::ScanSlaBreachesResponse> ClientsDomain::ScanSlaBreaches() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Time now = Now();
  std::vector<std::string> ids;
  absl::Status inner;
  RETURN_IF_ERROR(
      repo_->ScanRecords(CaseSlaWatchPrefix(), "", [&](std::string_view key, std::string_view) {
        absl::StatusOr<absl::Time> due = KeyTime(key);
        if (!due.ok()) {
          inner = due.status();
          return false;
        }
        if (*due > now) return false;
        storage::KeyReader r(key);
        (void)r.Str();
        (void)r.I64();
        absl::StatusOr<std::string> id = r.Str();
        if (id.ok()) ids.push_back(*id);
        return static_cast<int>(ids.size()) < kMaxScanPerCall;
      }));
  RETURN_IF_ERROR(inner);
  v1::ScanSlaBreachesResponse resp;
  if (ids.empty()) return resp;
  events::Transaction txn;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(id));
    if (!CaseActive(before)) continue;
    v1::ServiceCase after = before;
    after.set_breached(true);
    *after.mutable_breached_at() = util::ToProto(now);
    after.set_breach_count(before.breach_count() + 1);
    RETURN_IF_ERROR(WriteCase(txn, &before, after));
    v1::CaseBreached ev;
    *ev.mutable_case_summary() = CaseSummaryOf(after);
    *ev.mutable_detected_at() = util::ToProto(now);
    txn.Emit(kCaseTopic, after.case_id(), CaseType("breached"), ev);
    resp.add_breached_case_ids(id);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Follow-ups.

v1::FollowUpSummary ClientsDomain::FollowUpSummaryOf(const v1::FollowUp& f,
                                                     std::string_view owner) const {
  v1::FollowUpSummary s;
  s.set_follow_up_id(f.follow_up_id());
  s.set_client_id(f.client_id());
  s.set_owner_id(std::string(owner));
  s.set_kind(f.kind());
  *s.mutable_due_at() = f.due_at();
  s.set_project_id(f.project_id());
  return s;
}

absl::Status ClientsDomain::ScheduleFollowUp(events::Transaction& txn, const Client& client,
                                             v1::FollowUpKind kind, absl::Time due,
                                             std::string_view project_id, std::string follow_up_id,
                                             v1::FollowUp* out) {
  v1::FollowUp f;
  f.set_follow_up_id(std::move(follow_up_id));
  f.set_client_id(client.client_id());
  f.set_kind(kind);
  f.set_status(v1::FOLLOW_UP_STATUS_PENDING);
  *f.mutable_due_at() = util::ToProto(due);
  f.set_project_id(std::string(project_id));
  *f.mutable_created_at() = util::ToProto(Now());
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), FollowUpKey(f.client_id(), f.follow_up_id()), f));
  RETURN_IF_ERROR(
      repo_->PutMarker(txn.batch(), FollowUpDueKey(due, f.client_id(), f.follow_up_id())));
  v1::FollowUpScheduled ev;
  *ev.mutable_follow_up() = FollowUpSummaryOf(f, client.owner_id());
  txn.Emit(kFollowUpTopic, f.client_id(), FollowUpType("scheduled"), ev);
  if (out != nullptr) *out = std::move(f);
  return absl::OkStatus();
}

absl::StatusOr<v1::FollowUpPlan> ClientsDomain::GetFollowUpPlan(std::string_view client_id) const {
  RETURN_IF_ERROR(api::CheckId("client_id", client_id));
  ASSIGN_OR_RETURN(Client client, LoadClient(client_id, true));
  v1::FollowUpPlan plan;
  plan.set_client_id(client.client_id());
  plan.set_owner_id(client.owner_id());
  plan.set_tier(client.tier());
  plan.set_cadence_days(CadenceDays(client.tier()));
  std::vector<v1::FollowUp> pending;
  RETURN_IF_ERROR(repo_->ScanRecords(
      FollowUpPrefix(client.client_id()), "", [&](std::string_view, std::string_view v) {
        v1::FollowUp f;
        if (f.ParseFromArray(v.data(), v.size()) && f.status() == v1::FOLLOW_UP_STATUS_PENDING) {
          pending.push_back(std::move(f));
        }
        return true;
      }));
  std::sort(pending.begin(), pending.end(), [](const v1::FollowUp& a, const v1::FollowUp& b) {
    return util::FromProto(a.due_at()) < util::FromProto(b.due_at());
  });
  if (!pending.empty()) *plan.mutable_next_due_at() = pending.front().due_at();
  for (auto& f : pending) *plan.add_pending() = std::move(f);
  return plan;
}

absl::StatusOr<v1::ListOverdueFollowUpsResponse> ClientsDomain::ListOverdueFollowUps(
    const v1::ListOverdueFollowUpsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("owner_id", req.owner_id()));
  std::string fp = "overdue:" + req.owner_id();
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  absl::Time now = Now();
  v1::ListOverdueFollowUpsResponse resp;
  absl::Status inner;
  // A page holds whole clients: each client's overdue follow-ups count as one group.
  RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, req.owner_id(), false, pager.after_key(),
                                   [&](std::string_view key, std::string_view client_id) {
                                     std::vector<v1::FollowUp> overdue;
                                     inner = repo_->ScanRecords(
                                         FollowUpPrefix(client_id), "",
                                         [&](std::string_view, std::string_view v) {
                                           v1::FollowUp f;
                                           if (f.ParseFromArray(v.data(), v.size()) &&
                                               f.status() == v1::FOLLOW_UP_STATUS_PENDING &&
                                               util::FromProto(f.due_at()) <= now) {
                                             overdue.push_back(std::move(f));
                                           }
                                           return true;
                                         });
                                     if (!inner.ok()) return false;
                                     if (overdue.empty()) return true;
                                     if (!pager.Accept(key, static_cast<int>(overdue.size())))
                                       return false;
                                     for (v1::FollowUp& f : overdue)
                                       *resp.add_follow_ups() = std::move(f);
                                     return true;
                                   }));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::CompleteFollowUpResponse> ClientsDomain::CompleteFollowUp(
    const v1::CompleteFollowUpRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckId("follow_up_id", req.follow_up_id()));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  const v1::Touchpoint& in = req.touchpoint();
  RETURN_IF_ERROR(ValidateTouchpoint(in, "touchpoint.", /*require_participants=*/false));
  std::lock_guard<std::mutex> lock(mu_);
  const api::Replay<v1::CompleteFollowUpResponse> replay(*store_, "CompleteFollowUp",
                                                         req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::CompleteFollowUpResponse> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::CompleteFollowUpResponse resp;
  ASSIGN_OR_RETURN(Client client, LoadLiveClient(req.client_id()));
  for (const std::string& contact : in.contact_ids()) {
    v1::Contact ct;
    absl::Status cs = repo_->GetRecord(ContactKey(client.client_id(), contact), &ct);
    if (absl::IsNotFound(cs)) {
      return InvalidField("touchpoint.contact_ids",
                          absl::StrCat("no contact ", contact, " at client ", client.client_id()));
    }
    RETURN_IF_ERROR(cs);
  }
  v1::FollowUp before;
  absl::Status s = repo_->GetRecord(FollowUpKey(client.client_id(), req.follow_up_id()), &before);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(absl::StrCat("follow-up ", req.follow_up_id(),
                                            " not found for client ", client.client_id()));
  }
  RETURN_IF_ERROR(s);
  if (before.status() != v1::FOLLOW_UP_STATUS_PENDING) {
    return absl::FailedPreconditionError(
        absl::StrCat("follow-up ", before.follow_up_id(), " is already completed"));
  }
  absl::Time now = Now();
  events::Transaction txn;
  v1::Touchpoint t = in;
  t.set_touchpoint_id(util::NewId("tp"));
  t.set_client_id(client.client_id());
  if (t.participant_ids().empty()) t.add_participant_ids(req.actor().id());
  if (!t.has_occurred_at()) *t.mutable_occurred_at() = util::ToProto(now);
  t.set_recorded_by(req.actor().id());
  t.set_follow_up_id(before.follow_up_id());
  RETURN_IF_ERROR(
      repo_->PutRecord(txn.batch(), TouchpointKey(t.client_id(), t.touchpoint_id()), t));
  v1::FollowUp after = before;
  after.set_status(v1::FOLLOW_UP_STATUS_COMPLETED);
  *after.mutable_completed_at() = util::ToProto(now);
  after.set_touchpoint_id(t.touchpoint_id());
  RETURN_IF_ERROR(
      repo_->PutRecord(txn.batch(), FollowUpKey(after.client_id(), after.follow_up_id()), after));
  RETURN_IF_ERROR(repo_->DeleteRecord(
      txn.batch(),
      FollowUpDueKey(util::FromProto(before.due_at()), before.client_id(), before.follow_up_id())));
  v1::FollowUpCompleted ev;
  if (before.kind() == v1::FOLLOW_UP_KIND_CADENCE) {
    v1::FollowUp next;
    RETURN_IF_ERROR(ScheduleFollowUp(txn, client, v1::FOLLOW_UP_KIND_CADENCE,
                                     now + absl::Hours(24 * CadenceDays(client.tier())), "",
                                     util::NewId("fu"), &next));
    *ev.mutable_next() = FollowUpSummaryOf(next, client.owner_id());
    *resp.mutable_next() = std::move(next);
  }
  *ev.mutable_follow_up() = FollowUpSummaryOf(after, client.owner_id());
  ev.set_touchpoint_id(t.touchpoint_id());
  *ev.mutable_completed_at() = util::ToProto(now);
  *ev.mutable_actor() = req.actor();
  txn.Emit(kFollowUpTopic, client.client_id(), FollowUpType("completed"), ev);
  *resp.mutable_follow_up() = std::move(after);
  *resp.mutable_touchpoint() = std::move(t);
  RETURN_IF_ERROR(replay.Record(txn.batch(), resp));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

absl::StatusOr<v1::ScanDueFollowUpsResponse> ClientsDomain::ScanDueFollowUps() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Time now = Now();
  struct Due {
    std::string key, client_id, follow_up_id;
  };
  std::vector<Due> due;
  RETURN_IF_ERROR(
      repo_->ScanRecords(FollowUpDuePrefix(), "", [&](std::string_view key, std::string_view) {
        storage::KeyReader r(key);
        (void)r.Str();
        absl::StatusOr<int64_t> micros = r.I64();
        if (!micros.ok() || absl::FromUnixMicros(*micros) > now) return false;
        absl::StatusOr<std::string> client_id = r.Str();
        absl::StatusOr<std::string> id = r.Str();
        if (client_id.ok() && id.ok()) due.push_back({std::string(key), *client_id, *id});
        return static_cast<int>(due.size()) < kMaxScanPerCall;
      }));
  v1::ScanDueFollowUpsResponse resp;
  if (due.empty()) return resp;
  events::Transaction txn;
  for (const Due& d : due) {
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), d.key));
    v1::FollowUp f;
    absl::Status s = repo_->GetRecord(FollowUpKey(d.client_id, d.follow_up_id), &f);
    if (absl::IsNotFound(s)) continue;
    RETURN_IF_ERROR(s);
    if (f.status() != v1::FOLLOW_UP_STATUS_PENDING || f.due_notified()) continue;
    f.set_due_notified(true);
    RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), FollowUpKey(d.client_id, d.follow_up_id), f));
    absl::StatusOr<Client> client = repo_->GetClient(d.client_id);
    v1::FollowUpDue ev;
    *ev.mutable_follow_up() = FollowUpSummaryOf(f, client.ok() ? client->owner_id() : "");
    txn.Emit(kFollowUpTopic, d.client_id, FollowUpType("due"), ev);
    resp.add_due_follow_up_ids(d.follow_up_id);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

// ---------------------------------------------------------------------------------------------
// CSV import.

namespace {
// Fingerprint64 is FNV-1a over the CSV: binds an import's request_id to its content.
uint64_t Fingerprint64(std::string_view data) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void Count(v1::ImportClientsCsvResponse& resp, const v1::ImportRowResult& row) {
  switch (row.outcome()) {
    case v1::IMPORT_OUTCOME_CREATED:
      resp.set_created(resp.created() + 1);
      break;
    case v1::IMPORT_OUTCOME_DUPLICATE:
      resp.set_duplicates(resp.duplicates() + 1);
      break;
    default:
      resp.set_invalid(resp.invalid() + 1);
  }
}
}  // namespace

absl::StatusOr<v1::ImportClientsCsvResponse> ClientsDomain::ImportClientsCsv(
    const v1::ImportClientsCsvRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(ValidateActor(req.actor()));
  if (req.csv().empty()) return InvalidField("csv", "required");
  if (req.csv().size() > options_.max_csv_bytes) {
    return InvalidField("csv", absl::StrCat("larger than ", options_.max_csv_bytes, " bytes"));
  }
  RETURN_IF_ERROR(api::CheckOptionalId("default_owner_id", req.default_owner_id()));
  const std::string& rid = req.request_id();
  const uint64_t fingerprint = Fingerprint64(req.csv());
  const api::Replay<v1::ImportClientsCsvResponse> replay(*store_, "ImportClientsCsv", rid, req);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<v1::ImportClientsCsvResponse> prior, replay.Prior());
    if (prior.has_value()) return *std::move(prior);
    if (!rid.empty()) {
      // The job marker binds the request id to this CSV; rows already processed under it (by an
      // interrupted or a concurrent call) are recorded per row and are not processed again.
      v1::ImportJob job;
      absl::Status js = repo_->GetRecord(ImportJobKey(rid), &job);
      if (js.ok() && job.csv_fingerprint() != fingerprint) {
        return InvalidField("request_id", "already used for an import of a different CSV");
      }
      if (absl::IsNotFound(js)) {
        job.set_request_id(rid);
        job.set_csv_fingerprint(fingerprint);
        *job.mutable_started_at() = util::ToProto(Now());
        job.set_actor_id(req.actor().id());
        events::Transaction txn;
        RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), ImportJobKey(rid), job));
        RETURN_IF_ERROR(outbox_->Commit(txn));
      } else {
        RETURN_IF_ERROR(js);
      }
    }
  }
  ASSIGN_OR_RETURN(auto rows, ParseCsv(req.csv()));
  if (rows.empty()) return InvalidField("csv", "no header row");
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < rows[0].size(); ++i) {
    col[absl::AsciiStrToLower(absl::StripAsciiWhitespace(rows[0][i]))] = i;
  }
  if (!col.count("name")) return InvalidField("csv", "the header has no 'name' column");
  if (!col.count("owner_id") && IsBlank(req.default_owner_id())) {
    return InvalidField("default_owner_id", "required when the CSV has no owner_id column");
  }
  v1::ImportClientsCsvResponse resp;
  int processed = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& row = rows[r];
    auto cell = [&](const char* name) -> std::string {
      auto it = col.find(name);
      if (it == col.end() || it->second >= row.size()) return "";
      return std::string(absl::StripAsciiWhitespace(row[it->second]));
    };
    v1::ImportRowResult result;
    result.set_row(static_cast<int>(r));
    std::lock_guard<std::mutex> lock(mu_);
    if (!rid.empty()) {
      absl::Status ps = repo_->GetRecord(ImportRowKey(rid, static_cast<int64_t>(r)), &result);
      if (ps.ok()) {  // processed before this call: report what happened then
        Count(resp, result);
        *resp.add_rows() = std::move(result);
        continue;
      }
      if (!absl::IsNotFound(ps)) return ps;
    }
    if (options_.import_stop_after_rows > 0 && processed == options_.import_stop_after_rows) {
      return absl::UnavailableError("import interrupted (test hook)");
    }
    ++processed;
    Client c;
    absl::Status valid = absl::OkStatus();
    for (const auto& [name, index] : col) {
      if (index < row.size() && !api::IsValidUtf8(row[index])) {
        valid = InvalidField(name, "not valid UTF-8");
        break;
      }
    }
    if (valid.ok()) {
      c.set_name(cell("name"));
      c.set_tax_id(cell("tax_id"));
      c.set_phone(cell("phone"));
      c.set_email(cell("email"));
      c.set_website(cell("website"));
      c.set_address(cell("address"));
      c.set_owner_id(cell("owner_id").empty() ? req.default_owner_id() : cell("owner_id"));
      c.set_team_id(cell("team_id"));
      c.set_industry(cell("industry"));
      c.set_region(cell("region"));
      c.set_notes(cell("notes"));
      for (absl::string_view t : absl::StrSplit(cell("tags"), ';', absl::SkipWhitespace())) {
        c.add_tags(std::string(absl::StripAsciiWhitespace(t)));
      }
      absl::StatusOr<v1::ClientTier> tier = ParseTier(cell("tier"));
      valid = tier.ok() ? absl::OkStatus() : tier.status();
      if (valid.ok()) {
        c.set_tier(*tier);
        valid = ValidateClient(c, "");
      }
      if (valid.ok()) valid = api::CheckLength("owner_id", c.owner_id(), kMaxIdLength);
    }
    // The row's result is recorded under the request id in the row's own batch (with the
    // client it creates), so an interrupted import resumes exactly where it stopped.
    auto record = [&](events::Transaction& txn) -> absl::Status {
      if (rid.empty()) return absl::OkStatus();
      return repo_->PutRecord(txn.batch(), ImportRowKey(rid, static_cast<int64_t>(r)), result);
    };
    if (valid.ok()) {
      ASSIGN_OR_RETURN(CreateOutcome out,
                       CreateLocked(c, req.force(), req.actor(), nullptr,
                                    [&](events::Transaction& txn, const Client& created) {
                                      result.set_outcome(v1::IMPORT_OUTCOME_CREATED);
                                      result.set_client_id(created.client_id());
                                      return record(txn);
                                    }));
      if (!out.duplicates.empty()) {
        result.set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
        for (const auto& d : out.duplicates) result.add_duplicate_of(d.client_id());
        result.set_error(std::string(DuplicateError(out.duplicates).message()));
      }
    } else {
      result.set_outcome(v1::IMPORT_OUTCOME_INVALID);
      result.set_error(std::string(valid.message()));
    }
    if (result.outcome() != v1::IMPORT_OUTCOME_CREATED && !rid.empty()) {
      events::Transaction txn;
      RETURN_IF_ERROR(record(txn));
      RETURN_IF_ERROR(outbox_->Commit(txn));
    }
    Count(resp, result);
    *resp.add_rows() = std::move(result);
  }
  if (!rid.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    // A concurrent call with the same request id may have finished first: keep its report.
    ASSIGN_OR_RETURN(std::optional<v1::ImportClientsCsvResponse> first, replay.Prior());
    if (first.has_value()) return *std::move(first);
    // The whole report replaces the per-row progress, in one batch.
    events::Transaction txn;
    RETURN_IF_ERROR(replay.Record(txn.batch(), resp));
    std::vector<std::string> keys;
    RETURN_IF_ERROR(
        repo_->ScanRecords(ImportRowPrefix(rid), "", [&](std::string_view k, std::string_view) {
          keys.emplace_back(k);
          return true;
        }));
    for (const std::string& k : keys) RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), k));
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), ImportJobKey(rid)));
    RETURN_IF_ERROR(outbox_->Commit(txn));
  }
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Consumed events. Repeat-business figures live in their own records, written only here (one
// consumer thread), so these handlers never race the RPCs' read-modify-write of client records.

namespace {
// Decoded wraps a typed handler in the decoding step IdempotentConsumer::OnMessage performs.
template <typename Msg>
events::Handler Decoded(std::function<absl::Status(const Msg&, events::Transaction&)> fn) {
  return [fn = std::move(fn)](const events::Event& e, events::Transaction& txn) -> absl::Status {
    Msg msg;
    if (!msg.ParseFromString(e.payload)) {
      return absl::InvalidArgumentError("payload: does not decode as " + msg.GetTypeName());
    }
    return fn(msg, txn);
  };
}
}  // namespace

std::vector<std::pair<std::string, events::Handler>> ClientsDomain::EventHandlers() {
  std::vector<std::pair<std::string, events::Handler>> out;
  out.emplace_back(kOpportunityWonType,
                   Decoded<pipeline::v1::OpportunityWon>(
                       [this](const pipeline::v1::OpportunityWon& m, events::Transaction& txn) {
                         return ApplyOpportunityWon(m, txn);
                       }));
  out.emplace_back(kOpportunityLostType,
                   Decoded<pipeline::v1::OpportunityLost>(
                       [this](const pipeline::v1::OpportunityLost& m, events::Transaction& txn) {
                         return ApplyOpportunityLost(m, txn);
                       }));
  out.emplace_back(kProjectCompletedType,
                   Decoded<production::v1::ProjectCompleted>(
                       [this](const production::v1::ProjectCompleted& m, events::Transaction& txn) {
                         return ApplyProjectCompleted(m, txn);
                       }));
  return out;
}

void ClientsDomain::RegisterHandlers(events::IdempotentConsumer& consumer) {
  for (auto& [type, handler] : EventHandlers()) consumer.On(type, std::move(handler));
}

namespace {
// ResolveEventClient finds the (surviving) client an event names; nullopt when unknown.
absl::StatusOr<std::optional<Client>> ResolveEventClient(
    const std::function<absl::StatusOr<Client>(std::string_view)>& load, std::string_view id,
    std::string_view what) {
  if (id.empty()) return InvalidField("client_id", absl::StrCat("missing in ", std::string(what)));
  RETURN_IF_ERROR(api::CheckLength("client_id", id, kMaxIdLength));
  absl::StatusOr<Client> c = load(id);
  if (absl::IsNotFound(c.status())) {
    logging::Warn("event for an unknown client ignored", {{"client_id", id}, {"event", what}});
    return std::optional<Client>();
  }
  RETURN_IF_ERROR(c.status());
  return std::optional<Client>(*std::move(c));
}
}  // namespace

absl::Status ClientsDomain::ApplyOpportunityWon(const pipeline::v1::OpportunityWon& msg,
                                                events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckLength("opportunity_id", msg.opportunity_id(), kMaxIdLength));
  // A value with neither amount nor currency is "unknown"; anything else must be a real amount.
  const bool has_value = api::IsMoneyGiven(msg.value());
  RETURN_IF_ERROR(api::CheckMoney("value", msg.value(), api::MoneyPresence::kOptional));
  if (msg.has_won_at()) {
    RETURN_IF_ERROR(api::CheckTimestamp("won_at", msg.won_at()));
    if (util::FromProto(msg.won_at()) > Now() + absl::Hours(24 * 366)) {
      return InvalidField("won_at", "more than a year in the future");
    }
  }
  ASSIGN_OR_RETURN(std::optional<Client> client,
                   ResolveEventClient([this](std::string_view id) { return LoadClient(id, true); },
                                      msg.client_id(), "OpportunityWon"));
  if (!client.has_value()) return absl::OkStatus();
  v1::RepeatBusiness rb;
  absl::Status s = repo_->GetRecord(RepeatBusinessKey(client->client_id()), &rb);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  Client before_view = *client;
  RETURN_IF_ERROR(WithRepeatBusiness(before_view));
  const v1::RepeatBusiness& before = before_view.repeat_business();
  rb.set_deals_won(rb.deals_won() + 1);
  if (has_value && !AddMoney(*rb.mutable_lifetime_value(), msg.value())) {
    return InvalidField("value.amount_minor", "the client's lifetime value would overflow");
  }
  if (util::FromProto(msg.won_at()) > util::FromProto(rb.last_won_at())) {
    *rb.mutable_last_won_at() = msg.won_at();
  }
  if (msg.repeat_client() || rb.deals_won() > 1) rb.set_repeat_client(true);
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), RepeatBusinessKey(client->client_id()), rb));
  // The totals over the client and the records merged into it, after this deal.
  v1::RepeatBusiness after = before;
  after.set_deals_won(before.deals_won() + 1);
  if (has_value) AddMoneySaturating(*after.mutable_lifetime_value(), msg.value());
  after.set_repeat_client(before.repeat_client() || rb.repeat_client() || after.deals_won() > 1);
  std::vector<FieldChange> changes = {
      Change("deals_won", absl::StrCat(before.deals_won()), absl::StrCat(after.deals_won())),
      Change("lifetime_value", MoneyText(before.lifetime_value()),
             MoneyText(after.lifetime_value()))};
  if (before.repeat_client() != after.repeat_client()) {
    changes.push_back(Change("repeat_client", before.repeat_client() ? "true" : "false",
                             after.repeat_client() ? "true" : "false"));
  }
  Actor actor;
  actor.set_id("svc:pipeline");
  actor.set_reason(absl::StrCat("opportunity ", msg.opportunity_id(), " won"));
  v1::HistoryEntry h;
  h.set_client_id(client->client_id());
  h.set_action("deal_won");
  *h.mutable_actor() = actor;
  *h.mutable_time() = util::ToProto(Now());
  for (const FieldChange& ch : changes) *h.add_changes() = ch;
  h.set_version(client->version());
  RETURN_IF_ERROR(repo_->AddHistory(txn.batch(), h));
  v1::ClientUpdated ev;
  *ev.mutable_client() = SummaryOf(*client, after.repeat_client());
  for (const FieldChange& ch : changes) *ev.add_changes() = ch;
  *ev.mutable_actor() = actor;
  txn.Emit(kClientTopic, client->client_id(), ClientType("updated"), ev);
  return absl::OkStatus();
}

absl::Status ClientsDomain::ApplyOpportunityLost(const pipeline::v1::OpportunityLost& msg,
                                                 events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckLength("opportunity_id", msg.opportunity_id(), kMaxIdLength));
  ASSIGN_OR_RETURN(std::optional<Client> client,
                   ResolveEventClient([this](std::string_view id) { return LoadClient(id, true); },
                                      msg.client_id(), "OpportunityLost"));
  if (!client.has_value()) return absl::OkStatus();
  v1::RepeatBusiness rb;
  absl::Status s = repo_->GetRecord(RepeatBusinessKey(client->client_id()), &rb);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  rb.set_deals_lost(rb.deals_lost() + 1);
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), RepeatBusinessKey(client->client_id()), rb));
  v1::HistoryEntry h;
  h.set_client_id(client->client_id());
  h.set_action("deal_lost");
  h.mutable_actor()->set_id("svc:pipeline");
  h.mutable_actor()->set_reason(absl::StrCat("opportunity ", msg.opportunity_id(), " lost: ",
                                             pipeline::v1::LossReason_Name(msg.reason())));
  *h.mutable_time() = util::ToProto(Now());
  *h.add_changes() =
      Change("deals_lost", absl::StrCat(rb.deals_lost() - 1), absl::StrCat(rb.deals_lost()));
  h.set_version(client->version());
  return repo_->AddHistory(txn.batch(), h);
}

absl::Status ClientsDomain::ApplyProjectCompleted(const production::v1::ProjectCompleted& msg,
                                                  events::Transaction& txn) {
  if (msg.project_id().empty()) return InvalidField("project_id", "missing in ProjectCompleted");
  RETURN_IF_ERROR(api::CheckLength("project_id", msg.project_id(), kMaxIdLength));
  if (msg.has_completed_at()) {
    RETURN_IF_ERROR(api::CheckTimestamp("completed_at", msg.completed_at()));
    if (util::FromProto(msg.completed_at()) > Now() + absl::Hours(24 * 366)) {
      return InvalidField("completed_at", "more than a year in the future");
    }
  }
  ASSIGN_OR_RETURN(std::optional<Client> client,
                   ResolveEventClient([this](std::string_view id) { return LoadClient(id, true); },
                                      msg.client_id(), "ProjectCompleted"));
  if (!client.has_value()) return absl::OkStatus();
  absl::Time completed = msg.has_completed_at() ? util::FromProto(msg.completed_at()) : Now();
  v1::RepeatBusiness rb;
  absl::Status s = repo_->GetRecord(RepeatBusinessKey(client->client_id()), &rb);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  std::string old_delivery = rb.has_last_delivery_at()
                                 ? events::FormatEventTime(util::FromProto(rb.last_delivery_at()))
                                 : "";
  if (completed >= util::FromProto(rb.last_delivery_at())) {
    *rb.mutable_last_delivery_at() = util::ToProto(completed);
    rb.set_last_delivered_project_id(msg.project_id());
  }
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), RepeatBusinessKey(client->client_id()), rb));
  // One post-delivery follow-up per project (its id derives from the project id).
  std::string fu_id = absl::StrCat("fu_pd_", msg.project_id());
  v1::FollowUp existing;
  absl::Status fs = repo_->GetRecord(FollowUpKey(client->client_id(), fu_id), &existing);
  if (absl::IsNotFound(fs)) {
    RETURN_IF_ERROR(ScheduleFollowUp(txn, *client, v1::FOLLOW_UP_KIND_POST_DELIVERY,
                                     completed + options_.post_delivery_delay, msg.project_id(),
                                     fu_id, nullptr));
  } else {
    RETURN_IF_ERROR(fs);
  }
  v1::HistoryEntry h;
  h.set_client_id(client->client_id());
  h.set_action("delivered");
  h.mutable_actor()->set_id("svc:production");
  h.mutable_actor()->set_reason(absl::StrCat("project ", msg.project_id(), " completed"));
  *h.mutable_time() = util::ToProto(Now());
  *h.add_changes() = Change("last_delivery_at", old_delivery,
                            events::FormatEventTime(util::FromProto(rb.last_delivery_at())));
  h.set_version(client->version());
  return repo_->AddHistory(txn.batch(), h);
}

}  // namespace triad::clients
