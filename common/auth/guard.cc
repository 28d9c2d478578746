// Implements the Guard's checks (authentication, role, request check, ownership), the actor
// stamping and the audit of denials.
#include "common/auth/guard.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/api/validation.h"
#include "grpcpp/grpcpp.h"

namespace triad::auth {
namespace {

constexpr std::string_view kActorType = "triad.common.v1.Actor";

bool IsActorField(const google::protobuf::FieldDescriptor* field) {
  return field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE &&
         !field->is_repeated() && field->message_type()->full_name() == kActorType;
}

std::string Join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string RoleList(const std::vector<Role>& roles) {
  if (roles.empty()) return "no role";
  std::vector<std::string_view> names;
  for (Role r : roles) names.push_back(RoleName(r));
  return absl::StrCat("role ", Join(names));
}

}  // namespace

bool HasActorField(const google::protobuf::Descriptor* descriptor) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (IsActorField(descriptor->field(i))) return true;
  }
  return false;
}

absl::Status NotDurable(const absl::Status& cause) {
  return absl::UnavailableError(absl::StrCat("the change was not confirmed durable (",
                                             cause.message(), "); retry with the same request_id"));
}

bool StampActor(std::string_view subject, google::protobuf::Message* request) {
  const google::protobuf::Descriptor* descriptor = request->GetDescriptor();
  const google::protobuf::Reflection* reflection = request->GetReflection();
  bool stamped = false;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (!IsActorField(field)) continue;
    google::protobuf::Message* actor = reflection->MutableMessage(request, field);
    const google::protobuf::FieldDescriptor* id = actor->GetDescriptor()->FindFieldByName("id");
    if (id == nullptr) continue;
    actor->GetReflection()->SetString(actor, id, std::string(subject));
    stamped = true;
  }
  return stamped;
}

Guard::Guard(std::string service, const Policy& policy, CallSecurity security)
    : service_(std::move(service)), policy_(&policy), security_(std::move(security)) {}

absl::StatusOr<Principal> Guard::Admit(const grpc::ServerContextBase* ctx, std::string_view method,
                                       const google::protobuf::Message& request) const {
  Principal principal{.method = AuthMethod::kNone};
  if (security_.authenticator != nullptr && !security_.authenticator->disabled()) {
    absl::StatusOr<Principal> authenticated = security_.authenticator->AuthenticateCall(ctx);
    if (!authenticated.ok()) return Deny(ctx, method, "", authenticated.status());
    principal = *std::move(authenticated);
    if (!policy_->Allowed(method, principal.roles)) {
      const std::string allowed = Join(policy_->RolesFor(method).Names());
      return Deny(
          ctx, method, principal.subject,
          PermissionDenied(
              "role", absl::StrCat(RoleList(principal.roles), " may not call ", std::string(method),
                                   allowed.empty() ? " (no role may)"
                                                   : absl::StrCat(" (allowed: ", allowed, ")"))));
    }
  }
  if (absl::Status s = api::CheckRequest(request); !s.ok()) return s;
  if (security_.access != nullptr) {
    absl::Status s = security_.access->CheckRequest(principal, method, request);
    if (s.code() == absl::StatusCode::kPermissionDenied ||
        s.code() == absl::StatusCode::kUnauthenticated) {
      if (DenialReason(s).empty()) s.SetPayload(kDenialReasonPayload, absl::Cord("ownership"));
      return Deny(ctx, method, principal.subject, std::move(s));
    }
    if (!s.ok()) return s;
  }
  return principal;
}

void Guard::Filter(const Principal& principal, std::string_view method,
                   google::protobuf::Message* response) const {
  if (security_.access != nullptr) security_.access->FilterResponse(principal, method, response);
}

absl::Status Guard::Deny(const grpc::ServerContextBase* ctx, std::string_view method,
                         std::string_view subject, absl::Status status) const {
  Denial denial;
  denial.service = service_;
  denial.method = std::string(method);
  denial.reason = DenialReason(status);
  if (denial.reason.empty()) {
    denial.reason = status.code() == absl::StatusCode::kUnauthenticated ? "unauthenticated"
                                                                        : "permission_denied";
  }
  denial.subject = std::string(subject);
  denial.peer = ctx != nullptr ? ctx->peer() : "";
  denial.code = status.code();
  denial.message = std::string(status.message());
  denial.time = absl::Now();
  AuditDenial(denial);
  if (security_.denials != nullptr) security_.denials->Keep(denial);
  return status;
}

}  // namespace triad::auth
