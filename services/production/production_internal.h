// Helpers shared by the production domain's files: default templates, conversions between
// projects and the scheduler's problem, plan comparison, event plans and validation.
#ifndef TRIAD_SERVICES_PRODUCTION_PRODUCTION_INTERNAL_H_
#define TRIAD_SERVICES_PRODUCTION_PRODUCTION_INTERNAL_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/api/validation.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "rocksdb/write_batch.h"
#include "services/production/repository.h"
#include "services/production/scheduler.h"
#include "triad/common/v1/types.pb.h"
#include "triad/production/v1/events.pb.h"
#include "triad/production/v1/resources.pb.h"

namespace triad::production {

// Most moves and at-risk projects listed in one report (the counts are always complete).
inline constexpr int kMaxReportedMoves = 200;
// Most additional resources one phase of a template may need.
inline constexpr int kMaxAdditionalRequirements = 5;

// DefaultTemplates is version 1 of the architectural design and specialised equipment phases.
std::vector<v1::PhaseTemplateSet> DefaultTemplates();

// OpportunityKey is the index key of the project created for an opportunity.
std::string OpportunityKey(std::string_view opportunity_id);

// ActiveKey (Kind::kIndex) lists an active project; ActiveIndexedKey marks a store whose
// active-project index is complete (written by the start-up backfill of a store that predates
// it). Start-up reads the active projects through the index instead of the whole history.
std::string ActiveKey(std::string_view project_id);
std::string ActiveIndexedKey();
// PutProject adds a project record to `batch` with its active index entry (or the entry's
// removal when the project is no longer active); DeleteProject removes both.
void PutProject(Repository& repo, rocksdb::WriteBatch& batch, const v1::Project& p);
void DeleteProject(Repository& repo, rocksdb::WriteBatch& batch, std::string_view project_id);

// PlanStable is true when the plans of `result` are a fixed point of the full reschedule of
// `problem`: no tentative project (re-placed every time), no late or unschedulable one, every
// started or pinned phase booked as it is (on an active resource), every other phase with a
// plan of its own that the kept schedule keeps. Then a new firm project that is on time on
// the remaining capacity is exactly what rescheduling everything gives it.
bool PlanStable(const sched::Problem& problem, const sched::Result& result,
                const std::map<std::string, bool>& active);

// ToSchedulerProject converts an open project (its phases not completed) for the scheduler.
sched::ProjectIn ToSchedulerProject(const v1::Project& p, sched::Day today);

// OpenPhases is the number of `p`'s phases not completed.
int OpenPhases(const v1::Project& p);

// ApplyPlan writes a scheduled phase's plan into the phase.
void ApplyPlan(const sched::PhaseOut& out, v1::Phase& phase);

// SamePlan is true when both versions plan every phase (main work and parts) on the same
// resources from the same start to the same end day, and end on the same day: what the
// plan's events carry.
bool SamePlan(const v1::Project& a, const v1::Project& b);

// SameAllocations is true when both versions book the same hours on the same days for every
// phase's main work and parts (a plan can keep its days and resources and still spread its
// hours differently).
bool SameAllocations(const v1::Project& a, const v1::Project& b);

// PlanUnchanged is true when applying `out` to `p` (ApplyPlan on the phases `phase_index`,
// out.phases[k] to p.phases(phase_index[k]), and out.end as the planned end) would leave it
// SamePlan and SameAllocations with `p`: the comparison a reschedule makes for every project,
// without the copy.
bool PlanUnchanged(const v1::Project& p, const std::vector<int>& phase_index,
                   const sched::ProjectOut& out);

// RiskReason explains why a project is late.
std::string RiskReason(const v1::Project& p, const sched::ProjectOut& out);

// FillPlans lists the project's phases as event PhasePlans.
void FillPlans(const v1::Project& p, google::protobuf::RepeatedPtrField<v1::PhasePlan>* out);

// DayTime is the start (00:00 UTC) of a day.
google::protobuf::Timestamp DayTime(sched::Day day);

using api::CheckActor;

// CheckDate requires a "YYYY-MM-DD" date at `path`.
absl::Status CheckDate(std::string_view path, std::string_view value);

// CheckTemplate validates a template set's phases and default effort.
absl::Status CheckTemplate(const v1::PhaseTemplateSet& t);

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_PRODUCTION_INTERNAL_H_
