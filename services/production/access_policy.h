// The role tables of the production service's gRPC APIs (method short name -> roles; default
// deny), which its adapters' request guards apply.
#ifndef TRIAD_SERVICES_PRODUCTION_ACCESS_POLICY_H_
#define TRIAD_SERVICES_PRODUCTION_ACCESS_POLICY_H_

#include "common/auth/policy.h"

namespace triad::production {

// ProductionServicePolicy is the role table of triad.production.v1.ProductionService: production
// managers write, salespeople read projects (and ask for feasibility), product heads read all.
const auth::Policy& ProductionServicePolicy();

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_ACCESS_POLICY_H_
