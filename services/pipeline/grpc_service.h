// PipelineGrpcService: the thin gRPC adapter of the pipeline domain. Each RPC runs the request
// guard (common/auth/guard.h: authentication, PipelineServicePolicy, request check, ownership,
// actor from the principal), calls the domain and maps its absl::Status once; no logic lives
// here.
#ifndef TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "services/pipeline/pipeline.h"
#include "triad/pipeline/v1/pipeline_service.grpc.pb.h"

namespace triad::pipeline {

inline constexpr char kServiceFullName[] = "triad.pipeline.v1.PipelineService";

// The RPCs of triad.pipeline.v1.PipelineService: (method, request, response).
#define TRIAD_PIPELINE_RPCS(X)                                                             \
  X(GetPlaybook, GetPlaybookRequest, Playbook)                                             \
  X(ListPlaybooks, ListPlaybooksRequest, ListPlaybooksResponse)                            \
  X(CreatePlaybookVersion, CreatePlaybookVersionRequest, Playbook)                         \
  X(RecordSignal, RecordSignalRequest, Signal)                                             \
  X(GetSignal, GetSignalRequest, Signal)                                                   \
  X(ListSignals, ListSignalsRequest, ListSignalsResponse)                                  \
  X(CreateLead, CreateLeadRequest, Lead)                                                   \
  X(GetLead, GetLeadRequest, Lead)                                                         \
  X(ListLeads, ListLeadsRequest, ListLeadsResponse)                                        \
  X(QualifyLead, QualifyLeadRequest, Lead)                                                 \
  X(DisqualifyLead, DisqualifyLeadRequest, Lead)                                           \
  X(CreateOpportunity, CreateOpportunityRequest, Opportunity)                              \
  X(GetOpportunity, GetOpportunityRequest, Opportunity)                                    \
  X(ListOpportunities, ListOpportunitiesRequest, ListOpportunitiesResponse)                \
  X(ListOpportunityHistory, ListOpportunityHistoryRequest, ListOpportunityHistoryResponse) \
  X(UpdateOpportunity, UpdateOpportunityRequest, Opportunity)                              \
  X(CompleteChecklistItem, CompleteChecklistItemRequest, Opportunity)                      \
  X(AdvanceStage, AdvanceStageRequest, Opportunity)                                        \
  X(WinOpportunity, WinOpportunityRequest, Opportunity)                                    \
  X(LoseOpportunity, LoseOpportunityRequest, Opportunity)                                  \
  X(ReassignOpportunity, ReassignOpportunityRequest, Opportunity)                          \
  X(GetFunnelReport, GetFunnelReportRequest, FunnelReport)                                 \
  X(RankOpenDeals, RankOpenDealsRequest, RankOpenDealsResponse)                            \
  X(ListStaleDeals, ListStaleDealsRequest, ListStaleDealsResponse)                         \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)

class PipelineGrpcService final : public v1::PipelineService::Service {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit PipelineGrpcService(Pipeline* pipeline, auth::CallSecurity security = {});

#define TRIAD_PIPELINE_DECLARE(Method, Request, Response)                                   \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
  TRIAD_PIPELINE_RPCS(TRIAD_PIPELINE_DECLARE)
#undef TRIAD_PIPELINE_DECLARE

 private:
  Pipeline* p_;
  auth::Guard guard_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_
