// The role tables of the review service (see access_policy.h). PolicyKind::kServiceApi adds
// `operator` and `service` to every entry, kAdminApi adds `operator` only.
#include "services/review/access_policy.h"

namespace triad::review {
namespace {

using auth::kExpert;
using auth::kManager;
using auth::kProductHead;
using auth::kReadEverything;
using auth::kSellers;
using auth::Role;
using auth::RoleSet;

}  // namespace

const auth::Policy& ReviewServicePolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.review.v1.ReviewService", auth::PolicyKind::kServiceApi,
                       {
                           {"CreateExpert", kProductHead},
                           {"GetExpert", kExpert | kReadEverything},
                           {"ListExperts", kExpert | kReadEverything},
                           {"UpdateExpert", kProductHead},
                           {"SetExpertActive", kProductHead},
                           {"CreateReviewRequest", kSellers | kProductHead},
                           {"GetReviewRequest", kSellers | kExpert | kReadEverything},
                           {"ListReviewRequests", kSellers | kExpert | kReadEverything},
                           {"AcceptReview", kExpert},
                           {"DeclineReview", kExpert},
                           {"StartReview", kExpert},
                           {"AssignReview", kProductHead},
                           {"RecordVerdict", kExpert},
                           {"GetLoadView", kExpert | kReadEverything},
                           {"CreateSolution", kExpert | kProductHead},
                           {"GetSolution", kSellers | kExpert | kReadEverything},
                           {"UpdateSolution", kExpert | kProductHead},
                           {"PublishSolution", kExpert | kProductHead},
                           {"CreateSolutionVersion", kExpert | kProductHead},
                           {"SearchSolutions", kSellers | kExpert | kReadEverything},
                           {"SimilarSolutions", kSellers | kExpert | kReadEverything},
                           {"ListInactiveHoldings", kManager | kReadEverything},
                       });
  return *policy;
}

}  // namespace triad::review
