// ClientsAccess: the ownership rules of the clients service (auth::ResourceAccess), which the
// request guard applies after authentication and the role check. A salesperson or sales manager
// acts only on the clients they own or their teams own, and on what hangs off those clients
// (contacts, touchpoints, cases, follow-ups); lists must be scoped to what they may see; other
// teams' duplicate candidates are redacted to their ids. Roles that see everything pass
// untouched. The decisions per method are in access.cc and docs in services/clients/README.md.
#ifndef TRIAD_SERVICES_CLIENTS_ACCESS_H_
#define TRIAD_SERVICES_CLIENTS_ACCESS_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/auth/access.h"
#include "common/auth/method_rules.h"
#include "common/auth/principal.h"
#include "services/clients/repository.h"
#include "triad/clients/v1/clients_service.pb.h"

namespace triad::clients {

class ClientsAccess : public auth::ResourceAccess {
 public:
  // `repo` (not owned) is only read: single-record reads and index scans of RocksDB, safe
  // beside the domain's writers without its lock.
  explicit ClientsAccess(const ClientsRepository* repo);

  // CheckRequest applies the decision of `method` (ClientsService, ClientsAdminService and
  // AdminService methods; any other is PERMISSION_DENIED).
  absl::Status CheckRequest(const auth::Principal& principal, std::string_view method,
                            const google::protobuf::Message& request) override;

  // FilterResponse redacts the duplicate candidates of FindDuplicates that the principal may
  // not see to their ids, and drops the offboardings of ListOffboardings they may not see.
  void FilterResponse(const auth::Principal& principal, std::string_view method,
                      google::protobuf::Message* response) override;

  // rules is the decision table (tests check that every RPC has a decision).
  const auth::MethodRules& rules() const { return rules_; }

 private:
  // Ownership of a client (merges followed to the survivor); nullopt when it does not exist.
  absl::StatusOr<std::optional<auth::Ownership>> ClientOwnership(std::string_view client_id) const;
  // CheckClient is OK when the client is visible (or does not exist), else NotVisible naming
  // `kind` and `id` (the record the request addressed).
  absl::Status CheckClient(const auth::Principal& p, std::string_view client_id,
                           std::string_view kind, std::string_view id) const;
  absl::Status CheckCase(const auth::Principal& p, std::string_view case_id) const;
  absl::Status CheckUpdate(const auth::Principal& p, const v1::UpdateClientRequest& req) const;
  absl::Status CheckReassign(const auth::Principal& p, const v1::ReassignClientRequest& req) const;
  absl::Status CheckHandover(const auth::Principal& p,
                             const v1::HandOverPortfolioRequest& req) const;
  absl::Status CheckOffboard(const auth::Principal& p, const v1::OffboardPersonRequest& req) const;
  absl::Status CheckImport(const auth::Principal& p, const v1::ImportClientsCsvRequest& req) const;
  absl::Status CheckGetHandover(const auth::Principal& p, std::string_view handover_id) const;
  absl::Status CheckGetOffboarding(const auth::Principal& p, std::string_view offboarding_id) const;
  // Redacts the candidates the principal may not see to their client ids.
  void RedactDuplicates(const auth::Principal& p, v1::FindDuplicatesResponse* resp) const;
  void BuildRules();

  const ClientsRepository* repo_;
  auth::MethodRules rules_;
};

// OffboardingVisible is true when the principal is the person who left, the successor, the
// actor who started it, or in the team it went to.
bool OffboardingVisible(const auth::Principal& p, const v1::Offboarding& o);

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_ACCESS_H_
