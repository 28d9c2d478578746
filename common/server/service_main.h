// RunService: the one main() of every Triad service. A service's main.cc declares a
// ServiceSpec (name, column families, topics, and how to wire its domain onto the runtime) and
// calls RunService, which parses flags (and TRIAD_* environment), initialises logging, creates
// the ServiceRuntime, wires the service, registers the AdminService (admin_service.h), starts
// it and runs until SIGTERM, with one shutdown path for all services.
#ifndef TRIAD_COMMON_SERVER_SERVICE_MAIN_H_
#define TRIAD_COMMON_SERVER_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/server/runtime.h"

namespace triad::server {

struct ServiceSpec {
  // Short name: "clients" (ce_source triad/clients, binary triad-clients).
  std::string name;
  // One line for --help.
  std::string usage;
  // The service's own column families (the runtime adds outbox, inbox and requests).
  std::vector<std::string> column_families;
  // Topics the service writes (each created with its .dlq).
  std::vector<std::string> topics;
  // Wire builds the service on the runtime: it registers gRPC services, consumers (with
  // AddConsumer) and periodic tasks, and returns what must live until the process exits.
  std::function<absl::StatusOr<std::shared_ptr<void>>(ServiceRuntime&)> wire;
  // AfterStart runs once the server is serving (e.g. resuming interrupted work). Optional.
  std::function<void(ServiceRuntime&)> after_start;
};

// RunService runs the service process described by `spec`; returns the exit code.
int RunService(int argc, char** argv, const ServiceSpec& spec);

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_SERVICE_MAIN_H_
