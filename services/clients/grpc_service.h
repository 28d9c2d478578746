// ClientsGrpcService: the thin gRPC adapter of the clients service. Each RPC runs the request
// guard (common/auth/guard.h: authentication, ClientsServicePolicy, request check, ownership,
// actor from the principal), calls ClientsDomain and maps its status; no business logic lives
// here.
#ifndef TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_
#define TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/grpc_methods.h"
#include "common/auth/guard.h"
#include "services/clients/domain.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"

namespace triad::clients {

inline constexpr char kServiceFullName[] = "triad.clients.v1.ClientsService";

// The RPCs of triad.clients.v1.ClientsService: (method, request, response, the domain call
// on the request `r` and the domain `d`).
// Writes are answered on the sync API (they may wait for the writer lock and for group
// commit); reads inline on the callback API (auth::FinishInline), and their domain calls
// go through a const domain, so a read that would write does not compile.
#define TRIAD_CLIENTS_WRITES(X)                                                                 \
  X(CreateClient, CreateClientRequest, Client, d.CreateClient(r))                               \
  X(UpdateClient, UpdateClientRequest, Client, d.UpdateClient(r))                               \
  X(VerifyClient, VerifyClientRequest, Client, d.VerifyClient(r))                               \
  X(ArchiveClient, ArchiveClientRequest, Client, d.ArchiveClient(r))                            \
  X(RestoreClient, RestoreClientRequest, Client, d.RestoreClient(r))                            \
  X(MergeClients, MergeClientsRequest, Client, d.MergeClients(r))                               \
  X(ReassignClient, ReassignClientRequest, Client, d.ReassignClient(r))                         \
  X(HandOverPortfolio, HandOverPortfolioRequest, Handover, d.HandOverPortfolio(r))              \
  X(OffboardPerson, OffboardPersonRequest, Offboarding, d.OffboardPerson(r))                    \
  X(CreateContact, CreateContactRequest, Contact, d.CreateContact(r))                           \
  X(CreateTouchpoint, CreateTouchpointRequest, Touchpoint, d.CreateTouchpoint(r))               \
  X(OpenCase, OpenCaseRequest, ServiceCase, d.OpenCase(r))                                      \
  X(AssignCase, AssignCaseRequest, ServiceCase, d.AssignCase(r))                                \
  X(TransitionCase, TransitionCaseRequest, ServiceCase, d.TransitionCase(r))                    \
  X(CompleteFollowUp, CompleteFollowUpRequest, CompleteFollowUpResponse, d.CompleteFollowUp(r)) \
  X(ImportClientsCsv, ImportClientsCsvRequest, ImportClientsCsvResponse, d.ImportClientsCsv(r))

#define TRIAD_CLIENTS_READS(X)                                                                  \
  X(GetClient, GetClientRequest, Client, d.GetClient(r.client_id()))                            \
  X(ListClients, ListClientsRequest, ListClientsResponse, d.ListClients(r))                     \
  X(FindDuplicates, FindDuplicatesRequest, FindDuplicatesResponse, d.FindDuplicates(r))         \
  X(ListClientHistory, ListClientHistoryRequest, ListHistoryResponse, d.ListClientHistory(r))   \
  X(ListActorHistory, ListActorHistoryRequest, ListHistoryResponse, d.ListActorHistory(r))      \
  X(GetHandover, GetHandoverRequest, Handover, d.GetHandover(r.handover_id()))                  \
  X(GetOffboarding, GetOffboardingRequest, Offboarding, d.GetOffboarding(r.offboarding_id()))   \
  X(ListOffboardings, ListOffboardingsRequest, ListOffboardingsResponse, d.ListOffboardings(r)) \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse,            \
    d.ListInactiveHoldings(r))                                                                  \
  X(ListContacts, ListContactsRequest, ListContactsResponse, d.ListContacts(r))                 \
  X(ListTouchpoints, ListTouchpointsRequest, ListTouchpointsResponse, d.ListTouchpoints(r))     \
  X(GetCase, GetCaseRequest, ServiceCase, d.GetCase(r.case_id()))                               \
  X(ListCases, ListCasesRequest, ListCasesResponse, d.ListCases(r))                             \
  X(GetFollowUpPlan, GetFollowUpPlanRequest, FollowUpPlan, d.GetFollowUpPlan(r.client_id()))    \
  X(ListOverdueFollowUps, ListOverdueFollowUpsRequest, ListOverdueFollowUpsResponse,            \
    d.ListOverdueFollowUps(r))

#define TRIAD_CLIENTS_RPCS(X) TRIAD_CLIENTS_WRITES(X) TRIAD_CLIENTS_READS(X)

// The base class: the generated service with every read switched to the callback API.
#define TRIAD_GRPC_SERVICE v1::ClientsService
using ClientsGrpcServiceBase =
    TRIAD_CLIENTS_READS(TRIAD_INLINE_READ_BASE_OPEN) v1::ClientsService::Service
    TRIAD_CLIENTS_READS(TRIAD_INLINE_READ_BASE_CLOSE);
#undef TRIAD_GRPC_SERVICE

class ClientsGrpcService final : public ClientsGrpcServiceBase {
 public:
  // The domain is not owned. `security` defaults to authentication disabled (in-process
  // tests).
  explicit ClientsGrpcService(ClientsDomain* domain, auth::CallSecurity security = {});

  TRIAD_CLIENTS_WRITES(TRIAD_SYNC_WRITE_DECLARE)
  TRIAD_CLIENTS_READS(TRIAD_INLINE_READ_DECLARE)

 private:
  ClientsDomain* domain_;
  auth::Guard guard_;
};

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_GRPC_SERVICE_H_
