// The access policy of triad.admin.v1.AdminService (backups, outbox quarantine), which every
// service serves: operators only.
#ifndef TRIAD_COMMON_SERVER_ADMIN_POLICY_H_
#define TRIAD_COMMON_SERVER_ADMIN_POLICY_H_

#include "common/auth/policy.h"

namespace triad::server {

// AdminServicePolicy is the role table of triad.admin.v1.AdminService.
const auth::Policy& AdminServicePolicy();

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_ADMIN_POLICY_H_
