// Implements the gRPC adapter: each RPC forwards to the domain and maps the status.
#include "services/pipeline/grpc_service.h"

#include "common/status/grpc_status.h"
#include "services/pipeline/opportunity_history.h"

namespace triad::pipeline {

#define TRIAD_PIPELINE_RPC(Method, Request, Response)                                    \
  grpc::Status PipelineGrpcService::Method(grpc::ServerContext*, const v1::Request* req, \
                                           v1::Response* resp) {                         \
    grpc::Status status = Reply(p_->Method(*req), resp);                                 \
    if (status.ok()) PresentForApi(resp);                                                \
    return status;                                                                       \
  }
TRIAD_PIPELINE_RPC(GetPlaybook, GetPlaybookRequest, Playbook)
TRIAD_PIPELINE_RPC(ListPlaybooks, ListPlaybooksRequest, ListPlaybooksResponse)
TRIAD_PIPELINE_RPC(CreatePlaybookVersion, CreatePlaybookVersionRequest, Playbook)
TRIAD_PIPELINE_RPC(RecordSignal, RecordSignalRequest, Signal)
TRIAD_PIPELINE_RPC(GetSignal, GetSignalRequest, Signal)
TRIAD_PIPELINE_RPC(ListSignals, ListSignalsRequest, ListSignalsResponse)
TRIAD_PIPELINE_RPC(CreateLead, CreateLeadRequest, Lead)
TRIAD_PIPELINE_RPC(GetLead, GetLeadRequest, Lead)
TRIAD_PIPELINE_RPC(ListLeads, ListLeadsRequest, ListLeadsResponse)
TRIAD_PIPELINE_RPC(QualifyLead, QualifyLeadRequest, Lead)
TRIAD_PIPELINE_RPC(DisqualifyLead, DisqualifyLeadRequest, Lead)
TRIAD_PIPELINE_RPC(CreateOpportunity, CreateOpportunityRequest, Opportunity)
TRIAD_PIPELINE_RPC(GetOpportunity, GetOpportunityRequest, Opportunity)
TRIAD_PIPELINE_RPC(ListOpportunities, ListOpportunitiesRequest, ListOpportunitiesResponse)
TRIAD_PIPELINE_RPC(ListOpportunityHistory, ListOpportunityHistoryRequest,
                   ListOpportunityHistoryResponse)
TRIAD_PIPELINE_RPC(UpdateOpportunity, UpdateOpportunityRequest, Opportunity)
TRIAD_PIPELINE_RPC(CompleteChecklistItem, CompleteChecklistItemRequest, Opportunity)
TRIAD_PIPELINE_RPC(AdvanceStage, AdvanceStageRequest, Opportunity)
TRIAD_PIPELINE_RPC(WinOpportunity, WinOpportunityRequest, Opportunity)
TRIAD_PIPELINE_RPC(LoseOpportunity, LoseOpportunityRequest, Opportunity)
TRIAD_PIPELINE_RPC(ReassignOpportunity, ReassignOpportunityRequest, Opportunity)
TRIAD_PIPELINE_RPC(GetFunnelReport, GetFunnelReportRequest, FunnelReport)
TRIAD_PIPELINE_RPC(RankOpenDeals, RankOpenDealsRequest, RankOpenDealsResponse)
TRIAD_PIPELINE_RPC(ListStaleDeals, ListStaleDealsRequest, ListStaleDealsResponse)
TRIAD_PIPELINE_RPC(ListInactiveHoldings, ListInactiveHoldingsRequest, ListInactiveHoldingsResponse)
#undef TRIAD_PIPELINE_RPC

}  // namespace triad::pipeline
