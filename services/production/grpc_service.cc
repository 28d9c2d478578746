// Implements the gRPC adapter: every method runs the request guard around its domain call
// (one line each, from TRIAD_PRODUCTION_RPCS).
#include "services/production/grpc_service.h"

#include "services/production/access_policy.h"

namespace triad::production {

ProductionGrpcService::ProductionGrpcService(Production* domain, auth::CallSecurity security)
    : p_(domain), guard_("production", ProductionServicePolicy(), std::move(security)) {}

#define TRIAD_PRODUCTION_DEFINE(Method, Request, Response)                                     \
  grpc::Status ProductionGrpcService::Method(grpc::ServerContext* ctx, const v1::Request* req, \
                                             v1::Response* resp) {                             \
    return guard_.Call(ctx, #Method, *req, resp,                                               \
                       [this](const v1::Request& r) { return p_->Method(r); });                \
  }
TRIAD_PRODUCTION_RPCS(TRIAD_PRODUCTION_DEFINE)
#undef TRIAD_PRODUCTION_DEFINE

}  // namespace triad::production
