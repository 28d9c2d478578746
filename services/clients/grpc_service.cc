// Implements the gRPC adapter: every method forwards to ClientsDomain and maps the status.
#include "services/clients/grpc_service.h"

#include "common/status/grpc_status.h"

namespace triad::clients {
namespace {}  // namespace

grpc::Status ClientsGrpcService::CreateClient(grpc::ServerContext*,
                                              const v1::CreateClientRequest* req,
                                              v1::Client* resp) {
  return Reply(domain_->CreateClient(*req), resp);
}

grpc::Status ClientsGrpcService::GetClient(grpc::ServerContext*, const v1::GetClientRequest* req,
                                           v1::Client* resp) {
  return Reply(domain_->GetClient(req->client_id()), resp);
}

grpc::Status ClientsGrpcService::ListClients(grpc::ServerContext*,
                                             const v1::ListClientsRequest* req,
                                             v1::ListClientsResponse* resp) {
  return Reply(domain_->ListClients(*req), resp);
}

grpc::Status ClientsGrpcService::UpdateClient(grpc::ServerContext*,
                                              const v1::UpdateClientRequest* req,
                                              v1::Client* resp) {
  return Reply(domain_->UpdateClient(*req), resp);
}

grpc::Status ClientsGrpcService::VerifyClient(grpc::ServerContext*,
                                              const v1::VerifyClientRequest* req,
                                              v1::Client* resp) {
  return Reply(domain_->VerifyClient(*req), resp);
}

grpc::Status ClientsGrpcService::ArchiveClient(grpc::ServerContext*,
                                               const v1::ArchiveClientRequest* req,
                                               v1::Client* resp) {
  return Reply(domain_->ArchiveClient(*req), resp);
}

grpc::Status ClientsGrpcService::RestoreClient(grpc::ServerContext*,
                                               const v1::RestoreClientRequest* req,
                                               v1::Client* resp) {
  return Reply(domain_->RestoreClient(*req), resp);
}

grpc::Status ClientsGrpcService::FindDuplicates(grpc::ServerContext*,
                                                const v1::FindDuplicatesRequest* req,
                                                v1::FindDuplicatesResponse* resp) {
  return Reply(domain_->FindDuplicates(*req), resp);
}

grpc::Status ClientsGrpcService::MergeClients(grpc::ServerContext*,
                                              const v1::MergeClientsRequest* req,
                                              v1::Client* resp) {
  return Reply(domain_->MergeClients(*req), resp);
}

grpc::Status ClientsGrpcService::ListClientHistory(grpc::ServerContext*,
                                                   const v1::ListClientHistoryRequest* req,
                                                   v1::ListHistoryResponse* resp) {
  return Reply(domain_->ListClientHistory(*req), resp);
}

grpc::Status ClientsGrpcService::ListActorHistory(grpc::ServerContext*,
                                                  const v1::ListActorHistoryRequest* req,
                                                  v1::ListHistoryResponse* resp) {
  return Reply(domain_->ListActorHistory(*req), resp);
}

grpc::Status ClientsGrpcService::ReassignClient(grpc::ServerContext*,
                                                const v1::ReassignClientRequest* req,
                                                v1::Client* resp) {
  return Reply(domain_->ReassignClient(*req), resp);
}

grpc::Status ClientsGrpcService::HandOverPortfolio(grpc::ServerContext*,
                                                   const v1::HandOverPortfolioRequest* req,
                                                   v1::Handover* resp) {
  return Reply(domain_->HandOverPortfolio(*req), resp);
}

grpc::Status ClientsGrpcService::GetHandover(grpc::ServerContext*,
                                             const v1::GetHandoverRequest* req,
                                             v1::Handover* resp) {
  return Reply(domain_->GetHandover(req->handover_id()), resp);
}

grpc::Status ClientsGrpcService::OffboardPerson(grpc::ServerContext*,
                                                const v1::OffboardPersonRequest* req,
                                                v1::Offboarding* resp) {
  return Reply(domain_->OffboardPerson(*req), resp);
}

grpc::Status ClientsGrpcService::GetOffboarding(grpc::ServerContext*,
                                                const v1::GetOffboardingRequest* req,
                                                v1::Offboarding* resp) {
  return Reply(domain_->GetOffboarding(req->offboarding_id()), resp);
}

grpc::Status ClientsGrpcService::ListOffboardings(grpc::ServerContext*,
                                                  const v1::ListOffboardingsRequest* req,
                                                  v1::ListOffboardingsResponse* resp) {
  return Reply(domain_->ListOffboardings(*req), resp);
}

grpc::Status ClientsGrpcService::ListInactiveHoldings(grpc::ServerContext*,
                                                      const v1::ListInactiveHoldingsRequest* req,
                                                      v1::ListInactiveHoldingsResponse* resp) {
  return Reply(domain_->ListInactiveHoldings(*req), resp);
}

grpc::Status ClientsGrpcService::CreateContact(grpc::ServerContext*,
                                               const v1::CreateContactRequest* req,
                                               v1::Contact* resp) {
  return Reply(domain_->CreateContact(*req), resp);
}

grpc::Status ClientsGrpcService::ListContacts(grpc::ServerContext*,
                                              const v1::ListContactsRequest* req,
                                              v1::ListContactsResponse* resp) {
  return Reply(domain_->ListContacts(*req), resp);
}

grpc::Status ClientsGrpcService::CreateTouchpoint(grpc::ServerContext*,
                                                  const v1::CreateTouchpointRequest* req,
                                                  v1::Touchpoint* resp) {
  return Reply(domain_->CreateTouchpoint(*req), resp);
}

grpc::Status ClientsGrpcService::ListTouchpoints(grpc::ServerContext*,
                                                 const v1::ListTouchpointsRequest* req,
                                                 v1::ListTouchpointsResponse* resp) {
  return Reply(domain_->ListTouchpoints(*req), resp);
}

grpc::Status ClientsGrpcService::OpenCase(grpc::ServerContext*, const v1::OpenCaseRequest* req,
                                          v1::ServiceCase* resp) {
  return Reply(domain_->OpenCase(*req), resp);
}

grpc::Status ClientsGrpcService::GetCase(grpc::ServerContext*, const v1::GetCaseRequest* req,
                                         v1::ServiceCase* resp) {
  return Reply(domain_->GetCase(req->case_id()), resp);
}

grpc::Status ClientsGrpcService::ListCases(grpc::ServerContext*, const v1::ListCasesRequest* req,
                                           v1::ListCasesResponse* resp) {
  return Reply(domain_->ListCases(*req), resp);
}

grpc::Status ClientsGrpcService::AssignCase(grpc::ServerContext*, const v1::AssignCaseRequest* req,
                                            v1::ServiceCase* resp) {
  return Reply(domain_->AssignCase(*req), resp);
}

grpc::Status ClientsGrpcService::TransitionCase(grpc::ServerContext*,
                                                const v1::TransitionCaseRequest* req,
                                                v1::ServiceCase* resp) {
  return Reply(domain_->TransitionCase(*req), resp);
}

grpc::Status ClientsGrpcService::GetFollowUpPlan(grpc::ServerContext*,
                                                 const v1::GetFollowUpPlanRequest* req,
                                                 v1::FollowUpPlan* resp) {
  return Reply(domain_->GetFollowUpPlan(req->client_id()), resp);
}

grpc::Status ClientsGrpcService::ListOverdueFollowUps(grpc::ServerContext*,
                                                      const v1::ListOverdueFollowUpsRequest* req,
                                                      v1::ListOverdueFollowUpsResponse* resp) {
  return Reply(domain_->ListOverdueFollowUps(*req), resp);
}

grpc::Status ClientsGrpcService::CompleteFollowUp(grpc::ServerContext*,
                                                  const v1::CompleteFollowUpRequest* req,
                                                  v1::CompleteFollowUpResponse* resp) {
  return Reply(domain_->CompleteFollowUp(*req), resp);
}

grpc::Status ClientsGrpcService::ImportClientsCsv(grpc::ServerContext*,
                                                  const v1::ImportClientsCsvRequest* req,
                                                  v1::ImportClientsCsvResponse* resp) {
  return Reply(domain_->ImportClientsCsv(*req), resp);
}

}  // namespace triad::clients
