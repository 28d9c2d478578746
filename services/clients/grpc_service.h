// ClientsGrpcService: the thin gRPC adapter of the clients service. Each RPC runs the request
// guard (common/auth/guard.h: authentication, ClientsServicePolicy, request check, ownership,
// actor from the principal), calls ClientsDomain and maps its status; no business logic lives
// here.
#ifndef TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_
#define TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "services/clients/domain.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"

namespace triad::clients {

inline constexpr char kServiceFullName[] = "triad.clients.v1.ClientsService";

// The RPCs of triad.clients.v1.ClientsService: (method, request, response, the domain call
// on the request `r` and the domain `d`).
#define TRIAD_CLIENTS_RPCS(X)                                                                   \
  X(CreateClient, CreateClientRequest, Client, d.CreateClient(r))                               \
  X(GetClient, GetClientRequest, Client, d.GetClient(r.client_id()))                            \
  X(ListClients, ListClientsRequest, ListClientsResponse, d.ListClientsEncoded(r))              \
  X(UpdateClient, UpdateClientRequest, Client, d.UpdateClient(r))                               \
  X(VerifyClient, VerifyClientRequest, Client, d.VerifyClient(r))                               \
  X(ArchiveClient, ArchiveClientRequest, Client, d.ArchiveClient(r))                            \
  X(RestoreClient, RestoreClientRequest, Client, d.RestoreClient(r))                            \
  X(FindDuplicates, FindDuplicatesRequest, FindDuplicatesResponse, d.FindDuplicates(r))         \
  X(MergeClients, MergeClientsRequest, Client, d.MergeClients(r))                               \
  X(ListClientHistory, ListClientHistoryRequest, ListHistoryResponse, d.ListClientHistory(r))   \
  X(ListActorHistory, ListActorHistoryRequest, ListHistoryResponse, d.ListActorHistory(r))      \
  X(ReassignClient, ReassignClientRequest, Client, d.ReassignClient(r))                         \
  X(HandOverPortfolio, HandOverPortfolioRequest, Handover, d.HandOverPortfolio(r))              \
  X(GetHandover, GetHandoverRequest, Handover, d.GetHandover(r.handover_id()))                  \
  X(OffboardPerson, OffboardPersonRequest, Offboarding, d.OffboardPerson(r))                    \
  X(GetOffboarding, GetOffboardingRequest, Offboarding, d.GetOffboarding(r.offboarding_id()))   \
  X(ListOffboardings, ListOffboardingsRequest, ListOffboardingsResponse, d.ListOffboardings(r)) \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse,            \
    d.ListInactiveHoldings(r))                                                                  \
  X(CreateContact, CreateContactRequest, Contact, d.CreateContact(r))                           \
  X(ListContacts, ListContactsRequest, ListContactsResponse, d.ListContacts(r))                 \
  X(CreateTouchpoint, CreateTouchpointRequest, Touchpoint, d.CreateTouchpoint(r))               \
  X(ListTouchpoints, ListTouchpointsRequest, ListTouchpointsResponse, d.ListTouchpoints(r))     \
  X(OpenCase, OpenCaseRequest, ServiceCase, d.OpenCase(r))                                      \
  X(GetCase, GetCaseRequest, ServiceCase, d.GetCase(r.case_id()))                               \
  X(ListCases, ListCasesRequest, ListCasesResponse, d.ListCases(r))                             \
  X(AssignCase, AssignCaseRequest, ServiceCase, d.AssignCase(r))                                \
  X(TransitionCase, TransitionCaseRequest, ServiceCase, d.TransitionCase(r))                    \
  X(GetFollowUpPlan, GetFollowUpPlanRequest, FollowUpPlan, d.GetFollowUpPlan(r.client_id()))    \
  X(ListOverdueFollowUps, ListOverdueFollowUpsRequest, ListOverdueFollowUpsResponse,            \
    d.ListOverdueFollowUps(r))                                                                  \
  X(CompleteFollowUp, CompleteFollowUpRequest, CompleteFollowUpResponse, d.CompleteFollowUp(r)) \
  X(ImportClientsCsv, ImportClientsCsvRequest, ImportClientsCsvResponse, d.ImportClientsCsv(r))

class ClientsGrpcService final : public v1::ClientsService::Service {
 public:
  // The domain is not owned. `security` defaults to authentication disabled (in-process
  // tests).
  explicit ClientsGrpcService(ClientsDomain* domain, auth::CallSecurity security = {});

#define TRIAD_CLIENTS_DECLARE(Method, Request, Response, DomainCall)                        \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
  TRIAD_CLIENTS_RPCS(TRIAD_CLIENTS_DECLARE)
#undef TRIAD_CLIENTS_DECLARE

 private:
  ClientsDomain* domain_;
  auth::Guard guard_;
};

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_
