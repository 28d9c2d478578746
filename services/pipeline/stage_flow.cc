// Implements Pipeline's stage flow: entering and leaving stages, AdvanceStage, and closing a
// deal as won or lost.

#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/etag.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

void Pipeline::EnterStage(Work& work, v1::Opportunity& opp, const v1::Playbook& pb, int index,
                          absl::Time now, std::string_view actor, std::string_view reason) {
  // Funnel: count every stage reached for the first time (skipped ones included).
  int reached = MaxReachedIndex(pb, opp);
  for (int i = reached + 1; i <= index; ++i) {
    Delta d;
    d.day = DayOf(now);
    d.dims = OpportunityDims(opp);
    d.step = "stage:" + pb.stages(i).id();
    d.add = {1, opp.value().amount_minor(), 0};
    work.deltas.push_back(std::move(d));
  }
  opp.set_stage(pb.stages(index).id());
  v1::StageEntry* e = opp.add_stage_history();
  e->set_stage(pb.stages(index).id());
  *e->mutable_enter_time() = ToProto(now);
  e->set_actor_id(std::string(actor));
  e->set_reason(std::string(reason));
  opp.set_stale_reported_entry(-1);
  RequestGates(work, opp, pb, index, now);
}

void Pipeline::ExitStage(Work& work, v1::Opportunity& opp, absl::Time now) {
  if (opp.stage_history_size() == 0) return;
  v1::StageEntry* e = opp.mutable_stage_history(opp.stage_history_size() - 1);
  *e->mutable_exit_time() = ToProto(now);
  Delta d;
  d.day = DayOf(now);
  d.dims = OpportunityDims(opp);
  d.step = "exit:" + e->stage();
  d.add = {1, 0, absl::ToInt64Seconds(now - FromProto(e->enter_time()))};
  work.deltas.push_back(std::move(d));
}

absl::StatusOr<v1::Opportunity> Pipeline::AdvanceStage(const v1::AdvanceStageRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("target_stage", req.target_stage()));
  // Moves of different deals run side by side (see mu_); two moves of one deal take turns.
  std::shared_lock lock(mu_);
  util::KeyLocks::Guard deal = opportunity_locks_.Lock({req.opportunity_id()});
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(opp.etag()), api::GivenEtag(req.etag()),
                                 "opportunity " + opp.id()));
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  ASSIGN_OR_RETURN(MovePlan plan, PlanMove(*pb, opp, req.target_stage(), req.reason()));
  absl::Time now = options_.clock();
  Work work;
  const std::string from = opp.stage();
  GaugeDeltas(work, opp, -1);
  ExitStage(work, opp, now);
  events::Transaction gate_events;
  EnterStage(work, opp, *pb, plan.to, now, req.actor().id(), req.reason());
  std::swap(gate_events, work.txn);
  GaugeDeltas(work, opp, +1);
  v1::OpportunityStageChanged ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_product_line(opp.product_line());
  ev.set_from_stage(from);
  ev.set_to_stage(opp.stage());
  ev.set_backward(plan.backward);
  for (const std::string& s : plan.skipped) ev.add_skipped_stages(s);
  ev.set_win_probability(pb->stages(plan.to).win_probability());
  *ev.mutable_value() = opp.value();
  ev.set_reason(req.reason());
  ev.set_actor_id(req.actor().id());
  *ev.mutable_change_time() = ToProto(now);
  contracts::Emit<contracts::pipeline::OpportunityStageChanged>(work.txn, opp.id(), ev);
  for (const events::Event& e : gate_events.events()) {
    work.txn.EmitRaw(e.topic, e.key, e.type, e.payload, e.subject);
  }
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

void Pipeline::CloseDeal(Work& work, v1::Opportunity& opp, absl::Time now) {
  GaugeDeltas(work, opp, -1);
  ExitStage(work, opp, now);
  *opp.mutable_close_time() = ToProto(now);
}

absl::StatusOr<v1::Opportunity> Pipeline::WinOpportunity(const v1::WinOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  int index = StageIndex(*pb, opp.stage());
  if (index != pb->stages_size() - 1) {
    return absl::FailedPreconditionError("a deal is won only from the last stage (" +
                                         pb->stages(pb->stages_size() - 1).id() + "); it is in " +
                                         opp.stage());
  }
  std::vector<std::string> open = OpenCheckpoints(*pb, index, opp);
  if (!open.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot win: ", open.size(), " open checkpoint(s): ", absl::StrJoin(open, "; ")));
  }
  if (req.has_due_time()) RETURN_IF_ERROR(api::CheckTimestamp("due_time", req.due_time()));
  if (!req.has_due_time() && !opp.has_desired_delivery_time()) {
    return InvalidField("due_time", "required (the deal has no desired_delivery_time)");
  }
  absl::Time now = options_.clock();
  Work work;
  CloseDeal(work, opp, now);
  opp.set_state(v1::OPPORTUNITY_STATE_WON);
  *opp.mutable_due_time() = req.has_due_time() ? req.due_time() : opp.desired_delivery_time();
  AddHistory(opp, now, "won", "", req.actor().id());
  work.deltas.push_back(
      Delta{DayOf(now), OpportunityDims(opp), "won", {1, opp.value().amount_minor(), 0}});
  v1::OpportunityWon ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_product_line(opp.product_line());
  ev.set_title(opp.title());
  *ev.mutable_value() = opp.value();
  *ev.mutable_won_time() = ToProto(now);
  *ev.mutable_due_time() = opp.due_time();
  ev.set_estimated_effort_hours(opp.expert_effort_hours());
  ev.set_repeat_client(opp.repeat_client());
  contracts::Emit<contracts::pipeline::OpportunityWon>(work.txn, opp.id(), ev);
  repo_->PutRaw(work.txn.batch(), Kind::kIndex, WonClientKey(opp.client_id()), "");
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::LoseOpportunity(const v1::LoseOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  if (req.reason() == v1::LOSS_REASON_UNSPECIFIED || !v1::LossReason_IsValid(req.reason())) {
    return InvalidField("reason", "required (one of LossReason)");
  }
  if (req.reason() == v1::LOSS_REASON_OTHER && req.reason_text().empty()) {
    return InvalidField("reason_text", "required when reason is LOSS_REASON_OTHER");
  }
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  absl::Time now = options_.clock();
  Work work;
  CloseDeal(work, opp, now);
  opp.set_state(v1::OPPORTUNITY_STATE_LOST);
  opp.set_loss_reason(req.reason());
  opp.set_loss_reason_text(req.reason_text());
  AddHistory(opp, now, "lost", v1::LossReason_Name(req.reason()), req.actor().id());
  work.deltas.push_back(
      Delta{DayOf(now), OpportunityDims(opp), "lost", {1, opp.value().amount_minor(), 0}});
  v1::OpportunityLost ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_product_line(opp.product_line());
  *ev.mutable_value() = opp.value();
  ev.set_reason(req.reason());
  ev.set_reason_text(req.reason_text());
  *ev.mutable_lost_time() = ToProto(now);
  contracts::Emit<contracts::pipeline::OpportunityLost>(work.txn, opp.id(), ev);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

}  // namespace triad::pipeline
