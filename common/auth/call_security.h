// CallSecurity: what a service's request guard needs from its process — the authenticator,
// the service's ownership rules and where denials are kept. The runtime hands it to every
// service's wiring (ServiceRuntime::call_security); a default one means authentication
// disabled, no ownership rules, denials only logged and counted (in-process tests).
#ifndef TRIAD_COMMON_AUTH_CALL_SECURITY_H_
#define TRIAD_COMMON_AUTH_CALL_SECURITY_H_

#include <memory>

#include "common/auth/access.h"
#include "common/auth/authenticator.h"
#include "common/auth/denials.h"

namespace triad::auth {

struct CallSecurity {
  // Null means authentication disabled.
  std::shared_ptr<const Authenticator> authenticator;
  // The service's ownership rules (not owned; null: none).
  ResourceAccess* access = nullptr;
  // Where denials are kept besides the log and the metric (not owned; null: nowhere).
  DenialSink* denials = nullptr;

  // WithAccess is a copy of this with `rules` as the ownership rules.
  CallSecurity WithAccess(ResourceAccess* rules) const {
    CallSecurity copy = *this;
    copy.access = rules;
    return copy;
  }
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_CALL_SECURITY_H_
