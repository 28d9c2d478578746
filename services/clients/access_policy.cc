// The role tables of the clients service (see access_policy.h). PolicyKind::kServiceApi adds
// `operator` and `service` to every entry, kAdminApi adds `operator` only.
#include "services/clients/access_policy.h"

namespace triad::clients {
namespace {

using auth::kExpert;
using auth::kManager;
using auth::kNone;
using auth::kReadEverything;
using auth::kSellers;
using auth::Role;
using auth::RoleSet;

}  // namespace

const auth::Policy& ClientsServicePolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.clients.v1.ClientsService", auth::PolicyKind::kServiceApi,
                       {
                           {"CreateClient", kSellers},
                           {"GetClient", kSellers | kExpert | kReadEverything},
                           {"ListClients", kSellers | kExpert | kReadEverything},
                           {"UpdateClient", kSellers},
                           {"VerifyClient", kSellers},
                           {"ArchiveClient", kSellers},
                           {"RestoreClient", kSellers},
                           {"FindDuplicates", kSellers | kReadEverything},
                           {"MergeClients", kManager},
                           {"ListClientHistory", kSellers | kExpert | kReadEverything},
                           {"ListActorHistory", kManager | kReadEverything},
                           {"ReassignClient", kManager},
                           {"HandOverPortfolio", kManager},
                           {"GetHandover", kManager | kReadEverything},
                           {"CreateContact", kSellers},
                           {"ListContacts", kSellers | kExpert | kReadEverything},
                           {"CreateTouchpoint", kSellers},
                           {"ListTouchpoints", kSellers | kExpert | kReadEverything},
                           {"OpenCase", kSellers},
                           {"GetCase", kSellers | kReadEverything},
                           {"ListCases", kSellers | kReadEverything},
                           {"AssignCase", kSellers},
                           {"TransitionCase", kSellers},
                           {"GetFollowUpPlan", kSellers | kReadEverything},
                           {"ListOverdueFollowUps", kSellers | kReadEverything},
                           {"CompleteFollowUp", kSellers},
                           {"ImportClientsCsv", kManager},
                           {"OffboardPerson", kManager},
                           {"GetOffboarding", kManager | kReadEverything},
                           {"ListOffboardings", kManager | kReadEverything},
                           {"ListInactiveHoldings", kManager | kReadEverything},
                       });
  return *policy;
}

const auth::Policy& ClientsAdminPolicy() {
  static const auth::Policy* policy =
      new auth::Policy("triad.clients.v1.ClientsAdminService", auth::PolicyKind::kAdminApi,
                       {
                           {"ScanSlaBreaches", kNone},
                           {"ScanDueFollowUps", kNone},
                           {"ErasePersonalData", kNone},
                       });
  return *policy;
}

}  // namespace triad::clients
