// ProductionGrpcService: the thin gRPC adapter of the production domain. Each RPC runs the request
// guard (common/auth/guard.h: authentication, ProductionServicePolicy, request check, actor from
// the principal), calls the domain and maps its absl::Status once; no logic lives here.
#ifndef TRIAD_SERVICES_PRODUCTION_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PRODUCTION_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "services/production/production.h"
#include "triad/production/v1/production_service.grpc.pb.h"

namespace triad::production {

inline constexpr char kServiceFullName[] = "triad.production.v1.ProductionService";

// The RPCs as (method, request, response).
#define TRIAD_PRODUCTION_RPCS(X)                                                              \
  X(CreateResource, CreateResourceRequest, Resource)                                          \
  X(GetResource, GetResourceRequest, Resource)                                                \
  X(ListResources, ListResourcesRequest, ListResourcesResponse)                               \
  X(UpdateResource, UpdateResourceRequest, Resource)                                          \
  X(DeactivateResource, DeactivateResourceRequest, DeactivateResourceResponse)                \
  X(GetPhaseTemplate, GetPhaseTemplateRequest, PhaseTemplateSet)                              \
  X(ListPhaseTemplates, ListPhaseTemplatesRequest, ListPhaseTemplatesResponse)                \
  X(CreatePhaseTemplateVersion, CreatePhaseTemplateVersionRequest, PhaseTemplateSet)          \
  X(CreateProject, CreateProjectRequest, CreateProjectResponse)                               \
  X(GetProject, GetProjectRequest, Project)                                                   \
  X(ListProjects, ListProjectsRequest, ListProjectsResponse)                                  \
  X(PinPhase, PinPhaseRequest, Project)                                                       \
  X(ReportPhaseProgress, ReportPhaseProgressRequest, ReportPhaseProgressResponse)             \
  X(ReleaseTentativeProject, ReleaseTentativeProjectRequest, ReleaseTentativeProjectResponse) \
  X(Reschedule, RescheduleRequest, ScheduleReport)                                            \
  X(CheckFeasibility, CheckFeasibilityRequest, CheckFeasibilityResponse)                      \
  X(GetUtilisation, GetUtilisationRequest, GetUtilisationResponse)                            \
  X(RequestSignOff, RequestSignOffRequest, Project)                                           \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)

class ProductionGrpcService final : public v1::ProductionService::Service {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit ProductionGrpcService(Production* domain, auth::CallSecurity security = {});

#define TRIAD_PRODUCTION_DECLARE(Method, Request, Response)                                 \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
  TRIAD_PRODUCTION_RPCS(TRIAD_PRODUCTION_DECLARE)
#undef TRIAD_PRODUCTION_DECLARE

 private:
  Production* p_;
  auth::Guard guard_;
};

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_GRPC_SERVICE_H_
