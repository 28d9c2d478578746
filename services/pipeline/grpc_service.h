// PipelineGrpcService: the thin gRPC adapter of the pipeline domain. Each RPC calls the domain
// and maps its absl::Status with triad::ToGrpcStatus; no logic lives here.
#ifndef TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_
#define TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_

#include "services/pipeline/pipeline.h"
#include "triad/pipeline/v1/pipeline_service.grpc.pb.h"

namespace triad::pipeline {

inline constexpr char kServiceFullName[] = "triad.pipeline.v1.PipelineService";

class PipelineGrpcService final : public v1::PipelineService::Service {
 public:
  // The domain is not owned and must outlive the service.
  explicit PipelineGrpcService(Pipeline* pipeline) : p_(pipeline) {}

#define TRIAD_PIPELINE_RPC(Method, Request, Response)                                       \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;
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
  TRIAD_PIPELINE_RPC(ListInactiveHoldings, ListInactiveHoldingsRequest,
                     ListInactiveHoldingsResponse)
#undef TRIAD_PIPELINE_RPC

 private:
  Pipeline* p_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_GRPC_SERVICE_H_
