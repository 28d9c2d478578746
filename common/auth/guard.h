// Guard: the per-call security sequence every gRPC adapter method runs, in this order:
//   1. authenticate (bearer JWT or mTLS client certificate)          -> UNAUTHENTICATED
//   2. the principal's roles may call the method (the service's Policy, default deny)
//                                                                     -> PERMISSION_DENIED
//   3. api::CheckRequest (the request check every RPC passes)         -> INVALID_ARGUMENT
//   4. the service's ResourceAccess::CheckRequest, if it has one      -> PERMISSION_DENIED
//   5. every top-level triad.common.v1.Actor field of the request gets id = principal.subject
//      (its free-text reason stays); with authentication disabled the request's actor stands
//   6. the domain call, its status mapped once (ToGrpcStatus); the writes it made are made
//      durable (storage::AwaitDurable: group commit, after the domain released its lock)
//      before the answer leaves — UNAVAILABLE if they cannot be
//   7. ResourceAccess::FilterResponse on a successful response.
// Every UNAUTHENTICATED/PERMISSION_DENIED of steps 1, 2 and 4 is audited (AuditDenial) and kept
// in the CallSecurity's DenialSink.
#ifndef TRIAD_COMMON_AUTH_GUARD_H_
#define TRIAD_COMMON_AUTH_GUARD_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "common/auth/call_security.h"
#include "common/auth/policy.h"
#include "common/auth/principal.h"
#include "common/status/grpc_status.h"
#include "common/storage/durability.h"
#include "google/protobuf/message.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace triad::auth {

// StampActor sets id = `subject` on every top-level field of type triad.common.v1.Actor of
// `request` (creating it when unset); returns whether it has one.
bool StampActor(std::string_view subject, google::protobuf::Message* request);

// HasActorField is true when `descriptor` has a top-level triad.common.v1.Actor field.
bool HasActorField(const google::protobuf::Descriptor* descriptor);

// NotDurable is the error answered when a call's writes could not be made durable (`cause`):
// UNAVAILABLE, so the caller retries with the same request id.
absl::Status NotDurable(const absl::Status& cause);

class Guard {
 public:
  // Guard for the service `service` (short name, e.g. "clients": the metric's label) with
  // its policy table (not owned; must outlive the guard).
  Guard(std::string service, const Policy& policy, CallSecurity security);

  // Admit runs steps 1-4 for the call `method` (short name) and returns the principal.
  absl::StatusOr<Principal> Admit(const grpc::ServerContextBase* ctx, std::string_view method,
                                  const google::protobuf::Message& request) const;

  // Filter runs ResourceAccess::FilterResponse (step 7).
  void Filter(const Principal& principal, std::string_view method,
              google::protobuf::Message* response) const;

  // Call runs the whole sequence around `domain`, a callable taking the (stamped) request and
  // returning absl::StatusOr<Response>.
  template <typename Request, typename Response, typename Domain>
  grpc::Status Call(const grpc::ServerContextBase* ctx, std::string_view method,
                    const Request& request, Response* response, Domain&& domain) const {
    absl::StatusOr<Principal> principal = Admit(ctx, method, request);
    if (!principal.ok()) return ToGrpcStatus(principal.status());
    const Request* effective = &request;
    std::optional<Request> stamped;
    if (principal->method != AuthMethod::kNone && HasActorField(Request::descriptor())) {
      stamped.emplace(request);
      StampActor(principal->subject, &*stamped);
      effective = &*stamped;
    }
    auto result = std::forward<Domain>(domain)(*effective);
    if (absl::Status durable = storage::AwaitDurable(); !durable.ok()) {
      return ToGrpcStatus(NotDurable(durable));
    }
    grpc::Status status = Reply(std::move(result), response);
    if (status.ok()) Filter(*principal, method, response);
    return status;
  }

  const std::string& service() const { return service_; }
  const Policy& policy() const { return *policy_; }

 private:
  // Deny audits a refused call and returns `status`.
  absl::Status Deny(const grpc::ServerContextBase* ctx, std::string_view method,
                    std::string_view subject, absl::Status status) const;

  std::string service_;
  const Policy* policy_;
  CallSecurity security_;
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_GUARD_H_
