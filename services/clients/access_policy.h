// The role tables of the clients service's gRPC APIs (method short name -> roles; default
// deny), which its adapters' request guards apply.
#ifndef TRIAD_SERVICES_CLIENTS_ACCESS_POLICY_H_
#define TRIAD_SERVICES_CLIENTS_ACCESS_POLICY_H_

#include "common/auth/policy.h"

namespace triad::clients {

// ClientsServicePolicy is the role table of triad.clients.v1.ClientsService: salespeople work their
// own and their team's records (ownership: ClientsAccess), sales managers also the bulk operations,
// experts read clients, product heads and production managers read all.
const auth::Policy& ClientsServicePolicy();

// ClientsAdminPolicy is the role table of triad.clients.v1.ClientsAdminService: operators only.
const auth::Policy& ClientsAdminPolicy();

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_ACCESS_POLICY_H_
