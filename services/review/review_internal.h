// Internal helpers of the Reviews domain shared by its .cc files: the unit of work, limits and
// audit helpers (column family names and keys live with the repository).
#ifndef TRIAD_SERVICES_REVIEW_REVIEW_INTERNAL_H_
#define TRIAD_SERVICES_REVIEW_REVIEW_INTERNAL_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/api/limits.h"
#include "common/api/validation.h"
#include "common/events/outbox.h"
#include "services/review/repository.h"
#include "services/review/review.h"

namespace triad::review {

// Limits of the free-text and list fields (documented in the protos).
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxDomainLength = 100;
inline constexpr size_t kMaxReasonLength = 500;

// CheckActor validates the actor of a write with the review service's reason limit
// (kMaxReasonLength); see api::CheckActor.
inline absl::Status CheckActor(const common::v1::Actor& actor, bool reason_required) {
  return api::CheckActor(actor, reason_required, kMaxReasonLength);
}
inline constexpr size_t kMaxTitleLength = 300;
inline constexpr size_t kMaxLongText = api::kMaxLongTextLength;
// Knowledge base documents: versions kept per solution (every version stays readable) and
// distinct words indexed per version (each an index entry written with it).
inline constexpr int kMaxSolutionVersions = 100;
inline constexpr int kMaxIndexedWords = 3000;
inline constexpr int kMaxDomains = 20;
inline constexpr int kMaxLeaveWindows = 50;
inline constexpr int kMaxConflicts = 200;
inline constexpr int kMaxAcceptableDomains = 10;
inline constexpr int kMaxRisks = 50;
inline constexpr int kMaxHistory = 50;
inline constexpr int kMaxAssignments = 20;
inline constexpr double kMaxCapacityHours = 168;
inline constexpr double kMaxEffortHours = 1'000'000;

// Work is one unit of work: the copies of the records it changes (read before the committed
// state) and the transaction that will write them with their events.
struct Reviews::Work {
  explicit Work(events::Transaction& t) : txn(t) {}
  events::Transaction& txn;
  std::map<std::string, v1::Expert> experts;
  std::map<std::string, v1::ReviewRequest> reviews;
  std::map<std::string, std::string> leads;
  // Decided requests read from the repository while the unit of work looked at them (the
  // committed state keeps only undecided requests in memory; see Reviews::reviews_).
  mutable std::map<std::string, v1::ReviewRequest> decided;
};

// IsOpen is true for a request assigned to an expert and not decided.
bool IsOpen(const v1::ReviewRequest& r);

// AddAudit appends an audit entry (keeping the last kMaxHistory).
void AddAudit(google::protobuf::RepeatedPtrField<v1::AuditEntry>* history, absl::Time now,
              const std::string& actor, const std::string& action, const std::string& detail);

// Tokenize splits text into the distinct lower-case words of the knowledge-base index (runs of
// ASCII letters and digits and non-ASCII bytes, 2 to 40 bytes).
std::vector<std::string> Tokenize(std::string_view text);

// TruncateUtf8 cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string TruncateUtf8(std::string_view s, size_t max);

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_REVIEW_INTERNAL_H_
