// Policy: which roles may call which method of one gRPC service, by the method's short name.
// Default deny: a method without an entry is refused to everyone. Each service keeps its
// table next to its adapter (services/<svc>/access_policy.cc); AdminService's is in
// common/server/admin_policy.cc. A unit test checks every method of every service has one.
#ifndef TRIAD_COMMON_AUTH_POLICY_H_
#define TRIAD_COMMON_AUTH_POLICY_H_

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/auth/principal.h"

namespace triad::auth {

// A set of roles (a bit per Role).
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  // Contains is true when `role` is in the set.
  constexpr bool Contains(Role role) const { return (bits_ & Bit(role)) != 0; }
  // operator| is the union of two sets.
  constexpr RoleSet operator|(RoleSet other) const {
    RoleSet s;
    s.bits_ = bits_ | other.bits_;
    return s;
  }
  // Names lists the roles' claim names, in Role order.
  std::vector<std::string_view> Names() const;

 private:
  static constexpr unsigned Bit(Role r) { return 1u << static_cast<unsigned>(r); }
  unsigned bits_ = 0;
};

// The roles that read everything (product heads, production managers); operator and service
// accounts are implied by PolicyKind::kServiceApi.
inline constexpr RoleSet kReadEverything{Role::kProductHead, Role::kProductionManager};
// Salespeople and their managers.
inline constexpr RoleSet kSellers{Role::kSales, Role::kSalesManager};
// The single-role sets the service tables name, and the empty set (no role beyond the ones the
// PolicyKind adds).
inline constexpr RoleSet kManager{Role::kSalesManager};
inline constexpr RoleSet kExpert{Role::kExpert};
inline constexpr RoleSet kProductHead{Role::kProductHead};
inline constexpr RoleSet kProductionManager{Role::kProductionManager};
inline constexpr RoleSet kNone{};

// Whether a service is an operator API (only `operator` besides the listed roles) or a
// service API (`operator` and `service` may call every listed method).
enum class PolicyKind { kServiceApi, kAdminApi };

class Policy {
 public:
  // Policy for the gRPC service `service_full_name` (e.g. "triad.clients.v1.ClientsService"):
  // `entries` maps method short names to the roles allowed besides those `kind` adds
  // (operator always; service too for kServiceApi).
  Policy(std::string service_full_name, PolicyKind kind,
         std::initializer_list<std::pair<std::string_view, RoleSet>> entries);

  const std::string& service_full_name() const { return service_; }

  // Allowed is true when a principal holding any of `roles` may call `method`; false for a
  // method without an entry.
  bool Allowed(std::string_view method, const std::vector<Role>& roles) const;

  // Has is true when `method` has an entry.
  bool Has(std::string_view method) const { return roles_.find(method) != roles_.end(); }

  // RolesFor is the full set allowed to call `method` (empty without an entry).
  RoleSet RolesFor(std::string_view method) const;

  // methods lists the methods with an entry.
  std::vector<std::string> methods() const;

 private:
  std::string service_;
  std::map<std::string, RoleSet, std::less<>> roles_;
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_POLICY_H_
