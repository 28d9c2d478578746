// Implements the gRPC adapter: every method runs the request guard around its domain call
// (one line each, from TRIAD_REVIEW_RPCS).
#include "services/review/grpc_service.h"

#include "services/review/access_policy.h"

namespace triad::review {

ReviewGrpcService::ReviewGrpcService(Reviews* domain, auth::CallSecurity security)
    : r_(domain), guard_("review", ReviewServicePolicy(), std::move(security)) {}

#define TRIAD_REVIEW_DEFINE(Method, Request, Response)                                     \
  grpc::Status ReviewGrpcService::Method(grpc::ServerContext* ctx, const v1::Request* req, \
                                         v1::Response* resp) {                             \
    return guard_.Call(ctx, #Method, *req, resp,                                           \
                       [this](const v1::Request& r) { return r_->Method(r); });            \
  }
TRIAD_REVIEW_RPCS(TRIAD_REVIEW_DEFINE)
#undef TRIAD_REVIEW_DEFINE

}  // namespace triad::review
