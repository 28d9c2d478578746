// Implements ClientsDomain::ErasePersonalData, the right to erasure.
//
// What is personal data here: a client is usually a company, whose name, tax id, address and
// website are not personal data; its phone, e-mail and notes may be a person's (a direct line,
// a named mailbox, remarks about people), so they are always erased. When the client is a
// natural person (client_is_person), its name, tax id, address and website are erased too.
// Contacts are people: their names, phones and e-mails are erased (their role stays).
// Touchpoint summaries are notes about meetings with people: erased. The history keeps every
// entry and its audit chain; the erased fields' values and salts are blanked, their digests
// stay (history_chain.h), and a "personal_data_erased" entry records who erased, when and why.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"
#include "services/clients/history_chain.h"

namespace triad::clients {
namespace {

// The text an erased name is replaced with (names are required, so never left blank).
constexpr char kErasedName[] = "[erased]";

// The client fields erased always, and those erased only for a natural person.
const std::set<std::string>& AlwaysPersonal() {
  static const auto* fields = new std::set<std::string>{"phone", "email", "notes"};
  return *fields;
}
const std::set<std::string>& PersonPersonal() {
  static const auto* fields = new std::set<std::string>{"name", "tax_id", "address", "website"};
  return *fields;
}

// BlankClient blanks the personal fields of `c`, returning the names of those it changed.
std::vector<std::string> BlankClient(Client& c, bool person) {
  std::vector<std::string> erased;
  auto blank = [&](const char* field, std::string* value, const char* replacement) {
    if (value->empty() || *value == replacement) return;
    *value = replacement;
    erased.emplace_back(field);
  };
  blank("phone", c.mutable_phone(), "");
  blank("email", c.mutable_email(), "");
  blank("notes", c.mutable_notes(), "");
  if (person) {
    blank("name", c.mutable_name(), kErasedName);
    blank("tax_id", c.mutable_tax_id(), "");
    blank("address", c.mutable_address(), "");
    blank("website", c.mutable_website(), "");
  }
  return erased;
}

}  // namespace

bool IsAlwaysPersonalField(std::string_view field) {
  return AlwaysPersonal().count(std::string(field)) > 0;
}

absl::StatusOr<v1::ErasePersonalDataResponse> ClientsDomain::ErasePersonalData(
    const v1::ErasePersonalDataRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor(), /*reason_required=*/true));
  std::lock_guard lock(mu_);
  const api::Replay<v1::ErasePersonalDataResponse> replay(*store_, "ErasePersonalData",
                                                          req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ErasePersonalDataResponse> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  ASSIGN_OR_RETURN(Client survivor, LoadLiveClient(req.client_id()));
  const bool person = req.client_is_person();
  const absl::Time now = Now();
  v1::ErasePersonalDataResponse resp;
  resp.set_client_id(survivor.client_id());
  resp.set_erasure_id(util::NewId("er"));
  *resp.mutable_erase_time() = util::ToProto(now);
  events::Transaction txn;

  std::vector<std::string> ids = {survivor.client_id()};
  ids.insert(ids.end(), survivor.merged_client_ids().begin(), survivor.merged_client_ids().end());
  auto personal = [person](std::string_view field) {
    const std::string f(field);
    return AlwaysPersonal().count(f) > 0 || (person && PersonPersonal().count(f) > 0);
  };
  std::set<std::string> erased_fields;
  for (const std::string& id : ids) {
    // History first: the erasure's own entry (written below) is not rewritten.
    std::vector<std::pair<std::string, v1::HistoryEntry>> rewrites;
    RETURN_IF_ERROR(
        repo_->ScanHistory(false, id, "", [&](std::string_view key, const v1::HistoryEntry& e) {
          v1::HistoryEntry copy = e;
          if (ErasePersonalValues(copy, personal)) rewrites.emplace_back(std::string(key), copy);
          return true;
        }));
    for (const auto& [key, entry] : rewrites) {
      RETURN_IF_ERROR(repo_->RewriteHistory(txn.batch(), key, entry));
    }
    resp.set_history_entries_erased(resp.history_entries_erased() +
                                    static_cast<int32_t>(rewrites.size()));
    // Contacts and touchpoints.
    std::vector<v1::Contact> contacts;
    RETURN_IF_ERROR(
        repo_->ScanRecords(ContactPrefix(id), "", [&](std::string_view, std::string_view value) {
          v1::Contact c;
          if (c.ParseFromArray(value.data(), static_cast<int>(value.size()))) contacts.push_back(c);
          return true;
        }));
    for (v1::Contact& c : contacts) {
      if (c.name() == kErasedName && c.phone().empty() && c.email().empty()) continue;
      c.set_name(kErasedName);
      c.clear_phone();
      c.clear_email();
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), ContactKey(id, c.contact_id()), c));
      resp.set_contacts_erased(resp.contacts_erased() + 1);
    }
    std::vector<v1::Touchpoint> touchpoints;
    RETURN_IF_ERROR(
        repo_->ScanRecords(TouchpointPrefix(id), "", [&](std::string_view, std::string_view value) {
          v1::Touchpoint t;
          if (t.ParseFromArray(value.data(), static_cast<int>(value.size())))
            touchpoints.push_back(t);
          return true;
        }));
    for (v1::Touchpoint& t : touchpoints) {
      if (t.summary().empty()) continue;
      t.clear_summary();
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), TouchpointKey(id, t.touchpoint_id()), t));
      resp.set_touchpoints_erased(resp.touchpoints_erased() + 1);
    }
    // Records merged into the survivor keep their own (redirecting) record: blank it too.
    if (id != survivor.client_id()) {
      absl::StatusOr<Client> loser = repo_->GetClient(id);
      if (!loser.ok()) {
        if (absl::IsNotFound(loser.status())) continue;
        return loser.status();
      }
      Client blanked = *loser;
      std::vector<std::string> loser_fields = BlankClient(blanked, person);
      if (loser_fields.empty()) continue;
      erased_fields.insert(loser_fields.begin(), loser_fields.end());
      RETURN_IF_ERROR(repo_->PutClient(txn.batch(), &*loser, blanked));
    }
  }

  // The record itself, with the erasure's history entry (field names only, no values).
  Client after = survivor;
  std::vector<std::string> fields = BlankClient(after, person);
  erased_fields.insert(fields.begin(), fields.end());
  std::vector<FieldChange> changes;
  for (const std::string& f : fields) {
    FieldChange ch;
    ch.set_field(f);
    ch.set_erased(true);
    changes.push_back(std::move(ch));
  }
  for (const std::string& f : erased_fields) resp.add_erased_fields(f);
  changes.push_back(Change("erasure_id", "", resp.erasure_id()));
  Actor actor = req.actor();
  RETURN_IF_ERROR(
      WriteClient(txn, &survivor, after, "personal_data_erased", actor, std::move(changes), ""));
  Client with_rb = after;
  RETURN_IF_ERROR(WithRepeatBusiness(with_rb));
  v1::ClientPersonalDataErased ev;
  *ev.mutable_client() = SummaryOf(after, with_rb.repeat_business().repeat_client());
  ev.set_erasure_id(resp.erasure_id());
  ev.set_client_is_person(person);
  *ev.mutable_actor() = actor;
  *ev.mutable_erase_time() = resp.erase_time();
  for (const std::string& id : survivor.merged_client_ids()) ev.add_merged_client_ids(id);
  contracts::Emit<contracts::clients::ClientPersonalDataErased>(txn, after.client_id(), ev);
  RETURN_IF_ERROR(replay.Record(txn.batch(), resp));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

}  // namespace triad::clients
