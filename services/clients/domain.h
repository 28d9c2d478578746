// ClientsDomain: the business logic of the clients service, independent of gRPC. Client records
// (lifecycle, field-level history, duplicates, merge), ownership and portfolio handover,
// contacts, touchpoints, service cases with SLA, follow-up plans, CSV import and the effects of
// consumed pipeline/production events. Every state change and its events are written in one
// events::Transaction committed by Outbox::Commit; read-modify-write runs under one mutex.
#ifndef TRIAD_SERVICES_CLIENTS_DOMAIN_H_
#define TRIAD_SERVICES_CLIENTS_DOMAIN_H_

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/api/limits.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/locks.h"
#include "services/clients/repository.h"
#include "triad/clients/v1/clients_admin_service.pb.h"
#include "triad/clients/v1/clients_service.pb.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/pipeline/v1/events.pb.h"
#include "triad/production/v1/events.pb.h"

namespace triad::api {
template <typename Msg>
class Replay;
}  // namespace triad::api

namespace triad::clients {

// Topics written by the service.
inline constexpr char kClientTopic[] = "triad.clients.client";
inline constexpr char kCaseTopic[] = "triad.clients.case";
inline constexpr char kFollowUpTopic[] = "triad.clients.followup";
inline constexpr char kPersonTopic[] = "triad.clients.person";
// Topics and event types consumed.
inline constexpr char kOpportunityTopic[] = "triad.pipeline.opportunity";
inline constexpr char kProjectTopic[] = "triad.production.project";
// The other services' offboarding reports.
inline constexpr char kPipelinePersonTopic[] = "triad.pipeline.person";
inline constexpr char kReviewPersonTopic[] = "triad.review.person";
inline constexpr char kProductionPersonTopic[] = "triad.production.person";
inline constexpr std::string_view kOpportunityWonType = contracts::pipeline::OpportunityWon::kType;
inline constexpr std::string_view kOpportunityLostType =
    contracts::pipeline::OpportunityLost::kType;
inline constexpr std::string_view kProjectCompletedType =
    contracts::production::ProjectCompleted::kType;
// The topic names above are the contracts' (checked at compile time; the deployment check
// reads these constants).
static_assert(std::string_view(kClientTopic) == contracts::clients::ClientTopic::kName);
static_assert(std::string_view(kCaseTopic) == contracts::clients::CaseTopic::kName);
static_assert(std::string_view(kFollowUpTopic) == contracts::clients::FollowUpTopic::kName);
static_assert(std::string_view(kOpportunityTopic) == contracts::pipeline::OpportunityTopic::kName);
static_assert(std::string_view(kProjectTopic) == contracts::production::ProjectTopic::kName);
static_assert(std::string_view(kPersonTopic) == contracts::clients::PersonTopic::kName);
static_assert(std::string_view(kPipelinePersonTopic) == contracts::pipeline::PersonTopic::kName);
static_assert(std::string_view(kReviewPersonTopic) == contracts::review::PersonTopic::kName);
static_assert(std::string_view(kProductionPersonTopic) ==
              contracts::production::PersonTopic::kName);

// The most data rows one ImportClientsCsv request may carry.
inline constexpr int kMaxCsvRows = 10000;

struct DomainOptions {
  // The clock; tests inject a fake one.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Clients moved per WriteBatch by a portfolio handover.
  int handover_chunk_size = 500;
  // Test hook simulating a crash: a handover stops (left RUNNING) after this many chunks.
  int handover_stop_after_chunks = 0;
  // Test hook simulating a crash: the clients step of an offboarding stops (left running) after
  // this many chunks.
  int offboarding_stop_after_chunks = 0;
  // Test hook simulating a crash: an import with a request_id stops (UNAVAILABLE) after
  // processing this many rows, leaving its per-row progress behind.
  int import_stop_after_rows = 0;
  // Delay between a project's completion and its post-delivery follow-up.
  absl::Duration post_delivery_delay = absl::Hours(24 * 7);
  // Largest CSV accepted by ImportClientsCsv, in bytes (api::kMaxCsvBytes, within the gRPC
  // message limit).
  size_t max_csv_bytes = api::kMaxCsvBytes;
  // Most data rows (after the header) of one ImportClientsCsv request; bigger files are sent in
  // chunks, each under its own request_id (what `triadctl clients import` does).
  int max_csv_rows = kMaxCsvRows;
};

// CadenceDays returns the follow-up cadence of a tier (strategic 30, key 30, standard 90,
// small 180 days).
int CadenceDays(v1::ClientTier tier);

// SlaDuration returns the resolution SLA of a case from its severity and the client's tier.
absl::Duration SlaDuration(v1::CaseSeverity severity, v1::ClientTier tier);

// CompletenessScore returns 0..100 from the required fields that are filled in.
int CompletenessScore(const v1::Client& client);

class ClientsDomain {
 public:
  // The store must have ColumnFamilies() plus "requests"; none of the pointers is owned.
  ClientsDomain(storage::Store* store, events::Outbox* outbox, ClientsRepository* repo,
                DomainOptions options = {});

  // --- Clients -------------------------------------------------------------------------------
  // CreateClient registers a client (status COLLECTED) with a cadence follow-up.
  absl::StatusOr<v1::Client> CreateClient(const v1::CreateClientRequest& req);
  // GetClient returns a client; a merged id returns the survivor.
  absl::StatusOr<v1::Client> GetClient(std::string_view client_id) const;
  // ListClients filters through an index when a filter is given.
  absl::StatusOr<v1::ListClientsResponse> ListClients(const v1::ListClientsRequest& req) const;
  // ListClientsEncoded answers as ListClients does, its page of clients built from their
  // stored encodings without decoding them: each client is an encoded field of the response
  // (api::AddEncodedField), so the response's `clients` is empty until it is serialised and
  // read back. The gRPC service answers with it; ListClients reads it back.
  absl::StatusOr<v1::ListClientsResponse> ListClientsEncoded(
      const v1::ListClientsRequest& req) const;
  // UpdateClient applies the masked fields when the etag matches.
  absl::StatusOr<v1::Client> UpdateClient(const v1::UpdateClientRequest& req);
  // VerifyClient moves COLLECTED -> VERIFIED recording the completeness score.
  absl::StatusOr<v1::Client> VerifyClient(const v1::VerifyClientRequest& req);
  // ArchiveClient moves COLLECTED/VERIFIED -> ARCHIVED.
  absl::StatusOr<v1::Client> ArchiveClient(const v1::ArchiveClientRequest& req);
  // RestoreClient moves ARCHIVED back to the status it had before.
  absl::StatusOr<v1::Client> RestoreClient(const v1::RestoreClientRequest& req);
  // FindDuplicates lists the clients sharing a normalised key with `req.client`.
  absl::StatusOr<v1::FindDuplicatesResponse> FindDuplicates(
      const v1::FindDuplicatesRequest& req) const;
  // MergeClients merges `merged_id` into `survivor_id`.
  absl::StatusOr<v1::Client> MergeClients(const v1::MergeClientsRequest& req);
  // ListClientHistory and ListActorHistory page through field-level history, oldest first.
  absl::StatusOr<v1::ListHistoryResponse> ListClientHistory(
      const v1::ListClientHistoryRequest& req) const;
  absl::StatusOr<v1::ListHistoryResponse> ListActorHistory(
      const v1::ListActorHistoryRequest& req) const;

  // --- Ownership -----------------------------------------------------------------------------
  // ReassignClient gives one client a new owner (a reason is required).
  absl::StatusOr<v1::Client> ReassignClient(const v1::ReassignClientRequest& req);
  // HandOverPortfolio moves every client of from_owner_id to to_owner_id in chunks, persisting
  // progress with each chunk; a retry with the same request_id resumes.
  absl::StatusOr<v1::Handover> HandOverPortfolio(const v1::HandOverPortfolioRequest& req);
  // GetHandover returns a handover with its progress.
  absl::StatusOr<v1::Handover> GetHandover(std::string_view handover_id) const;
  // ResumeHandovers finishes every handover left RUNNING (call at start-up).
  absl::Status ResumeHandovers();

  // --- Offboarding (offboarding.cc) ----------------------------------------------------------
  // OffboardPerson marks a person inactive, announces it (PersonOffboarded, consumed by
  // pipeline, review and production) and moves what they hold here (owned clients with their
  // follow-ups, open assigned cases) in chunks to the successor or among the team's members; a
  // retry with the same request_id resumes.
  absl::StatusOr<v1::Offboarding> OffboardPerson(const v1::OffboardPersonRequest& req);
  // GetOffboarding returns an offboarding with the progress of each service's step.
  absl::StatusOr<v1::Offboarding> GetOffboarding(std::string_view offboarding_id) const;
  // ListOffboardings pages through offboardings (newest id last), optionally of one person.
  absl::StatusOr<v1::ListOffboardingsResponse> ListOffboardings(
      const v1::ListOffboardingsRequest& req) const;
  // ListInactiveHoldings pages through the clients owned and open cases assigned to inactive
  // people.
  absl::StatusOr<v1::ListInactiveHoldingsResponse> ListInactiveHoldings(
      const v1::ListInactiveHoldingsRequest& req) const;
  // ResumeOffboardings indexes the open cases by assignee once (stores written before the
  // index) and finishes the clients step of every offboarding left running (call at start-up).
  absl::Status ResumeOffboardings();
  // ApplyOffboardingProgress records a service's report (`service` is "pipeline", "review" or
  // "production") in the offboarding's step; the caller holds mutex() until `txn` commits.
  absl::Status ApplyOffboardingProgress(std::string_view service, std::string_view offboarding_id,
                                        const google::protobuf::Map<std::string, int64_t>& moved,
                                        int64_t remaining, bool done, events::Transaction& txn);

  // --- Contacts and touchpoints --------------------------------------------------------------
  // CreateContact adds a person at the client.
  absl::StatusOr<v1::Contact> CreateContact(const v1::CreateContactRequest& req);
  // ListContacts pages through a client's contacts.
  absl::StatusOr<v1::ListContactsResponse> ListContacts(const v1::ListContactsRequest& req) const;
  // CreateTouchpoint records an interaction.
  absl::StatusOr<v1::Touchpoint> CreateTouchpoint(const v1::CreateTouchpointRequest& req);
  // ListTouchpoints pages through a client's touchpoints.
  absl::StatusOr<v1::ListTouchpointsResponse> ListTouchpoints(
      const v1::ListTouchpointsRequest& req) const;

  // --- Service cases -------------------------------------------------------------------------
  // OpenCase opens a case with its SLA due time.
  absl::StatusOr<v1::ServiceCase> OpenCase(const v1::OpenCaseRequest& req);
  // GetCase returns one case.
  absl::StatusOr<v1::ServiceCase> GetCase(std::string_view case_id) const;
  // ListCases lists a client's cases or the breached ones.
  absl::StatusOr<v1::ListCasesResponse> ListCases(const v1::ListCasesRequest& req) const;
  // AssignCase assigns a case to a person.
  absl::StatusOr<v1::ServiceCase> AssignCase(const v1::AssignCaseRequest& req);
  // TransitionCase moves a case along open -> in_progress -> resolved -> closed / reopened.
  absl::StatusOr<v1::ServiceCase> TransitionCase(const v1::TransitionCaseRequest& req);
  // ScanSlaBreaches marks the cases past their SLA due time as breached (one event each).
  absl::StatusOr<v1::ScanSlaBreachesResponse> ScanSlaBreaches();

  // --- Follow-ups ----------------------------------------------------------------------------
  // GetFollowUpPlan returns a client's cadence and pending follow-ups.
  absl::StatusOr<v1::FollowUpPlan> GetFollowUpPlan(std::string_view client_id) const;
  // ListOverdueFollowUps lists the pending follow-ups past due of one owner's clients.
  absl::StatusOr<v1::ListOverdueFollowUpsResponse> ListOverdueFollowUps(
      const v1::ListOverdueFollowUpsRequest& req) const;
  // CompleteFollowUp records the touchpoint, completes the follow-up, schedules the next one.
  absl::StatusOr<v1::CompleteFollowUpResponse> CompleteFollowUp(
      const v1::CompleteFollowUpRequest& req);
  // ScanDueFollowUps emits one follow-up.due event per follow-up that has fallen due.
  absl::StatusOr<v1::ScanDueFollowUpsResponse> ScanDueFollowUps();

  // --- Right to erasure (erasure.cc) ----------------------------------------------------------
  // ErasePersonalData blanks the personal data kept of a client and of every id merged into it
  // (see clients_admin_service.proto for what is personal), records the erasure in the history
  // and emits ClientPersonalDataErased; idempotent with request_id.
  absl::StatusOr<v1::ErasePersonalDataResponse> ErasePersonalData(
      const v1::ErasePersonalDataRequest& req);

  // --- Import --------------------------------------------------------------------------------
  // ImportClientsCsv creates one client per valid row; each row is all-or-nothing.
  absl::StatusOr<v1::ImportClientsCsvResponse> ImportClientsCsv(
      const v1::ImportClientsCsvRequest& req);

  // --- Consumed events -----------------------------------------------------------------------
  // RegisterHandlers registers the consumed event types on `consumer` (EventHandlers()). The
  // consumer must be created with ConsumerOptions::apply_mutex = &mutex(), so that each event's
  // effect is read, written and committed under the lock the RPCs use.
  void RegisterHandlers(events::IdempotentConsumer& consumer);
  // mutex is the lock that serialises every read-modify-write of this domain.
  util::SharedMutex& mutex() const { return mu_; }
  // EventHandlers lists each consumed ce_type with the handler the consumer runs for it
  // (payload decoding included: a payload that does not decode is INVALID_ARGUMENT).
  std::vector<std::pair<std::string, events::Handler>> EventHandlers();
  // ApplyOpportunityWon / Lost / ProjectCompleted write an event's effect into `txn`. The caller
  // holds mutex() until `txn` is committed (the consumer does, through apply_mutex).
  absl::Status ApplyOpportunityWon(const pipeline::v1::OpportunityWon& msg,
                                   events::Transaction& txn);
  absl::Status ApplyOpportunityLost(const pipeline::v1::OpportunityLost& msg,
                                    events::Transaction& txn);
  absl::Status ApplyProjectCompleted(const production::v1::ProjectCompleted& msg,
                                     events::Transaction& txn);

 private:
  struct CreateOutcome {
    v1::Client client;
    std::vector<v1::DuplicateCandidate> duplicates;
  };
  absl::Time Now() const { return options_.clock(); }
  absl::StatusOr<v1::Client> LoadClient(std::string_view client_id, bool follow_merge) const;
  absl::StatusOr<v1::Client> LoadLiveClient(std::string_view client_id) const;
  // WithRepeatBusiness sets each client's repeat_business from its own record and those of
  // the clients merged into it (one batched read for all of them).
  absl::Status WithRepeatBusiness(v1::Client& client) const;
  absl::Status WithRepeatBusiness(const std::vector<v1::Client*>& clients) const;
  // RepeatBusinessOf sums, for each client, the repeat-business records of the ids in
  // `ids[i]` (the client's own id, then those of the clients merged into it).
  absl::StatusOr<std::vector<v1::RepeatBusiness>> RepeatBusinessOf(
      const std::vector<std::vector<std::string_view>>& ids) const;
  absl::StatusOr<std::vector<v1::DuplicateCandidate>> Duplicates(const v1::Client& probe,
                                                                 std::string_view self_id) const;
  // CreateLocked creates a client unless it has duplicates (and !force), recording the response
  // with `replay` when given; `extra` may add writes to the creating transaction (e.g. an
  // import's per-row progress record).
  absl::StatusOr<CreateOutcome> CreateLocked(
      const v1::Client& input, bool force, const common::v1::Actor& actor,
      const api::Replay<v1::Client>* replay,
      const std::function<absl::Status(events::Transaction&, const v1::Client&)>& extra = nullptr);
  // RescheduleCadence moves the pending cadence follow-ups of a client whose tier (and so its
  // cadence) changed from `before` to `after`, adding one history change per moved follow-up.
  absl::Status RescheduleCadence(events::Transaction& txn, const v1::Client& before,
                                 const v1::Client& after, std::vector<v1::FieldChange>* history);
  // Transition applies a lifecycle change (Verify/Archive/RestoreClientRequest).
  template <typename Req>
  absl::StatusOr<v1::Client> Transition(const Req& req, std::string_view action);
  absl::Status WriteClient(events::Transaction& txn, const v1::Client* before, v1::Client& after,
                           std::string_view action, const common::v1::Actor& actor,
                           std::vector<v1::FieldChange> changes, std::string_view handover_id);
  absl::Status ChangeOwner(events::Transaction& txn, v1::Client client,
                           const std::string& new_owner, const common::v1::Actor& actor,
                           std::string_view handover_id);
  absl::Status ScheduleFollowUp(events::Transaction& txn, const v1::Client& client,
                                v1::FollowUpKind kind, absl::Time due, std::string_view project_id,
                                std::string follow_up_id, v1::FollowUp* out);
  absl::StatusOr<v1::Handover> RunHandover(v1::Handover handover);
  // CheckPersonActive is FAILED_PRECONDITION naming `field` when `person_id` was offboarded.
  absl::Status CheckPersonActive(std::string_view field, std::string_view person_id) const;
  // RunOffboarding moves the person's clients and cases chunk by chunk (clients step).
  absl::StatusOr<v1::Offboarding> RunOffboarding(std::string offboarding_id);
  // OffboardChunkLocked moves one chunk into `txn`; false when nothing was left to move.
  absl::StatusOr<bool> OffboardChunkLocked(v1::Offboarding& o, events::Transaction& txn);
  // TeamMembersLocked lists the active owners of the team's clients other than `person_id`.
  absl::StatusOr<std::vector<std::string>> TeamMembersLocked(std::string_view team_id,
                                                             std::string_view person_id) const;
  absl::StatusOr<v1::ServiceCase> LoadCase(std::string_view case_id) const;
  absl::Status WriteCase(events::Transaction& txn, const v1::ServiceCase* before,
                         v1::ServiceCase& after);
  v1::CaseSummary CaseSummaryOf(const v1::ServiceCase& c) const;
  v1::FollowUpSummary FollowUpSummaryOf(const v1::FollowUp& f, std::string_view owner) const;

  storage::Store* store_;
  events::Outbox* outbox_;
  ClientsRepository* repo_;
  DomainOptions options_;
  // Serialises every read-modify-write (etag checks, duplicate checks, idempotency). Creates
  // hold it shared, side by side, and take create_locks_ on their duplicate keys and request
  // id; every other write and consumed event holds it alone. Writers go first: a waiting one
  // stops new creates, so a stream of creates cannot keep it out.
  mutable util::SharedMutex mu_{util::SharedMutex::Preference::kWriters};
  util::KeyLocks create_locks_;
};

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_DOMAIN_H_
