// The role tables of the pipeline service (see access_policy.h). PolicyKind::kServiceApi adds
// `operator` and `service` to every entry, kAdminApi adds `operator` only.
#include "services/pipeline/access_policy.h"

namespace triad::pipeline {
namespace {

using auth::kExpert;
using auth::kManager;
using auth::kNone;
using auth::kReadEverything;
using auth::kSellers;
using auth::Role;
using auth::RoleSet;

}  // namespace

const auth::Policy& PipelineServicePolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.pipeline.v1.PipelineService", auth::PolicyKind::kServiceApi,
                       {
                           {"GetPlaybook", kSellers | kExpert | kReadEverything},
                           {"ListPlaybooks", kSellers | kExpert | kReadEverything},
                           {"CreatePlaybookVersion", kManager},
                           {"RecordSignal", kSellers},
                           {"GetSignal", kSellers | kReadEverything},
                           {"ListSignals", kSellers | kReadEverything},
                           {"CreateLead", kSellers},
                           {"GetLead", kSellers | kReadEverything},
                           {"ListLeads", kSellers | kReadEverything},
                           {"QualifyLead", kSellers},
                           {"DisqualifyLead", kSellers},
                           {"CreateOpportunity", kSellers},
                           {"GetOpportunity", kSellers | kExpert | kReadEverything},
                           {"ListOpportunities", kSellers | kExpert | kReadEverything},
                           {"ListOpportunityHistory", kSellers | kExpert | kReadEverything},
                           {"UpdateOpportunity", kSellers},
                           {"CompleteChecklistItem", kSellers},
                           {"AdvanceStage", kSellers},
                           {"WinOpportunity", kSellers},
                           {"LoseOpportunity", kSellers},
                           {"ReassignOpportunity", kManager},
                           {"GetFunnelReport", kSellers | kReadEverything},
                           {"RankOpenDeals", kSellers | kReadEverything},
                           {"ListStaleDeals", kSellers | kReadEverything},
                           {"ListInactiveHoldings", kManager | kReadEverything},
                       });
  return *policy;
}

const auth::Policy& PipelineAdminPolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.pipeline.v1.PipelineAdminService", auth::PolicyKind::kAdminApi,
                       {
                           {"ScanStaleDeals", kNone},
                       });
  return *policy;
}

}  // namespace triad::pipeline
