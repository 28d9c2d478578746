// Implements RunService, the shared main of every service process.
#include "common/server/service_main.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/synchronization/mutex.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "common/server/admin_service.h"
#include "common/server/auth_config.h"

namespace triad::server {

int RunService(int argc, char** argv, const ServiceSpec& spec) {
  BlockTerminationSignals();
  // Debian builds Abseil without NDEBUG, so every absl::Mutex acquisition (gRPC's own locks
  // included) would run Abseil's debug-only deadlock detection: a process-wide lock-order graph
  // updated under a global lock, with a stack trace, on each nested acquisition. A serving
  // process turns it off, as an NDEBUG build of Abseil would; the unit tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  config::ParseFlags(argc, argv, spec.usage);
  logging::Init(spec.name, absl::GetFlag(FLAGS_log_level));

  RuntimeOptions options;
  options.service = spec.name;
  options.column_families = spec.column_families;
  options.topics = spec.topics;
  // Authentication and transport security are checked before anything opens: a service
  // never starts half-secured.
  absl::StatusOr<std::shared_ptr<const auth::Authenticator>> authenticator =
      BuildAuthenticator(AuthConfigFromFlags(), ServerOptionsFromFlags(spec.name));
  if (!authenticator.ok()) {
    logging::Error("refusing to start: authentication or TLS misconfigured",
                   {{"error", authenticator.status()}});
    return EXIT_FAILURE;
  }
  options.authenticator = *std::move(authenticator);
  absl::StatusOr<std::unique_ptr<ServiceRuntime>> runtime =
      ServiceRuntime::CreateFromFlags(std::move(options));
  if (!runtime.ok()) {
    logging::Error("cannot create the runtime", {{"error", runtime.status()}});
    return EXIT_FAILURE;
  }
  ServiceRuntime& rt = **runtime;
  absl::StatusOr<std::shared_ptr<void>> wired = spec.wire(rt);
  if (!wired.ok()) {
    logging::Error("cannot set the service up", {{"error", wired.status()}});
    rt.Shutdown();
    return EXIT_FAILURE;
  }
  // Every service serves the AdminService (backups, outbox quarantine); it lives until the
  // runtime has shut down.
  std::unique_ptr<AdminGrpcService> admin = AddAdminService(rt);
  if (absl::Status s = rt.Start(); !s.ok()) {
    logging::Error("cannot start", {{"error", s}});
    rt.Shutdown();
    return EXIT_FAILURE;
  }
  logging::Info("serving", {{"service", spec.name},
                            {"grpc_port", rt.host().grpc_port()},
                            {"admin_port", rt.host().admin_port()}});
  if (spec.after_start) spec.after_start(rt);
  const int code = rt.Run();
  // The runtime has shut down (server, consumers, relay, store); the domain goes next, the
  // runtime last.
  wired->reset();
  return code;
}

}  // namespace triad::server
