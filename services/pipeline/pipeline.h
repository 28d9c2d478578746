// Pipeline: the domain of the pipeline service (no gRPC here). It owns playbooks, signals,
// leads and opportunities, enforces stage checkpoints, opens gates from consumed events,
// maintains the funnel aggregates and the open-deal index, and commits every state change
// together with its events through the transactional outbox.
#ifndef TRIAD_SERVICES_PIPELINE_PIPELINE_H_
#define TRIAD_SERVICES_PIPELINE_PIPELINE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/events/consumer.h"
#include "common/events/envelope.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/locks.h"
#include "services/pipeline/funnel.h"
#include "services/pipeline/playbook.h"
#include "services/pipeline/repository.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/pipeline/v1/events.pb.h"
#include "triad/pipeline/v1/pipeline_admin_service.pb.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"
#include "triad/production/v1/events.pb.h"
#include "triad/review/v1/events.pb.h"

namespace triad::pipeline {

inline constexpr char kSignalTopic[] = "triad.pipeline.signal";
inline constexpr char kLeadTopic[] = "triad.pipeline.lead";
inline constexpr char kOpportunityTopic[] = "triad.pipeline.opportunity";
inline constexpr char kPersonTopic[] = "triad.pipeline.person";
inline constexpr char kClientPersonTopic[] = "triad.clients.person";
inline constexpr char kClientTopic[] = "triad.clients.client";
inline constexpr char kReviewTopic[] = "triad.review.request";
inline constexpr char kFeasibilityTopic[] = "triad.production.feasibility";
// The topic names above are the contracts' (checked at compile time; the deployment check
// reads these constants).
static_assert(std::string_view(kSignalTopic) == contracts::pipeline::SignalTopic::kName);
static_assert(std::string_view(kLeadTopic) == contracts::pipeline::LeadTopic::kName);
static_assert(std::string_view(kOpportunityTopic) == contracts::pipeline::OpportunityTopic::kName);
static_assert(std::string_view(kClientTopic) == contracts::clients::ClientTopic::kName);
static_assert(std::string_view(kPersonTopic) == contracts::pipeline::PersonTopic::kName);
static_assert(std::string_view(kClientPersonTopic) == contracts::clients::PersonTopic::kName);
static_assert(std::string_view(kReviewTopic) == contracts::review::RequestTopic::kName);
static_assert(std::string_view(kFeasibilityTopic) ==
              contracts::production::FeasibilityTopic::kName);

struct PipelineOptions {
  // Consumer group of the consumed events (namespaces the inbox records).
  std::string consumer_group = "triad-pipeline";
  // Clock used for every timestamp (tests inject their own).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Opportunities and leads moved per transaction when a person is offboarded (the first chunk
  // with the consumed announcement, the rest by ContinueOffboardings).
  int offboarding_chunk_size = 500;
};

class Pipeline {
 public:
  // Topics lists the topics the service writes.
  static std::vector<std::string> Topics();
  // ConsumedTopics lists the topics the service consumes.
  static std::vector<std::string> ConsumedTopics();

  // Create binds the domain to a store opened with ColumnFamilies() plus "outbox", "inbox" and
  // "requests", seeds the default playbooks when missing and loads the in-memory indexes.
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(storage::Store* store,
                                                          events::Outbox* outbox,
                                                          PipelineOptions options = {});

  // GetPlaybook returns a playbook version (0 = latest).
  absl::StatusOr<v1::Playbook> GetPlaybook(const v1::GetPlaybookRequest& req) const;
  // ListPlaybooks lists playbook versions, ordered by product line then version.
  absl::StatusOr<v1::ListPlaybooksResponse> ListPlaybooks(
      const v1::ListPlaybooksRequest& req) const;
  // CreatePlaybookVersion validates and stores a new version (latest + 1) of a product line.
  absl::StatusOr<v1::Playbook> CreatePlaybookVersion(const v1::CreatePlaybookVersionRequest& req);

  // RecordSignal records a market-demand signal.
  absl::StatusOr<v1::Signal> RecordSignal(const v1::RecordSignalRequest& req);
  // GetSignal returns a signal.
  absl::StatusOr<v1::Signal> GetSignal(const v1::GetSignalRequest& req) const;
  // ListSignals lists signals in id (creation) order.
  absl::StatusOr<v1::ListSignalsResponse> ListSignals(const v1::ListSignalsRequest& req) const;

  // CreateLead enters a lead, from a signal or directly.
  absl::StatusOr<v1::Lead> CreateLead(const v1::CreateLeadRequest& req);
  // GetLead returns a lead.
  absl::StatusOr<v1::Lead> GetLead(const v1::GetLeadRequest& req) const;
  // ListLeads lists leads in id order.
  absl::StatusOr<v1::ListLeadsResponse> ListLeads(const v1::ListLeadsRequest& req) const;
  // QualifyLead marks a NEW lead qualified.
  absl::StatusOr<v1::Lead> QualifyLead(const v1::QualifyLeadRequest& req);
  // DisqualifyLead marks a NEW or QUALIFIED lead disqualified.
  absl::StatusOr<v1::Lead> DisqualifyLead(const v1::DisqualifyLeadRequest& req);

  // CreateOpportunity opens an opportunity on a known client (converting a qualified lead).
  absl::StatusOr<v1::Opportunity> CreateOpportunity(const v1::CreateOpportunityRequest& req);
  // GetOpportunity returns an opportunity.
  absl::StatusOr<v1::Opportunity> GetOpportunity(const v1::GetOpportunityRequest& req) const;
  // ListOpportunities lists opportunities in id order, filtered.
  absl::StatusOr<v1::ListOpportunitiesResponse> ListOpportunities(
      const v1::ListOpportunitiesRequest& req) const;
  // ListOpportunityHistory pages through an opportunity's whole history, newest first.
  absl::StatusOr<v1::ListOpportunityHistoryResponse> ListOpportunityHistory(
      const v1::ListOpportunityHistoryRequest& req) const;
  // UpdateOpportunity changes the fields named by the mask (etag required).
  absl::StatusOr<v1::Opportunity> UpdateOpportunity(const v1::UpdateOpportunityRequest& req);
  // CompleteChecklistItem ticks off a checklist item of the playbook.
  absl::StatusOr<v1::Opportunity> CompleteChecklistItem(
      const v1::CompleteChecklistItemRequest& req);
  // AdvanceStage moves the deal to another stage, or refuses (nothing written) listing the open
  // checkpoints.
  absl::StatusOr<v1::Opportunity> AdvanceStage(const v1::AdvanceStageRequest& req);
  // WinOpportunity closes the deal as won (from the last stage, its checkpoints complete).
  absl::StatusOr<v1::Opportunity> WinOpportunity(const v1::WinOpportunityRequest& req);
  // LoseOpportunity closes the deal as lost with a reason.
  absl::StatusOr<v1::Opportunity> LoseOpportunity(const v1::LoseOpportunityRequest& req);
  // ReassignOpportunity gives an open deal to another owner.
  absl::StatusOr<v1::Opportunity> ReassignOpportunity(const v1::ReassignOpportunityRequest& req);

  // GetFunnelReport answers the funnel for a period and filter from the aggregates.
  absl::StatusOr<v1::FunnelReport> GetFunnelReport(const v1::GetFunnelReportRequest& req) const;
  // RankOpenDeals ranks open deals by expected value per expert-hour.
  absl::StatusOr<v1::RankOpenDealsResponse> RankOpenDeals(
      const v1::RankOpenDealsRequest& req) const;
  // ListStaleDeals lists open deals past their stage's maximum days.
  absl::StatusOr<v1::ListStaleDealsResponse> ListStaleDeals(
      const v1::ListStaleDealsRequest& req) const;
  // ScanStaleDeals emits one OpportunityStale per (deal, stage entry) past the maximum days.
  absl::StatusOr<v1::ScanStaleDealsResponse> ScanStaleDeals(const v1::ScanStaleDealsRequest& req);

  // OnClient applies a consumed client event (registered/updated/verified/archived/restored:
  // `client` only; owner_changed: with the owners; merged: with merged_client_id). Like every
  // On* function it is the standalone form of the consumer's path (events::ApplyOnce): under
  // the domain lock, once per event, effect and dedupe record in one commit.
  absl::Status OnClient(const events::Event& event, const clients::v1::ClientSummary& client,
                        std::string_view previous_owner = {}, std::string_view new_owner = {},
                        std::string_view merged_client_id = {});
  // OnReviewVerdict opens (APPROVED) or holds a review gate and records the effort estimate.
  absl::Status OnReviewVerdict(const events::Event& event,
                               const review::v1::ReviewVerdictRecorded& verdict);
  // OnFeasibilityAnswered records the answer and opens the gate when feasible.
  absl::Status OnFeasibilityAnswered(const events::Event& event,
                                     const production::v1::FeasibilityAnswered& answer);

  // ContinueOffboardings moves the next chunks of every offboarding left unfinished by the
  // consumed announcement (one transaction and one progress report per chunk) until none is
  // left; returns the number of chunks moved. Run periodically (and so at start-up).
  absl::StatusOr<int> ContinueOffboardings();

  // ListInactiveHoldings pages through the open opportunities and new or qualified leads
  // owned by inactive (offboarded) people.
  absl::StatusOr<v1::ListInactiveHoldingsResponse> ListInactiveHoldings(
      const v1::ListInactiveHoldingsRequest& req) const;

  // HandledTypes lists the consumed ce_types.
  static std::vector<std::string> HandledTypes();

  // HandleEvent applies one consumed event standalone, exactly as the consumer would
  // (events::ApplyOnce around HandleEventIn).
  absl::Status HandleEvent(const events::Event& event);

  // HandleEventIn is the consumer's handler: it decodes the payload by `event.type` and writes
  // the effect into the consumer's `txn` (the in-memory indexes follow after the commit). The
  // caller holds mutex(). A payload that does not decode, or an event without id, is
  // INVALID_ARGUMENT (dead-lettered); a type not handled here is ignored (OK).
  absl::Status HandleEventIn(const events::Event& event, events::Transaction& txn);

  // RegisterHandlers registers HandleEventIn for HandledTypes() on a consumer of
  // ConsumedTopics(), which must be created with ConsumerOptions::apply_mutex = &mutex().
  void RegisterHandlers(events::IdempotentConsumer& consumer);

  // mutex is the domain lock that serialises RPCs and consumed events.
  util::SharedMutex& mutex() const { return mu_; }

  // FunnelRows is the number of aggregate rows held (benchmarks).
  size_t FunnelRows() const { return funnel_.RowCount(); }
  // FunnelBytes is the heap memory of the in-memory funnel (benchmarks).
  size_t FunnelBytes() const { return funnel_.MemoryBytes(); }

  // ListRecordsExamined counts the records list RPCs have read since start (tests prove with it
  // that a filtered list reads through an index, not the whole table).
  int64_t ListRecordsExamined() const { return list_examined_.load(); }

 private:
  struct OpenDeal {
    std::string owner;
    std::string client;
    std::string stage;
    int64_t value = 0;
    double probability = 0;
    double hours = 0;
    absl::Time entered;
    int max_days = 0;
    bool reported = false;
    int64_t tuple = -1;
    std::string currency;
  };
  // Work is one unit of change: the transaction, the funnel deltas, and the opportunities
  // whose open-deal index entries change.
  // Work is one unit of change: by default it owns its transaction; a consumed event's
  // Work writes into the consumer's transaction instead.
  struct Work {
    Work() : txn(own) {}
    explicit Work(events::Transaction& external) : txn(external) {}
    Work(const Work&) = delete;
    Work& operator=(const Work&) = delete;
    events::Transaction own;
    events::Transaction& txn;
    std::vector<Delta> deltas;
    std::vector<v1::Opportunity> touched;
    // Index entries of each opportunity as written so far by this unit of work (the entries
    // of the stored record before its first save here).
    std::map<std::string, std::vector<std::pair<Kind, std::string>>> index_entries;
  };

  Pipeline(storage::Store* store, events::Outbox* outbox, PipelineOptions options);
  absl::Status Init();

  absl::Status CommitLocked(Work& work);
  // StageLocked adds the funnel changes to the batch and, as after-commit hooks, the in-memory
  // index updates; the caller commits the transaction.
  absl::Status StageLocked(Work& work);
  // Standalone applies `fn` as the consumer would apply `event` (events::ApplyOnce).
  absl::Status Standalone(const events::Event& event,
                          const std::function<absl::Status(events::Transaction&)>& fn);
  absl::Status ApplyClient(const events::Event& event, const clients::v1::ClientSummary& client,
                           std::string_view previous_owner, std::string_view new_owner,
                           std::string_view merged_client_id, events::Transaction& txn);
  // ApplyClientErased takes the erased client's summary and, for a client who is a natural
  // person, blanks the name kept of it (and of the ids merged into it) in the replica.
  absl::Status ApplyClientErased(const events::Event& event,
                                 const clients::v1::ClientPersonalDataErased& m,
                                 events::Transaction& txn);
  // Offboarding (offboarding.cc): the inactive check of owner fields, and one chunk of moving
  // an offboarded person's opportunities and leads (from the announcement, then from
  // ContinueOffboardings).
  absl::Status CheckPersonActiveLocked(std::string_view field, std::string_view person) const;
  absl::Status ApplyPersonOffboarded(const events::Event& event,
                                     const clients::v1::PersonOffboarded& msg,
                                     events::Transaction& txn);
  // OffboardChunk moves one chunk into `txn` and reports it (cause_event_id: the consumed event,
  // empty for a continuation); records whether the offboarding continues.
  absl::Status OffboardChunk(std::string_view cause_event_id,
                             const clients::v1::PersonOffboarded& who,
                             google::protobuf::Map<std::string, int64_t> moved,
                             events::Transaction& txn);
  absl::Status ApplyReviewVerdict(const events::Event& event,
                                  const review::v1::ReviewVerdictRecorded& verdict,
                                  events::Transaction& txn);
  absl::Status ApplyFeasibilityAnswered(const events::Event& event,
                                        const production::v1::FeasibilityAnswered& answer,
                                        events::Transaction& txn);
  absl::StatusOr<const v1::Playbook*> PlaybookLocked(std::string_view line, int version) const;
  // LoadOpenForChangeLocked loads an opportunity about to change: NOT_FOUND, ABORTED on a stale
  // etag, FAILED_PRECONDITION when it is already won or lost.
  absl::StatusOr<v1::Opportunity> LoadOpenForChangeLocked(std::string_view id,
                                                          std::string_view etag);
  // ReadListed reads the record a list scan is at (through an index entry when `prefix` is set);
  // false when the entry's record is gone.
  absl::StatusOr<bool> ReadListed(Kind kind, std::string_view prefix, std::string_view key,
                                  std::string_view value, google::protobuf::Message* out) const;
  // GateTarget is an opportunity and the gate (of its playbook) an answer event names.
  struct GateTarget {
    v1::Opportunity opp;
    const v1::Checkpoint* checkpoint;
  };
  // GateAwaitingAnswerLocked loads the opportunity and its gate of `kind` that an answer (`what`,
  // for the log) names; nullopt, logged, when the answer is not for a gate of ours awaiting one.
  absl::StatusOr<std::optional<GateTarget>> GateAwaitingAnswerLocked(
      std::string_view opportunity_id, std::string_view gate_id, v1::CheckpointKind kind,
      std::string_view what);
  absl::StatusOr<v1::Opportunity> LoadOpportunity(std::string_view id) const;
  absl::StatusOr<clients::v1::ClientSummary> ResolveClient(std::string_view client_id) const;
  void SaveOpportunity(Work& work, v1::Opportunity& opp, bool bump = true);
  void SaveLead(Work& work, const v1::Lead& lead);
  absl::Status BackfillListIndexes();
  void GaugeDeltas(Work& work, const v1::Opportunity& opp, int sign);
  void EnterStage(Work& work, v1::Opportunity& opp, const v1::Playbook& pb, int index,
                  absl::Time now, std::string_view actor, std::string_view reason);
  void RequestGates(Work& work, v1::Opportunity& opp, const v1::Playbook& pb, int index,
                    absl::Time now);
  void ExitStage(Work& work, v1::Opportunity& opp, absl::Time now);
  void CloseDeal(Work& work, v1::Opportunity& opp, absl::Time now);
  void ApplyOpenDeal(const v1::Opportunity& opp);
  Dims OpportunityDims(const v1::Opportunity& opp) const;
  Dims LeadDims(const v1::Lead& lead) const;
  bool IsRepeatClient(const clients::v1::ClientSummary& client) const;
  void EmitCheckpointCompleted(Work& work, const v1::Opportunity& opp, const v1::Checkpoint& c,
                               std::string_view actor, absl::Time now);

  storage::Store* store_;
  events::Outbox* outbox_;
  PipelineOptions options_;
  std::unique_ptr<Repository> repo_;
  FunnelIndex funnel_;
  // Serialises the read-modify-writes (RPCs and consumed events): each holds it alone, except
  // AdvanceStage, which holds it shared plus its deal's key lock (opportunity_locks_), so moves
  // of different deals run side by side. A waiting writer goes first, so a stream of moves
  // cannot starve the other writes.
  mutable util::SharedMutex mu_{util::SharedMutex::Preference::kWriters};
  // Serialises the writes of one deal among the writers that hold mu_ shared.
  util::KeyLocks opportunity_locks_;
  // Held by CommitLocked from staging the funnel's totals to applying them in memory: the
  // staged totals are the current ones plus the change, so two commits must not stage from
  // the same current ones (writers holding mu_ shared commit side by side).
  std::mutex commit_mu_;
  // Guards playbooks_ and open_deals_ for readers that do not take mu_.
  mutable std::shared_mutex read_mu_;
  std::map<std::string, std::map<int, v1::Playbook>> playbooks_;
  std::map<std::string, OpenDeal> open_deals_;
  mutable std::atomic<int64_t> list_examined_{0};
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_PIPELINE_H_
