// Implements the clients operator API adapter: each method forwards to ClientsDomain.
#include "services/clients/admin_grpc_service.h"

#include "common/status/grpc_status.h"

namespace triad::clients {

grpc::Status ClientsAdminGrpcService::ScanSlaBreaches(grpc::ServerContext*,
                                                      const v1::ScanSlaBreachesRequest*,
                                                      v1::ScanSlaBreachesResponse* resp) {
  return Reply(domain_->ScanSlaBreaches(), resp);
}

grpc::Status ClientsAdminGrpcService::ScanDueFollowUps(grpc::ServerContext*,
                                                       const v1::ScanDueFollowUpsRequest*,
                                                       v1::ScanDueFollowUpsResponse* resp) {
  return Reply(domain_->ScanDueFollowUps(), resp);
}

grpc::Status ClientsAdminGrpcService::ErasePersonalData(grpc::ServerContext*,
                                                        const v1::ErasePersonalDataRequest* req,
                                                        v1::ErasePersonalDataResponse* resp) {
  return Reply(domain_->ErasePersonalData(*req), resp);
}

}  // namespace triad::clients
