// MethodRules: the per-method table of decisions a service's ResourceAccess (access.h) is built
// from, and the ownership helpers those decisions share (the wording of a denial, who may give a
// record which owner and team, who may scope a list how).
//
// Every RPC of a service gets one explicit decision: `Open` (the method addresses no owned
// record), `EverythingOnly` (only principals that see everything, e.g. operator scans), or
// `Check` (a function of the principal and the typed request). A method with no decision is
// PERMISSION_DENIED for every principal, so a new RPC cannot pass through silently. Principals
// that see everything (principal.h's SeesEverything) pass every decided method untouched and
// get every response unfiltered.
#ifndef TRIAD_COMMON_AUTH_METHOD_RULES_H_
#define TRIAD_COMMON_AUTH_METHOD_RULES_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/auth/principal.h"
#include "google/protobuf/message.h"

namespace triad::auth {

// The text a denied caller reads instead of a record it may not see.
inline constexpr char kOwnedByAnotherTeam[] = "owned by another team";

// NotVisible returns PERMISSION_DENIED "<kind> <id>: owned by another team": the one denial of
// a record the caller may not see (it names the record, never its fields).
absl::Status NotVisible(std::string_view kind, std::string_view id);

// ScopeRequired returns PERMISSION_DENIED "<method>: <what>", where `what` says which filter
// the caller must set (e.g. "set owner_id to u:li or team_id to one of your teams (east)").
absl::Status ScopeRequired(std::string_view method, std::string_view what);

// OwnScopeHint is the "owner_id = <subject> or team_id = one of <teams>" hint of a list that
// takes an owner and a team filter, with the field names given.
std::string OwnScopeHint(const Principal& principal, std::string_view owner_field,
                         std::string_view team_field);

// MayScope is true when a list filtered by `owner_id` and `team_id` stays within what the
// principal may see: the principal sees everything, `owner_id` is the principal, or `team_id`
// is one of the principal's teams.
bool MayScope(const Principal& principal, std::string_view owner_id, std::string_view team_id);

// CanAssign is true when the principal may give a record the ownership `next` (a new record:
// `current` empty; a change of owner or team: `current` the stored one). A principal that sees
// everything may give anything; anyone else only a team that stays the same or is one of their
// teams (or none), and a result they can still see (CanSee). An empty next.owner_id counts as
// the principal (the domain requires or defaults it).
bool CanAssign(const Principal& principal, const Ownership& next, const Ownership& current);

class MethodRules {
 public:
  // How a method is decided (for tests and documentation).
  enum class Kind { kOpen, kEverythingOnly, kChecked };

  template <typename Req>
  using CheckFn = std::function<absl::Status(const Principal&, const Req&)>;
  template <typename Resp>
  using FilterFn = std::function<void(const Principal&, Resp*)>;

  // Open decides that `method` addresses no owned record: every principal passes.
  MethodRules& Open(std::string method);

  // EverythingOnly decides that only principals that see everything may call `method`.
  MethodRules& EverythingOnly(std::string method);

  // Check decides `method` (request type Req) with `fn`, called for principals that do not see
  // everything.
  template <typename Req>
  MethodRules& Check(std::string method, CheckFn<Req> fn) {
    Rule& rule = rules_[std::move(method)];
    rule.kind = Kind::kChecked;
    rule.decided = true;
    rule.check = [fn = std::move(fn)](const Principal& p, const google::protobuf::Message& m,
                                      std::string_view name) -> absl::Status {
      const Req* req = dynamic_cast<const Req*>(&m);
      if (req == nullptr) return WrongType(name, m, Req::descriptor()->full_name());
      return fn(p, *req);
    };
    return *this;
  }

  // Filter adds a response filter to an already decided `method` (response type Resp), called
  // for principals that do not see everything.
  template <typename Resp>
  MethodRules& Filter(const std::string& method, FilterFn<Resp> fn) {
    rules_[method].filter = [fn = std::move(fn)](const Principal& p, google::protobuf::Message* m) {
      if (Resp* resp = dynamic_cast<Resp*>(m); resp != nullptr) fn(p, resp);
    };
    return *this;
  }

  // CheckRequest applies the decision of `method`: PERMISSION_DENIED when there is none.
  absl::Status CheckRequest(const Principal& principal, std::string_view method,
                            const google::protobuf::Message& request) const;

  // FilterResponse applies the response filter of `method`, if any.
  void FilterResponse(const Principal& principal, std::string_view method,
                      google::protobuf::Message* response) const;

  // Decides is true when `method` has a decision; KindOf returns it (kOpen when none).
  bool Decides(std::string_view method) const;
  Kind KindOf(std::string_view method) const;
  // HasFilter is true when `method` has a response filter.
  bool HasFilter(std::string_view method) const;

  // Methods lists the decided methods, sorted.
  std::vector<std::string> Methods() const;

 private:
  struct Rule {
    Kind kind = Kind::kOpen;
    bool decided = false;
    std::function<absl::Status(const Principal&, const google::protobuf::Message&,
                               std::string_view)>
        check;
    std::function<void(const Principal&, google::protobuf::Message*)> filter;
  };

  static absl::Status WrongType(std::string_view method, const google::protobuf::Message& m,
                                std::string_view expected);
  const Rule* Find(std::string_view method) const;

  std::map<std::string, Rule, std::less<>> rules_;
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_METHOD_RULES_H_
