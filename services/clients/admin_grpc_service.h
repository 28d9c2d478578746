// ClientsAdminGrpcService: the thin gRPC adapter of the clients service's operator API (the
// periodic scans, triggered at once). Each RPC runs the request guard (ClientsAdminPolicy:
// operators), calls ClientsDomain and maps its status.
#ifndef TRIAD_SERVICES_CLIENTS_ADMIN_GRPC_SERVICE_H_
#define TRIAD_SERVICES_CLIENTS_ADMIN_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "services/clients/domain.h"
#include "triad/clients/v1/clients_admin_service.grpc.pb.h"

namespace triad::clients {

inline constexpr char kAdminServiceFullName[] = "triad.clients.v1.ClientsAdminService";

// The RPCs of triad.clients.v1.ClientsAdminService: (method, request, response, the domain
// call on the domain `d`).
#define TRIAD_CLIENTS_ADMIN_RPCS(X)                                                        \
  X(ScanSlaBreaches, ScanSlaBreachesRequest, ScanSlaBreachesResponse, d.ScanSlaBreaches()) \
  X(ScanDueFollowUps, ScanDueFollowUpsRequest, ScanDueFollowUpsResponse, d.ScanDueFollowUps())

class ClientsAdminGrpcService final : public v1::ClientsAdminService::Service {
 public:
  // The domain is not owned. `security` defaults to authentication disabled (in-process
  // tests).
  explicit ClientsAdminGrpcService(ClientsDomain* domain, auth::CallSecurity security = {});

#define TRIAD_CLIENTS_ADMIN_DECLARE(Method, Request, Response, DomainCall)                  \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
  TRIAD_CLIENTS_ADMIN_RPCS(TRIAD_CLIENTS_ADMIN_DECLARE)
#undef TRIAD_CLIENTS_ADMIN_DECLARE

 private:
  ClientsDomain* domain_;
  auth::Guard guard_;
};

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_ADMIN_GRPC_SERVICE_H_
