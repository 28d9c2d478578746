// Implements the pipeline operator API adapter: every method runs the request guard around its
// domain call.
#include "services/pipeline/admin_grpc_service.h"

#include "services/pipeline/access_policy.h"

namespace triad::pipeline {

PipelineAdminGrpcService::PipelineAdminGrpcService(Pipeline* pipeline, auth::CallSecurity security)
    : p_(pipeline), guard_("pipeline", PipelineAdminPolicy(), std::move(security)) {}

#define TRIAD_PIPELINE_ADMIN_DEFINE(Method, Request, Response)                                    \
  grpc::Status PipelineAdminGrpcService::Method(grpc::ServerContext* ctx, const v1::Request* req, \
                                                v1::Response* resp) {                             \
    return guard_.Call(ctx, #Method, *req, resp,                                                  \
                       [this](const v1::Request& r) { return p_->Method(r); });                   \
  }
TRIAD_PIPELINE_ADMIN_RPCS(TRIAD_PIPELINE_ADMIN_DEFINE)
#undef TRIAD_PIPELINE_ADMIN_DEFINE

}  // namespace triad::pipeline
