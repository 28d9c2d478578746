// Implements the gRPC adapter: every method runs the request guard around its domain call
// (one line each, from TRIAD_PIPELINE_RPCS) and presents the answer for the API.
#include "services/pipeline/grpc_service.h"

#include "services/pipeline/access_policy.h"
#include "services/pipeline/opportunity_history.h"

namespace triad::pipeline {

PipelineGrpcService::PipelineGrpcService(Pipeline* pipeline, auth::CallSecurity security)
    : p_(pipeline), guard_("pipeline", PipelineServicePolicy(), std::move(security)) {}

#define TRIAD_PIPELINE_DEFINE(Method, Request, Response)                                       \
  grpc::Status PipelineGrpcService::Method(grpc::ServerContext* ctx, const v1::Request* req,   \
                                           v1::Response* resp) {                               \
    grpc::Status status = guard_.Call(ctx, #Method, *req, resp,                                \
                                      [this](const v1::Request& r) { return p_->Method(r); }); \
    if (status.ok()) PresentForApi(resp);                                                      \
    return status;                                                                             \
  }
TRIAD_PIPELINE_RPCS(TRIAD_PIPELINE_DEFINE)
#undef TRIAD_PIPELINE_DEFINE

}  // namespace triad::pipeline
