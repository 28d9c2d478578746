// Playbooks: the two shipped defaults, validation of new versions, checkpoint evaluation and the
// stage-move rules (skips, backward moves) of an opportunity.
#ifndef TRIAD_SERVICES_PIPELINE_PLAYBOOK_H_
#define TRIAD_SERVICES_PIPELINE_PLAYBOOK_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"

namespace triad::pipeline {

inline constexpr char kArchitecturalDesign[] = "architectural-design";
inline constexpr char kSpecialisedEquipment[] = "specialised-equipment";

// The largest max_days / default_delivery_days a playbook may set (ten years).
inline constexpr int kMaxPlaybookDays = 3660;
// The size of a playbook: stages, checkpoints (required fields, checklist items, gates) per
// stage and funnel targets. Every deal's stage move evaluates its playbook.
inline constexpr int kMaxStages = 30;
inline constexpr int kMaxCheckpointsPerStage = 50;
inline constexpr int kMaxFunnelTargets = 50;
// Versions kept per product line (never deleted: open deals keep the version they started on)
// and product lines with a playbook; CreatePlaybookVersion beyond them is RESOURCE_EXHAUSTED.
inline constexpr int kMaxPlaybookVersions = 100;
inline constexpr int kMaxProductLines = 100;
// The custom fields of one opportunity (Opportunity.fields, which updates merge into) and the
// longest field name.
inline constexpr int kMaxOpportunityFields = 100;
inline constexpr size_t kMaxFieldNameLength = 100;

// DefaultPlaybooks returns version 1 of the shipped playbooks (architectural design and
// specialised equipment manufacturing).
std::vector<v1::Playbook> DefaultPlaybooks();

// ValidatePlaybook checks a playbook definition, its size limits included; INVALID_ARGUMENT
// names the offending field.
absl::Status ValidatePlaybook(const v1::Playbook& playbook);

// StageIndex returns the position of stage `id` in the playbook, or -1.
int StageIndex(const v1::Playbook& playbook, std::string_view id);

// FindCheckpointState returns the opportunity's state of checkpoint `id`, or nullptr.
const v1::CheckpointState* FindCheckpointState(const v1::Opportunity& opp, std::string_view id);
// The result points into `opp`: calling it on a temporary would dangle, so that does not compile.
const v1::CheckpointState* FindCheckpointState(v1::Opportunity&& opp, std::string_view id) = delete;

// MutableCheckpointState returns the state of checkpoint `id`, adding it when missing.
v1::CheckpointState* MutableCheckpointState(v1::Opportunity& opp, std::string_view id);

// FindCheckpoint returns the checkpoint `id` of the playbook (and its stage index), or nullptr.
const v1::Checkpoint* FindCheckpoint(const v1::Playbook& playbook, std::string_view id,
                                     int* stage_index = nullptr);

// IsFieldSet is true when the built-in or custom field `field` of the opportunity has a value.
bool IsFieldSet(const v1::Opportunity& opp, std::string_view field);

// IsCheckpointDone is true when the checkpoint is complete for the opportunity.
bool IsCheckpointDone(const v1::Checkpoint& checkpoint, const v1::Opportunity& opp);

// DescribeOpenCheckpoint renders an open checkpoint for an error message, e.g.
// "concept.expert_review (review gate, domain architecture: REQUESTED)".
std::string DescribeOpenCheckpoint(const v1::Checkpoint& checkpoint, const v1::Opportunity& opp);

// OpenCheckpoints lists (described) every open checkpoint of stage `stage_index`.
std::vector<std::string> OpenCheckpoints(const v1::Playbook& playbook, int stage_index,
                                         const v1::Opportunity& opp);

// MovePlan is a stage move that the rules allow.
struct MovePlan {
  int from = 0;
  int to = 0;
  bool backward = false;
  std::vector<std::string> skipped;
};

// PlanMove checks a move of `opp` to `target_stage` against the playbook: NOT_FOUND-free;
// INVALID_ARGUMENT for an unknown target; FAILED_PRECONDITION for a move the rules forbid or
// while checkpoints are open (the message lists every open one).
absl::StatusOr<MovePlan> PlanMove(const v1::Playbook& playbook, const v1::Opportunity& opp,
                                  std::string_view target_stage, std::string_view reason);

// CheckpointKindName returns "required_field", "checklist_item", "review_gate" or
// "feasibility_gate".
std::string CheckpointKindName(v1::CheckpointKind kind);

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_PLAYBOOK_H_
