// The assignment policy of review requests, as a pure function over the experts it is given:
// an active expert of the request's domain, not on leave before the due time, without a
// conflict of interest with the client, who has not declined the request and whose free
// capacity covers the request's hours; lowest load ratio first (ties: fewer open reviews, then
// expert id), preferring an expert who reviewed the client before (continuity) among those who
// fit. When nobody fits, the rules are relaxed in order: a lower proficiency of the same
// domain, then a neighbouring domain the request marks acceptable. Capacity and conflicts are
// never relaxed.
#ifndef TRIAD_SERVICES_REVIEW_POLICY_H_
#define TRIAD_SERVICES_REVIEW_POLICY_H_

#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "triad/review/v1/resources.pb.h"

namespace triad::review {

// The most candidates an Assignment records (candidates_total counts all).
inline constexpr int kMaxRecordedCandidates = 50;

// An expert back from a leave of at least kRampLeave is not flooded: for kRampTime after the
// leave their capacity counts at kRampShare.
inline constexpr absl::Duration kRampLeave = absl::Hours(24 * 3);
inline constexpr absl::Duration kRampTime = absl::Hours(24 * 7);
inline constexpr double kRampShare = 0.5;

// PolicyRequest is what the policy needs to know of a request.
struct PolicyRequest {
  std::string domain;
  v1::Proficiency min_proficiency = v1::PROFICIENCY_UNSPECIFIED;
  std::vector<std::string> acceptable_domains;
  std::string client_id;
  double hours = 0;
  absl::Time now;
  absl::Time due;
  // Experts never offered this request (they declined it, or are being relieved of it).
  std::set<std::string> excluded;
  // Experts who reviewed the client before.
  std::set<std::string> continuity;
};

// PolicyRequestOf builds the PolicyRequest of a stored request at `now`.
PolicyRequest PolicyRequestOf(const v1::ReviewRequest& r, absl::Time now);

// OnLeave is true when a leave window of `e` overlaps [from, to] (a point when from == to).
bool OnLeave(const v1::Expert& e, absl::Time from, absl::Time to);

// EffectiveCapacity is the expert's weekly capacity at `now`: reduced to kRampShare while the
// expert is back from a long leave (see kRampLeave).
double EffectiveCapacity(const v1::Expert& e, absl::Time now);

// FreeHours is the expert's effective capacity at `now` minus its load.
double FreeHours(const v1::Expert& e, absl::Time now);

// LoadRatio is load / capacity (0 for a zero capacity).
double LoadRatio(const v1::Expert& e);

// LoadRatioAt is load / effective capacity at `now`.
double LoadRatioAt(const v1::Expert& e, absl::Time now);

// ProficiencyIn is the expert's level in `domain` (UNSPECIFIED when it has none).
v1::Proficiency ProficiencyIn(const v1::Expert& e, const std::string& domain);

// PassOverReason says why `e` cannot take the request `r` at all (inactive, on leave, conflict
// of interest, declined, over capacity), or "" when it could.
std::string PassOverReason(const v1::Expert& e, const PolicyRequest& r);

// Decide runs the policy over `experts` (any order; experts of other domains are ignored) and
// returns the decision: expert_id empty when nobody fits (the request queues). The time, actor
// and reason prefix are the caller's.
v1::Assignment Decide(const PolicyRequest& r, const std::vector<const v1::Expert*>& experts);

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_POLICY_H_
