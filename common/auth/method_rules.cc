// Implements the per-method decision table and the ownership helpers of method_rules.h.
#include "common/auth/method_rules.h"

#include "absl/strings/str_join.h"

namespace triad::auth {

absl::Status NotVisible(std::string_view kind, std::string_view id) {
  return absl::PermissionDeniedError(
      absl::StrCat(std::string(kind), " ", std::string(id), ": ", kOwnedByAnotherTeam));
}

absl::Status ScopeRequired(std::string_view method, std::string_view what) {
  return absl::PermissionDeniedError(absl::StrCat(std::string(method), ": ", std::string(what)));
}

std::string OwnScopeHint(const Principal& principal, std::string_view owner_field,
                         std::string_view team_field) {
  std::string hint = absl::StrCat("set ", std::string(owner_field), " to ", principal.subject);
  if (!principal.teams.empty()) {
    absl::StrAppend(&hint, " or ", std::string(team_field), " to one of your teams (",
                    absl::StrJoin(principal.teams, ", "), ")");
  }
  return hint;
}

bool MayScope(const Principal& principal, std::string_view owner_id, std::string_view team_id) {
  if (SeesEverything(principal)) return true;
  if (!owner_id.empty() && owner_id == principal.subject) return true;
  return principal.InTeam(team_id);
}

bool CanAssign(const Principal& principal, const Ownership& next, const Ownership& current) {
  if (SeesEverything(principal)) return true;
  if (next.team_id != current.team_id && !next.team_id.empty() && !principal.InTeam(next.team_id)) {
    return false;
  }
  Ownership result = next;
  if (result.owner_id.empty()) result.owner_id = principal.subject;
  return CanSee(principal, result);
}

MethodRules& MethodRules::Open(std::string method) {
  Rule& rule = rules_[std::move(method)];
  rule.kind = Kind::kOpen;
  rule.decided = true;
  rule.check = nullptr;
  return *this;
}

MethodRules& MethodRules::EverythingOnly(std::string method) {
  Rule& rule = rules_[std::move(method)];
  rule.kind = Kind::kEverythingOnly;
  rule.decided = true;
  rule.check = nullptr;
  return *this;
}

const MethodRules::Rule* MethodRules::Find(std::string_view method) const {
  auto it = rules_.find(method);
  if (it == rules_.end() || !it->second.decided) return nullptr;
  return &it->second;
}

absl::Status MethodRules::WrongType(std::string_view method, const google::protobuf::Message& m,
                                    std::string_view expected) {
  return absl::InternalError(absl::StrCat("access check of ", std::string(method), ": request is ",
                                          m.GetDescriptor()->full_name(), ", expected ",
                                          std::string(expected)));
}

absl::Status MethodRules::CheckRequest(const Principal& principal, std::string_view method,
                                       const google::protobuf::Message& request) const {
  const Rule* rule = Find(method);
  if (rule == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat(std::string(method), ": no access rule for this method"));
  }
  if (SeesEverything(principal)) return absl::OkStatus();
  switch (rule->kind) {
    case Kind::kOpen:
      return absl::OkStatus();
    case Kind::kEverythingOnly:
      return ScopeRequired(method, "only roles that see every team's records may call it");
    case Kind::kChecked:
      return rule->check(principal, request, method);
  }
  return absl::PermissionDeniedError(absl::StrCat(std::string(method), ": no access rule"));
}

void MethodRules::FilterResponse(const Principal& principal, std::string_view method,
                                 google::protobuf::Message* response) const {
  if (response == nullptr || SeesEverything(principal)) return;
  const Rule* rule = Find(method);
  if (rule != nullptr && rule->filter) rule->filter(principal, response);
}

bool MethodRules::Decides(std::string_view method) const { return Find(method) != nullptr; }

MethodRules::Kind MethodRules::KindOf(std::string_view method) const {
  const Rule* rule = Find(method);
  return rule == nullptr ? Kind::kOpen : rule->kind;
}

bool MethodRules::HasFilter(std::string_view method) const {
  const Rule* rule = Find(method);
  return rule != nullptr && static_cast<bool>(rule->filter);
}

std::vector<std::string> MethodRules::Methods() const {
  std::vector<std::string> out;
  for (const auto& [name, rule] : rules_) {
    if (rule.decided) out.push_back(name);
  }
  return out;
}

}  // namespace triad::auth
