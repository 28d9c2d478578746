// GrpcHarness: one gRPC service served in-process by a ServiceHost on a free port, with a
// channel to it, for tests of a service's gRPC adapter over a real channel.
#ifndef TRIAD_TESTS_TESTING_GRPC_HARNESS_H_
#define TRIAD_TESTS_TESTING_GRPC_HARNESS_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/service_host.h"
#include "grpcpp/grpcpp.h"

namespace triad::testing {

class GrpcHarness {
 public:
  // The service is not owned and must outlive the harness; `full_name` is its proto name, e.g.
  // "triad.clients.v1.ClientsService".
  GrpcHarness(grpc::Service* service, std::string full_name, std::string service_name = "test");
  ~GrpcHarness();
  GrpcHarness(const GrpcHarness&) = delete;
  GrpcHarness& operator=(const GrpcHarness&) = delete;

  // Start serves the service; channel() is usable afterwards.
  absl::Status Start();
  // channel is an insecure channel to the server.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // Shutdown stops the server (also done by the destructor).
  void Shutdown();

 private:
  grpc::Service* service_;
  std::string full_name_;
  std::unique_ptr<server::ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  bool running_ = false;
};

// CallRpc calls a unary method of a stub with a deadline, e.g.
// CallRpc(*stub, &v1::ClientsService::Stub::GetClient, req, &resp).
template <typename Stub, typename Req, typename Resp>
grpc::Status CallRpc(Stub& stub,
                     grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                     const Req& req, Resp* resp, absl::Duration deadline = absl::Seconds(10)) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(deadline)));
  return (stub.*method)(&ctx, req, resp);
}

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_GRPC_HARNESS_H_
