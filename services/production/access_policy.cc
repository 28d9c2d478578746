// The role tables of the production service (see access_policy.h). PolicyKind::kServiceApi adds
// `operator` and `service` to every entry, kAdminApi adds `operator` only.
#include "services/production/access_policy.h"

namespace triad::production {
namespace {

using auth::kManager;
using auth::kProductionManager;
using auth::kReadEverything;
using auth::kSellers;
using auth::Role;
using auth::RoleSet;

}  // namespace

const auth::Policy& ProductionServicePolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.production.v1.ProductionService", auth::PolicyKind::kServiceApi,
                       {
                           {"CreateResource", kProductionManager},
                           {"GetResource", kReadEverything},
                           {"ListResources", kReadEverything},
                           {"UpdateResource", kProductionManager},
                           {"DeactivateResource", kProductionManager},
                           {"GetPhaseTemplate", kReadEverything},
                           {"ListPhaseTemplates", kReadEverything},
                           {"CreatePhaseTemplateVersion", kProductionManager},
                           {"CreateProject", kProductionManager},
                           {"GetProject", kSellers | kReadEverything},
                           {"ListProjects", kSellers | kReadEverything},
                           {"PinPhase", kProductionManager},
                           {"ReportPhaseProgress", kProductionManager},
                           {"ReleaseTentativeProject", kProductionManager},
                           {"Reschedule", kProductionManager},
                           {"CheckFeasibility", kSellers | kReadEverything},
                           {"GetUtilisation", kReadEverything},
                           {"RequestSignOff", kProductionManager},
                           {"ListInactiveHoldings", kManager | kReadEverything},
                       });
  return *policy;
}

}  // namespace triad::production
