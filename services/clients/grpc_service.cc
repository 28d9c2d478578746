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
TRIAD_CLIENTS_WRITES(TRIAD_CLIENTS_DEFINE)
#undef TRIAD_CLIENTS_DEFINE

#define TRIAD_CLIENTS_DEFINE_READ(Method, Request, Response, DomainCall)                           \
  grpc::ServerUnaryReactor* ClientsGrpcService::Method(                                            \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {              \
    return auth::FinishInline(ctx,                                                                 \
                              guard_.Call(ctx, #Method, *req, resp, [this](const v1::Request& r) { \
                                const ClientsDomain& d = *domain_;                                 \
                                return DomainCall;                                                 \
                              }));                                                                 \
  }
TRIAD_CLIENTS_READS(TRIAD_CLIENTS_DEFINE_READ)
#undef TRIAD_CLIENTS_DEFINE_READ

}  // namespace triad::clients
