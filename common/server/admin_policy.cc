// The role table of triad.admin.v1.AdminService: every method is the operator's alone
// (PolicyKind::kAdminApi adds `operator` to each entry; service accounts get none).
#include "common/server/admin_policy.h"

namespace triad::server {

const auth::Policy& AdminServicePolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.admin.v1.AdminService", auth::PolicyKind::kAdminApi,
                       {
                           {"CreateBackup", {}},
                           {"ListBackups", {}},
                           {"DeleteBackup", {}},
                           {"ListQuarantinedEvents", {}},
                           {"RequeueQuarantinedEvent", {}},
                           {"ListAccessDenials", {}},
                       });
  return *policy;
}

}  // namespace triad::server
