// Implements RoleSet and Policy.
#include "common/auth/policy.h"

namespace triad::auth {

std::vector<std::string_view> RoleSet::Names() const {
  std::vector<std::string_view> names;
  for (Role r : {Role::kSales, Role::kSalesManager, Role::kExpert, Role::kProductHead,
                 Role::kProductionManager, Role::kOperator, Role::kService}) {
    if (Contains(r)) names.push_back(RoleName(r));
  }
  return names;
}

Policy::Policy(std::string service_full_name, PolicyKind kind,
               std::initializer_list<std::pair<std::string_view, RoleSet>> entries)
    : service_(std::move(service_full_name)) {
  const RoleSet implied = kind == PolicyKind::kServiceApi ? RoleSet{Role::kOperator, Role::kService}
                                                          : RoleSet{Role::kOperator};
  for (const auto& [method, roles] : entries) roles_[std::string(method)] = roles | implied;
}

bool Policy::Allowed(std::string_view method, const std::vector<Role>& roles) const {
  auto it = roles_.find(method);
  if (it == roles_.end()) return false;
  for (Role r : roles) {
    if (it->second.Contains(r)) return true;
  }
  return false;
}

RoleSet Policy::RolesFor(std::string_view method) const {
  auto it = roles_.find(method);
  return it == roles_.end() ? RoleSet() : it->second;
}

std::vector<std::string> Policy::methods() const {
  std::vector<std::string> out;
  for (const auto& [m, r] : roles_) out.push_back(m);
  return out;
}

}  // namespace triad::auth
