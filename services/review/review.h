// Reviews: the domain of the review service (no gRPC here). It owns experts and review requests
// (opportunity gates and milestone sign-offs), runs the assignment policy (policy.h) on every
// new, declined or relieved request and drains the queue when capacity frees up, records
// verdicts and sign-offs, and commits every change with its events through the transactional
// outbox. State lives in RocksDB and in memory (loaded at Create); a change reaches memory only
// once its batch is committed.
#ifndef TRIAD_SERVICES_REVIEW_REVIEW_H_
#define TRIAD_SERVICES_REVIEW_REVIEW_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/events/envelope.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/locks.h"
#include "services/review/open_work.h"
#include "services/review/policy.h"
#include "services/review/repository.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/pipeline/v1/events.pb.h"
#include "triad/production/v1/events.pb.h"
#include "triad/review/v1/review_service.pb.h"

namespace triad::review {

struct ReviewOptions {
  // Consumer group of the consumed events (namespaces the inbox records).
  std::string consumer_group = "triad-review";
  // Clock used for every timestamp (tests inject their own).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Hours a review requested by an event is expected to take.
  double event_review_hours = 4;
  // Hours a milestone sign-off is expected to take.
  double sign_off_hours = 2;
  // Proficiency required of reviews requested by events (relaxed when nobody fits).
  v1::Proficiency event_min_proficiency = v1::PROFICIENCY_SENIOR;
  // Due time of a request whose event carries none: now + this.
  absl::Duration default_due = absl::Hours(24 * 7);
  // After an escalation, how long a request may stay undecided before it escalates again.
  absl::Duration escalation_sla = absl::Hours(24);
};

// ColumnFamilies lists the column families the domain needs (append-only).
std::vector<std::string> ColumnFamilies();

class Reviews {
 public:
  // Topics lists the topics the service writes.
  static std::vector<std::string> Topics();
  // ConsumedTopics lists the topics the service consumes.
  static std::vector<std::string> ConsumedTopics();

  // Create binds the domain to a store opened with ColumnFamilies() plus "outbox", "inbox" and
  // "requests", and loads the state into memory.
  static absl::StatusOr<std::unique_ptr<Reviews>> Create(storage::Store* store,
                                                         events::Outbox* outbox,
                                                         ReviewOptions options = {});

  // CreateExpert registers an expert (active unless the request says otherwise is ignored:
  // new experts are active) and serves the queue with the new capacity.
  absl::StatusOr<v1::Expert> CreateExpert(const v1::CreateExpertRequest& req);
  // GetExpert returns an expert.
  absl::StatusOr<v1::Expert> GetExpert(const v1::GetExpertRequest& req) const;
  // ListExperts lists experts by id, optionally of one domain.
  absl::StatusOr<v1::ListExpertsResponse> ListExperts(const v1::ListExpertsRequest& req) const;
  // UpdateExpert applies the masked fields; work that no longer fits (leave now, a new
  // conflict, a removed domain, less capacity) is re-assigned; freed capacity serves the queue.
  absl::StatusOr<v1::Expert> UpdateExpert(const v1::UpdateExpertRequest& req);
  // SetExpertActive (de)activates an expert; deactivation re-assigns all open work.
  absl::StatusOr<v1::Expert> SetExpertActive(const v1::SetExpertActiveRequest& req);

  // CreateReviewRequest enters a request and assigns it (or queues and escalates it).
  absl::StatusOr<v1::ReviewRequest> CreateReviewRequest(const v1::CreateReviewRequestRequest& req);
  // GetReviewRequest returns a request.
  absl::StatusOr<v1::ReviewRequest> GetReviewRequest(const v1::GetReviewRequestRequest& req) const;
  // ListReviewRequests lists requests by id (creation order) with optional filters.
  absl::StatusOr<v1::ListReviewRequestsResponse> ListReviewRequests(
      const v1::ListReviewRequestsRequest& req) const;
  // AcceptReview: the assigned expert accepts.
  absl::StatusOr<v1::ReviewRequest> AcceptReview(const v1::AcceptReviewRequest& req);
  // DeclineReview: the assigned expert declines; the policy re-assigns without them.
  absl::StatusOr<v1::ReviewRequest> DeclineReview(const v1::DeclineReviewRequest& req);
  // StartReview: the accepted review is in progress.
  absl::StatusOr<v1::ReviewRequest> StartReview(const v1::StartReviewRequest& req);
  // AssignReview: manual override, audited; never beyond capacity or across a conflict.
  absl::StatusOr<v1::ReviewRequest> AssignReview(const v1::AssignReviewRequest& req);
  // RecordVerdict records the verdict, emits it (ReviewVerdictRecorded, or SignOffCompleted for
  // a sign-off), frees the expert's capacity and serves the queue.
  absl::StatusOr<v1::ReviewRequest> RecordVerdict(const v1::RecordVerdictRequest& req);
  // GetLoadView reports load against capacity per expert (by week) and domain, and the queue.
  absl::StatusOr<v1::GetLoadViewResponse> GetLoadView(const v1::GetLoadViewRequest& req) const;

  // CreateSolution enters a solution or standard (version 1, a draft or published at once);
  // from an approved review it takes the review's domain, deal and solution summary.
  absl::StatusOr<v1::Solution> CreateSolution(const v1::CreateSolutionRequest& req);
  // GetSolution returns a version of a solution (0: the latest).
  absl::StatusOr<v1::Solution> GetSolution(const v1::GetSolutionRequest& req) const;
  // UpdateSolution changes the latest version while it is a draft.
  absl::StatusOr<v1::Solution> UpdateSolution(const v1::UpdateSolutionRequest& req);
  // PublishSolution publishes the draft and supersedes the previous version.
  absl::StatusOr<v1::Solution> PublishSolution(const v1::PublishSolutionRequest& req);
  // CreateSolutionVersion starts a draft from the latest (published) version.
  absl::StatusOr<v1::Solution> CreateSolutionVersion(const v1::CreateSolutionVersionRequest& req);
  // SearchSolutions finds solutions by domain, tag and words through the index.
  absl::StatusOr<v1::SearchSolutionsResponse> SearchSolutions(
      const v1::SearchSolutionsRequest& req) const;
  // SimilarSolutions lists published solutions of the request's domain sharing its tags.
  absl::StatusOr<v1::SimilarSolutionsResponse> SimilarSolutions(
      const v1::SimilarSolutionsRequest& req) const;

  // ScanEscalations escalates every undecided request whose SLA (next_escalation_time: the due
  // time, then escalation_sla after each escalation) has passed: one level up each time, and an
  // assigned request not yet in review goes to another expert who fits when there is one (else
  // it stays). Run periodically; returns the number of requests escalated.
  absl::StatusOr<int> ScanEscalations();

  // ListInactiveHoldings pages through the open reviews and sign-offs assigned to inactive
  // (offboarded or deactivated) experts.
  absl::StatusOr<v1::ListInactiveHoldingsResponse> ListInactiveHoldings(
      const v1::ListInactiveHoldingsRequest& req) const;

  // ScanLeave re-assigns the open work of experts whose leave has started and serves the queue
  // (run periodically); returns the number of requests moved.
  absl::StatusOr<int> ScanLeave();

  // RegisterHandlers registers the consumed events on `consumer` (created with
  // apply_mutex = &mutex()).
  void RegisterHandlers(events::IdempotentConsumer& consumer);
  // HandleEvent applies one consumed event exactly once (ApplyOnce), outside a Kafka consumer.
  absl::Status HandleEvent(const events::Event& e);

  // mutex serialises RPCs with consumed events.
  util::SharedMutex& mutex() { return mu_; }

  // ReviewsInMemory is the number of review requests held in memory: the undecided ones (tests
  // and the scale benchmark prove with it that decided history stays on disk).
  size_t ReviewsInMemory() {
    std::shared_lock lock(mu_);
    return reviews_.size();
  }

 private:
  struct Work;

  Reviews(storage::Store* store, events::Outbox* outbox, ReviewOptions options)
      : store_(store),
        outbox_(outbox),
        options_(std::move(options)),
        repo_(NewRocksReviewRepository(store)) {}
  absl::Status Load();

  // Consumed events, applied into the consumer's transaction (mutex held by the caller).
  absl::Status OnReviewRequested(const events::Event& e, const pipeline::v1::ReviewRequested& m,
                                 events::Transaction& txn);
  absl::Status OnOpportunityWon(const events::Event& e, const pipeline::v1::OpportunityWon& m,
                                events::Transaction& txn);
  absl::Status OnSignOffRequested(const events::Event& e, const production::v1::SignOffRequested& m,
                                  events::Transaction& txn);
  // OnPersonOffboarded (offboarding.cc) marks the person inactive, deactivates them as an
  // expert, re-assigns their open work by the policy (queued when nobody fits) and reports.
  absl::Status OnPersonOffboarded(const events::Event& e, const clients::v1::PersonOffboarded& m,
                                  events::Transaction& txn);
  // CheckPersonActiveLocked is FAILED_PRECONDITION naming `field` for an offboarded person.
  absl::Status CheckPersonActiveLocked(std::string_view field, const std::string& person) const;
  absl::Status OnClientsMerged(const events::Event& e, const clients::v1::ClientsMerged& m,
                               events::Transaction& txn);

  // State access through the unit of work (its copies first, then the committed state).
  const v1::Expert* ExpertLocked(const Work& w, const std::string& id) const;
  v1::Expert* MutableExpertLocked(Work& w, const std::string& id);
  // ReviewLocked and MutableReviewLocked read a decided request from the repository (nullptr
  // when it is absent or unreadable); ReviewByIdLocked is the committed request.
  const v1::ReviewRequest* ReviewLocked(const Work& w, const std::string& id) const;
  v1::ReviewRequest* MutableReviewLocked(Work& w, const std::string& id);
  absl::StatusOr<v1::ReviewRequest> ReviewByIdLocked(const std::string& id) const;
  std::vector<std::string> QueuedLocked(const Work& w) const;
  // QueueLengthLocked counts the queued requests of `domain` (as changed by `w`) from the
  // committed per-domain count and the work's copies: O(copies), not O(queue).
  int QueueLengthLocked(const Work& w, const std::string& domain) const;
  std::vector<std::string> OpenOfExpertLocked(const Work& w, const std::string& expert) const;

  // Policy steps.
  std::vector<const v1::Expert*> CandidatesLocked(const Work& w, const PolicyRequest& p) const;
  // EnterLocked stores a new request and assigns it (or queues and escalates it).
  absl::Status EnterLocked(Work& w, v1::ReviewRequest r, const std::string& actor);
  // AssignLocked runs the policy on `review_id` (released from any expert first; `relieve`
  // is excluded too). Returns true when an expert took it.
  absl::StatusOr<bool> AssignLocked(Work& w, const std::string& review_id, const std::string& actor,
                                    const std::string& why, const std::string& relieve,
                                    bool escalate);
  void TakeLocked(Work& w, v1::ReviewRequest& r, const v1::Expert& e, v1::Assignment a);
  // EscalateLocked raises the request's escalation level, sets its next SLA and emits
  // ReviewRequestEscalated (`previous`: the expert it was with; `taken_by`: the one it went to).
  void EscalateLocked(Work& w, v1::ReviewRequest& r, const std::string& reason,
                      const std::string& previous, const std::string& taken_by);
  void ReleaseLocked(Work& w, v1::ReviewRequest& r);
  absl::Status DrainQueueLocked(Work& w, const std::string& actor);
  // RelieveLocked re-assigns every open request of `expert`; returns how many moved.
  absl::StatusOr<int> RelieveLocked(Work& w, const std::string& expert, const std::string& actor,
                                    const std::string& why);

  // Finishing a unit of work.
  void FinishLocked(Work& w);
  absl::Status CommitLocked(Work& w);

  // Workflow helper shared by accept/start/decline/verdict.
  absl::StatusOr<v1::ReviewRequest*> OwnedOpenLocked(Work& w, const std::string& review_id,
                                                     const std::string& etag,
                                                     const common::v1::Actor& actor);

  // Knowledge-base storage: a version (0: the latest), and writing the latest version with its
  // index entries (replacing those of `previous_latest`).
  absl::StatusOr<v1::Solution> LatestSolution(const std::string& id, int version) const;
  void PutSolution(events::Transaction& txn, const v1::Solution* previous_latest,
                   const v1::Solution& s);
  void EmitPublished(events::Transaction& txn, const v1::Solution& s);
  // PutSolutionVersion writes a version that is not the latest (its index entries are not
  // touched).
  void PutSolutionVersion(events::Transaction& txn, const v1::Solution& s);
  // PublishFromVerdictLocked creates (or, with the request's solution_id, versions) the
  // solution of an approved review from its verdict and publishes it into `txn`; returns its id.
  absl::StatusOr<std::string> PublishFromVerdictLocked(events::Transaction& txn,
                                                       const v1::ReviewRequest& r,
                                                       const std::string& actor);

  // TransitionLocked moves the assigned expert's request from `from` to `to` (accept, start).
  absl::StatusOr<v1::ReviewRequest> TransitionLocked(
      std::string_view method, const google::protobuf::Message& req, const std::string& review_id,
      const std::string& etag, const std::string& request_id, const common::v1::Actor& actor,
      v1::ReviewState from, v1::ReviewState to, const std::string& action);

  // store_ serves the kit (request replay, the consumer's inbox); records go through repo_.
  storage::Store* store_;
  events::Outbox* outbox_;
  ReviewOptions options_;
  std::unique_ptr<ReviewRepository> repo_;
  mutable util::SharedMutex mu_;
  // Committed state (guarded by mu_).
  std::map<std::string, v1::Expert> experts_;
  // The undecided requests (queued or with an expert): the policy's working set. Decided
  // requests, the bulk of the history, stay in the repository and are read when asked for.
  std::map<std::string, v1::ReviewRequest> reviews_;
  std::map<std::string, std::set<std::string>> by_domain_;
  std::set<std::string> queue_;
  // How many of queue_ ask for each domain (kept with queue_; escalations report it).
  std::map<std::string, int> queued_by_domain_;
  std::map<std::string, std::set<std::string>> open_by_expert_;
  // The same open work by its due time (-> estimated hours) per expert, kept with
  // open_by_expert_ (AddOpenWork / RemoveOpenWork): the load view sums it by week without
  // looking each request up, and repeats the sums until the work changes or an item crosses a
  // week's boundary.
  std::map<std::string, OpenWork> open_work_;
  void AddOpenWork(const v1::ReviewRequest& r);
  void RemoveOpenWork(const v1::ReviewRequest& r);
  // The continuity (client -> experts who decided its reviews), the approver of each deal's
  // gate and the technical leads are read from the repository's meta records when needed.
  // Open requests by their origin (opportunity+gate or project+phase): one at a time.
  std::map<std::string, std::string> open_by_origin_;
};

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_REVIEW_H_
