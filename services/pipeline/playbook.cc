// Implements the default playbooks, playbook validation, checkpoint evaluation and move rules.
#include "services/pipeline/playbook.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace triad::pipeline {
namespace {

v1::Checkpoint* AddCheckpoint(v1::Stage* stage, std::string id, v1::CheckpointKind kind,
                              std::string description) {
  v1::Checkpoint* c = stage->add_checkpoints();
  c->set_id(std::move(id));
  c->set_kind(kind);
  c->set_description(std::move(description));
  return c;
}

void RequiredField(v1::Stage* stage, std::string id, std::string field, std::string description) {
  AddCheckpoint(stage, std::move(id), v1::CHECKPOINT_KIND_REQUIRED_FIELD, std::move(description))
      ->set_field(std::move(field));
}

void Checklist(v1::Stage* stage, std::string id, std::string description) {
  AddCheckpoint(stage, std::move(id), v1::CHECKPOINT_KIND_CHECKLIST_ITEM, std::move(description));
}

void ReviewGate(v1::Stage* stage, std::string id, std::string domain, std::string requirements) {
  v1::Checkpoint* c = AddCheckpoint(stage, std::move(id), v1::CHECKPOINT_KIND_REVIEW_GATE,
                                    "approved expert review (" + domain + ")");
  c->set_review_domain(std::move(domain));
  c->set_requirements(std::move(requirements));
}

void FeasibilityGate(v1::Stage* stage, std::string id) {
  AddCheckpoint(stage, std::move(id), v1::CHECKPOINT_KIND_FEASIBILITY_GATE,
                "production confirms it can deliver by the desired dates");
}

v1::Stage* AddStage(v1::Playbook* p, std::string id, std::string name, double probability,
                    int max_days, bool skippable = false) {
  v1::Stage* s = p->add_stages();
  s->set_id(std::move(id));
  s->set_name(std::move(name));
  s->set_win_probability(probability);
  s->set_max_days(max_days);
  s->set_skippable(skippable);
  return s;
}

void Target(v1::Playbook* p, std::string from, std::string to, double ratio) {
  v1::FunnelTarget* t = p->add_targets();
  t->set_from_step(std::move(from));
  t->set_to_step(std::move(to));
  t->set_target_ratio(ratio);
}

v1::Playbook ArchitecturalDesign() {
  v1::Playbook p;
  p.set_product_line(kArchitecturalDesign);
  p.set_version(1);
  p.set_name("Architectural design services");
  p.set_allow_backward(true);
  p.set_max_skip(0);
  p.set_default_expert_hours(80);
  p.set_default_delivery_days(180);
  v1::Stage* s = AddStage(&p, "qualification", "Qualification", 0.10, 14);
  RequiredField(s, "qualification.value", "value", "estimated fee is entered");
  RequiredField(s, "qualification.expected_close_time", "expected_close_time",
                "expected close date");
  Checklist(s, "qualification.decision_maker", "decision maker and budget identified");
  s = AddStage(&p, "needs_analysis", "Needs analysis", 0.25, 21);
  RequiredField(s, "needs.site_area", "site_area_m2", "site / building area (m2) recorded");
  Checklist(s, "needs.site_visit", "site visited with the client");
  Checklist(s, "needs.brief_confirmed", "design brief confirmed in writing by the client");
  s = AddStage(&p, "concept", "Concept and expert review", 0.40, 30);
  ReviewGate(s, "concept.expert_review", "architecture",
             "scheme concept, design approach and fee level reviewed by a senior architect");
  FeasibilityGate(s, "concept.feasibility");
  s = AddStage(&p, "proposal", "Proposal presented", 0.60, 21);
  RequiredField(s, "proposal.desired_delivery_time", "desired_delivery_time",
                "delivery date promised");
  Checklist(s, "proposal.expert_presented", "proposal presented with the responsible expert");
  Checklist(s, "proposal.fee_proposal_sent", "fee proposal sent");
  s = AddStage(&p, "negotiation", "Negotiation and contract", 0.80, 30);
  Checklist(s, "negotiation.contract_terms", "contract terms agreed");
  // Reference ratios of the source article: 7 signals per lead, 7 leads per potential client.
  Target(&p, "signal", "lead", 7);
  Target(&p, "lead", "opportunity", 7);
  Target(&p, "opportunity", "won", 3);
  return p;
}

v1::Playbook SpecialisedEquipment() {
  v1::Playbook p;
  p.set_product_line(kSpecialisedEquipment);
  p.set_version(1);
  p.set_name("Specialised equipment manufacturing");
  p.set_allow_backward(true);
  p.set_max_skip(1);
  p.set_default_expert_hours(60);
  p.set_default_delivery_days(120);
  v1::Stage* s = AddStage(&p, "qualification", "Qualification", 0.10, 10);
  RequiredField(s, "qualification.value", "value", "estimated order value is entered");
  RequiredField(s, "qualification.expected_close_time", "expected_close_time",
                "expected close date");
  Checklist(s, "qualification.application", "application and operating conditions understood");
  s = AddStage(&p, "site_survey", "Site survey", 0.20, 21, /*skippable=*/true);
  Checklist(s, "survey.done", "site surveyed by a field technician");
  s = AddStage(&p, "technical_assessment", "Technical assessment", 0.35, 30);
  RequiredField(s, "assessment.duty_spec", "duty_spec", "duty specification recorded");
  ReviewGate(s, "assessment.expert_review", "process-engineering",
             "duty specification and proposed equipment configuration reviewed by an expert");
  s = AddStage(&p, "solution_design", "Solution design", 0.50, 30);
  Checklist(s, "solution.layout", "layout drawings shared with the client");
  FeasibilityGate(s, "solution.feasibility");
  s = AddStage(&p, "proposal", "Quotation", 0.65, 21);
  RequiredField(s, "proposal.desired_delivery_time", "desired_delivery_time",
                "delivery date promised");
  Checklist(s, "proposal.quotation_sent", "quotation sent");
  s = AddStage(&p, "negotiation", "Negotiation", 0.85, 30);
  Checklist(s, "negotiation.commercial_terms", "commercial terms agreed");
  Checklist(s, "negotiation.payment_terms", "payment and receivables schedule agreed");
  Target(&p, "signal", "lead", 5);
  Target(&p, "lead", "opportunity", 4);
  Target(&p, "opportunity", "won", 3);
  return p;
}

}  // namespace

std::vector<v1::Playbook> DefaultPlaybooks() {
  return {ArchitecturalDesign(), SpecialisedEquipment()};
}

std::string CheckpointKindName(v1::CheckpointKind kind) {
  switch (kind) {
    case v1::CHECKPOINT_KIND_REQUIRED_FIELD:
      return "required_field";
    case v1::CHECKPOINT_KIND_CHECKLIST_ITEM:
      return "checklist_item";
    case v1::CHECKPOINT_KIND_REVIEW_GATE:
      return "review_gate";
    case v1::CHECKPOINT_KIND_FEASIBILITY_GATE:
      return "feasibility_gate";
    default:
      return "unspecified";
  }
}

absl::Status ValidatePlaybook(const v1::Playbook& p) {
  if (p.product_line().empty())
    return absl::InvalidArgumentError("playbook.product_line is required");
  if (p.stages_size() == 0) return absl::InvalidArgumentError("playbook.stages must not be empty");
  if (p.stages_size() > kMaxStages) {
    return absl::InvalidArgumentError(absl::StrCat("playbook.stages: at most ", kMaxStages,
                                                   " stages (got ", p.stages_size(), ")"));
  }
  if (p.targets_size() > kMaxFunnelTargets) {
    return absl::InvalidArgumentError(absl::StrCat("playbook.targets: at most ", kMaxFunnelTargets,
                                                   " funnel targets (got ", p.targets_size(), ")"));
  }
  if (p.max_skip() < 0) return absl::InvalidArgumentError("playbook.max_skip must be >= 0");
  // Negated comparisons so that NaN is refused too.
  if (!(p.default_expert_hours() >= 0) || !std::isfinite(p.default_expert_hours())) {
    return absl::InvalidArgumentError("playbook.default_expert_hours must be a finite number >= 0");
  }
  if (p.default_delivery_days() < 0 || p.default_delivery_days() > kMaxPlaybookDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("playbook.default_delivery_days must be within 0..", kMaxPlaybookDays));
  }
  std::set<std::string> stage_ids, checkpoint_ids;
  double last_probability = -1;
  for (int i = 0; i < p.stages_size(); ++i) {
    const v1::Stage& s = p.stages(i);
    const std::string where = absl::StrCat("playbook.stages[", i, "]");
    if (s.id().empty()) return absl::InvalidArgumentError(where + ".id is required");
    if (!stage_ids.insert(s.id()).second) {
      return absl::InvalidArgumentError(where + ".id is duplicated: " + s.id());
    }
    if (!(s.win_probability() >= 0 && s.win_probability() <= 1)) {
      return absl::InvalidArgumentError(where + ".win_probability must be within 0..1");
    }
    if (s.win_probability() < last_probability) {
      return absl::InvalidArgumentError(where + ".win_probability must not decrease");
    }
    last_probability = s.win_probability();
    if (s.max_days() < 0 || s.max_days() > kMaxPlaybookDays) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".max_days must be within 0..", kMaxPlaybookDays));
    }
    if (s.checkpoints_size() > kMaxCheckpointsPerStage) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".checkpoints: at most ",
                                                     kMaxCheckpointsPerStage, " checkpoints (got ",
                                                     s.checkpoints_size(), ")"));
    }
    for (int j = 0; j < s.checkpoints_size(); ++j) {
      const v1::Checkpoint& c = s.checkpoints(j);
      const std::string cw = absl::StrCat(where, ".checkpoints[", j, "]");
      if (c.id().empty()) return absl::InvalidArgumentError(cw + ".id is required");
      if (!checkpoint_ids.insert(c.id()).second) {
        return absl::InvalidArgumentError(cw + ".id is duplicated: " + c.id());
      }
      switch (c.kind()) {
        case v1::CHECKPOINT_KIND_REQUIRED_FIELD:
          if (c.field().empty()) return absl::InvalidArgumentError(cw + ".field is required");
          break;
        case v1::CHECKPOINT_KIND_REVIEW_GATE:
          if (c.review_domain().empty()) {
            return absl::InvalidArgumentError(cw + ".review_domain is required");
          }
          break;
        case v1::CHECKPOINT_KIND_CHECKLIST_ITEM:
        case v1::CHECKPOINT_KIND_FEASIBILITY_GATE:
          break;
        default:
          return absl::InvalidArgumentError(cw + ".kind is required");
      }
    }
  }
  static const std::set<std::string> kFixedSteps = {"signal", "lead", "qualified_lead",
                                                    "opportunity", "won"};
  for (int i = 0; i < p.targets_size(); ++i) {
    const v1::FunnelTarget& t = p.targets(i);
    const std::string where = absl::StrCat("playbook.targets[", i, "]");
    for (const std::string* step : {&t.from_step(), &t.to_step()}) {
      bool ok = kFixedSteps.count(*step) > 0 ||
                (step->rfind("stage:", 0) == 0 && stage_ids.count(step->substr(6)) > 0);
      if (!ok) return absl::InvalidArgumentError(where + " names an unknown step: " + *step);
    }
    if (!(t.target_ratio() > 0) || !std::isfinite(t.target_ratio())) {
      return absl::InvalidArgumentError(where + ".target_ratio must be a finite number > 0");
    }
  }
  return absl::OkStatus();
}

int StageIndex(const v1::Playbook& playbook, std::string_view id) {
  for (int i = 0; i < playbook.stages_size(); ++i) {
    if (playbook.stages(i).id() == id) return i;
  }
  return -1;
}

const v1::CheckpointState* FindCheckpointState(const v1::Opportunity& opp, std::string_view id) {
  for (const v1::CheckpointState& s : opp.checkpoints()) {
    if (s.checkpoint_id() == id) return &s;
  }
  return nullptr;
}

v1::CheckpointState* MutableCheckpointState(v1::Opportunity& opp, std::string_view id) {
  for (v1::CheckpointState& s : *opp.mutable_checkpoints()) {
    if (s.checkpoint_id() == id) return &s;
  }
  v1::CheckpointState* s = opp.add_checkpoints();
  s->set_checkpoint_id(std::string(id));
  return s;
}

const v1::Checkpoint* FindCheckpoint(const v1::Playbook& playbook, std::string_view id,
                                     int* stage_index) {
  for (int i = 0; i < playbook.stages_size(); ++i) {
    for (const v1::Checkpoint& c : playbook.stages(i).checkpoints()) {
      if (c.id() == id) {
        if (stage_index != nullptr) *stage_index = i;
        return &c;
      }
    }
  }
  return nullptr;
}

bool IsFieldSet(const v1::Opportunity& opp, std::string_view field) {
  if (field == "title") return !opp.title().empty();
  if (field == "value") return opp.value().amount_minor() > 0 && !opp.value().currency().empty();
  if (field == "expected_close_time") return opp.has_expected_close_time();
  if (field == "desired_delivery_time") return opp.has_desired_delivery_time();
  if (field == "team_id") return !opp.team_id().empty();
  auto it = opp.fields().find(std::string(field));
  return it != opp.fields().end() && !it->second.empty();
}

bool IsCheckpointDone(const v1::Checkpoint& c, const v1::Opportunity& opp) {
  const v1::CheckpointState* s = FindCheckpointState(opp, c.id());
  switch (c.kind()) {
    case v1::CHECKPOINT_KIND_REQUIRED_FIELD:
      return IsFieldSet(opp, c.field());
    case v1::CHECKPOINT_KIND_CHECKLIST_ITEM:
      return s != nullptr && s->done();
    case v1::CHECKPOINT_KIND_REVIEW_GATE:
    case v1::CHECKPOINT_KIND_FEASIBILITY_GATE:
      return s != nullptr && s->gate_status() == v1::GATE_STATUS_OPEN;
    default:
      return false;
  }
}

std::string DescribeOpenCheckpoint(const v1::Checkpoint& c, const v1::Opportunity& opp) {
  const v1::CheckpointState* s = FindCheckpointState(opp, c.id());
  std::string status = "not requested";
  if (s != nullptr && s->gate_status() != v1::GATE_STATUS_UNSPECIFIED) {
    status = s->gate_status() == v1::GATE_STATUS_REQUESTED ? "waiting for the answer" : "held";
  }
  switch (c.kind()) {
    case v1::CHECKPOINT_KIND_REQUIRED_FIELD:
      return absl::StrCat(c.id(), " (required field '", c.field(), "' is not set)");
    case v1::CHECKPOINT_KIND_CHECKLIST_ITEM:
      return absl::StrCat(c.id(), " (checklist item not done: ", c.description(), ")");
    case v1::CHECKPOINT_KIND_REVIEW_GATE:
      return absl::StrCat(c.id(), " (review gate, domain ", c.review_domain(), ": ", status, ")");
    case v1::CHECKPOINT_KIND_FEASIBILITY_GATE:
      return absl::StrCat(c.id(), " (feasibility gate: ", status, ")");
    default:
      return c.id();
  }
}

std::vector<std::string> OpenCheckpoints(const v1::Playbook& playbook, int stage_index,
                                         const v1::Opportunity& opp) {
  std::vector<std::string> open;
  if (stage_index < 0 || stage_index >= playbook.stages_size()) return open;
  for (const v1::Checkpoint& c : playbook.stages(stage_index).checkpoints()) {
    if (!IsCheckpointDone(c, opp)) open.push_back(DescribeOpenCheckpoint(c, opp));
  }
  return open;
}

absl::StatusOr<MovePlan> PlanMove(const v1::Playbook& playbook, const v1::Opportunity& opp,
                                  std::string_view target_view, std::string_view reason) {
  const std::string target_stage(target_view);
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    return absl::FailedPreconditionError("opportunity " + opp.id() + " is closed");
  }
  MovePlan plan;
  plan.from = StageIndex(playbook, opp.stage());
  plan.to = StageIndex(playbook, target_stage);
  if (plan.to < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("target_stage '", target_stage, "' is not a stage of playbook ",
                     playbook.product_line(), " v", playbook.version()));
  }
  if (plan.from < 0) {
    return absl::FailedPreconditionError("current stage '" + opp.stage() +
                                         "' is not in the opportunity's playbook");
  }
  if (plan.to == plan.from) {
    return absl::FailedPreconditionError("opportunity is already in stage " + opp.stage());
  }
  if (plan.to < plan.from) {
    if (!playbook.allow_backward()) {
      return absl::FailedPreconditionError("playbook " + playbook.product_line() +
                                           " does not allow backward moves");
    }
    if (reason.empty()) {
      return absl::InvalidArgumentError("reason is required for a backward move");
    }
    plan.backward = true;
    return plan;
  }
  std::vector<std::string> problems;
  for (int i = plan.from + 1; i < plan.to; ++i) {
    const v1::Stage& s = playbook.stages(i);
    plan.skipped.push_back(s.id());
    if (!s.skippable()) problems.push_back("stage " + s.id() + " cannot be skipped");
  }
  if (static_cast<int>(plan.skipped.size()) > playbook.max_skip()) {
    problems.insert(problems.begin(),
                    absl::StrCat("the move skips ", plan.skipped.size(),
                                 " stage(s); the playbook allows ", playbook.max_skip()));
  }
  if (!problems.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot move from ", opp.stage(), " to ",
                                                      target_stage, ": ",
                                                      absl::StrJoin(problems, "; ")));
  }
  std::vector<std::string> open = OpenCheckpoints(playbook, plan.from, opp);
  if (!open.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot leave stage ", opp.stage(), ": ", open.size(),
                     " open checkpoint(s): ", absl::StrJoin(open, "; ")));
  }
  return plan;
}

}  // namespace triad::pipeline
