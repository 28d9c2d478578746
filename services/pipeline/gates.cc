// Implements Pipeline's checkpoints and gates: requesting review and feasibility gates,
// checklist items, and opening gates from review verdicts and feasibility answers.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

void Pipeline::EmitCheckpointCompleted(Work& work, const v1::Opportunity& opp,
                                       const v1::Checkpoint& c, std::string_view actor,
                                       absl::Time now) {
  v1::CheckpointCompleted ev;
  ev.set_opportunity_id(opp.id());
  ev.set_stage(opp.stage());
  ev.set_checkpoint_id(c.id());
  ev.set_kind(CheckpointKindName(c.kind()));
  ev.set_actor_id(std::string(actor));
  *ev.mutable_complete_time() = ToProto(now);
  contracts::Emit<contracts::pipeline::CheckpointCompleted>(work.txn, opp.id(), ev);
}

void Pipeline::RequestGates(Work& work, v1::Opportunity& opp, const v1::Playbook& pb, int index,
                            absl::Time now) {
  const v1::Stage& stage = pb.stages(index);
  for (const v1::Checkpoint& c : stage.checkpoints()) {
    if (c.kind() != v1::CHECKPOINT_KIND_REVIEW_GATE &&
        c.kind() != v1::CHECKPOINT_KIND_FEASIBILITY_GATE) {
      continue;
    }
    v1::CheckpointState* s = MutableCheckpointState(opp, c.id());
    if (s->gate_status() == v1::GATE_STATUS_OPEN || s->gate_status() == v1::GATE_STATUS_REQUESTED) {
      continue;
    }
    s->set_gate_status(v1::GATE_STATUS_REQUESTED);
    *s->mutable_requested_time() = ToProto(now);
    if (c.kind() == v1::CHECKPOINT_KIND_REVIEW_GATE) {
      v1::ReviewRequested ev;
      ev.set_opportunity_id(opp.id());
      ev.set_client_id(opp.client_id());
      ev.set_domain(c.review_domain());
      ev.set_requirements(c.requirements());
      *ev.mutable_value() = opp.value();
      int days = stage.max_days() > 0 ? std::max(1, stage.max_days() / 2) : 7;
      *ev.mutable_due_time() = ToProto(now + absl::Hours(int64_t{24} * days));
      ev.set_product_line(opp.product_line());
      ev.set_stage(stage.id());
      ev.set_gate_id(c.id());
      ev.set_owner_id(opp.owner_id());
      contracts::Emit<contracts::pipeline::ReviewRequested>(work.txn, opp.id(), ev);
    } else {
      v1::FeasibilityRequested ev;
      ev.set_opportunity_id(opp.id());
      ev.set_product_line(opp.product_line());
      ev.set_estimated_effort_hours(opp.expert_effort_hours() > 0 ? opp.expert_effort_hours()
                                                                  : pb.default_expert_hours());
      absl::Time start = opp.has_expected_close_time() ? FromProto(opp.expected_close_time()) : now;
      absl::Time end =
          opp.has_desired_delivery_time()
              ? FromProto(opp.desired_delivery_time())
              : start + absl::Hours(int64_t{24} * std::max(1, pb.default_delivery_days()));
      *ev.mutable_desired_start_time() = ToProto(start);
      *ev.mutable_desired_end_time() = ToProto(end);
      ev.set_gate_id(c.id());
      contracts::Emit<contracts::pipeline::FeasibilityRequested>(work.txn, opp.id(), ev);
    }
  }
}

absl::StatusOr<v1::Opportunity> Pipeline::CompleteChecklistItem(
    const v1::CompleteChecklistItemRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("checkpoint_id", req.checkpoint_id()));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  const v1::Checkpoint* c = FindCheckpoint(*pb, req.checkpoint_id());
  if (c == nullptr) {
    return InvalidField("checkpoint_id",
                        absl::StrCat("'", req.checkpoint_id(), "' is not a checkpoint of playbook ",
                                     pb->product_line(), " v", pb->version()));
  }
  if (c->kind() != v1::CHECKPOINT_KIND_CHECKLIST_ITEM) {
    return absl::FailedPreconditionError(
        "checkpoint " + c->id() + " is a " + CheckpointKindName(c->kind()) +
        (c->kind() == v1::CHECKPOINT_KIND_REQUIRED_FIELD ? "; set the field instead"
                                                         : "; only its event can open it"));
  }
  v1::CheckpointState* s = MutableCheckpointState(opp, c->id());
  if (s->done()) return opp;  // Already complete: nothing changes.
  absl::Time now = options_.clock();
  s->set_done(true);
  *s->mutable_done_time() = ToProto(now);
  s->set_done_by(req.actor().id());
  Work work;
  EmitCheckpointCompleted(work, opp, *c, req.actor().id(), now);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<std::optional<Pipeline::GateTarget>> Pipeline::GateAwaitingAnswerLocked(
    std::string_view opportunity_id, std::string_view gate_id, v1::CheckpointKind kind,
    std::string_view what) {
  if (opportunity_id.empty()) return std::optional<GateTarget>();
  absl::StatusOr<v1::Opportunity> opp = LoadOpportunity(opportunity_id);
  if (absl::IsNotFound(opp.status())) return std::optional<GateTarget>();  // not ours
  if (!opp.ok()) return opp.status();
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp->product_line(), opp->playbook_version()));
  const v1::Checkpoint* c = FindCheckpoint(*pb, gate_id);
  if (c == nullptr || c->kind() != kind) {
    logging::Warn(absl::StrCat(std::string(what), " for an unknown gate ignored"),
                  {{"opportunity", opp->id()}, {"gate", std::string(gate_id)}});
    return std::optional<GateTarget>();
  }
  if (!AwaitsAnswer(*opp, c->id())) {
    logging::Warn(absl::StrCat(std::string(what), " for a gate that awaits none ignored"),
                  {{"opportunity", opp->id()}, {"gate", std::string(gate_id)}});
    return std::optional<GateTarget>();
  }
  return std::optional<GateTarget>(GateTarget{*std::move(opp), c});
}

absl::Status Pipeline::OnReviewVerdict(const events::Event& event,
                                       const review::v1::ReviewVerdictRecorded& verdict) {
  return Standalone(
      event, [&](events::Transaction& txn) { return ApplyReviewVerdict(event, verdict, txn); });
}

absl::Status Pipeline::ApplyReviewVerdict(const events::Event& event,
                                          const review::v1::ReviewVerdictRecorded& verdict,
                                          events::Transaction& txn) {
  if (event.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  RETURN_IF_ERROR(api::CheckUtf8(verdict, "verdict"));
  Work work(txn);
  // Milestone sign-offs and other services' reviews share the topic: not all are ours.
  ASSIGN_OR_RETURN(std::optional<GateTarget> target,
                   GateAwaitingAnswerLocked(verdict.opportunity_id(), verdict.gate_id(),
                                            v1::CHECKPOINT_KIND_REVIEW_GATE, "review verdict"));
  if (!target.has_value()) return StageLocked(work);
  v1::Opportunity& opp = target->opp;
  const v1::Checkpoint* c = target->checkpoint;
  if (verdict.estimated_effort_hours() < 0 || !std::isfinite(verdict.estimated_effort_hours())) {
    return absl::InvalidArgumentError("estimated_effort_hours must be a finite number >= 0");
  }
  absl::Time now = options_.clock();
  v1::CheckpointState* s = MutableCheckpointState(opp, c->id());
  bool was_open = s->gate_status() == v1::GATE_STATUS_OPEN;
  bool approved = verdict.verdict() == review::v1::VERDICT_APPROVED;
  s->set_gate_status(approved ? v1::GATE_STATUS_OPEN : v1::GATE_STATUS_HELD);
  s->set_done(approved);
  if (approved) *s->mutable_done_time() = ToProto(now);
  s->set_done_by(verdict.expert_id());
  s->set_review_id(verdict.review_id());
  s->set_expert_id(verdict.expert_id());
  s->set_verdict(verdict.verdict());
  s->set_estimated_effort_hours(verdict.estimated_effort_hours());
  s->set_solution_summary(verdict.solution_summary());
  double hours = 0;
  for (const v1::CheckpointState& cs : opp.checkpoints()) hours += cs.estimated_effort_hours();
  opp.set_expert_effort_hours(hours);
  AddHistory(opp, now, "review_verdict",
             absl::StrCat(c->id(), ": ", review::v1::Verdict_Name(verdict.verdict()), " by ",
                          verdict.expert_id(), " (", verdict.estimated_effort_hours(), " h)"),
             verdict.expert_id());
  if (approved && !was_open) EmitCheckpointCompleted(work, opp, *c, verdict.expert_id(), now);
  SaveOpportunity(work, opp);
  return StageLocked(work);
}

absl::Status Pipeline::OnFeasibilityAnswered(const events::Event& event,
                                             const production::v1::FeasibilityAnswered& answer) {
  return Standalone(event, [&](events::Transaction& txn) {
    return ApplyFeasibilityAnswered(event, answer, txn);
  });
}

absl::Status Pipeline::ApplyFeasibilityAnswered(const events::Event& event,
                                                const production::v1::FeasibilityAnswered& answer,
                                                events::Transaction& txn) {
  if (event.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  RETURN_IF_ERROR(api::CheckUtf8(answer, "answer"));
  Work work(txn);
  ASSIGN_OR_RETURN(
      std::optional<GateTarget> target,
      GateAwaitingAnswerLocked(answer.opportunity_id(), answer.gate_id(),
                               v1::CHECKPOINT_KIND_FEASIBILITY_GATE, "feasibility answer"));
  if (!target.has_value()) return StageLocked(work);
  v1::Opportunity& opp = target->opp;
  const v1::Checkpoint* c = target->checkpoint;
  absl::Time now = options_.clock();
  v1::CheckpointState* s = MutableCheckpointState(opp, c->id());
  bool was_open = s->gate_status() == v1::GATE_STATUS_OPEN;
  s->set_gate_status(answer.feasible() ? v1::GATE_STATUS_OPEN : v1::GATE_STATUS_HELD);
  s->set_done(answer.feasible());
  if (answer.feasible()) *s->mutable_done_time() = ToProto(now);
  s->set_done_by("svc:production");
  *s->mutable_earliest_completion_time() = answer.earliest_completion_time();
  s->set_bottleneck_resource(answer.bottleneck_resource());
  s->set_explanation(answer.explanation());
  AddHistory(opp, now, "feasibility_answered",
             absl::StrCat(c->id(), answer.feasible() ? ": feasible" : ": not feasible",
                          ", bottleneck ", answer.bottleneck_resource()),
             "svc:production");
  if (answer.feasible() && !was_open) {
    EmitCheckpointCompleted(work, opp, *c, "svc:production", now);
  }
  SaveOpportunity(work, opp);
  return StageLocked(work);
}

}  // namespace triad::pipeline
