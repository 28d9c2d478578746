// Implements Pipeline's leads: create, get, list, qualify, disqualify, and their funnel
// dimensions.

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

absl::StatusOr<v1::Lead> Pipeline::CreateLead(const v1::CreateLeadRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "CreateLead";
  const v1::Lead& in = req.lead();
  RETURN_IF_ERROR(api::CheckId("lead.owner_id", in.owner_id()));
  if (in.client_id().empty() && in.prospect_name().empty()) {
    return InvalidField("lead.client_id", "required unless lead.prospect_name is given");
  }
  RETURN_IF_ERROR(
      api::CheckMoney("lead.estimated_value", in.estimated_value(), api::MoneyPresence::kOptional));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Lead> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Lead> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  RETURN_IF_ERROR(CheckPersonActiveLocked("lead.owner_id", in.owner_id()));
  v1::Lead lead = in;
  if (!in.signal_id().empty()) {
    v1::Signal s;
    absl::Status st = repo_->GetProto(Kind::kSignal, in.signal_id(), &s);
    if (absl::IsNotFound(st)) {
      return absl::FailedPreconditionError("lead.signal_id " + in.signal_id() + " is not a signal");
    }
    RETURN_IF_ERROR(st);
    if (lead.region().empty()) lead.set_region(s.region());
    if (lead.sector().empty()) lead.set_sector(s.sector());
    if (lead.product_line().empty()) lead.set_product_line(s.product_line());
  }
  if (!lead.product_line().empty() && playbooks_.count(lead.product_line()) == 0) {
    return InvalidField("lead.product_line",
                        absl::StrCat("'", lead.product_line(), "' has no playbook"));
  }
  if (!lead.client_id().empty()) {
    ASSIGN_OR_RETURN(clients::v1::ClientSummary c, ResolveClient(lead.client_id()));
    lead.set_client_id(c.client_id());
    if (lead.region().empty()) lead.set_region(c.region());
  }
  const Dims dims = LeadDims(lead);
  absl::Time now = options_.clock();
  lead.set_id(util::NewId("lead"));
  lead.set_state(v1::LEAD_STATE_NEW);
  lead.clear_opportunity_id();
  *lead.mutable_create_time() = ToProto(now);
  *lead.mutable_update_time() = ToProto(now);
  lead.set_etag("1");
  Work work;
  SaveLead(work, lead);
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), lead));
  v1::LeadCreated ev;
  ev.set_lead_id(lead.id());
  ev.set_signal_id(lead.signal_id());
  ev.set_client_id(lead.client_id());
  ev.set_prospect_name(lead.prospect_name());
  ev.set_owner_id(lead.owner_id());
  ev.set_region(lead.region());
  ev.set_sector(lead.sector());
  ev.set_product_line(lead.product_line());
  *ev.mutable_estimated_value() = lead.estimated_value();
  *ev.mutable_create_time() = lead.create_time();
  contracts::Emit<contracts::pipeline::LeadCreated>(work.txn, lead.id(), ev);
  work.deltas.push_back(
      Delta{DayOf(now), dims, "lead", {1, lead.estimated_value().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return lead;
}

absl::StatusOr<v1::Lead> Pipeline::GetLead(const v1::GetLeadRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("lead_id", req.lead_id()));
  v1::Lead l;
  absl::Status st = repo_->GetProto(Kind::kLead, req.lead_id(), &l);
  if (absl::IsNotFound(st)) return absl::NotFoundError("lead " + req.lead_id() + " not found");
  RETURN_IF_ERROR(st);
  return l;
}

absl::StatusOr<v1::ListLeadsResponse> Pipeline::ListLeads(const v1::ListLeadsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const std::string fp = absl::StrCat(req.owner_id(), "|", req.state());
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListLeadsResponse resp;
  absl::Status inner;
  // By owner or state an index is walked; without a filter, the table.
  std::string prefix;
  if (!req.owner_id().empty()) {
    prefix = OwnerLeadPrefix(req.owner_id());
  } else if (req.state() != v1::LEAD_STATE_UNSPECIFIED) {
    prefix = StateLeadPrefix(req.state());
  }
  RETURN_IF_ERROR(repo_->Scan(
      prefix.empty() ? Kind::kLead : Kind::kList, prefix,
      [&](std::string_view key, std::string_view v) {
        ++list_examined_;
        v1::Lead l;
        absl::StatusOr<bool> found = ReadListed(Kind::kLead, prefix, key, v, &l);
        if (!found.ok()) {
          inner = found.status();
          return false;
        }
        if (!*found) return true;  // an index entry whose record is gone
        if (!req.owner_id().empty() && l.owner_id() != req.owner_id()) return true;
        if (req.state() != v1::LEAD_STATE_UNSPECIFIED && l.state() != req.state()) return true;
        if (!pager.Accept(key)) return false;
        *resp.add_leads() = std::move(l);
        return true;
      },
      pager.after_key()));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

Dims Pipeline::LeadDims(const v1::Lead& lead) const {
  Dims dims{lead.owner_id(),
            "",
            lead.product_line(),
            lead.region(),
            0,
            1,
            lead.estimated_value().currency()};
  if (!lead.client_id().empty()) {
    absl::StatusOr<clients::v1::ClientSummary> c = ResolveClient(lead.client_id());
    if (c.ok()) {
      dims.team = c->team_id();
      dims.tier = c->tier();
      dims.repeat = RepeatDim(IsRepeatClient(*c));
    }
  }
  return dims;
}

absl::StatusOr<v1::Lead> Pipeline::QualifyLead(const v1::QualifyLeadRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("lead_id", req.lead_id()));
  std::lock_guard lock(mu_);
  v1::GetLeadRequest get;
  get.set_lead_id(req.lead_id());
  ASSIGN_OR_RETURN(v1::Lead lead, GetLead(get));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(lead.etag()), api::GivenEtag(req.etag()),
                                 "lead " + lead.id()));
  if (lead.state() != v1::LEAD_STATE_NEW) {
    return absl::FailedPreconditionError("lead " + lead.id() + " is not NEW (state " +
                                         v1::LeadState_Name(lead.state()) + ")");
  }
  absl::Time now = options_.clock();
  lead.set_state(v1::LEAD_STATE_QUALIFIED);
  lead.set_note(req.note());
  *lead.mutable_update_time() = ToProto(now);
  lead.set_etag(api::NextEtag(lead.etag()));
  Work work;
  SaveLead(work, lead);
  v1::LeadQualified ev;
  ev.set_lead_id(lead.id());
  ev.set_owner_id(lead.owner_id());
  ev.set_client_id(lead.client_id());
  ev.set_product_line(lead.product_line());
  ev.set_note(req.note());
  *ev.mutable_qualify_time() = ToProto(now);
  contracts::Emit<contracts::pipeline::LeadQualified>(work.txn, lead.id(), ev);
  work.deltas.push_back(Delta{
      DayOf(now), LeadDims(lead), "qualified_lead", {1, lead.estimated_value().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return lead;
}

absl::StatusOr<v1::Lead> Pipeline::DisqualifyLead(const v1::DisqualifyLeadRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("lead_id", req.lead_id()));
  RETURN_IF_ERROR(api::CheckId("reason", req.reason()));
  std::lock_guard lock(mu_);
  v1::GetLeadRequest get;
  get.set_lead_id(req.lead_id());
  ASSIGN_OR_RETURN(v1::Lead lead, GetLead(get));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(lead.etag()), api::GivenEtag(req.etag()),
                                 "lead " + lead.id()));
  if (lead.state() != v1::LEAD_STATE_NEW && lead.state() != v1::LEAD_STATE_QUALIFIED) {
    return absl::FailedPreconditionError("lead " + lead.id() + " cannot be disqualified (state " +
                                         v1::LeadState_Name(lead.state()) + ")");
  }
  absl::Time now = options_.clock();
  lead.set_state(v1::LEAD_STATE_DISQUALIFIED);
  lead.set_note(req.reason());
  *lead.mutable_update_time() = ToProto(now);
  lead.set_etag(api::NextEtag(lead.etag()));
  Work work;
  SaveLead(work, lead);
  v1::LeadDisqualified ev;
  ev.set_lead_id(lead.id());
  ev.set_owner_id(lead.owner_id());
  ev.set_reason(req.reason());
  *ev.mutable_disqualify_time() = ToProto(now);
  contracts::Emit<contracts::pipeline::LeadDisqualified>(work.txn, lead.id(), ev);
  work.deltas.push_back(Delta{DayOf(now),
                              LeadDims(lead),
                              "disqualified_lead",
                              {1, lead.estimated_value().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return lead;
}

}  // namespace triad::pipeline
