// Implements the audit log line and the triad_auth_denied_total counter of denials.
#include "common/auth/denials.h"

#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/server/metrics.h"
#include "prometheus/counter.h"

namespace triad::auth {
namespace {

prometheus::Family<prometheus::Counter>& DeniedFamily() {
  static auto& family =
      prometheus::BuildCounter()
          .Name("triad_auth_denied_total")
          .Help("Calls refused by authentication or authorisation, by service, method and reason.")
          .Register(metrics::Registry());
  return family;
}

}  // namespace

void AuditDenial(const Denial& denial) {
  DeniedFamily()
      .Add({{"service", denial.service}, {"method", denial.method}, {"reason", denial.reason}})
      .Increment();
  logging::Warn("access denied",
                {{"audit", "access_denied"},
                 {"service", denial.service},
                 {"method", denial.method},
                 {"subject", denial.subject},
                 {"reason", denial.reason},
                 {"code", denial.code == absl::StatusCode::kUnauthenticated ? "UNAUTHENTICATED"
                                                                            : "PERMISSION_DENIED"},
                 {"error", denial.message},
                 {"time", absl::FormatTime(absl::RFC3339_full, denial.time, absl::UTCTimeZone())},
                 {"peer", denial.peer}});
}

double DeniedCount(const std::string& service, const std::string& method,
                   const std::string& reason) {
  return DeniedFamily().Add({{"service", service}, {"method", method}, {"reason", reason}}).Value();
}

}  // namespace triad::auth
