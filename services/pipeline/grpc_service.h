// PipelineGrpcService: the thin gRPC adapter of the pipeline domain. Each RPC runs the request
// guard (common/auth/guard.h: authentication, PipelineServicePolicy, request check, ownership,
// actor from the principal), calls the domain and maps its absl::Status once; no logic lives
// here.
#ifndef TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_

#include "common/auth/call_security.h"
#include "common/auth/grpc_methods.h"
#include "common/auth/guard.h"
#include "services/pipeline/pipeline.h"
#include "triad/pipeline/v1/pipeline_service.grpc.pb.h"

namespace triad::pipeline {

inline constexpr char kServiceFullName[] = "triad.pipeline.v1.PipelineService";

// The RPCs of triad.pipeline.v1.PipelineService: (method, request, response).
// Writes are answered on the sync API (they may wait for the writer lock and for group
// commit); reads inline on the callback API (auth::FinishInline), and their domain calls
// go through a const domain, so a read that would write does not compile.
#define TRIAD_PIPELINE_WRITES(X)                                      \
  X(CreatePlaybookVersion, CreatePlaybookVersionRequest, Playbook)    \
  X(RecordSignal, RecordSignalRequest, Signal)                        \
  X(CreateLead, CreateLeadRequest, Lead)                              \
  X(QualifyLead, QualifyLeadRequest, Lead)                            \
  X(DisqualifyLead, DisqualifyLeadRequest, Lead)                      \
  X(CreateOpportunity, CreateOpportunityRequest, Opportunity)         \
  X(UpdateOpportunity, UpdateOpportunityRequest, Opportunity)         \
  X(CompleteChecklistItem, CompleteChecklistItemRequest, Opportunity) \
  X(AdvanceStage, AdvanceStageRequest, Opportunity)                   \
  X(WinOpportunity, WinOpportunityRequest, Opportunity)               \
  X(LoseOpportunity, LoseOpportunityRequest, Opportunity)             \
  X(ReassignOpportunity, ReassignOpportunityRequest, Opportunity)

#define TRIAD_PIPELINE_READS(X)                                                            \
  X(GetPlaybook, GetPlaybookRequest, Playbook)                                             \
  X(ListPlaybooks, ListPlaybooksRequest, ListPlaybooksResponse)                            \
  X(GetSignal, GetSignalRequest, Signal)                                                   \
  X(ListSignals, ListSignalsRequest, ListSignalsResponse)                                  \
  X(GetLead, GetLeadRequest, Lead)                                                         \
  X(ListLeads, ListLeadsRequest, ListLeadsResponse)                                        \
  X(GetOpportunity, GetOpportunityRequest, Opportunity)                                    \
  X(ListOpportunities, ListOpportunitiesRequest, ListOpportunitiesResponse)                \
  X(ListOpportunityHistory, ListOpportunityHistoryRequest, ListOpportunityHistoryResponse) \
  X(GetFunnelReport, GetFunnelReportRequest, FunnelReport)                                 \
  X(RankOpenDeals, RankOpenDealsRequest, RankOpenDealsResponse)                            \
  X(ListStaleDeals, ListStaleDealsRequest, ListStaleDealsResponse)                         \
  X(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)

#define TRIAD_PIPELINE_RPCS(X) TRIAD_PIPELINE_WRITES(X) TRIAD_PIPELINE_READS(X)

// The base class: the generated service with every read switched to the callback API.
#define TRIAD_GRPC_SERVICE v1::PipelineService
using PipelineGrpcServiceBase =
    TRIAD_PIPELINE_READS(TRIAD_INLINE_READ_BASE_OPEN) v1::PipelineService::Service
    TRIAD_PIPELINE_READS(TRIAD_INLINE_READ_BASE_CLOSE);
#undef TRIAD_GRPC_SERVICE

class PipelineGrpcService final : public PipelineGrpcServiceBase {
 public:
  // The domain is not owned and must outlive the service. `security` defaults to
  // authentication disabled (in-process tests).
  explicit PipelineGrpcService(Pipeline* pipeline, auth::CallSecurity security = {});

  TRIAD_PIPELINE_WRITES(TRIAD_SYNC_WRITE_DECLARE)
  TRIAD_PIPELINE_READS(TRIAD_INLINE_READ_DECLARE)

 private:
  Pipeline* p_;
  auth::Guard guard_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_
