// Implements the role names and the ownership rule of principal.h.
#include "common/auth/principal.h"

#include <algorithm>
#include <array>
#include <utility>

namespace triad::auth {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 7> kRoleNames = {{
    {Role::kSales, "sales"},
    {Role::kSalesManager, "sales_manager"},
    {Role::kExpert, "expert"},
    {Role::kProductHead, "product_head"},
    {Role::kProductionManager, "production_manager"},
    {Role::kOperator, "operator"},
    {Role::kService, "service"},
}};

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [r, name] : kRoleNames) {
    if (r == role) return name;
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [r, n] : kRoleNames) {
    if (n == name) return r;
  }
  return std::nullopt;
}

bool Principal::Has(Role role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::InTeam(std::string_view team) const {
  return !team.empty() && std::find(teams.begin(), teams.end(), team) != teams.end();
}

bool SeesEverything(const Principal& principal) {
  if (principal.method == AuthMethod::kNone) return true;
  return std::any_of(principal.roles.begin(), principal.roles.end(),
                     [](Role r) { return r != Role::kSales && r != Role::kSalesManager; });
}

bool CanSee(const Principal& principal, const Ownership& ownership) {
  if (SeesEverything(principal)) return true;
  if (!ownership.owner_id.empty() && ownership.owner_id == principal.subject) return true;
  return principal.InTeam(ownership.team_id);
}

}  // namespace triad::auth
