// Implements the gRPC adapter: every method runs the request guard around its ClientsDomain
// call (one line each, from TRIAD_CLIENTS_RPCS).
#include "services/clients/grpc_service.h"

#include "services/clients/access_policy.h"

namespace triad::clients {

ClientsGrpcService::ClientsGrpcService(ClientsDomain* domain, auth::CallSecurity security)
    : domain_(domain), guard_("clients", ClientsServicePolicy(), std::move(security)) {}

#define TRIAD_CLIENTS_DEFINE(Method, Request, Response, DomainCall)                         \
  grpc::Status ClientsGrpcService::Method(grpc::ServerContext* ctx, const v1::Request* req, \
                                          v1::Response* resp) {                             \
    return guard_.Call(ctx, #Method, *req, resp, [this](const v1::Request& r) {             \
      ClientsDomain& d = *domain_;                                                          \
      return DomainCall;                                                                    \
    });                                                                                     \
  }
TRIAD_CLIENTS_RPCS(TRIAD_CLIENTS_DEFINE)
#undef TRIAD_CLIENTS_DEFINE

}  // namespace triad::clients
