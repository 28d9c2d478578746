// Implements GrpcHarness.
#include "tests/testing/grpc_harness.h"

#include <utility>

namespace triad::testing {

GrpcHarness::GrpcHarness(grpc::Service* service, std::string full_name, std::string service_name)
    : service_(service), full_name_(std::move(full_name)) {
  server::ServerOptions so;
  so.service_name = std::move(service_name);
  so.grpc_port = 0;
  so.admin_port = -1;
  host_ = std::make_unique<server::ServiceHost>(so);
}

GrpcHarness::~GrpcHarness() { Shutdown(); }

absl::Status GrpcHarness::Start() {
  host_->AddService(service_, full_name_);
  absl::Status s = host_->Start();
  if (!s.ok()) return s;
  running_ = true;
  channel_ = grpc::CreateChannel(host_->grpc_address(), grpc::InsecureChannelCredentials());
  return absl::OkStatus();
}

void GrpcHarness::Shutdown() {
  if (!running_) return;
  running_ = false;
  host_->Shutdown();
}

}  // namespace triad::testing
