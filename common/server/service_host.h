// ServiceHost: the gRPC server bootstrap every Triad service uses.
//
// It enables the standard gRPC health service (overall and per service name, open without a
// token) and server reflection (unless turned off), serves TLS (and mTLS) when given a
// certificate, bounds request messages, sets keepalive, applies a default deadline to calls that
// carry none, logs and counts every call (method, status code, latency) through interceptors,
// serves Prometheus /metrics on the admin port, and shuts down in order on SIGTERM/SIGINT:
// NOT_SERVING -> drain in-flight calls within the drain deadline -> the registered stop steps
// (stop consumers and commit, flush the producer, close RocksDB), in the order they were added.
#ifndef TRIAD_COMMON_SERVER_SERVICE_HOST_H_
#define TRIAD_COMMON_SERVER_SERVICE_HOST_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/metrics.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace triad::server {

// TLS of the gRPC server: PEM file paths (secrets are files, never flag values).
struct TlsOptions {
  // Certificate chain and private key; both or neither (neither: plaintext).
  std::string cert_file;
  std::string key_file;
  // CA bundle of client certificates: a client certificate is requested and verified when
  // presented (mTLS); empty: none is requested.
  std::string client_ca_file;
  // Refuse clients without a verified certificate (needs client_ca_file).
  bool require_client_cert = false;

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct ServerOptions {
  // Short name used in logs and metrics, e.g. "clients".
  std::string service_name;
  std::string host = "127.0.0.1";
  // 0 picks a free port.
  int grpc_port = 0;
  // 0 picks a free port; -1 runs no admin server.
  int admin_port = 0;
  absl::Duration drain_timeout = absl::Seconds(10);
  // On shutdown, how long health reports NOT_SERVING while calls are still accepted, before
  // the listeners close and in-flight calls drain.
  absl::Duration not_serving_grace = absl::ZeroDuration();
  absl::Duration default_deadline = absl::Seconds(30);
  TlsOptions tls;
  bool reflection = true;
  // Largest request message accepted (larger ones: RESOURCE_EXHAUSTED).
  int max_message_bytes = 4 << 20;
  // Most idle handler threads of the synchronous server kept polling for calls (gRPC's
  // default, 2, makes every burst of concurrent calls create and destroy threads).
  int max_pollers = 32;
};

// CheckTlsOptions refuses an incomplete TLS configuration (a certificate without its key, a
// required client certificate without a CA, a client CA without a server certificate).
absl::Status CheckTlsOptions(const TlsOptions& tls);

// ServerOptionsFromFlags reads --listen_host, --grpc_port, --admin_port, --drain_timeout,
// --default_deadline, the --tls_* files, --grpc_reflection, --grpc_max_message_bytes and
// --grpc_max_pollers.
ServerOptions ServerOptionsFromFlags(std::string service_name);

// BlockTerminationSignals blocks SIGTERM and SIGINT in the calling thread and every thread it
// starts later, so that ServiceHost::Run can wait for them. Call it first thing in main.
void BlockTerminationSignals();

class ServiceHost {
 public:
  explicit ServiceHost(ServerOptions options);
  ~ServiceHost();

  // AddService registers a gRPC service (not owned) under its full name
  // (e.g. "triad.clients.v1.ClientsService"), which gets its own health status.
  void AddService(grpc::Service* service, std::string full_name);

  // OnStop adds a shutdown step, run after the server has drained, in the order added.
  void OnStop(std::string name, std::function<void()> step);

  // Start binds and starts the gRPC server and the admin server; health becomes SERVING.
  absl::Status Start();

  // grpc_port and admin_port are the ports actually bound (after Start).
  int grpc_port() const { return grpc_port_; }
  int admin_port() const { return admin_ ? admin_->port() : -1; }
  std::string grpc_address() const;

  // Run blocks until SIGTERM or SIGINT arrives (or Shutdown is called), then shuts down.
  void Run();

  // Shutdown runs the ordered shutdown once; later calls wait for the first to finish.
  void Shutdown();

  // server gives tests access to in-process channels.
  grpc::Server* server() const { return server_.get(); }

 private:
  ServerOptions options_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::vector<std::pair<std::string, std::function<void()>>> stop_steps_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::AdminServer> admin_;
  int grpc_port_ = 0;
  std::once_flag shutdown_once_;
  std::mutex run_mu_;
  bool shutting_down_ = false;
};

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_SERVICE_HOST_H_
