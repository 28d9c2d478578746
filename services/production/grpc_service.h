// ProductionGrpcService: the thin gRPC adapter of the production domain. Each RPC runs the request
// guard (common/auth/guard.h: authentication, ProductionServicePolicy, request check, actor from
// the principal), calls the domain and maps its absl::Status once; no logic lives here.
#ifndef TRIAD_SERVICES_PRODUCTION_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PRODUCTION_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/grpc_methods.h"
#include "common/auth/guard.h"
#include "services/production/production.h"
#include "triad/production/v1/production_service.grpc.pb.h"

namespace triad::production {

inline constexpr char kServiceFullName[] = "triad.production.v1.ProductionService";

// The RPCs as (method, request, response).
// Writes are answered on the sync API (they may wait for the writer lock and for group
// commit); reads inline on the callback API (auth::FinishInline), and their domain calls
// go through a const domain, so a read that would write does not compile.
#define TRIAD_PRODUCTION_WRITES(X)                                                            \
  X(CreateResource, CreateResourceRequest, Resource)                                          \
  X(UpdateResource, UpdateResourceRequest, Resource)                                          \
  X(DeactivateResource, DeactivateResourceRequest, DeactivateResourceResponse)                \
  X(CreatePhaseTemplateVersion, CreatePhaseTemplateVersionRequest, PhaseTemplateSet)          \
  X(CreateProject, CreateProjectRequest, CreateProjectResponse)                               \
  X(PinPhase, PinPhaseRequest, Project)                                                       \
  X(ReportPhaseProgress, ReportPhaseProgressRequest, ReportPhaseProgressResponse)             \
  X(ReleaseTentativeProject, ReleaseTentativeProjectRequest, ReleaseTentativeProjectResponse) \
  X(Reschedule, RescheduleRequest, ScheduleReport)                                            \
  X(RequestSignOff, RequestSignOffRequest, Project)

#define TRIAD_PRODUCTION_READS(X)                                              \
  X(GetResource, GetResourceRequest, Resource)                                 \
  X(ListResources, ListResourcesRequest, ListResourcesResponse)                \
  X(GetPhaseTemplate, GetPhaseTemplateRequest, PhaseTemplateSet)               \
  X(ListPhaseTemplates, ListPhaseTemplatesRequest, ListPhaseTemplatesResponse) \
  X(GetProject, GetProjectRequest, Project)                                    \
  X(ListProjects, ListProjectsRequest, ListProjectsResponse)                   \
  X(CheckFeasibility, CheckFeasibilityRequest, CheckFeasibilityResponse)       \
  X(GetUtilisation, GetUtilisationRequest, GetUtilisationResponse)             \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)

#define TRIAD_PRODUCTION_RPCS(X) TRIAD_PRODUCTION_WRITES(X) TRIAD_PRODUCTION_READS(X)

// The base class: the generated service with every read switched to the callback API.
#define TRIAD_GRPC_SERVICE v1::ProductionService
using ProductionGrpcServiceBase =
    TRIAD_PRODUCTION_READS(TRIAD_INLINE_READ_BASE_OPEN) v1::ProductionService::Service
    TRIAD_PRODUCTION_READS(TRIAD_INLINE_READ_BASE_CLOSE);
#undef TRIAD_GRPC_SERVICE

class ProductionGrpcService final : public ProductionGrpcServiceBase {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit ProductionGrpcService(Production* domain, auth::CallSecurity security = {});

  TRIAD_PRODUCTION_WRITES(TRIAD_SYNC_WRITE_DECLARE)
  TRIAD_PRODUCTION_READS(TRIAD_INLINE_READ_DECLARE)

 private:
  Production* p_;
  auth::Guard guard_;
};

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_GRPC_SERVICE_H_
