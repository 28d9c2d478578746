// Implements ClientsDomain's offboarding: a person leaves, is inactive from then on, and what
// they hold moves to a successor (or among a team's members). The clients step (owned clients
// with their follow-ups, open assigned cases) runs here in chunks, resumably; pipeline, review
// and production do theirs on the PersonOffboarded event and report back with events of their
// own, which complete the other steps.
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"

namespace triad::clients {
namespace {

// The steps of an offboarding, in the order of Offboarding.steps.
constexpr std::string_view kSteps[] = {"clients", "pipeline", "review", "production"};

// Kinds counted by the clients step.
constexpr char kKindClients[] = "clients";
constexpr char kKindCases[] = "cases";
constexpr char kKindFollowUps[] = "follow_ups";

v1::OffboardingStep* Step(v1::Offboarding& o, std::string_view service) {
  for (v1::OffboardingStep& s : *o.mutable_steps()) {
    if (s.service() == service) return &s;
  }
  return nullptr;
}

bool AllStepsCompleted(const v1::Offboarding& o) {
  for (const v1::OffboardingStep& s : o.steps()) {
    if (s.status() != v1::OFFBOARDING_STEP_STATUS_COMPLETED) return false;
  }
  return true;
}

// PickLeast returns the member with the lowest load (ties: the lower id) and counts one more
// item for them.
std::string PickLeast(std::map<std::string, int64_t>& load) {
  auto best = load.begin();
  for (auto it = load.begin(); it != load.end(); ++it) {
    if (it->second < best->second) best = it;
  }
  ++best->second;
  return best->first;
}

// HoldingKey orders the inactive holdings for paging: (person, kind, item).
std::string HoldingKey(std::string_view person, std::string_view kind, std::string_view item) {
  return storage::KeyBuilder().Str(person).Str(kind).Str(item).Build();
}

}  // namespace

absl::Status ClientsDomain::CheckPersonActive(std::string_view field,
                                              std::string_view person_id) const {
  if (person_id.empty()) return absl::OkStatus();
  v1::Offboarding unused;
  absl::Status s = repo_->GetRecord(InactivePersonKey(person_id), &unused);
  if (absl::IsNotFound(s)) return absl::OkStatus();
  RETURN_IF_ERROR(s);
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(field), ": person ", std::string(person_id), " is inactive (offboarded)"));
}

absl::StatusOr<std::vector<std::string>> ClientsDomain::TeamMembersLocked(
    std::string_view team_id, std::string_view person_id) const {
  std::set<std::string> owners;
  absl::Status scan_error;
  RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kTeam, team_id, false, "",
                                   [&](std::string_view, std::string_view id) {
                                     absl::StatusOr<Client> c = repo_->GetClient(id);
                                     if (!c.ok()) {
                                       scan_error = c.status();
                                       return false;
                                     }
                                     if (c->owner_id() != person_id) owners.insert(c->owner_id());
                                     return true;
                                   }));
  RETURN_IF_ERROR(scan_error);
  std::vector<std::string> members;
  for (const std::string& owner : owners) {
    if (owner.empty()) continue;
    if (CheckPersonActive("team_id", owner).ok()) members.push_back(owner);
  }
  return members;
}

absl::StatusOr<v1::Offboarding> ClientsDomain::OffboardPerson(
    const v1::OffboardPersonRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("person_id", req.person_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("successor_id", req.successor_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("team_id", req.team_id()));
  if (req.successor_id().empty() == req.team_id().empty()) {
    return InvalidField("successor_id", "exactly one of successor_id and team_id is required");
  }
  if (req.successor_id() == req.person_id()) {
    return InvalidField("successor_id", "must differ from person_id");
  }
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  if (IsBlank(req.actor().reason())) {
    return InvalidField("actor.reason", "required for an offboarding");
  }
  std::string id;
  {
    std::lock_guard lock(mu_);
    const api::Replay<v1::Offboarding> replay(*store_, "OffboardPerson", req.request_id(), req);
    ASSIGN_OR_RETURN(std::optional<v1::Offboarding> prior, replay.Prior());
    if (prior.has_value()) {
      id = prior->offboarding_id();
    } else {
      RETURN_IF_ERROR(CheckPersonActive("person_id", req.person_id()));
      RETURN_IF_ERROR(CheckPersonActive("successor_id", req.successor_id()));
      v1::Offboarding o;
      if (!req.team_id().empty()) {
        ASSIGN_OR_RETURN(std::vector<std::string> members,
                         TeamMembersLocked(req.team_id(), req.person_id()));
        if (members.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("team_id: team ", req.team_id(), " has no other active member"));
        }
        for (std::string& m : members) o.add_team_member_ids(std::move(m));
      }
      o.set_offboarding_id(util::NewId("ob"));
      o.set_person_id(req.person_id());
      o.set_successor_id(req.successor_id());
      o.set_team_id(req.team_id());
      *o.mutable_actor() = req.actor();
      o.set_status(v1::OFFBOARDING_STATUS_RUNNING);
      *o.mutable_start_time() = util::ToProto(Now());
      *o.mutable_update_time() = o.start_time();
      o.set_request_id(req.request_id());
      for (std::string_view service : kSteps) {
        v1::OffboardingStep* step = o.add_steps();
        step->set_service(std::string(service));
        step->set_status(v1::OFFBOARDING_STEP_STATUS_PENDING);
        *step->mutable_update_time() = o.start_time();
      }
      events::Transaction txn;
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), OffboardingKey(o.offboarding_id()), o));
      RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), OffboardingRunningKey(o.offboarding_id())));
      RETURN_IF_ERROR(
          repo_->PutMarker(txn.batch(), OffboardingByPersonKey(o.person_id(), o.offboarding_id())));
      RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), InactivePersonKey(o.person_id())));
      v1::PersonOffboarded ev;
      ev.set_offboarding_id(o.offboarding_id());
      ev.set_person_id(o.person_id());
      ev.set_successor_id(o.successor_id());
      ev.set_team_id(o.team_id());
      *ev.mutable_team_member_ids() = o.team_member_ids();
      *ev.mutable_actor() = o.actor();
      *ev.mutable_offboard_time() = o.start_time();
      contracts::Emit<contracts::clients::PersonOffboarded>(txn, o.person_id(), ev);
      RETURN_IF_ERROR(replay.Record(txn.batch(), o));
      RETURN_IF_ERROR(outbox_->Commit(txn));
      logging::Info("offboarding started",
                    {{"offboarding_id", o.offboarding_id()}, {"person_id", o.person_id()}});
      id = o.offboarding_id();
    }
  }
  return RunOffboarding(std::move(id));
}

absl::StatusOr<bool> ClientsDomain::OffboardChunkLocked(v1::Offboarding& o,
                                                        events::Transaction& txn) {
  const int chunk_size = std::max(1, options_.handover_chunk_size);
  std::vector<std::string> client_ids;
  RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, o.person_id(), false, "",
                                   [&](std::string_view, std::string_view id) {
                                     client_ids.emplace_back(id);
                                     return static_cast<int>(client_ids.size()) < chunk_size;
                                   }));
  std::vector<std::string> case_ids;
  if (static_cast<int>(client_ids.size()) < chunk_size) {
    RETURN_IF_ERROR(repo_->ScanRecords(
        CaseByAssigneePrefix(o.person_id()), "", [&](std::string_view key, std::string_view) {
          case_ids.push_back(LastComponent(key));
          return static_cast<int>(client_ids.size() + case_ids.size()) < chunk_size;
        }));
  }
  if (client_ids.empty() && case_ids.empty()) return false;
  // Receivers: the successor, or the team's members by the fewest clients (or open cases) held.
  std::map<std::string, int64_t> client_load;
  std::map<std::string, int64_t> case_load;
  for (const std::string& m : o.team_member_ids()) {
    int64_t clients = 0;
    RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, m, false, "",
                                     [&](std::string_view, std::string_view) {
                                       ++clients;
                                       return true;
                                     }));
    int64_t cases = 0;
    RETURN_IF_ERROR(
        repo_->ScanRecords(CaseByAssigneePrefix(m), "", [&](std::string_view, std::string_view) {
          ++cases;
          return true;
        }));
    client_load[m] = clients;
    case_load[m] = cases;
  }
  auto receiver = [&](std::map<std::string, int64_t>& load) {
    return o.successor_id().empty() ? PickLeast(load) : o.successor_id();
  };
  v1::OffboardingStep* step = Step(o, "clients");
  auto& moved = *step->mutable_moved();
  for (const std::string& id : client_ids) {
    ASSIGN_OR_RETURN(Client c, LoadClient(id, false));
    if (c.owner_id() != o.person_id()) continue;
    int64_t pending = 0;
    RETURN_IF_ERROR(
        repo_->ScanRecords(FollowUpPrefix(id), "", [&](std::string_view, std::string_view value) {
          v1::FollowUp f;
          if (f.ParseFromArray(value.data(), static_cast<int>(value.size())) &&
              f.status() == v1::FOLLOW_UP_STATUS_PENDING) {
            ++pending;
          }
          return true;
        }));
    RETURN_IF_ERROR(
        ChangeOwner(txn, std::move(c), receiver(client_load), o.actor(), o.offboarding_id()));
    ++moved[kKindClients];
    moved[kKindFollowUps] += pending;
  }
  for (const std::string& id : case_ids) {
    ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(id));
    if (before.assignee_id() != o.person_id() || !CaseOpen(before)) continue;
    v1::ServiceCase after = before;
    after.set_assignee_id(receiver(case_load));
    RETURN_IF_ERROR(WriteCase(txn, &before, after));
    v1::CaseAssigned ev;
    *ev.mutable_case_summary() = CaseSummaryOf(after);
    ev.set_previous_assignee_id(before.assignee_id());
    *ev.mutable_actor() = o.actor();
    contracts::Emit<contracts::clients::CaseAssigned>(txn, after.case_id(), ev);
    ++moved[kKindCases];
  }
  step->set_status(v1::OFFBOARDING_STEP_STATUS_RUNNING);
  return true;
}

absl::StatusOr<v1::Offboarding> ClientsDomain::RunOffboarding(std::string offboarding_id) {
  int chunks = 0;
  while (true) {
    std::lock_guard lock(mu_);
    // Continue from the persisted progress, whoever moved the last chunk (a concurrent retry or
    // the start-up resume).
    v1::Offboarding o;
    RETURN_IF_ERROR(repo_->GetRecord(OffboardingKey(offboarding_id), &o));
    v1::OffboardingStep* step = Step(o, "clients");
    if (step == nullptr) return absl::InternalError("offboarding without a clients step");
    if (step->status() == v1::OFFBOARDING_STEP_STATUS_COMPLETED) return o;
    events::Transaction txn;
    ASSIGN_OR_RETURN(bool moved_some, OffboardChunkLocked(o, txn));
    const absl::Time now = Now();
    *o.mutable_update_time() = util::ToProto(now);
    *step->mutable_update_time() = o.update_time();
    if (!moved_some) {
      step->set_status(v1::OFFBOARDING_STEP_STATUS_COMPLETED);
      step->set_remaining(0);
      for (const char* kind : {kKindClients, kKindCases, kKindFollowUps}) {
        (*step->mutable_moved())[kind] += 0;  // every kind shows, zero included
      }
      if (AllStepsCompleted(o)) {
        o.set_status(v1::OFFBOARDING_STATUS_COMPLETED);
        *o.mutable_complete_time() = o.update_time();
        RETURN_IF_ERROR(
            repo_->DeleteRecord(txn.batch(), OffboardingRunningKey(o.offboarding_id())));
      }
    }
    RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), OffboardingKey(o.offboarding_id()), o));
    RETURN_IF_ERROR(outbox_->Commit(txn));
    if (!moved_some) {
      logging::Info("offboarding: clients step completed",
                    {{"offboarding_id", o.offboarding_id()}});
      return o;
    }
    if (++chunks == options_.offboarding_stop_after_chunks) return o;
  }
}

absl::Status ClientsDomain::ApplyOffboardingProgress(
    std::string_view service, std::string_view offboarding_id,
    const google::protobuf::Map<std::string, int64_t>& moved, int64_t remaining, bool done,
    events::Transaction& txn) {
  if (offboarding_id.empty()) return InvalidField("offboarding_id", "missing in the report");
  RETURN_IF_ERROR(api::CheckLength("offboarding_id", offboarding_id, kMaxIdLength));
  if (remaining < 0) return InvalidField("remaining", "must not be negative");
  for (const auto& [kind, count] : moved) {
    RETURN_IF_ERROR(api::CheckLength("moved.key", kind, kMaxIdLength));
    if (count < 0) return InvalidField("moved", "counts must not be negative");
  }
  v1::Offboarding o;
  absl::Status s = repo_->GetRecord(OffboardingKey(offboarding_id), &o);
  if (absl::IsNotFound(s)) {
    logging::Warn("report for an unknown offboarding ignored",
                  {{"offboarding_id", std::string(offboarding_id)}});
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(s);
  v1::OffboardingStep* step = Step(o, service);
  if (step == nullptr) return InvalidField("service", "not a step of an offboarding");
  // A completed step stays completed (a late or redelivered report changes nothing).
  if (step->status() == v1::OFFBOARDING_STEP_STATUS_COMPLETED) return absl::OkStatus();
  *step->mutable_moved() = moved;
  step->set_remaining(remaining);
  step->set_status(done ? v1::OFFBOARDING_STEP_STATUS_COMPLETED
                        : v1::OFFBOARDING_STEP_STATUS_RUNNING);
  *o.mutable_update_time() = util::ToProto(Now());
  *step->mutable_update_time() = o.update_time();
  if (AllStepsCompleted(o)) {
    o.set_status(v1::OFFBOARDING_STATUS_COMPLETED);
    *o.mutable_complete_time() = o.update_time();
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), OffboardingRunningKey(o.offboarding_id())));
    logging::Info("offboarding completed", {{"offboarding_id", o.offboarding_id()}});
  }
  return repo_->PutRecord(txn.batch(), OffboardingKey(o.offboarding_id()), o);
}

absl::StatusOr<v1::Offboarding> ClientsDomain::GetOffboarding(
    std::string_view offboarding_id) const {
  RETURN_IF_ERROR(api::CheckId("offboarding_id", offboarding_id));
  v1::Offboarding o;
  absl::Status s = repo_->GetRecord(OffboardingKey(offboarding_id), &o);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(
        absl::StrCat("offboarding ", std::string(offboarding_id), " not found"));
  }
  RETURN_IF_ERROR(s);
  return o;
}

absl::StatusOr<v1::ListOffboardingsResponse> ClientsDomain::ListOffboardings(
    const v1::ListOffboardingsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckOptionalId("person_id", req.person_id()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({"person", req.person_id()})));
  const bool by_person = !req.person_id().empty();
  v1::ListOffboardingsResponse resp;
  absl::Status error;
  RETURN_IF_ERROR(repo_->ScanRecords(
      by_person ? OffboardingByPersonPrefix(req.person_id()) : OffboardingPrefix(),
      pager.after_key(), [&](std::string_view key, std::string_view) {
        absl::StatusOr<v1::Offboarding> o = GetOffboarding(LastComponent(key));
        if (!o.ok()) {
          error = o.status();
          return false;
        }
        if (!pager.Accept(key)) return false;
        *resp.add_offboardings() = *std::move(o);
        return true;
      }));
  RETURN_IF_ERROR(error);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ListInactiveHoldingsResponse> ClientsDomain::ListInactiveHoldings(
    const v1::ListInactiveHoldingsRequest& req) const {
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({"inactive-holdings"})));
  std::vector<std::string> people;
  RETURN_IF_ERROR(
      repo_->ScanRecords(InactivePersonPrefix(), "", [&](std::string_view key, std::string_view) {
        people.push_back(LastComponent(key));
        return true;
      }));
  v1::ListInactiveHoldingsResponse resp;
  bool full = false;
  // Offers one holding to the page, in (person, kind, item) order; false once the page is full.
  auto offer = [&](const std::string& person, const char* kind, std::string_view item) {
    const std::string key = HoldingKey(person, kind, item);
    if (key <= pager.after_key()) return true;
    if (!pager.Accept(key)) {
      full = true;
      return false;
    }
    v1::InactiveHolding* h = resp.add_holdings();
    h->set_person_id(person);
    h->set_kind(kind);
    h->set_item_id(std::string(item));
    return true;
  };
  for (const std::string& person : people) {
    // "case" sorts before "client": list the cases first so the page order is the key order.
    RETURN_IF_ERROR(repo_->ScanRecords(CaseByAssigneePrefix(person), "",
                                       [&](std::string_view key, std::string_view) {
                                         return offer(person, "case", LastComponent(key));
                                       }));
    if (full) break;
    RETURN_IF_ERROR(repo_->ScanIndex(
        ClientIndex::kOwner, person, false, "",
        [&](std::string_view, std::string_view id) { return offer(person, "client", id); }));
    if (full) break;
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::Status ClientsDomain::ResumeOffboardings() {
  {
    std::lock_guard lock(mu_);
    v1::Offboarding unused;
    absl::Status marker = repo_->GetRecord(CaseAssigneeIndexMarkerKey(), &unused);
    if (absl::IsNotFound(marker)) {
      // Index the open assigned cases of a store written before the index existed.
      events::Transaction txn;
      absl::Status error;
      RETURN_IF_ERROR(repo_->ScanRecords(
          storage::KeyBuilder().Str("case").Build(), "",
          [&](std::string_view, std::string_view value) {
            v1::ServiceCase c;
            if (!c.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
            if (CaseOpen(c) && !c.assignee_id().empty()) {
              error =
                  repo_->PutMarker(txn.batch(), CaseByAssigneeKey(c.assignee_id(), c.case_id()));
            }
            return error.ok();
          }));
      RETURN_IF_ERROR(error);
      RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), CaseAssigneeIndexMarkerKey()));
      RETURN_IF_ERROR(outbox_->Commit(txn));
    } else {
      RETURN_IF_ERROR(marker);
    }
  }
  std::vector<std::string> ids;
  RETURN_IF_ERROR(repo_->ScanRecords(OffboardingRunningPrefix(), "",
                                     [&](std::string_view key, std::string_view) {
                                       ids.push_back(LastComponent(key));
                                       return true;
                                     }));
  for (const std::string& id : ids) {
    logging::Info("resuming offboarding", {{"offboarding_id", id}});
    RETURN_IF_ERROR(RunOffboarding(id).status());
  }
  return absl::OkStatus();
}

}  // namespace triad::clients
