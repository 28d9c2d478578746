// Implements PipelineAccess: one decision per RPC of PipelineService, PipelineAdminService and
// the operator AdminService, and the filtering of deals a caller may not see out of lists.
#include "services/pipeline/access.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/pipeline/pipeline_internal.h"
#include "triad/clients/v1/events.pb.h"

namespace triad::pipeline {
namespace {

using auth::MethodRules;
using auth::Ownership;
using auth::Principal;

// How many merge redirects are followed to the survivor (as Pipeline::ResolveClient).
constexpr int kMaxMergeHops = 64;

Ownership OwnershipOf(const v1::Opportunity& o) { return Ownership{o.owner_id(), o.team_id()}; }

// GiveDenied is the denial of an owner or team the principal may not give a record.
absl::Status GiveDenied(std::string_view what, const Ownership& next, const Principal& p) {
  return absl::PermissionDeniedError(
      absl::StrCat(std::string(what), ": owner_id '", next.owner_id, "' / team_id '", next.team_id,
                   "' is outside what you may give (yourself, or one of your teams: ",
                   p.teams.empty() ? std::string("none") : absl::StrJoin(p.teams, ", "), ")"));
}

// OwnerScope is the check of a list whose only ownership filter is an owner: it must be the
// caller.
absl::Status OwnerScope(std::string_view method, const Principal& p, std::string_view owner_id) {
  if (!owner_id.empty() && owner_id == p.subject) return absl::OkStatus();
  return auth::ScopeRequired(method, absl::StrCat("set owner_id to ", p.subject));
}

// FunnelScope is the check of a funnel filter: owner = the caller or team = one of theirs.
absl::Status FunnelScope(std::string_view method, const Principal& p, const v1::FunnelFilter& f) {
  if (auth::MayScope(p, f.owner_id(), f.team_id())) return absl::OkStatus();
  return auth::ScopeRequired(method, auth::OwnScopeHint(p, "filter.owner_id", "filter.team_id"));
}

}  // namespace

PipelineAccess::PipelineAccess(storage::Store* store) : repo_(NewRocksRepository(store)) {
  BuildRules();
}

absl::Status PipelineAccess::CheckRequest(const Principal& principal, std::string_view method,
                                          const google::protobuf::Message& request) {
  return rules_.CheckRequest(principal, method, request);
}

void PipelineAccess::FilterResponse(const Principal& principal, std::string_view method,
                                    google::protobuf::Message* response) {
  rules_.FilterResponse(principal, method, response);
}

absl::StatusOr<std::optional<Ownership>> PipelineAccess::ClientOwnership(
    std::string_view client_id) const {
  if (client_id.empty()) return std::optional<Ownership>();
  std::string id(client_id);
  std::set<std::string> visited = {id};
  for (int hop = 0; hop < kMaxMergeHops; ++hop) {
    absl::StatusOr<std::string> redirect = repo_->GetRaw(Kind::kIndex, RedirectKey(id));
    if (absl::IsNotFound(redirect.status())) break;
    RETURN_IF_ERROR(redirect.status());
    if (!visited.insert(*redirect).second) break;  // a cycle: judge the last record reached
    id = *redirect;
  }
  clients::v1::ClientSummary c;
  absl::Status st = repo_->GetProto(Kind::kClient, id, &c);
  if (absl::IsNotFound(st)) return std::optional<Ownership>();
  RETURN_IF_ERROR(st);
  return std::optional<Ownership>(Ownership{c.owner_id(), c.team_id()});
}

absl::StatusOr<std::optional<Ownership>> PipelineAccess::LeadOwnership(
    std::string_view lead_id) const {
  if (lead_id.empty()) return std::optional<Ownership>();
  v1::Lead lead;
  absl::Status st = repo_->GetProto(Kind::kLead, lead_id, &lead);
  if (absl::IsNotFound(st)) return std::optional<Ownership>();
  RETURN_IF_ERROR(st);
  Ownership owner{lead.owner_id(), ""};
  ASSIGN_OR_RETURN(std::optional<Ownership> client, ClientOwnership(lead.client_id()));
  if (client.has_value()) owner.team_id = client->team_id;
  return std::optional<Ownership>(std::move(owner));
}

absl::StatusOr<std::optional<v1::Opportunity>> PipelineAccess::LoadOpportunity(
    std::string_view id) const {
  if (id.empty()) return std::optional<v1::Opportunity>();
  v1::Opportunity opp;
  absl::Status st = repo_->GetProto(Kind::kOpportunity, id, &opp);
  if (absl::IsNotFound(st)) return std::optional<v1::Opportunity>();
  RETURN_IF_ERROR(st);
  return std::optional<v1::Opportunity>(std::move(opp));
}

absl::Status PipelineAccess::CheckClient(const Principal& p, std::string_view client_id) const {
  ASSIGN_OR_RETURN(std::optional<Ownership> owner, ClientOwnership(client_id));
  if (!owner.has_value() || auth::CanSee(p, *owner)) return absl::OkStatus();
  return auth::NotVisible("client", client_id);
}

absl::Status PipelineAccess::CheckLead(const Principal& p, std::string_view lead_id) const {
  ASSIGN_OR_RETURN(std::optional<Ownership> owner, LeadOwnership(lead_id));
  if (!owner.has_value() || auth::CanSee(p, *owner)) return absl::OkStatus();
  return auth::NotVisible("lead", lead_id);
}

absl::Status PipelineAccess::CheckOpportunity(const Principal& p, std::string_view id) const {
  ASSIGN_OR_RETURN(std::optional<v1::Opportunity> opp, LoadOpportunity(id));
  if (!opp.has_value() || auth::CanSee(p, OwnershipOf(*opp))) return absl::OkStatus();
  return auth::NotVisible("opportunity", id);
}

absl::Status PipelineAccess::CheckCreateLead(const Principal& p,
                                             const v1::CreateLeadRequest& req) const {
  // A lead on a known client takes the client's team; the client must be visible.
  RETURN_IF_ERROR(CheckClient(p, req.lead().client_id()));
  Ownership next{req.lead().owner_id(), ""};
  ASSIGN_OR_RETURN(std::optional<Ownership> client, ClientOwnership(req.lead().client_id()));
  if (client.has_value()) next.team_id = client->team_id;
  // The client's team is the lead's by derivation, not a choice: judge it as unchanged.
  if (auth::CanAssign(p, next, Ownership{"", next.team_id})) return absl::OkStatus();
  return GiveDenied("CreateLead: lead", next, p);
}

absl::Status PipelineAccess::CheckCreateOpportunity(const Principal& p,
                                                    const v1::CreateOpportunityRequest& req) const {
  RETURN_IF_ERROR(CheckClient(p, req.client_id()));
  RETURN_IF_ERROR(CheckLead(p, req.lead_id()));
  // The domain gives the opportunity the client's team when the request names none; that team
  // (named or not) comes with the client and is judged as unchanged.
  Ownership derived;
  ASSIGN_OR_RETURN(std::optional<Ownership> client, ClientOwnership(req.client_id()));
  if (client.has_value()) derived.team_id = client->team_id;
  Ownership next{req.owner_id(), req.team_id().empty() ? derived.team_id : req.team_id()};
  if (auth::CanAssign(p, next, derived)) return absl::OkStatus();
  return GiveDenied("CreateOpportunity: opportunity", next, p);
}

absl::Status PipelineAccess::CheckUpdate(const Principal& p,
                                         const v1::UpdateOpportunityRequest& req) const {
  const std::string& id = req.opportunity().id();
  ASSIGN_OR_RETURN(std::optional<v1::Opportunity> cur, LoadOpportunity(id));
  if (!cur.has_value()) return absl::OkStatus();
  if (!auth::CanSee(p, OwnershipOf(*cur))) return auth::NotVisible("opportunity", id);
  const auto& paths = req.update_mask().paths();
  if (std::find(paths.begin(), paths.end(), "team_id") == paths.end()) return absl::OkStatus();
  const Ownership next{cur->owner_id(), req.opportunity().team_id()};
  if (auth::CanAssign(p, next, OwnershipOf(*cur))) return absl::OkStatus();
  return GiveDenied(absl::StrCat("opportunity ", id), next, p);
}

absl::Status PipelineAccess::CheckReassign(const Principal& p,
                                           const v1::ReassignOpportunityRequest& req) const {
  ASSIGN_OR_RETURN(std::optional<v1::Opportunity> cur, LoadOpportunity(req.opportunity_id()));
  if (!cur.has_value()) return absl::OkStatus();
  if (!auth::CanSee(p, OwnershipOf(*cur))) {
    return auth::NotVisible("opportunity", req.opportunity_id());
  }
  const Ownership next{req.new_owner_id(), cur->team_id()};
  if (auth::CanAssign(p, next, OwnershipOf(*cur))) return absl::OkStatus();
  return GiveDenied(absl::StrCat("opportunity ", req.opportunity_id()), next, p);
}

bool PipelineAccess::Visible(const Principal& p, std::string_view opportunity_id) const {
  absl::StatusOr<std::optional<v1::Opportunity>> opp = LoadOpportunity(opportunity_id);
  return opp.ok() && opp->has_value() && auth::CanSee(p, OwnershipOf(**opp));
}

void PipelineAccess::BuildRules() {
  MethodRules& r = rules_;
  auto opp = [this](const Principal& p, std::string_view id) { return CheckOpportunity(p, id); };
  // --- Playbooks and signals: company-wide, owned by no one (the guard's role table decides
  // who may write them).
  for (const char* m : {"GetPlaybook", "ListPlaybooks", "CreatePlaybookVersion", "RecordSignal",
                        "GetSignal", "ListSignals"}) {
    r.Open(m);
  }
  // --- Leads: their owner and their client's team.
  r.Check<v1::CreateLeadRequest>("CreateLead", [this](const Principal& p, const auto& req) {
    return CheckCreateLead(p, req);
  });
  r.Check<v1::GetLeadRequest>("GetLead", [this](const Principal& p, const auto& req) {
    return CheckLead(p, req.lead_id());
  });
  r.Check<v1::ListLeadsRequest>("ListLeads", [](const Principal& p, const auto& req) {
    return OwnerScope("ListLeads", p, req.owner_id());
  });
  r.Check<v1::QualifyLeadRequest>("QualifyLead", [this](const Principal& p, const auto& req) {
    return CheckLead(p, req.lead_id());
  });
  r.Check<v1::DisqualifyLeadRequest>("DisqualifyLead", [this](const Principal& p, const auto& req) {
    return CheckLead(p, req.lead_id());
  });
  // --- Opportunities: their owner and team.
  r.Check<v1::CreateOpportunityRequest>(
      "CreateOpportunity",
      [this](const Principal& p, const auto& req) { return CheckCreateOpportunity(p, req); });
  r.Check<v1::GetOpportunityRequest>("GetOpportunity", [opp](const Principal& p, const auto& req) {
    return opp(p, req.opportunity_id());
  });
  r.Check<v1::ListOpportunitiesRequest>(
      "ListOpportunities", [this](const Principal& p, const auto& req) {
        if (!req.owner_id().empty() && req.owner_id() == p.subject) return absl::OkStatus();
        if (!req.client_id().empty()) return CheckClient(p, req.client_id());
        return auth::ScopeRequired(
            "ListOpportunities",
            absl::StrCat("set owner_id to ", p.subject, " or client_id to a client you can see"));
      });
  // A visible client's deals may be owned by another team: those are left out.
  r.Filter<v1::ListOpportunitiesResponse>("ListOpportunities", [](const Principal& p, auto* resp) {
    auto* list = resp->mutable_opportunities();
    list->erase(
        std::remove_if(list->begin(), list->end(),
                       [&](const v1::Opportunity& o) { return !auth::CanSee(p, OwnershipOf(o)); }),
        list->end());
  });
  r.Check<v1::ListOpportunityHistoryRequest>(
      "ListOpportunityHistory",
      [opp](const Principal& p, const auto& req) { return opp(p, req.opportunity_id()); });
  r.Check<v1::UpdateOpportunityRequest>(
      "UpdateOpportunity",
      [this](const Principal& p, const auto& req) { return CheckUpdate(p, req); });
  r.Check<v1::CompleteChecklistItemRequest>(
      "CompleteChecklistItem",
      [opp](const Principal& p, const auto& req) { return opp(p, req.opportunity_id()); });
  r.Check<v1::AdvanceStageRequest>("AdvanceStage", [opp](const Principal& p, const auto& req) {
    return opp(p, req.opportunity_id());
  });
  r.Check<v1::WinOpportunityRequest>("WinOpportunity", [opp](const Principal& p, const auto& req) {
    return opp(p, req.opportunity_id());
  });
  r.Check<v1::LoseOpportunityRequest>(
      "LoseOpportunity",
      [opp](const Principal& p, const auto& req) { return opp(p, req.opportunity_id()); });
  r.Check<v1::ReassignOpportunityRequest>(
      "ReassignOpportunity",
      [this](const Principal& p, const auto& req) { return CheckReassign(p, req); });
  // --- Funnel, ranking, stale deals: scoped by an owner or team filter.
  r.Check<v1::GetFunnelReportRequest>("GetFunnelReport", [](const Principal& p, const auto& req) {
    return FunnelScope("GetFunnelReport", p, req.filter());
  });
  r.Check<v1::RankOpenDealsRequest>("RankOpenDeals", [](const Principal& p, const auto& req) {
    return FunnelScope("RankOpenDeals", p, req.filter());
  });
  r.Filter<v1::RankOpenDealsResponse>("RankOpenDeals", [this](const Principal& p, auto* resp) {
    auto* list = resp->mutable_deals();
    list->erase(std::remove_if(list->begin(), list->end(),
                               [&](const v1::RankedDeal& d) {
                                 return d.owner_id() != p.subject &&
                                        !Visible(p, d.opportunity_id());
                               }),
                list->end());
  });
  r.Check<v1::ListStaleDealsRequest>("ListStaleDeals", [](const Principal& p, const auto& req) {
    return OwnerScope("ListStaleDeals", p, req.owner_id());
  });
  // Spans every team's records and has no filter to scope it.
  r.EverythingOnly("ListInactiveHoldings");
  // --- PipelineAdminService and the operator AdminService.
  for (const char* m : {"ScanStaleDeals", "CreateBackup", "ListBackups", "DeleteBackup",
                        "ListQuarantinedEvents", "RequeueQuarantinedEvent"}) {
    r.EverythingOnly(m);
  }
}

}  // namespace triad::pipeline
