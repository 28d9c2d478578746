// ReviewRepository: the review service's one storage interface — experts, review requests,
// the technical leads of won deals, solution versions and the knowledge-base index — and its
// RocksDB implementation on storage::Store. The domain (Reviews) reads and writes its records
// only through it; writes go into the caller's batch (the unit of work's transaction).
//
// Column families:
//   experts    expert id -> Expert
//   reviews    review id -> ReviewRequest
//   meta       ("lead", opportunity id) -> expert id; ("approver", opportunity id) -> the
//              expert whose approval opened the deal's gate; ("continuity", client id, expert
//              id) -> "" for each expert who decided a review of the client; ("indexed",
//              "decided") -> "" once the two indexes before cover every decided request
//   solutions  (solution id, version) -> Solution
//   kb_index   postings (see knowledge.cc) -> ""
#ifndef TRIAD_SERVICES_REVIEW_REPOSITORY_H_
#define TRIAD_SERVICES_REVIEW_REPOSITORY_H_

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/storage/store.h"
#include "rocksdb/iterator.h"
#include "rocksdb/write_batch.h"
#include "triad/review/v1/resources.pb.h"

namespace triad::review {

inline constexpr char kExpertsCf[] = "experts";
inline constexpr char kReviewsCf[] = "reviews";
inline constexpr char kMetaCf[] = "meta";
inline constexpr char kSolutionsCf[] = "solutions";
inline constexpr char kKbIndexCf[] = "kb_index";

// LeadKey is the meta key of an opportunity's technical lead.
std::string LeadKey(const std::string& opportunity_id);
// DecidedIndexedKey is the meta key marking that the approver and continuity indexes cover
// every decided request (written once by the backfill of a store that predates them).
std::string DecidedIndexedKey();
// UndecidedKey is the meta key listing an undecided request (PutReview keeps it: present while
// the request is undecided); UndecidedIndexedKey marks that those keys cover every undecided
// request (written once by the start-up backfill of a store that predates them), so start-up
// reads the undecided requests alone instead of scanning the whole history.
std::string UndecidedKey(const std::string& review_id);
std::string UndecidedIndexedKey();
// ApproverKey is the meta key of the expert whose approval opened an opportunity's gate.
std::string ApproverKey(const std::string& opportunity_id);

// RepositoryColumnFamilies lists the column families ReviewRepository needs (append-only).
std::vector<std::string> RepositoryColumnFamilies();

class ReviewRepository {
 public:
  virtual ~ReviewRepository() = default;

  // ScanExperts visits every expert in id order; DATA_LOSS on a record that does not decode.
  virtual absl::Status ScanExperts(const std::function<void(v1::Expert)>& fn) const = 0;
  // ScanReviews visits every review request in id order; DATA_LOSS as ScanExperts.
  virtual absl::Status ScanReviews(const std::function<void(v1::ReviewRequest)>& fn) const = 0;
  // ScanUndecidedReviews visits the requests the undecided index lists, in id order;
  // DATA_LOSS as ScanExperts and when a listed request is missing.
  virtual absl::Status ScanUndecidedReviews(
      const std::function<void(v1::ReviewRequest)>& fn) const = 0;
  // GetReview reads one review request; NOT_FOUND when absent, DATA_LOSS when it does not
  // decode.
  virtual absl::StatusOr<v1::ReviewRequest> GetReview(const std::string& id) const = 0;
  // ScanReviewsAfter visits the review requests after `after_key` in id order until `fn`
  // returns false; DATA_LOSS as ScanExperts.
  virtual absl::Status ScanReviewsAfter(std::string_view after_key,
                                        const std::function<bool(v1::ReviewRequest)>& fn) const = 0;
  // ScanLeads visits every (opportunity id, technical lead expert id).
  virtual absl::Status ScanLeads(
      const std::function<void(std::string opportunity, std::string expert)>& fn) const = 0;
  // GetLead, GetApprover and GetMeta read a meta record (nullopt when absent).
  virtual absl::StatusOr<std::optional<std::string>> GetLead(
      const std::string& opportunity) const = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetApprover(
      const std::string& opportunity) const = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key) const = 0;
  // ContinuityOf is the set of experts who decided a review of `client`.
  virtual absl::StatusOr<std::set<std::string>> ContinuityOf(const std::string& client) const = 0;
  // PutDecided adds the approver and continuity entries of a decided request to `batch`.
  virtual void PutDecided(rocksdb::WriteBatch& batch, const v1::ReviewRequest& r) = 0;
  // PutMeta adds a raw meta record to `batch`.
  virtual void PutMeta(rocksdb::WriteBatch& batch, const std::string& key,
                       const std::string& value) = 0;
  // PutExpert, PutReview and PutLead add a record to `batch` (PutReview also its undecided
  // index entry, or the entry's removal once the request is decided).
  virtual void PutExpert(rocksdb::WriteBatch& batch, const v1::Expert& e) = 0;
  virtual void PutReview(rocksdb::WriteBatch& batch, const v1::ReviewRequest& r) = 0;
  virtual void PutLead(rocksdb::WriteBatch& batch, const std::string& opportunity,
                       const std::string& expert) = 0;

  // GetSolution reads one version of a solution (0: the latest); NOT_FOUND when absent.
  virtual absl::StatusOr<v1::Solution> GetSolution(const std::string& id, int version) const = 0;
  // PutSolution adds a solution version to `batch`.
  virtual void PutSolution(rocksdb::WriteBatch& batch, const v1::Solution& s) = 0;
  // PutIndexEntry and DeleteIndexEntry add or remove a knowledge-base posting in `batch`.
  virtual void PutIndexEntry(rocksdb::WriteBatch& batch, std::string_view key) = 0;
  virtual void DeleteIndexEntry(rocksdb::WriteBatch& batch, std::string_view key) = 0;
  // NewIndexIterator opens an iterator over the postings (for leapfrog joins).
  virtual std::unique_ptr<rocksdb::Iterator> NewIndexIterator() const = 0;
  // ScanIndexReverse visits the postings starting with `prefix`, last first.
  virtual absl::Status ScanIndexReverse(std::string_view prefix,
                                        const storage::ScanFn& fn) const = 0;
};

// NewRocksReviewRepository returns the repository on `store` (not owned), opened with
// RepositoryColumnFamilies().
std::unique_ptr<ReviewRepository> NewRocksReviewRepository(storage::Store* store);

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_REPOSITORY_H_
