// ClientsAdminGrpcService: the thin gRPC adapter of the clients service's operator API (the
// periodic scans, triggered at once; the right to erasure). Each RPC calls ClientsDomain and maps
// its status.
#ifndef TRIAD_SERVICES_CLIENTS_ADMIN_GRPC_SERVICE_H_
#define TRIAD_SERVICES_CLIENTS_ADMIN_GRPC_SERVICE_H_

#include "services/clients/domain.h"
#include "triad/clients/v1/clients_admin_service.grpc.pb.h"

namespace triad::clients {

inline constexpr char kAdminServiceFullName[] = "triad.clients.v1.ClientsAdminService";

class ClientsAdminGrpcService final : public v1::ClientsAdminService::Service {
 public:
  // The domain is not owned.
  explicit ClientsAdminGrpcService(ClientsDomain* domain) : domain_(domain) {}

  grpc::Status ScanSlaBreaches(grpc::ServerContext*, const v1::ScanSlaBreachesRequest* req,
                               v1::ScanSlaBreachesResponse* resp) override;
  grpc::Status ScanDueFollowUps(grpc::ServerContext*, const v1::ScanDueFollowUpsRequest* req,
                                v1::ScanDueFollowUpsResponse* resp) override;
  grpc::Status ErasePersonalData(grpc::ServerContext*, const v1::ErasePersonalDataRequest* req,
                                 v1::ErasePersonalDataResponse* resp) override;

 private:
  ClientsDomain* domain_;
};

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_ADMIN_GRPC_SERVICE_H_
