// ReviewGrpcService: the thin gRPC adapter of the review domain. Each RPC runs the request guard
// (common/auth/guard.h: authentication, ReviewServicePolicy, request check, actor from the
// principal), calls the domain and maps its absl::Status once; no logic lives here.
#ifndef TRIAD_SERVICES_REVIEW_GRPC_SERVICE_H_
#define TRIAD_SERVICES_REVIEW_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "services/review/review.h"
#include "triad/review/v1/review_service.grpc.pb.h"

namespace triad::review {

inline constexpr char kServiceFullName[] = "triad.review.v1.ReviewService";

// The RPCs of triad.review.v1.ReviewService: (method, request, response).
#define TRIAD_REVIEW_RPCS(X)                                                   \
  X(CreateExpert, CreateExpertRequest, Expert)                                 \
  X(GetExpert, GetExpertRequest, Expert)                                       \
  X(ListExperts, ListExpertsRequest, ListExpertsResponse)                      \
  X(UpdateExpert, UpdateExpertRequest, Expert)                                 \
  X(SetExpertActive, SetExpertActiveRequest, Expert)                           \
  X(CreateReviewRequest, CreateReviewRequestRequest, ReviewRequest)            \
  X(GetReviewRequest, GetReviewRequestRequest, ReviewRequest)                  \
  X(ListReviewRequests, ListReviewRequestsRequest, ListReviewRequestsResponse) \
  X(AcceptReview, AcceptReviewRequest, ReviewRequest)                          \
  X(DeclineReview, DeclineReviewRequest, ReviewRequest)                        \
  X(StartReview, StartReviewRequest, ReviewRequest)                            \
  X(AssignReview, AssignReviewRequest, ReviewRequest)                          \
  X(RecordVerdict, RecordVerdictRequest, ReviewRequest)                        \
  X(GetLoadView, GetLoadViewRequest, GetLoadViewResponse)                      \
  X(CreateSolution, CreateSolutionRequest, Solution)                           \
  X(GetSolution, GetSolutionRequest, Solution)                                 \
  X(UpdateSolution, UpdateSolutionRequest, Solution)                           \
  X(PublishSolution, PublishSolutionRequest, Solution)                         \
  X(CreateSolutionVersion, CreateSolutionVersionRequest, Solution)             \
  X(SearchSolutions, SearchSolutionsRequest, SearchSolutionsResponse)          \
  X(SimilarSolutions, SimilarSolutionsRequest, SimilarSolutionsResponse)       \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)

class ReviewGrpcService final : public v1::ReviewService::Service {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit ReviewGrpcService(Reviews* domain, auth::CallSecurity security = {});

#define TRIAD_REVIEW_DECLARE(Method, Request, Response)                                     \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
  TRIAD_REVIEW_RPCS(TRIAD_REVIEW_DECLARE)
#undef TRIAD_REVIEW_DECLARE

 private:
  Reviews* r_;
  auth::Guard guard_;
};

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_GRPC_SERVICE_H_
