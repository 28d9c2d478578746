// ClientsGrpcService: the thin gRPC adapter of the clients service. Each RPC calls
// ClientsDomain and maps its status with triad::ToGrpcStatus; no business logic lives here.
#ifndef TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_
#define TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_

#include "services/clients/domain.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"

namespace triad::clients {

class ClientsGrpcService final : public v1::ClientsService::Service {
 public:
  // The domain is not owned.
  explicit ClientsGrpcService(ClientsDomain* domain) : domain_(domain) {}

  grpc::Status CreateClient(grpc::ServerContext*, const v1::CreateClientRequest* req,
                            v1::Client* resp) override;
  grpc::Status GetClient(grpc::ServerContext*, const v1::GetClientRequest* req,
                         v1::Client* resp) override;
  grpc::Status ListClients(grpc::ServerContext*, const v1::ListClientsRequest* req,
                           v1::ListClientsResponse* resp) override;
  grpc::Status UpdateClient(grpc::ServerContext*, const v1::UpdateClientRequest* req,
                            v1::Client* resp) override;
  grpc::Status VerifyClient(grpc::ServerContext*, const v1::VerifyClientRequest* req,
                            v1::Client* resp) override;
  grpc::Status ArchiveClient(grpc::ServerContext*, const v1::ArchiveClientRequest* req,
                             v1::Client* resp) override;
  grpc::Status RestoreClient(grpc::ServerContext*, const v1::RestoreClientRequest* req,
                             v1::Client* resp) override;
  grpc::Status FindDuplicates(grpc::ServerContext*, const v1::FindDuplicatesRequest* req,
                              v1::FindDuplicatesResponse* resp) override;
  grpc::Status MergeClients(grpc::ServerContext*, const v1::MergeClientsRequest* req,
                            v1::Client* resp) override;
  grpc::Status ListClientHistory(grpc::ServerContext*, const v1::ListClientHistoryRequest* req,
                                 v1::ListHistoryResponse* resp) override;
  grpc::Status ListActorHistory(grpc::ServerContext*, const v1::ListActorHistoryRequest* req,
                                v1::ListHistoryResponse* resp) override;
  grpc::Status ReassignClient(grpc::ServerContext*, const v1::ReassignClientRequest* req,
                              v1::Client* resp) override;
  grpc::Status HandOverPortfolio(grpc::ServerContext*, const v1::HandOverPortfolioRequest* req,
                                 v1::Handover* resp) override;
  grpc::Status GetHandover(grpc::ServerContext*, const v1::GetHandoverRequest* req,
                           v1::Handover* resp) override;
  grpc::Status OffboardPerson(grpc::ServerContext*, const v1::OffboardPersonRequest* req,
                              v1::Offboarding* resp) override;
  grpc::Status GetOffboarding(grpc::ServerContext*, const v1::GetOffboardingRequest* req,
                              v1::Offboarding* resp) override;
  grpc::Status ListOffboardings(grpc::ServerContext*, const v1::ListOffboardingsRequest* req,
                                v1::ListOffboardingsResponse* resp) override;
  grpc::Status ListInactiveHoldings(grpc::ServerContext*,
                                    const v1::ListInactiveHoldingsRequest* req,
                                    v1::ListInactiveHoldingsResponse* resp) override;
  grpc::Status CreateContact(grpc::ServerContext*, const v1::CreateContactRequest* req,
                             v1::Contact* resp) override;
  grpc::Status ListContacts(grpc::ServerContext*, const v1::ListContactsRequest* req,
                            v1::ListContactsResponse* resp) override;
  grpc::Status CreateTouchpoint(grpc::ServerContext*, const v1::CreateTouchpointRequest* req,
                                v1::Touchpoint* resp) override;
  grpc::Status ListTouchpoints(grpc::ServerContext*, const v1::ListTouchpointsRequest* req,
                               v1::ListTouchpointsResponse* resp) override;
  grpc::Status OpenCase(grpc::ServerContext*, const v1::OpenCaseRequest* req,
                        v1::ServiceCase* resp) override;
  grpc::Status GetCase(grpc::ServerContext*, const v1::GetCaseRequest* req,
                       v1::ServiceCase* resp) override;
  grpc::Status ListCases(grpc::ServerContext*, const v1::ListCasesRequest* req,
                         v1::ListCasesResponse* resp) override;
  grpc::Status AssignCase(grpc::ServerContext*, const v1::AssignCaseRequest* req,
                          v1::ServiceCase* resp) override;
  grpc::Status TransitionCase(grpc::ServerContext*, const v1::TransitionCaseRequest* req,
                              v1::ServiceCase* resp) override;
  grpc::Status GetFollowUpPlan(grpc::ServerContext*, const v1::GetFollowUpPlanRequest* req,
                               v1::FollowUpPlan* resp) override;
  grpc::Status ListOverdueFollowUps(grpc::ServerContext*,
                                    const v1::ListOverdueFollowUpsRequest* req,
                                    v1::ListOverdueFollowUpsResponse* resp) override;
  grpc::Status CompleteFollowUp(grpc::ServerContext*, const v1::CompleteFollowUpRequest* req,
                                v1::CompleteFollowUpResponse* resp) override;
  grpc::Status ImportClientsCsv(grpc::ServerContext*, const v1::ImportClientsCsvRequest* req,
                                v1::ImportClientsCsvResponse* resp) override;

 private:
  ClientsDomain* domain_;
};

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_
