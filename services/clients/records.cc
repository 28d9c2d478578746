// Implements ClientsDomain's client records: create (with duplicate detection), get, list
// through the indexes, masked update, lifecycle transitions and duplicate search.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/api/wire.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/locks.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"
#include "services/clients/text_util.h"

namespace triad::clients {

namespace {

// ClientFields are the fields of a stored client that ListClients filters on and reads its
// repeat business by, as views into the encoding.
struct ClientFields {
  std::string_view client_id;
  std::string_view name;
  std::string_view owner_id;
  std::string_view team_id;
  std::string_view industry;
  std::string_view region;
  int status = 0;
  int tier = 0;
  absl::InlinedVector<std::string_view, 4> tags;
  absl::InlinedVector<std::string_view, 2> merged_client_ids;
  bool has_repeat_business = false;  // The encoding holds a repeat_business field.
};

// DecodeClientFields reads ClientFields from an encoded client into `c` (default-constructed),
// as parsing would (the last occurrence of a singular field wins; a field of an unexpected wire
// type is not the field). False when `record` is not well-formed.
bool DecodeClientFields(std::string_view record, ClientFields& c) {
  return api::ForEachWireField(record, [&c](const api::WireField& f) {
    if (f.number == Client::kRepeatBusinessFieldNumber) c.has_repeat_business = true;
    if (f.wire_type == 0) {
      if (f.number == Client::kStatusFieldNumber) c.status = static_cast<int32_t>(f.value);
      if (f.number == Client::kTierFieldNumber) c.tier = static_cast<int32_t>(f.value);
      return true;
    }
    if (f.wire_type != 2) return true;
    switch (f.number) {
      case Client::kClientIdFieldNumber:
        c.client_id = f.payload;
        break;
      case Client::kNameFieldNumber:
        c.name = f.payload;
        break;
      case Client::kOwnerIdFieldNumber:
        c.owner_id = f.payload;
        break;
      case Client::kTeamIdFieldNumber:
        c.team_id = f.payload;
        break;
      case Client::kIndustryFieldNumber:
        c.industry = f.payload;
        break;
      case Client::kRegionFieldNumber:
        c.region = f.payload;
        break;
      case Client::kTagsFieldNumber:
        c.tags.push_back(f.payload);
        break;
      case Client::kMergedClientIdsFieldNumber:
        c.merged_client_ids.push_back(f.payload);
        break;
      default:
        break;
    }
    return true;
  });
}

// ListedClient is a client on a page of ListClients: its stored encoding, the ids its repeat
// business is read by (its own, then those of the clients merged into it; views into
// `record`), and whether the encoding holds a repeat business already.
struct ListedClient {
  std::string record;
  std::vector<std::string_view> ids;
  bool has_repeat_business = false;
};

// Listed copies the encoded client `record`, whose fields `c` were decoded from it.
std::unique_ptr<ListedClient> Listed(std::string_view record, const ClientFields& c) {
  auto l = std::make_unique<ListedClient>();
  l->record.assign(record);
  // at is the view of `v` (a view into `record`) in the copy.
  auto at = [&](std::string_view v) {
    if (v.empty()) return std::string_view();
    return std::string_view(l->record).substr(static_cast<size_t>(v.data() - record.data()),
                                              v.size());
  };
  l->ids.reserve(1 + c.merged_client_ids.size());
  l->ids.push_back(at(c.client_id));
  for (std::string_view id : c.merged_client_ids) l->ids.push_back(at(id));
  l->has_repeat_business = c.has_repeat_business;
  return l;
}

// WithRepeatBusinessField returns the encoded client of `l` (moved from it) with its
// repeat_business field replaced by `business` (always present, as WithRepeatBusiness sets it).
std::string WithRepeatBusinessField(ListedClient& l, const v1::RepeatBusiness& business) {
  std::string out;
  if (l.has_repeat_business) {
    out.reserve(l.record.size() + 32);
    api::ForEachWireField(l.record, [&out](const api::WireField& f) {
      if (f.number != Client::kRepeatBusinessFieldNumber) out.append(f.raw);
      return true;
    });
  } else {
    out = std::move(l.record);
  }
  api::AppendLengthDelimitedField(Client::kRepeatBusinessFieldNumber, business.SerializeAsString(),
                                  out);
  return out;
}

// DuplicateKey is one normalised value the duplicate check looks a client up by.
struct DuplicateKey {
  ClientIndex index;
  const char* label;  // the DuplicateCandidate.matched_on name
  std::string value;  // empty when the client has none
};

// DuplicateKeys lists the duplicate check's keys of `c`: what Duplicates scans and what
// concurrent creates lock (CreateLockKeys), from one list.
std::vector<DuplicateKey> DuplicateKeys(const Client& c) {
  return {{ClientIndex::kDupName, "name", NormalizeName(c.name())},
          {ClientIndex::kDupTaxId, "tax_id", NormalizeTaxId(c.tax_id())},
          {ClientIndex::kDupPhone, "phone", NormalizePhone(c.phone())},
          {ClientIndex::kDupEmailDomain, "email_domain", EmailDomain(c.email())}};
}

}  // namespace

absl::StatusOr<std::vector<v1::DuplicateCandidate>> ClientsDomain::Duplicates(
    const Client& probe, std::string_view self_id) const {
  std::map<std::string, std::vector<std::string>> found;
  for (const DuplicateKey& key : DuplicateKeys(probe)) {
    if (key.value.empty()) continue;
    RETURN_IF_ERROR(repo_->ScanIndex(key.index, key.value, /*prefix=*/false, "",
                                     [&](std::string_view, std::string_view id) {
                                       if (id != self_id) {
                                         found[std::string(id)].push_back(key.label);
                                       }
                                       return found.size() < 100;
                                     }));
  }
  std::vector<v1::DuplicateCandidate> out;
  for (auto& [id, labels] : found) {
    v1::DuplicateCandidate c;
    c.set_client_id(id);
    for (const std::string& l : labels) c.add_matched_on(l);
    out.push_back(std::move(c));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Clients.

absl::StatusOr<ClientsDomain::CreateOutcome> ClientsDomain::CreateLocked(
    const Client& input, bool force, const Actor& actor, const api::Replay<Client>* replay,
    const std::function<absl::Status(events::Transaction&, const Client&)>& extra) {
  CreateOutcome out;
  RETURN_IF_ERROR(CheckPersonActive("client.owner_id", input.owner_id()));
  if (!force) {
    ASSIGN_OR_RETURN(out.duplicates, Duplicates(input, ""));
    if (!out.duplicates.empty()) return out;
  }
  Client c;
  for (const FieldDef& f : Fields()) f.copy(input, c);
  c.set_client_id(util::NewId("cl"));
  c.set_status(v1::CLIENT_STATUS_COLLECTED);
  *c.mutable_create_time() = util::ToProto(Now());
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
  contracts::Emit<contracts::clients::ClientRegistered>(txn, c.client_id(), ev);
  if (replay != nullptr) RETURN_IF_ERROR(replay->Record(txn.batch(), c));
  if (extra) RETURN_IF_ERROR(extra(txn, c));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  out.client = std::move(c);
  return out;
}

namespace {

// CreateLockKeys are the keys a create must not race another create on: the normalised values
// the duplicate check looks up (ClientsDomain::Duplicates) and the request id its answer is
// recorded under.
std::vector<std::string> CreateLockKeys(const v1::CreateClientRequest& req) {
  std::vector<std::string> keys;
  for (const DuplicateKey& key : DuplicateKeys(req.client())) {
    if (!key.value.empty()) keys.push_back(absl::StrCat(key.label, ":", key.value));
  }
  if (!req.request_id().empty()) keys.push_back(absl::StrCat("request:", req.request_id()));
  return keys;
}

}  // namespace

absl::StatusOr<Client> ClientsDomain::CreateClient(const v1::CreateClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  RETURN_IF_ERROR(ValidateClient(req.client(), "client."));
  // Creates run side by side: each holds the domain lock shared (every other write holds it
  // alone, and a waiting one goes first) and the key locks of what it must not race on, its
  // duplicate keys and its request id. Two creates that share one take turns, so the second
  // sees the first's index entries (or recorded answer); the rest of a create is its own.
  std::shared_lock domain_lock(mu_);
  const util::KeyLocks::Guard key_lock = create_locks_.Lock(CreateLockKeys(req));
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
  ASSIGN_OR_RETURN(v1::ListClientsResponse encoded, ListClientsEncoded(req));
  v1::ListClientsResponse resp;
  if (!resp.ParseFromString(encoded.SerializeAsString())) {
    return absl::DataLossError("a listed client record does not decode");
  }
  return resp;
}

absl::StatusOr<v1::ListClientsResponse> ClientsDomain::ListClientsEncoded(
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

  auto matches = [&](const ClientFields& c) {
    if (c.status == v1::CLIENT_STATUS_MERGED) return false;
    if (!req.owner_id().empty() && c.owner_id != req.owner_id()) return false;
    if (!req.team_id().empty() && c.team_id != req.team_id()) return false;
    if (req.status() && c.status != req.status()) return false;
    if (!req.industry().empty() && c.industry != req.industry()) return false;
    if (!req.region().empty() && c.region != req.region()) return false;
    if (req.tier() && c.tier != req.tier()) return false;
    if (!req.tag().empty() && std::find(c.tags.begin(), c.tags.end(), req.tag()) == c.tags.end()) {
      return false;
    }
    if (!search.empty() && !absl::StartsWith(NormalizeSearch(c.name), search)) return false;
    return true;
  };

  std::vector<std::unique_ptr<ListedClient>> page;
  absl::Status decode;
  // visit adds a matching client to the page; false when the page is full.
  auto visit = [&](std::string_view key, std::string_view record) {
    ClientFields c;
    if (!DecodeClientFields(record, c)) {
      decode = absl::DataLossError(absl::StrCat(
          "the client record at ", absl::CHexEscape(absl::string_view(key.data(), key.size())),
          " does not decode"));
      return false;
    }
    if (!matches(c)) return true;
    if (!pager.Accept(key)) return false;
    page.push_back(Listed(record, c));
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
  } else {
    // A page plus the entry that tells whether another page follows, more only when the
    // other filters reject clients.
    RETURN_IF_ERROR(repo_->ScanIndexedClients(index->first, index->second, prefix,
                                              pager.after_key(),
                                              static_cast<size_t>(pager.page_size()) + 1, visit));
  }
  RETURN_IF_ERROR(decode);
  // Each client's repeat business replaces whatever its stored encoding holds.
  std::vector<std::vector<std::string_view>> ids;
  ids.reserve(page.size());
  for (const auto& l : page) ids.push_back(std::move(l->ids));  // Read once, below.
  ASSIGN_OR_RETURN(std::vector<v1::RepeatBusiness> business, RepeatBusinessOf(ids));
  v1::ListClientsResponse resp;
  for (size_t i = 0; i < page.size(); ++i) {
    api::AddEncodedField(resp, v1::ListClientsResponse::kClientsFieldNumber,
                         WithRepeatBusinessField(*page[i], business[i]));
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<Client> ClientsDomain::UpdateClient(const v1::UpdateClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client.client_id", req.client().client_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kUpdatablePaths));
  if (req.etag().empty()) return InvalidField("etag", "required");
  std::lock_guard lock(mu_);
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
  if (after.owner_id() != before.owner_id()) {
    RETURN_IF_ERROR(CheckPersonActive("client.owner_id", after.owner_id()));
  }
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
  for (const FieldChange& ch : ev_changes) {
    FieldChange* out = ev.add_changes();
    *out = ch;
    // Personal values stay out of the event log (kept for ever); the field name says what changed.
    if (IsAlwaysPersonalField(ch.field())) {
      out->clear_old_value();
      out->clear_new_value();
    }
  }
  *ev.mutable_actor() = req.actor();
  contracts::Emit<contracts::clients::ClientUpdated>(txn, after.client_id(), ev);
  if (before.owner_id() != after.owner_id()) {
    v1::ClientOwnerChanged oc;
    *oc.mutable_client() = SummaryOf(after, repeat);
    oc.set_previous_owner_id(before.owner_id());
    oc.set_new_owner_id(after.owner_id());
    *oc.mutable_actor() = req.actor();
    contracts::Emit<contracts::clients::ClientOwnerChanged>(txn, after.client_id(), oc);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return with_rb;
}

template <typename Req>
absl::StatusOr<Client> ClientsDomain::Transition(const Req& req, std::string_view action) {
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  std::lock_guard lock(mu_);
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
    contracts::Emit<contracts::clients::ClientVerified>(txn, after.client_id(), ev);
  } else if (action == "archived") {
    v1::ClientArchived ev;
    *ev.mutable_client() = summary;
    *ev.mutable_actor() = req.actor();
    contracts::Emit<contracts::clients::ClientArchived>(txn, after.client_id(), ev);
  } else {
    v1::ClientRestored ev;
    *ev.mutable_client() = summary;
    *ev.mutable_actor() = req.actor();
    contracts::Emit<contracts::clients::ClientRestored>(txn, after.client_id(), ev);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return out;
}

absl::StatusOr<Client> ClientsDomain::VerifyClient(const v1::VerifyClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  return Transition(req, "verified");
}
absl::StatusOr<Client> ClientsDomain::ArchiveClient(const v1::ArchiveClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  return Transition(req, "archived");
}
absl::StatusOr<Client> ClientsDomain::RestoreClient(const v1::RestoreClientRequest& req) {
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

}  // namespace triad::clients
