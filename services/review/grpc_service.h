// ReviewGrpcService: the thin gRPC adapter of the review domain. Each RPC runs the request guard
// (common/auth/guard.h: authentication, ReviewServicePolicy, request check, actor from the
// principal), calls the domain and maps its absl::Status once; no logic lives here.
#ifndef TRIAD_SERVICES_REVIEW_GRPC_SERVICE_H_
#define TRIAD_SERVICES_REVIEW_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/grpc_methods.h"
#include "common/auth/guard.h"
#include "services/review/review.h"
#include "triad/review/v1/review_service.grpc.pb.h"

namespace triad::review {

inline constexpr char kServiceFullName[] = "triad.review.v1.ReviewService";

// The RPCs of triad.review.v1.ReviewService: (method, request, response).
// Writes are answered on the sync API (they may wait for the writer lock and for group
// commit); reads inline on the callback API (auth::FinishInline), and their domain calls
// go through a const domain, so a read that would write does not compile.
#define TRIAD_REVIEW_WRITES(X)                                      \
  X(CreateExpert, CreateExpertRequest, Expert)                      \
  X(UpdateExpert, UpdateExpertRequest, Expert)                      \
  X(SetExpertActive, SetExpertActiveRequest, Expert)                \
  X(CreateReviewRequest, CreateReviewRequestRequest, ReviewRequest) \
  X(AcceptReview, AcceptReviewRequest, ReviewRequest)               \
  X(DeclineReview, DeclineReviewRequest, ReviewRequest)             \
  X(StartReview, StartReviewRequest, ReviewRequest)                 \
  X(AssignReview, AssignReviewRequest, ReviewRequest)               \
  X(RecordVerdict, RecordVerdictRequest, ReviewRequest)             \
  X(CreateSolution, CreateSolutionRequest, Solution)                \
  X(UpdateSolution, UpdateSolutionRequest, Solution)                \
  X(PublishSolution, PublishSolutionRequest, Solution)              \
  X(CreateSolutionVersion, CreateSolutionVersionRequest, Solution)

#define TRIAD_REVIEW_READS(X)                                                  \
  X(GetExpert, GetExpertRequest, Expert)                                       \
  X(ListExperts, ListExpertsRequest, ListExpertsResponse)                      \
  X(GetReviewRequest, GetReviewRequestRequest, ReviewRequest)                  \
  X(ListReviewRequests, ListReviewRequestsRequest, ListReviewRequestsResponse) \
  X(GetLoadView, GetLoadViewRequest, GetLoadViewResponse)                      \
  X(GetSolution, GetSolutionRequest, Solution)                                 \
  X(SearchSolutions, SearchSolutionsRequest, SearchSolutionsResponse)          \
  X(SimilarSolutions, SimilarSolutionsRequest, SimilarSolutionsResponse)       \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)

#define TRIAD_REVIEW_RPCS(X) TRIAD_REVIEW_WRITES(X) TRIAD_REVIEW_READS(X)

// The base class: the generated service with every read switched to the callback API.
#define TRIAD_GRPC_SERVICE v1::ReviewService
using ReviewGrpcServiceBase =
    TRIAD_REVIEW_READS(TRIAD_INLINE_READ_BASE_OPEN) v1::ReviewService::Service
    TRIAD_REVIEW_READS(TRIAD_INLINE_READ_BASE_CLOSE);
#undef TRIAD_GRPC_SERVICE

class ReviewGrpcService final : public ReviewGrpcServiceBase {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit ReviewGrpcService(Reviews* domain, auth::CallSecurity security = {});

  TRIAD_REVIEW_WRITES(TRIAD_SYNC_WRITE_DECLARE)
  TRIAD_REVIEW_READS(TRIAD_INLINE_READ_DECLARE)

 private:
  Reviews* r_;
  auth::Guard guard_;
};

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_GRPC_SERVICE_H_
