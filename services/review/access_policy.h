// The role tables of the review service's gRPC APIs (method short name -> roles; default
// deny), which its adapters' request guards apply.
#ifndef TRIAD_SERVICES_REVIEW_ACCESS_POLICY_H_
#define TRIAD_SERVICES_REVIEW_ACCESS_POLICY_H_

#include "common/auth/policy.h"

namespace triad::review {

// ReviewServicePolicy is the role table of triad.review.v1.ReviewService: experts do the review
// work (verdicts, knowledge), product heads manage experts and assignments, salespeople ask for
// reviews and read the knowledge base, production managers read all.
const auth::Policy& ReviewServicePolicy();

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_ACCESS_POLICY_H_
