// Implements the pipeline operator API adapter: each method forwards to the domain.
#include "services/pipeline/admin_grpc_service.h"

#include "common/status/grpc_status.h"

namespace triad::pipeline {

grpc::Status PipelineAdminGrpcService::ScanStaleDeals(grpc::ServerContext*,
                                                      const v1::ScanStaleDealsRequest* req,
                                                      v1::ScanStaleDealsResponse* resp) {
  return Reply(p_->ScanStaleDeals(*req), resp);
}

}  // namespace triad::pipeline
