// Implements the gRPC adapter: each RPC forwards to the domain and maps the status.
#include "services/production/grpc_service.h"

#include "common/status/grpc_status.h"

namespace triad::production {

#define TRIAD_PRODUCTION_DEFINE(Method, Request, Response)                                 \
  grpc::Status ProductionGrpcService::Method(grpc::ServerContext*, const v1::Request* req, \
                                             v1::Response* resp) {                         \
    return Reply(p_->Method(*req), resp);                                                  \
  }
TRIAD_PRODUCTION_RPCS(TRIAD_PRODUCTION_DEFINE)
#undef TRIAD_PRODUCTION_DEFINE

}  // namespace triad::production
