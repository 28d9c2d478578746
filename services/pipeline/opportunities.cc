// Implements Pipeline's opportunities: create (converting a lead), get, list through the
// indexes, masked update, reassign, and loading one for a change.

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
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
#include "services/pipeline/playbook.h"

namespace triad::pipeline {
namespace {

// CheckFieldName refuses a custom field name longer than kMaxFieldNameLength.
absl::Status CheckFieldName(std::string_view path, const std::string& name) {
  if (name.size() > kMaxFieldNameLength) {
    return InvalidField(path, absl::StrCat("at most ", kMaxFieldNameLength,
                                           " bytes per field name (got ", name.size(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Opportunity> Pipeline::CreateOpportunity(
    const v1::CreateOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "CreateOpportunity";
  RETURN_IF_ERROR(api::CheckId("request_id", req.request_id()));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckId("owner_id", req.owner_id()));
  RETURN_IF_ERROR(api::CheckId("title", req.title()));
  RETURN_IF_ERROR(api::CheckMoney("value", req.value(), api::MoneyPresence::kRequired));
  if (req.has_expected_close_time()) {
    RETURN_IF_ERROR(api::CheckTimestamp("expected_close_time", req.expected_close_time()));
  }
  if (req.has_desired_delivery_time()) {
    RETURN_IF_ERROR(api::CheckTimestamp("desired_delivery_time", req.desired_delivery_time()));
  }
  for (const auto& [k, v] : req.fields()) {
    if (k.empty()) return InvalidField("fields", "keys must not be empty");
    RETURN_IF_ERROR(CheckFieldName("fields", k));
  }
  if (req.fields_size() > kMaxOpportunityFields) {
    return InvalidField(
        "fields", absl::StrCat("at most ", kMaxOpportunityFields, " fields per opportunity (got ",
                               req.fields_size(), ")"));
  }
  std::lock_guard lock(mu_);
  const api::Replay<v1::Opportunity> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Opportunity> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  RETURN_IF_ERROR(CheckPersonActiveLocked("owner_id", req.owner_id()));
  v1::Lead lead;
  std::string product_line = req.product_line();
  if (!req.lead_id().empty()) {
    absl::Status st = repo_->GetProto(Kind::kLead, req.lead_id(), &lead);
    if (absl::IsNotFound(st)) {
      return absl::FailedPreconditionError("lead_id " + req.lead_id() + " is not a lead");
    }
    RETURN_IF_ERROR(st);
    if (lead.state() != v1::LEAD_STATE_QUALIFIED) {
      return absl::FailedPreconditionError("lead " + lead.id() + " must be QUALIFIED (state " +
                                           v1::LeadState_Name(lead.state()) + ")");
    }
    if (product_line.empty()) product_line = lead.product_line();
  }
  if (product_line.empty()) return InvalidField("product_line", "required");
  absl::StatusOr<const v1::Playbook*> pb_or = PlaybookLocked(product_line, 0);
  if (!pb_or.ok()) {
    return InvalidField("product_line", absl::StrCat("'", product_line, "' has no playbook"));
  }
  const v1::Playbook& pb = **pb_or;
  ASSIGN_OR_RETURN(clients::v1::ClientSummary client, ResolveClient(req.client_id()));

  absl::Time now = options_.clock();
  v1::Opportunity opp;
  opp.set_id(util::NewId("opp"));
  opp.set_title(req.title());
  opp.set_client_id(client.client_id());
  opp.set_owner_id(req.owner_id());
  opp.set_team_id(req.team_id().empty() ? client.team_id() : req.team_id());
  opp.set_product_line(product_line);
  opp.set_playbook_version(pb.version());
  *opp.mutable_value() = req.value();
  if (req.has_expected_close_time()) *opp.mutable_expected_close_time() = req.expected_close_time();
  if (req.has_desired_delivery_time())
    *opp.mutable_desired_delivery_time() = req.desired_delivery_time();
  opp.set_lead_id(req.lead_id());
  opp.set_state(v1::OPPORTUNITY_STATE_OPEN);
  for (const auto& [k, v] : req.fields()) {
    if (!v.empty()) (*opp.mutable_fields())[k] = v;  // an empty value means "not set"
  }
  *opp.mutable_create_time() = ToProto(now);
  opp.set_region(!lead.region().empty() ? lead.region() : client.region());
  opp.set_client_tier(client.tier());
  opp.set_repeat_client(IsRepeatClient(client));
  opp.set_stale_reported_entry(-1);
  opp.set_etag("0");

  Work work;
  work.deltas.push_back(
      Delta{DayOf(now), OpportunityDims(opp), "opportunity", {1, opp.value().amount_minor(), 0}});
  EnterStage(work, opp, pb, 0, now, req.actor().id(), "created");
  // The created event goes before the gate requests EnterStage queued: reorder.
  v1::OpportunityCreated ev;
  ev.set_opportunity_id(opp.id());
  ev.set_lead_id(opp.lead_id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_team_id(opp.team_id());
  ev.set_product_line(opp.product_line());
  ev.set_playbook_version(opp.playbook_version());
  ev.set_stage(opp.stage());
  ev.set_title(opp.title());
  *ev.mutable_value() = opp.value();
  if (opp.has_expected_close_time()) *ev.mutable_expected_close_time() = opp.expected_close_time();
  *ev.mutable_create_time() = ToProto(now);
  ev.set_repeat_client(opp.repeat_client());
  events::Transaction gates;
  std::swap(gates, work.txn);
  contracts::Emit<contracts::pipeline::OpportunityCreated>(work.txn, opp.id(), ev);
  for (const events::Event& e : gates.events()) {
    work.txn.EmitRaw(e.topic, e.key, e.type, e.payload, e.subject);
  }
  GaugeDeltas(work, opp, +1);
  SaveOpportunity(work, opp);
  if (!req.lead_id().empty()) {
    lead.set_state(v1::LEAD_STATE_CONVERTED);
    lead.set_opportunity_id(opp.id());
    lead.set_etag(api::NextEtag(lead.etag()));
    *lead.mutable_update_time() = ToProto(now);
    SaveLead(work, lead);
  }
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), opp));
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::GetOpportunity(
    const v1::GetOpportunityRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  return LoadOpportunity(req.opportunity_id());
}

absl::StatusOr<v1::ListOpportunitiesResponse> Pipeline::ListOpportunities(
    const v1::ListOpportunitiesRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const std::string fp = absl::StrCat(req.owner_id(), "|", req.client_id(), "|", req.product_line(),
                                      "|", req.stage(), "|", req.state());
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListOpportunitiesResponse resp;
  absl::Status inner;
  auto consider = [&](const std::string& key, v1::Opportunity opp) {
    if (!req.owner_id().empty() && opp.owner_id() != req.owner_id()) return true;
    if (!req.client_id().empty() && opp.client_id() != req.client_id()) return true;
    if (!req.product_line().empty() && opp.product_line() != req.product_line()) return true;
    if (!req.stage().empty() && opp.stage() != req.stage()) return true;
    if (req.state() != v1::OPPORTUNITY_STATE_UNSPECIFIED && opp.state() != req.state()) return true;
    if (!pager.Accept(key)) return false;
    *resp.add_opportunities() = std::move(opp);
    return true;
  };
  // The most selective index available is walked (its keys are the page keys); the other
  // filters are checked on the records it names. Only a list without any filter walks the table.
  Kind kind = Kind::kList;
  std::string prefix;
  if (!req.client_id().empty()) {
    kind = Kind::kIndex;
    prefix = ClientOppPrefix(req.client_id());
  } else if (!req.owner_id().empty()) {
    prefix = OwnerOppPrefix(req.owner_id());
  } else if (!req.stage().empty()) {
    prefix = StageOppPrefix(req.stage());
  } else if (!req.product_line().empty()) {
    prefix = LineOppPrefix(req.product_line());
  } else if (req.state() != v1::OPPORTUNITY_STATE_UNSPECIFIED) {
    prefix = StateOppPrefix(req.state());
  }
  if (!prefix.empty()) {
    RETURN_IF_ERROR(repo_->Scan(
        kind, prefix,
        [&](std::string_view key, std::string_view) {
          std::string id = IdAfter(key, prefix.size());
          if (id.empty()) return true;
          ++list_examined_;
          absl::StatusOr<v1::Opportunity> opp = LoadOpportunity(id);
          if (!opp.ok()) return true;  // an entry whose record is gone: skipped
          return consider(std::string(key), std::move(*opp));
        },
        pager.after_key()));
  } else {
    RETURN_IF_ERROR(repo_->Scan(
        Kind::kOpportunity, "",
        [&](std::string_view key, std::string_view v) {
          ++list_examined_;
          v1::Opportunity opp;
          if (!opp.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            inner = absl::DataLossError("corrupt opportunity");
            return false;
          }
          return consider(std::string(key), std::move(opp));
        },
        pager.after_key()));
  }
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::Opportunity> Pipeline::UpdateOpportunity(
    const v1::UpdateOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const v1::Opportunity& in = req.opportunity();
  RETURN_IF_ERROR(api::CheckId("opportunity.id", in.id()));
  static constexpr std::string_view kAllowed[] = {
      "title", "value", "expected_close_time", "desired_delivery_time", "team_id", "fields"};
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kAllowed));
  for (const std::string& path : req.update_mask().paths()) {
    if (path == "title") RETURN_IF_ERROR(api::CheckId("opportunity.title", in.title()));
    if (path == "value")
      RETURN_IF_ERROR(
          api::CheckMoney("opportunity.value", in.value(), api::MoneyPresence::kRequired));
    if (path == "expected_close_time") {
      RETURN_IF_ERROR(
          api::CheckTimestamp("opportunity.expected_close_time", in.expected_close_time()));
    }
    if (path == "desired_delivery_time") {
      RETURN_IF_ERROR(
          api::CheckTimestamp("opportunity.desired_delivery_time", in.desired_delivery_time()));
    }
  }
  if (req.etag().empty()) return InvalidField("etag", "required");
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(in.id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(opp.etag()), api::GivenEtag(req.etag()),
                                 "opportunity " + opp.id(), api::EtagPolicy::kRequired));
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    return absl::FailedPreconditionError("opportunity " + opp.id() + " is closed");
  }
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  int stage = StageIndex(*pb, opp.stage());
  std::vector<const v1::Checkpoint*> unset_before;
  if (stage >= 0) {
    for (const v1::Checkpoint& c : pb->stages(stage).checkpoints()) {
      if (c.kind() == v1::CHECKPOINT_KIND_REQUIRED_FIELD && !IsCheckpointDone(c, opp)) {
        unset_before.push_back(&c);
      }
    }
  }
  Work work;
  GaugeDeltas(work, opp, -1);
  std::vector<std::string> changed;
  for (const std::string& path : req.update_mask().paths()) {
    if (path == "title") opp.set_title(in.title());
    if (path == "value") {
      if (in.value().currency() != opp.value().currency()) {
        return InvalidField("opportunity.value.currency",
                            absl::StrCat("cannot change (is ", opp.value().currency(), ")"));
      }
      *opp.mutable_value() = in.value();
    }
    if (path == "expected_close_time")
      *opp.mutable_expected_close_time() = in.expected_close_time();
    if (path == "desired_delivery_time")
      *opp.mutable_desired_delivery_time() = in.desired_delivery_time();
    if (path == "team_id") opp.set_team_id(in.team_id());
    if (path == "fields") {
      for (const auto& [k, v] : in.fields()) {
        if (k.empty()) return InvalidField("opportunity.fields", "empty key");
        RETURN_IF_ERROR(CheckFieldName("opportunity.fields", k));
        if (v.empty()) {
          opp.mutable_fields()->erase(k);
        } else {
          (*opp.mutable_fields())[k] = v;
        }
      }
      if (opp.fields_size() > kMaxOpportunityFields) {
        return InvalidField("opportunity.fields",
                            absl::StrCat("at most ", kMaxOpportunityFields,
                                         " fields per opportunity (the update would leave ",
                                         opp.fields_size(), ")"));
      }
    }
    changed.push_back(path);
  }
  absl::Time now = options_.clock();
  AddHistory(opp, now, "updated", absl::StrJoin(changed, ","), req.actor().id());
  for (const v1::Checkpoint* c : unset_before) {
    if (IsCheckpointDone(*c, opp)) EmitCheckpointCompleted(work, opp, *c, req.actor().id(), now);
  }
  GaugeDeltas(work, opp, +1);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::LoadOpenForChangeLocked(std::string_view id,
                                                                  std::string_view etag) {
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(id));
  RETURN_IF_ERROR(
      api::CheckEtag(api::StoredEtag(opp.etag()), api::GivenEtag(etag), "opportunity " + opp.id()));
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    return absl::FailedPreconditionError("opportunity " + opp.id() + " is closed");
  }
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::ReassignOpportunity(
    const v1::ReassignOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("new_owner_id", req.new_owner_id()));
  RETURN_IF_ERROR(api::CheckId("reason", req.reason()));
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckPersonActiveLocked("new_owner_id", req.new_owner_id()));
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  if (opp.owner_id() == req.new_owner_id()) {
    return absl::FailedPreconditionError("opportunity is already owned by " + req.new_owner_id());
  }
  absl::Time now = options_.clock();
  Work work;
  GaugeDeltas(work, opp, -1);
  v1::OpportunityOwnerChanged ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_previous_owner_id(opp.owner_id());
  ev.set_new_owner_id(req.new_owner_id());
  ev.set_reason(req.reason());
  ev.set_actor_id(req.actor().id());
  *ev.mutable_change_time() = ToProto(now);
  AddHistory(opp, now, "owner_changed",
             absl::StrCat(opp.owner_id(), " -> ", req.new_owner_id(), ": ", req.reason()),
             req.actor().id());
  opp.set_owner_id(req.new_owner_id());
  GaugeDeltas(work, opp, +1);
  contracts::Emit<contracts::pipeline::OpportunityOwnerChanged>(work.txn, opp.id(), ev);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

}  // namespace triad::pipeline
