// PipelineAdminGrpcService: the thin gRPC adapter of the pipeline service's operator API (the
// periodic stale-deal scan, triggered at once). Each RPC runs the request guard
// (PipelineAdminPolicy: operators), calls the domain and maps its status.
#ifndef TRIAD_SERVICES_PIPELINE_ADMIN_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PIPELINE_ADMIN_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "services/pipeline/pipeline.h"
#include "triad/pipeline/v1/pipeline_admin_service.grpc.pb.h"

namespace triad::pipeline {

inline constexpr char kAdminServiceFullName[] = "triad.pipeline.v1.PipelineAdminService";

// The RPCs of triad.pipeline.v1.PipelineAdminService: (method, request, response).
#define TRIAD_PIPELINE_ADMIN_RPCS(X) \
  X(ScanStaleDeals, ScanStaleDealsRequest, ScanStaleDealsResponse)

class PipelineAdminGrpcService final : public v1::PipelineAdminService::Service {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit PipelineAdminGrpcService(Pipeline* pipeline, auth::CallSecurity security = {});

#define TRIAD_PIPELINE_ADMIN_DECLARE(Method, Request, Response)                             \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
  TRIAD_PIPELINE_ADMIN_RPCS(TRIAD_PIPELINE_ADMIN_DECLARE)
#undef TRIAD_PIPELINE_ADMIN_DECLARE

 private:
  Pipeline* p_;
  auth::Guard guard_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_ADMIN_GRPC_SERVICE_H_
