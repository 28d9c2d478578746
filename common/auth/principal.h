// Principal: who is calling, as authenticated from a verified bearer token (JWT) or an mTLS
// client certificate, with the roles and teams the access rules of every service use.
#ifndef TRIAD_COMMON_AUTH_PRINCIPAL_H_
#define TRIAD_COMMON_AUTH_PRINCIPAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triad::auth {

// The roles of the access policy. A token's `roles` claim carries their names (RoleName).
enum class Role : uint8_t {
  kSales = 0,
  kSalesManager,
  kExpert,
  kProductHead,
  kProductionManager,
  kOperator,
  kService,
};

// RoleName is the claim spelling of a role: "sales", "sales_manager", "expert", "product_head",
// "production_manager", "operator", "service".
std::string_view RoleName(Role role);

// ParseRole reads a role's claim spelling; nullopt for an unknown name.
std::optional<Role> ParseRole(std::string_view name);

// How the principal was authenticated.
enum class AuthMethod : uint8_t {
  kNone = 0,  // authentication disabled (--auth_mode=disabled, development and tests only)
  kJwt,       // a verified bearer token
  kMtls,      // a verified client certificate (service accounts)
};

struct Principal {
  // The person or service account: the token's `sub`, or the certificate's subject CN. It is
  // the `actor.id` of every change the caller makes.
  std::string subject;
  std::vector<Role> roles;
  // The teams the person belongs to (for a sales manager: the teams they manage); the token's
  // `teams` claim.
  std::vector<std::string> teams;
  AuthMethod method = AuthMethod::kNone;

  // Has is true when the principal holds `role`.
  bool Has(Role role) const;
  // InTeam is true when `team` is non-empty and one of the principal's teams.
  bool InTeam(std::string_view team) const;
};

// Who owns a client, lead or opportunity: the owner and the owner's team.
struct Ownership {
  std::string owner_id;
  std::string team_id;
};

// SeesEverything is true for the principals ownership does not restrict: anyone who holds a
// role other than sales and sales_manager (experts, product heads, production managers,
// operators, service accounts) and the disabled-authentication principal.
bool SeesEverything(const Principal& principal);

// CanSee is the ownership rule for clients, leads and opportunities: true when the principal
// sees everything (SeesEverything), owns the record, or is in (or, as a sales manager, manages)
// the record's team.
bool CanSee(const Principal& principal, const Ownership& ownership);

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_PRINCIPAL_H_
