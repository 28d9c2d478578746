// Implements the clients operator API adapter: every method runs the request guard around its
// ClientsDomain call.
#include "services/clients/admin_grpc_service.h"

#include "services/clients/access_policy.h"

namespace triad::clients {

ClientsAdminGrpcService::ClientsAdminGrpcService(ClientsDomain* domain, auth::CallSecurity security)
    : domain_(domain), guard_("clients", ClientsAdminPolicy(), std::move(security)) {}

#define TRIAD_CLIENTS_ADMIN_DEFINE(Method, Request, Response, DomainCall)                        \
  grpc::Status ClientsAdminGrpcService::Method(grpc::ServerContext* ctx, const v1::Request* req, \
                                               v1::Response* resp) {                             \
    return guard_.Call(ctx, #Method, *req, resp, [this](const v1::Request&) {                    \
      ClientsDomain& d = *domain_;                                                               \
      return DomainCall;                                                                         \
    });                                                                                          \
  }
TRIAD_CLIENTS_ADMIN_RPCS(TRIAD_CLIENTS_ADMIN_DEFINE)
#undef TRIAD_CLIENTS_ADMIN_DEFINE

}  // namespace triad::clients
