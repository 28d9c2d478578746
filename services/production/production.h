// Production: the domain of the production scheduling service (no gRPC here). It owns
// resources, versioned phase templates and projects, keeps them in memory (loaded at start),
// reschedules every open project on finite capacity after each change (see scheduler.h), and
// commits each change with its events through the transactional outbox.
#ifndef TRIAD_SERVICES_PRODUCTION_PRODUCTION_H_
#define TRIAD_SERVICES_PRODUCTION_PRODUCTION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/events/envelope.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/locks.h"
#include "services/production/repository.h"
#include "services/production/scheduler.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/pipeline/v1/events.pb.h"
#include "triad/production/v1/events.pb.h"
#include "triad/production/v1/production_service.pb.h"
#include "triad/review/v1/events.pb.h"

namespace triad::production {

// The product lines seeded with version 1 of their phase templates.
inline constexpr char kArchitecturalDesign[] = "architectural-design";
inline constexpr char kSpecialisedEquipment[] = "specialised-equipment";

// Text limits (bytes).
inline constexpr size_t kMaxNameLength = 200;
inline constexpr int kMaxSkills = 20;
inline constexpr int kMaxPhases = 20;
// Phase template versions kept per product line (never deleted: projects keep the version they
// were planned from) and product lines with a template; CreatePhaseTemplateVersion beyond them is
// RESOURCE_EXHAUSTED. A project's phases come from one template: at most kMaxPhases.
inline constexpr int kMaxTemplateVersions = 100;
inline constexpr int kMaxTemplateProductLines = 100;
inline constexpr int kMaxNonWorkingDates = 400;
inline constexpr int kMaxLeaveRanges = 100;
// Effort bounds (hours).
inline constexpr double kMaxEffortHours = 1'000'000;

struct ProductionOptions {
  // Consumer group of the consumed events (namespaces the inbox records).
  std::string consumer_group = "triad-production";
  // Clock used for every timestamp and for "today" (tests inject their own).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Nothing is planned further ahead than this many days.
  int horizon_days = 1100;
  // A new firm project is placed on the capacity the others leave (their plans kept) when that
  // is what the full reschedule would do (see PlaceAddedLocked), and a progress report that
  // leaves the scheduler's view unchanged keeps every plan (see KeepPlansLocked); false always
  // reschedules all.
  bool incremental_placement = true;
};

class Production {
 public:
  // Topics lists the topics the service writes; ConsumedTopics those it consumes.
  static std::vector<std::string> Topics();
  static std::vector<std::string> ConsumedTopics();
  // HandledTypes lists the consumed ce_types.
  static std::vector<std::string> HandledTypes();

  // Create binds the domain to a store opened with ColumnFamilies() plus the runtime's "outbox",
  // "inbox" and "requests", seeds the default templates when missing and loads everything.
  static absl::StatusOr<std::unique_ptr<Production>> Create(storage::Store* store,
                                                            events::Outbox* outbox,
                                                            ProductionOptions options = {});

  // CreateResource validates and stores a resource (active) and reschedules.
  absl::StatusOr<v1::Resource> CreateResource(const v1::CreateResourceRequest& req);
  // GetResource returns a resource.
  absl::StatusOr<v1::Resource> GetResource(const v1::GetResourceRequest& req) const;
  // ListResources lists resources in id order.
  absl::StatusOr<v1::ListResourcesResponse> ListResources(
      const v1::ListResourcesRequest& req) const;
  // UpdateResource applies the masked fields (etag required) and reschedules.
  absl::StatusOr<v1::Resource> UpdateResource(const v1::UpdateResourceRequest& req);
  // DeactivateResource makes a resource inactive and moves its planned work elsewhere.
  absl::StatusOr<v1::DeactivateResourceResponse> DeactivateResource(
      const v1::DeactivateResourceRequest& req);

  // GetPhaseTemplate returns a template version (0 = latest).
  absl::StatusOr<v1::PhaseTemplateSet> GetPhaseTemplate(
      const v1::GetPhaseTemplateRequest& req) const;
  // ListPhaseTemplates lists template versions by product line then version.
  absl::StatusOr<v1::ListPhaseTemplatesResponse> ListPhaseTemplates(
      const v1::ListPhaseTemplatesRequest& req) const;
  // CreatePhaseTemplateVersion stores version latest + 1 of a product line.
  absl::StatusOr<v1::PhaseTemplateSet> CreatePhaseTemplateVersion(
      const v1::CreatePhaseTemplateVersionRequest& req);

  // CreateProject creates a project from the latest template and reschedules.
  absl::StatusOr<v1::CreateProjectResponse> CreateProject(const v1::CreateProjectRequest& req);
  // GetProject returns a project.
  absl::StatusOr<v1::Project> GetProject(const v1::GetProjectRequest& req) const;
  // ListProjects lists projects in id order.
  absl::StatusOr<v1::ListProjectsResponse> ListProjects(const v1::ListProjectsRequest& req) const;
  // PinPhase pins a planned phase with the unfinished phases before it, or unpins it with the
  // phases after it.
  absl::StatusOr<v1::Project> PinPhase(const v1::PinPhaseRequest& req);
  // ReportPhaseProgress starts, advances or completes a phase and reschedules.
  absl::StatusOr<v1::ReportPhaseProgressResponse> ReportPhaseProgress(
      const v1::ReportPhaseProgressRequest& req);
  // ReleaseTentativeProject deletes a tentative booking and reschedules.
  absl::StatusOr<v1::ReleaseTentativeProjectResponse> ReleaseTentativeProject(
      const v1::ReleaseTentativeProjectRequest& req);
  // Reschedule runs the scheduler and commits what changed.
  absl::StatusOr<v1::ScheduleReport> Reschedule(const v1::RescheduleRequest& req);

  // RequestSignOff opens a new sign-off round of a completed key milestone whose last round was
  // rejected (SignOffRequested with the round); the earlier rounds stay in its history.
  absl::StatusOr<v1::Project> RequestSignOff(const v1::RequestSignOffRequest& req);

  // CheckFeasibility places a hypothetical project on the capacity the schedule leaves.
  absl::StatusOr<v1::CheckFeasibilityResponse> CheckFeasibility(
      const v1::CheckFeasibilityRequest& req) const;
  // GetUtilisation lists allocated vs capacity per resource, skill and week.
  absl::StatusOr<v1::GetUtilisationResponse> GetUtilisation(
      const v1::GetUtilisationRequest& req) const;

  // ListInactiveHoldings pages through the unstarted phases planned on inactive (offboarded or
  // deactivated) resources.
  absl::StatusOr<v1::ListInactiveHoldingsResponse> ListInactiveHoldings(
      const v1::ListInactiveHoldingsRequest& req) const;

  // HandleEvent applies one consumed event standalone, exactly as the consumer would.
  absl::Status HandleEvent(const events::Event& event);
  // HandleEventIn is the consumer's handler (the caller holds mutex()): it decodes the payload
  // by type and writes the effect into `txn`. A payload that does not decode or invalid content
  // is INVALID_ARGUMENT (dead-lettered); other types are ignored.
  absl::Status HandleEventIn(const events::Event& event, events::Transaction& txn);
  // RegisterHandlers registers HandleEventIn for HandledTypes() on a consumer created with
  // ConsumerOptions::apply_mutex = &mutex().
  void RegisterHandlers(events::IdempotentConsumer& consumer);

  // mutex is the domain lock that serialises RPCs and consumed events.
  util::SharedMutex& mutex() const { return mu_; }

  // ProjectsInMemory is the number of projects held in memory: the active ones (tests and the
  // scale benchmark prove with it that completed history stays on disk).
  size_t ProjectsInMemory() const {
    std::shared_lock lock(mu_);
    return projects_.size();
  }
  // IncrementalPlacements counts the projects added by PlaceAddedLocked (not a full
  // reschedule): tests prove with it that the incremental path ran.
  int64_t IncrementalPlacements() const {
    std::shared_lock lock(mu_);
    return incremental_placements_;
  }
  // ProgressWithoutReschedule counts the progress reports answered by KeepPlansLocked (not a
  // full reschedule): tests prove with it that that path ran.
  int64_t ProgressWithoutReschedule() const {
    std::shared_lock lock(mu_);
    return progress_without_reschedule_;
  }

 private:
  // Work is one unit of change: the transaction and the records it changes (applied to the
  // in-memory state after the commit).
  struct Work {
    Work() : txn(own) {}
    explicit Work(events::Transaction& external) : txn(external) {}
    Work(const Work&) = delete;
    Work& operator=(const Work&) = delete;
    events::Transaction own;
    events::Transaction& txn;
    std::map<std::string, v1::Resource> resources;
    std::map<std::string, v1::Project> projects;
    std::vector<std::string> removed_projects;
    std::map<std::string, std::string> opportunity_index;
    std::unique_ptr<sched::Scheduler> scheduler;
    // True when the plans this work commits are a fixed point of the full reschedule (see
    // PlanStable); `placed` is a new project placed on scheduler_'s grid (booked on commit).
    bool plan_stable = false;
    std::optional<sched::ProjectOut> placed;
    // True when KeepPlansLocked kept every committed plan: the changed project looks the same to
    // the scheduler, so the plans stay a fixed point and scheduler_'s grid stays as it is.
    bool plans_kept = false;
    // True when this work's full reschedule left every project's plan and risk as they were:
    // the same problem gives the committed plans back (see plan_reproduces_).
    bool plan_reproduces = false;
    // The bookings of a phase completed with the plans kept, freed on scheduler_'s grid on commit.
    std::vector<std::pair<std::string, sched::Allocation>> freed;
  };

  Production(storage::Store* store, events::Outbox* outbox, ProductionOptions options);
  absl::Status Init();
  absl::Time Now() const { return options_.clock(); }
  sched::Day Today() const;

  // Stage adds the work's records to its batch and the in-memory update as an after-commit
  // hook; CommitLocked stages and commits a Work that owns its transaction.
  void Stage(Work& work);
  absl::Status CommitLocked(Work& work);

  // RescheduleLocked schedules every open project (as changed by `work`), saves the projects
  // whose plan or risk changed into `work` with their events, and reports the moves.
  v1::ScheduleReport RescheduleLocked(Work& work, std::string_view reason,
                                      const common::v1::Actor& actor);

  // PlaceAddedLocked places the new project `id` of `work` on the capacity the committed plans
  // leave, as the full reschedule would (the committed plans are a fixed point of it, nothing
  // else changed, the day is the same, the new project is firm and on time); nullopt when the
  // full reschedule is needed. Costs the new project's placement, not every project's.
  std::optional<v1::ScheduleReport> PlaceAddedLocked(Work& work, const std::string& id,
                                                     std::string_view reason,
                                                     const common::v1::Actor& actor);
  // KeepPlansLocked answers a change of the active project `id` in `work` (its only change)
  // without rescheduling when the full reschedule would return the committed plans, on the same
  // day: when they are a fixed point of it (plan_stable_) and the project's scheduler input is
  // unchanged (a started phase's progress changes only the effort of a phase whose plan is
  // fixed), or a phase is started on the plan it has, or the first open phase is completed with
  // the next one still following it as planned (its bookings are then freed on commit); or,
  // when the last full reschedule gave them back (plan_reproduces_, late projects or not), when
  // the project's scheduler input is unchanged. Returns the report the full reschedule would
  // give (nothing moved), or nullopt when it is needed.
  std::optional<v1::ScheduleReport> KeepPlansLocked(Work& work, const std::string& id,
                                                    std::string_view reason);
  // SaveOutcomeLocked applies one project's scheduling outcome (`in` and `out`; its open
  // phases are `phase_index`) into `work` when its plan or risk changed, with its events, and
  // adds it to `report`. Returns whether it changed the project's plan or risk.
  bool SaveOutcomeLocked(Work& work, const std::string& id, const std::vector<int>& phase_index,
                         const sched::ProjectIn& in, const sched::ProjectOut& out,
                         const std::map<std::string, bool>& active, absl::Time now,
                         std::string_view reason, const common::v1::Actor& actor,
                         v1::ScheduleReport& report);

  // The current view of a record: the work's copy when it has one.
  const v1::Resource* FindResource(const Work* work, const std::string& id) const;
  const v1::Project* FindProject(const Work* work, const std::string& id) const;

  // NewProjectLocked builds a project from the latest template of its product line.
  absl::StatusOr<v1::Project> NewProjectLocked(const v1::Project& in,
                                               const common::v1::Actor& actor) const;
  // AddProjectLocked adds a new project to `work`, emits ProjectCreated and reschedules.
  v1::ScheduleReport AddProjectLocked(Work& work, v1::Project project,
                                      const common::v1::Actor& actor);
  absl::StatusOr<v1::Project> LoadProjectForChange(std::string_view id, std::string_view etag);
  // ProjectByIdLocked is the committed project (active from memory, completed from the
  // repository); NOT_FOUND when there is none.
  absl::StatusOr<v1::Project> ProjectByIdLocked(std::string_view id) const;
  // ProjectOfOpportunityLocked is the id of the project made for an opportunity (nullopt when
  // there is none), from the repository's index.
  absl::StatusOr<std::optional<std::string>> ProjectOfOpportunityLocked(
      std::string_view opportunity_id) const;

  // FeasibilityLocked places a hypothetical project of `line` on the remaining capacity.
  absl::StatusOr<v1::CheckFeasibilityResponse> FeasibilityLocked(
      std::string_view line, double effort_hours, std::optional<sched::Day> start,
      std::optional<sched::Day> end) const;

  // RequestSignOffLocked opens the next sign-off round of phase `index` of `p` (state
  // REQUESTED) and emits SignOffRequested into `work`.
  void RequestSignOffLocked(Work& work, v1::Project& p, int index, const common::v1::Actor& actor);
  // RecordSignOffOutcome closes the open round of `ph` with review's outcome; false when this
  // review's outcome was already recorded (nothing changed).
  bool RecordSignOffOutcome(v1::Phase& ph, const review::v1::SignOffCompleted& done);

  absl::Status ApplyWon(const events::Event& e, const pipeline::v1::OpportunityWon& won,
                        events::Transaction& txn);
  absl::Status ApplyFeasibilityRequested(const events::Event& e,
                                         const pipeline::v1::FeasibilityRequested& req,
                                         events::Transaction& txn);
  // ApplyClientsMerged (client_merge.cc) moves the projects of merged clients to the survivor.
  absl::Status ApplyClientsMerged(const events::Event& e, const clients::v1::ClientsMerged& m,
                                  events::Transaction& txn);
  // ApplyPersonOffboarded (offboarding.cc) marks the person inactive, deactivates their
  // resource, hands their unstarted phases to the successor when the successor is an active
  // resource with the skill (else the scheduler re-plans them) and reports.
  absl::Status ApplyPersonOffboarded(const events::Event& e, const clients::v1::PersonOffboarded& m,
                                     events::Transaction& txn);
  // LoadActiveProjectsLocked reads the active projects into projects_ (start-up).
  absl::Status LoadActiveProjectsLocked();
  // PutActiveLocked makes `project` the active project `id` of projects_ (keeping
  // open_phases_ in step); EraseActiveLocked removes `id` from them, if there.
  void PutActiveLocked(const std::string& id, v1::Project project);
  void EraseActiveLocked(const std::string& id);

  // CheckPersonActiveLocked is FAILED_PRECONDITION naming `field` for an offboarded person.
  absl::Status CheckPersonActiveLocked(std::string_view field, std::string_view person) const;
  absl::Status ApplySignOff(const events::Event& e, const review::v1::SignOffCompleted& done,
                            events::Transaction& txn);

  storage::Store* store_;
  events::Outbox* outbox_;
  ProductionOptions options_;
  std::unique_ptr<Repository> repo_;
  mutable util::SharedMutex mu_;
  std::map<std::string, v1::Resource> resources_;
  std::map<std::string, std::map<int, v1::PhaseTemplateSet>> templates_;
  // The active projects: what the scheduler plans. Completed projects, the bulk of the
  // history, stay in the repository and are read when asked for (ProjectByIdLocked); the
  // opportunity index is read from the repository too (ProjectOfOpportunityLocked).
  std::map<std::string, v1::Project> projects_;
  // The open (not completed) phases of projects_, kept in step by PutActiveLocked and
  // EraseActiveLocked: the count a report of a reschedule that moved nothing gives.
  int open_phases_ = 0;
  // The schedule of the last reschedule (its remaining capacity answers feasibility).
  std::unique_ptr<sched::Scheduler> scheduler_;
  // True when the committed plans are a fixed point of the full reschedule on scheduler_'s
  // grid (set by a full reschedule, kept by incremental placements, cleared by any other
  // change to projects or resources).
  bool plan_stable_ = false;
  // True when the last full reschedule returned every plan and risk as they were committed, and
  // nothing changed since but what KeepPlansLocked kept: a reschedule of the same problem gives
  // the committed plans back (the scheduler is deterministic), even with late projects.
  bool plan_reproduces_ = false;
  int64_t incremental_placements_ = 0;
  int64_t progress_without_reschedule_ = 0;
  // Bumped by every commit that reaches the in-memory state (resources_, projects_,
  // scheduler_): what is computed from that state is valid for one generation.
  uint64_t generation_ = 0;

  // The utilisation view's rows (sorted by page key) for one window, computed once per
  // generation and shared by the readers of every page (utilisation_mu_ guards the cache).
  using UtilisationRows = std::vector<std::pair<std::string, v1::UtilisationRow>>;
  std::shared_ptr<const UtilisationRows> UtilisationRowsLocked(sched::Day from, int weeks) const;
  mutable std::mutex utilisation_mu_;
  mutable std::string utilisation_key_;
  mutable uint64_t utilisation_generation_ = 0;
  mutable std::shared_ptr<const UtilisationRows> utilisation_rows_;
};

// ResourceIn converts a resource for the scheduler (calendar days off, active flag).
sched::ResourceIn ToSchedulerResource(const v1::Resource& r);

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_PRODUCTION_H_
