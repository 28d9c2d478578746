// Implements the gRPC adapter: each RPC checks the request's id fields (api::CheckIdFields),
// forwards to the domain and maps the status.
#include "services/review/grpc_service.h"

#include "common/api/validation.h"
#include "common/status/grpc_status.h"

namespace triad::review {

#define TRIAD_REVIEW_DEFINE(Method, Request, Response)                                    \
  grpc::Status ReviewGrpcService::Method(grpc::ServerContext*, const v1::Request* req,    \
                                         v1::Response* resp) {                            \
    if (absl::Status ids = api::CheckIdFields(*req); !ids.ok()) return ToGrpcStatus(ids); \
    return Reply(r_->Method(*req), resp);                                                 \
  }
TRIAD_REVIEW_RPCS(TRIAD_REVIEW_DEFINE)
#undef TRIAD_REVIEW_DEFINE

}  // namespace triad::review
