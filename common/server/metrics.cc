// Implements the process-wide registry and the /metrics endpoint.
#include "common/server/metrics.h"

#include <exception>

#include "absl/status/status.h"
#include "prometheus/exposer.h"

namespace triad::metrics {

namespace {
// The exposer keeps only a weak_ptr: the registry is owned here for the whole process.
const std::shared_ptr<prometheus::Registry>& SharedRegistry() {
  static auto* registry =
      new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *registry;
}
}  // namespace

prometheus::Registry& Registry() { return *SharedRegistry(); }

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& host, int port) {
  std::unique_ptr<AdminServer> server(new AdminServer());
  try {
    // civetweb throws when it cannot bind; the exception stays inside this function.
    server->exposer_ = std::make_unique<prometheus::Exposer>(host + ":" + std::to_string(port));
  } catch (const std::exception& e) {
    return absl::UnavailableError("admin server: cannot listen on " + host + ":" +
                                  std::to_string(port) + ": " + e.what());
  }
  server->exposer_->RegisterCollectable(SharedRegistry());
  auto ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? port : ports.front();
  return server;
}

AdminServer::~AdminServer() = default;

}  // namespace triad::metrics
