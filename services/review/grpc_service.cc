// Implements the gRPC adapter: every method runs the request guard around its domain call
// (one line each, from TRIAD_REVIEW_RPCS).
#include "services/review/grpc_service.h"

#include <utility>

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
TRIAD_REVIEW_WRITES(TRIAD_REVIEW_DEFINE)
#undef TRIAD_REVIEW_DEFINE

#define TRIAD_REVIEW_DEFINE_READ(Method, Request, Response)                                       \
  grpc::ServerUnaryReactor* ReviewGrpcService::Method(                                            \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {             \
    return auth::FinishInline(                                                                    \
        ctx, guard_.Call(ctx, #Method, *req, resp,                                                \
                         [this](const v1::Request& r) { return std::as_const(*r_).Method(r); })); \
  }
TRIAD_REVIEW_READS(TRIAD_REVIEW_DEFINE_READ)
#undef TRIAD_REVIEW_DEFINE_READ

}  // namespace triad::review
