// Implements ClientsAccess: one decision per RPC of ClientsService, ClientsAdminService and the
// operator AdminService, and the redaction of other teams' duplicate candidates.
#include "services/clients/access.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/clients/text_util.h"
#include "triad/clients/v1/clients_admin_service.pb.h"

namespace triad::clients {
namespace {

using auth::MethodRules;
using auth::Ownership;
using auth::Principal;

// How many merge redirects are followed to the survivor (the domain follows as many).
constexpr int kMaxMergeHops = 16;

Ownership OwnershipOf(const v1::Client& c) { return Ownership{c.owner_id(), c.team_id()}; }

// GiveDenied is the denial of an owner or team the principal may not give a record.
absl::Status GiveDenied(std::string_view what, const Ownership& next, const Principal& p) {
  return absl::PermissionDeniedError(
      absl::StrCat(std::string(what), ": owner_id '", next.owner_id, "' / team_id '", next.team_id,
                   "' is outside what you may give (yourself, or one of your teams: ",
                   p.teams.empty() ? std::string("none") : absl::StrJoin(p.teams, ", "), ")"));
}

bool MaskHas(const google::protobuf::FieldMask& mask, std::string_view path) {
  return std::find(mask.paths().begin(), mask.paths().end(), path) != mask.paths().end();
}

}  // namespace

bool OffboardingVisible(const Principal& p, const v1::Offboarding& o) {
  if (auth::SeesEverything(p)) return true;
  for (const std::string* who : {&o.person_id(), &o.successor_id(), &o.actor().id()}) {
    if (!who->empty() && *who == p.subject) return true;
  }
  return p.InTeam(o.team_id());
}

ClientsAccess::ClientsAccess(const ClientsRepository* repo) : repo_(repo) { BuildRules(); }

absl::Status ClientsAccess::CheckRequest(const Principal& principal, std::string_view method,
                                         const google::protobuf::Message& request) {
  return rules_.CheckRequest(principal, method, request);
}

void ClientsAccess::FilterResponse(const Principal& principal, std::string_view method,
                                   google::protobuf::Message* response) {
  rules_.FilterResponse(principal, method, response);
}

absl::StatusOr<std::optional<Ownership>> ClientsAccess::ClientOwnership(
    std::string_view client_id) const {
  if (client_id.empty()) return std::optional<Ownership>();
  absl::StatusOr<v1::Client> c = repo_->GetClient(client_id);
  for (int hop = 0; c.ok() && c->status() == v1::CLIENT_STATUS_MERGED &&
                    !c->merged_into().empty() && hop < kMaxMergeHops;
       ++hop) {
    c = repo_->GetClient(c->merged_into());
  }
  if (absl::IsNotFound(c.status())) return std::optional<Ownership>();
  RETURN_IF_ERROR(c.status());
  return std::optional<Ownership>(OwnershipOf(*c));
}

absl::Status ClientsAccess::CheckClient(const Principal& p, std::string_view client_id,
                                        std::string_view kind, std::string_view id) const {
  ASSIGN_OR_RETURN(std::optional<Ownership> owner, ClientOwnership(client_id));
  if (!owner.has_value() || auth::CanSee(p, *owner)) return absl::OkStatus();
  return auth::NotVisible(kind, id);
}

absl::Status ClientsAccess::CheckCase(const Principal& p, std::string_view case_id) const {
  if (case_id.empty()) return absl::OkStatus();
  v1::ServiceCase c;
  absl::Status st = repo_->GetRecord(CaseKey(case_id), &c);
  if (absl::IsNotFound(st)) return absl::OkStatus();
  RETURN_IF_ERROR(st);
  return CheckClient(p, c.client_id(), "case", case_id);
}

absl::Status ClientsAccess::CheckUpdate(const Principal& p,
                                        const v1::UpdateClientRequest& req) const {
  const std::string& id = req.client().client_id();
  if (id.empty()) return absl::OkStatus();
  absl::StatusOr<v1::Client> cur = repo_->GetClient(id);
  if (absl::IsNotFound(cur.status())) return absl::OkStatus();
  RETURN_IF_ERROR(cur.status());
  RETURN_IF_ERROR(CheckClient(p, id, "client", id));
  const bool owner = MaskHas(req.update_mask(), "owner_id");
  const bool team = MaskHas(req.update_mask(), "team_id");
  if (!owner && !team) return absl::OkStatus();
  Ownership next = OwnershipOf(*cur);
  if (owner) next.owner_id = req.client().owner_id();
  if (team) next.team_id = req.client().team_id();
  if (auth::CanAssign(p, next, OwnershipOf(*cur))) return absl::OkStatus();
  return GiveDenied(absl::StrCat("client ", id), next, p);
}

absl::Status ClientsAccess::CheckReassign(const Principal& p,
                                          const v1::ReassignClientRequest& req) const {
  absl::StatusOr<v1::Client> cur = repo_->GetClient(req.client_id());
  if (req.client_id().empty() || absl::IsNotFound(cur.status())) return absl::OkStatus();
  RETURN_IF_ERROR(cur.status());
  RETURN_IF_ERROR(CheckClient(p, req.client_id(), "client", req.client_id()));
  const Ownership next{req.new_owner_id(), cur->team_id()};
  if (auth::CanAssign(p, next, OwnershipOf(*cur))) return absl::OkStatus();
  return GiveDenied(absl::StrCat("client ", req.client_id()), next, p);
}

absl::Status ClientsAccess::CheckHandover(const Principal& p,
                                          const v1::HandOverPortfolioRequest& req) const {
  // Every client the handover would move must be the caller's to see, and stay visible to them
  // with its new owner (its team does not change).
  if (req.from_owner_id().empty()) return absl::OkStatus();
  absl::Status denied;
  absl::Status scan = repo_->ScanIndex(
      ClientIndex::kOwner, req.from_owner_id(), /*prefix=*/false, "",
      [&](std::string_view, std::string_view client_id) {
        absl::StatusOr<v1::Client> c = repo_->GetClient(client_id);
        if (absl::IsNotFound(c.status())) return true;
        if (!c.ok()) {
          denied = c.status();
          return false;
        }
        if (!auth::CanSee(p, OwnershipOf(*c))) {
          denied = absl::PermissionDeniedError(absl::StrCat(
              "HandOverPortfolio: ", req.from_owner_id(), " owns client ", c->client_id(),
              ", which is ", auth::kOwnedByAnotherTeam, "; only an operator may hand it over"));
          return false;
        }
        const Ownership next{req.to_owner_id(), c->team_id()};
        if (!auth::CanAssign(p, next, OwnershipOf(*c))) {
          denied = GiveDenied(absl::StrCat("HandOverPortfolio: client ", c->client_id()), next, p);
          return false;
        }
        return true;
      });
  RETURN_IF_ERROR(scan);
  return denied;
}

absl::Status ClientsAccess::CheckOffboard(const Principal& p,
                                          const v1::OffboardPersonRequest& req) const {
  // A team must be one of the caller's; every client the person owns and every open case
  // assigned to them must be the caller's to see; with a successor each client must stay
  // visible with them as owner; with a team the receiver is any member, so the client's team
  // must be the caller's.
  if (req.person_id().empty()) return absl::OkStatus();
  if (!req.team_id().empty() && !p.InTeam(req.team_id())) {
    return absl::PermissionDeniedError(
        absl::StrCat("OffboardPerson: team_id '", req.team_id(), "' is not one of your teams"));
  }
  absl::Status denied;
  auto fail = [&](std::string_view kind, std::string_view id) {
    denied = absl::PermissionDeniedError(absl::StrCat(
        "OffboardPerson: ", req.person_id(), " holds ", std::string(kind), " ", std::string(id),
        ", which is ", auth::kOwnedByAnotherTeam, "; only an operator may offboard them"));
    return false;
  };
  absl::Status scan = repo_->ScanIndex(
      ClientIndex::kOwner, req.person_id(), /*prefix=*/false, "",
      [&](std::string_view, std::string_view client_id) {
        absl::StatusOr<v1::Client> c = repo_->GetClient(client_id);
        if (absl::IsNotFound(c.status())) return true;
        if (!c.ok()) {
          denied = c.status();
          return false;
        }
        if (!auth::CanSee(p, OwnershipOf(*c))) return fail("client", client_id);
        const bool stays_visible = req.successor_id().empty()
                                       ? p.InTeam(c->team_id())
                                       : auth::CanSee(p, {req.successor_id(), c->team_id()});
        if (!stays_visible) return fail("client", client_id);
        return true;
      });
  RETURN_IF_ERROR(scan);
  RETURN_IF_ERROR(denied);
  scan = repo_->ScanRecords(CaseByAssigneePrefix(req.person_id()), "",
                            [&](std::string_view key, std::string_view) {
                              const std::string case_id = LastComponent(key);
                              absl::Status st = CheckCase(p, case_id);
                              if (absl::IsPermissionDenied(st)) return fail("case", case_id);
                              if (!st.ok()) {
                                denied = st;
                                return false;
                              }
                              return true;
                            });
  RETURN_IF_ERROR(scan);
  return denied;
}

absl::Status ClientsAccess::CheckImport(const Principal& p,
                                        const v1::ImportClientsCsvRequest& req) const {
  // Each row's client (owner_id or default_owner_id, team_id) must be one the caller may give.
  // A CSV that does not parse, or has no header, is left to the domain (INVALID_ARGUMENT).
  absl::StatusOr<std::vector<std::vector<std::string>>> rows = ParseCsv(req.csv());
  if (!rows.ok() || rows->empty()) return absl::OkStatus();
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < (*rows)[0].size(); ++i) {
    col[absl::AsciiStrToLower(absl::StripAsciiWhitespace((*rows)[0][i]))] = i;
  }
  for (size_t r = 1; r < rows->size(); ++r) {
    const std::vector<std::string>& row = (*rows)[r];
    auto cell = [&](const char* name) -> std::string {
      auto it = col.find(name);
      if (it == col.end() || it->second >= row.size()) return "";
      return std::string(absl::StripAsciiWhitespace(row[it->second]));
    };
    Ownership next{cell("owner_id"), cell("team_id")};
    if (next.owner_id.empty()) next.owner_id = req.default_owner_id();
    if (!auth::CanAssign(p, next, Ownership())) {
      return GiveDenied(absl::StrCat("ImportClientsCsv: csv row ", r), next, p);
    }
  }
  return absl::OkStatus();
}

absl::Status ClientsAccess::CheckGetHandover(const Principal& p,
                                             std::string_view handover_id) const {
  if (handover_id.empty()) return absl::OkStatus();
  v1::Handover h;
  absl::Status st = repo_->GetRecord(HandoverKey(handover_id), &h);
  if (absl::IsNotFound(st)) return absl::OkStatus();
  RETURN_IF_ERROR(st);
  for (const std::string* who : {&h.from_owner_id(), &h.to_owner_id(), &h.actor().id()}) {
    if (!who->empty() && *who == p.subject) return absl::OkStatus();
  }
  return auth::NotVisible("handover", handover_id);
}

absl::Status ClientsAccess::CheckGetOffboarding(const Principal& p,
                                                std::string_view offboarding_id) const {
  if (offboarding_id.empty()) return absl::OkStatus();
  v1::Offboarding o;
  absl::Status st = repo_->GetRecord(OffboardingKey(offboarding_id), &o);
  if (absl::IsNotFound(st)) return absl::OkStatus();
  RETURN_IF_ERROR(st);
  if (OffboardingVisible(p, o)) return absl::OkStatus();
  return auth::NotVisible("offboarding", offboarding_id);
}

void ClientsAccess::RedactDuplicates(const Principal& p, v1::FindDuplicatesResponse* resp) const {
  for (v1::DuplicateCandidate& c : *resp->mutable_candidates()) {
    absl::StatusOr<std::optional<Ownership>> owner = ClientOwnership(c.client_id());
    // A candidate whose owner cannot be read is redacted too.
    if (owner.ok() && (!owner->has_value() || auth::CanSee(p, **owner))) continue;
    c.clear_matched_on();
  }
}

void ClientsAccess::BuildRules() {
  using v1::ArchiveClientRequest;
  using v1::RestoreClientRequest;
  using v1::VerifyClientRequest;
  auto client = [this](std::string_view id) {
    return [this, id = std::string(id)](const Principal& p, std::string_view client_id) {
      return CheckClient(p, client_id, id, client_id);
    };
  };
  auto by_client = client("client");
  MethodRules& r = rules_;
  // --- Clients.
  r.Check<v1::CreateClientRequest>("CreateClient", [](const Principal& p, const auto& req) {
    const Ownership next{req.client().owner_id(), req.client().team_id()};
    if (auth::CanAssign(p, next, Ownership())) return absl::OkStatus();
    return GiveDenied("CreateClient: client", next, p);
  });
  r.Check<v1::GetClientRequest>("GetClient", [by_client](const Principal& p, const auto& req) {
    return by_client(p, req.client_id());
  });
  r.Check<v1::ListClientsRequest>("ListClients", [](const Principal& p, const auto& req) {
    if (auth::MayScope(p, req.owner_id(), req.team_id())) return absl::OkStatus();
    return auth::ScopeRequired("ListClients", auth::OwnScopeHint(p, "owner_id", "team_id"));
  });
  r.Check<v1::UpdateClientRequest>(
      "UpdateClient", [this](const Principal& p, const auto& req) { return CheckUpdate(p, req); });
  r.Check<VerifyClientRequest>("VerifyClient", [by_client](const Principal& p, const auto& req) {
    return by_client(p, req.client_id());
  });
  r.Check<ArchiveClientRequest>("ArchiveClient", [by_client](const Principal& p, const auto& req) {
    return by_client(p, req.client_id());
  });
  r.Check<RestoreClientRequest>("RestoreClient", [by_client](const Principal& p, const auto& req) {
    return by_client(p, req.client_id());
  });
  r.Open("FindDuplicates");
  r.Filter<v1::FindDuplicatesResponse>(
      "FindDuplicates", [this](const Principal& p, auto* resp) { RedactDuplicates(p, resp); });
  r.Check<v1::MergeClientsRequest>("MergeClients",
                                   [by_client](const Principal& p, const auto& req) {
                                     RETURN_IF_ERROR(by_client(p, req.survivor_id()));
                                     return by_client(p, req.merged_id());
                                   });
  r.Check<v1::ListClientHistoryRequest>(
      "ListClientHistory",
      [by_client](const Principal& p, const auto& req) { return by_client(p, req.client_id()); });
  r.Check<v1::ListActorHistoryRequest>("ListActorHistory", [](const Principal& p, const auto& req) {
    if (req.actor_id() == p.subject) return absl::OkStatus();
    return auth::ScopeRequired("ListActorHistory", absl::StrCat("set actor_id to ", p.subject));
  });
  // --- Ownership.
  r.Check<v1::ReassignClientRequest>("ReassignClient", [this](const Principal& p, const auto& req) {
    return CheckReassign(p, req);
  });
  r.Check<v1::HandOverPortfolioRequest>(
      "HandOverPortfolio",
      [this](const Principal& p, const auto& req) { return CheckHandover(p, req); });
  r.Check<v1::GetHandoverRequest>("GetHandover", [this](const Principal& p, const auto& req) {
    return CheckGetHandover(p, req.handover_id());
  });
  // --- Contacts and touchpoints: the client they belong to.
  r.Check<v1::CreateContactRequest>("CreateContact",
                                    [by_client](const Principal& p, const auto& req) {
                                      return by_client(p, req.contact().client_id());
                                    });
  r.Check<v1::ListContactsRequest>(
      "ListContacts",
      [by_client](const Principal& p, const auto& req) { return by_client(p, req.client_id()); });
  r.Check<v1::CreateTouchpointRequest>("CreateTouchpoint",
                                       [by_client](const Principal& p, const auto& req) {
                                         return by_client(p, req.touchpoint().client_id());
                                       });
  r.Check<v1::ListTouchpointsRequest>(
      "ListTouchpoints",
      [by_client](const Principal& p, const auto& req) { return by_client(p, req.client_id()); });
  // --- Service cases: the case's client.
  r.Check<v1::OpenCaseRequest>("OpenCase", [by_client](const Principal& p, const auto& req) {
    return by_client(p, req.client_id());
  });
  r.Check<v1::GetCaseRequest>("GetCase", [this](const Principal& p, const auto& req) {
    return CheckCase(p, req.case_id());
  });
  r.Check<v1::ListCasesRequest>("ListCases", [by_client](const Principal& p, const auto& req) {
    if (req.client_id().empty()) {
      return auth::ScopeRequired("ListCases", "set client_id to a client you can see");
    }
    return by_client(p, req.client_id());
  });
  r.Check<v1::AssignCaseRequest>("AssignCase", [this](const Principal& p, const auto& req) {
    return CheckCase(p, req.case_id());
  });
  r.Check<v1::TransitionCaseRequest>("TransitionCase", [this](const Principal& p, const auto& req) {
    return CheckCase(p, req.case_id());
  });
  // --- Follow-ups.
  r.Check<v1::GetFollowUpPlanRequest>(
      "GetFollowUpPlan",
      [by_client](const Principal& p, const auto& req) { return by_client(p, req.client_id()); });
  r.Check<v1::ListOverdueFollowUpsRequest>("ListOverdueFollowUps", [](const Principal& p,
                                                                      const auto& req) {
    if (req.owner_id() == p.subject) return absl::OkStatus();
    return auth::ScopeRequired("ListOverdueFollowUps", absl::StrCat("set owner_id to ", p.subject));
  });
  r.Check<v1::CompleteFollowUpRequest>(
      "CompleteFollowUp",
      [by_client](const Principal& p, const auto& req) { return by_client(p, req.client_id()); });
  // --- Bulk (role-gated to sales managers and operators by the guard).
  r.Check<v1::ImportClientsCsvRequest>(
      "ImportClientsCsv",
      [this](const Principal& p, const auto& req) { return CheckImport(p, req); });
  r.Check<v1::OffboardPersonRequest>("OffboardPerson", [this](const Principal& p, const auto& req) {
    return CheckOffboard(p, req);
  });
  r.Check<v1::GetOffboardingRequest>("GetOffboarding", [this](const Principal& p, const auto& req) {
    return CheckGetOffboarding(p, req.offboarding_id());
  });
  r.Check<v1::ListOffboardingsRequest>("ListOffboardings", [](const Principal& p, const auto& req) {
    if (!req.person_id().empty()) return absl::OkStatus();
    return auth::ScopeRequired("ListOffboardings", "set person_id");
  });
  r.Filter<v1::ListOffboardingsResponse>("ListOffboardings", [](const Principal& p, auto* resp) {
    auto* list = resp->mutable_offboardings();
    list->erase(std::remove_if(list->begin(), list->end(),
                               [&](const v1::Offboarding& o) { return !OffboardingVisible(p, o); }),
                list->end());
  });
  // Spans every team's records and has no filter to scope it.
  r.EverythingOnly("ListInactiveHoldings");
  // --- ClientsAdminService and the operator AdminService.
  for (const char* m : {"ScanSlaBreaches", "ScanDueFollowUps", "CreateBackup", "ListBackups",
                        "DeleteBackup", "ListQuarantinedEvents", "RequeueQuarantinedEvent"}) {
    r.EverythingOnly(m);
  }
}

}  // namespace triad::clients
