// PipelineAdminGrpcService: the thin gRPC adapter of the pipeline service's operator API (the
// periodic stale-deal scan, triggered at once). Each RPC calls the domain and maps its status.
#ifndef TRIAD_SERVICES_PIPELINE_ADMIN_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PIPELINE_ADMIN_GRPC_SERVICE_H_

#include "services/pipeline/pipeline.h"
#include "triad/pipeline/v1/pipeline_admin_service.grpc.pb.h"

namespace triad::pipeline {

inline constexpr char kAdminServiceFullName[] = "triad.pipeline.v1.PipelineAdminService";

class PipelineAdminGrpcService final : public v1::PipelineAdminService::Service {
 public:
  // The domain is not owned and must outlive the service.
  explicit PipelineAdminGrpcService(Pipeline* pipeline) : p_(pipeline) {}

  grpc::Status ScanStaleDeals(grpc::ServerContext*, const v1::ScanStaleDealsRequest* req,
                              v1::ScanStaleDealsResponse* resp) override;

 private:
  Pipeline* p_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_ADMIN_GRPC_SERVICE_H_
