// Implements the gRPC adapter: each RPC checks the request's id fields (api::CheckIdFields),
// forwards to the domain and maps the status.
#include "services/production/grpc_service.h"

#include "common/api/validation.h"
#include "common/status/grpc_status.h"

namespace triad::production {

#define TRIAD_PRODUCTION_DEFINE(Method, Request, Response)                                 \
  grpc::Status ProductionGrpcService::Method(grpc::ServerContext*, const v1::Request* req, \
                                             v1::Response* resp) {                         \
    if (absl::Status ids = api::CheckIdFields(*req); !ids.ok()) return ToGrpcStatus(ids);  \
    return Reply(p_->Method(*req), resp);                                                  \
  }
TRIAD_PRODUCTION_RPCS(TRIAD_PRODUCTION_DEFINE)
#undef TRIAD_PRODUCTION_DEFINE

}  // namespace triad::production
