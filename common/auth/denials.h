// Denials: every call refused by authentication (UNAUTHENTICATED) or authorisation
// (PERMISSION_DENIED) is audited — a structured log line `"audit":"access_denied"` with who,
// what, when and from where — and counted in triad_auth_denied_total{service,method,reason}.
// A DenialSink may keep them too (the service's store, listable through AdminService).
#ifndef TRIAD_COMMON_AUTH_DENIALS_H_
#define TRIAD_COMMON_AUTH_DENIALS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace triad::auth {

// One refused call.
struct Denial {
  // The service's short name ("clients").
  std::string service;
  // The RPC's short name ("GetClient").
  std::string method;
  // The short reason (DenialReason), e.g. "no_token", "expired", "role", "ownership".
  std::string reason;
  // Who (empty when authentication failed).
  std::string subject;
  // The caller's address (gRPC peer string).
  std::string peer;
  // UNAUTHENTICATED or PERMISSION_DENIED.
  absl::StatusCode code = absl::StatusCode::kUnauthenticated;
  // The message the caller got.
  std::string message;
  absl::Time time;
};

// DenialSink keeps denials beyond the log (e.g. in the service's store).
class DenialSink {
 public:
  virtual ~DenialSink() = default;
  // Keep stores one denial; it must not block long and must not fail the call.
  virtual void Keep(const Denial& denial) = 0;
};

// AuditDenial writes the audit log line of `denial` and counts it in
// triad_auth_denied_total{service,method,reason}.
void AuditDenial(const Denial& denial);

// DeniedCount is the current value of triad_auth_denied_total for the labels (tests, tools).
double DeniedCount(const std::string& service, const std::string& method,
                   const std::string& reason);

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_DENIALS_H_
