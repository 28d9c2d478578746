// Process-wide Prometheus registry and the admin HTTP endpoint that exposes it at /metrics.
#ifndef TRIAD_COMMON_SERVER_METRICS_H_
#define TRIAD_COMMON_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace triad::metrics {

// Registry returns the process-wide registry every component registers its metrics in.
prometheus::Registry& Registry();

// AdminServer serves /metrics over HTTP while it lives.
class AdminServer {
 public:
  // Start listens on host:port (port 0 picks a free one).
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const std::string& host, int port);
  ~AdminServer();

  // port is the port actually bound.
  int port() const { return port_; }

 private:
  AdminServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace triad::metrics

#endif  // TRIAD_COMMON_SERVER_METRICS_H_
