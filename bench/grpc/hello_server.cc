// hello_server: the baseline of the gRPC-limit benchmark (scripts/bench-grpc.sh). A bare gRPC
// C++ hello-world server built with the services' toolchain and the ServerBuilder settings of
// common/server/service_host.cc (keepalive, ping policy, max receive message size, health
// checking, reflection; default pollers and resource quota, as the services have), without the
// services' interceptor, authentication or domain: what is left is the cost of gRPC itself.
//
//   hello_server --mode=sync|callback [--port=0] [--port_file=FILE]
//
// --mode=sync is the synchronous API the services use; --mode=callback is the callback
// (reactor) API, so the two thread models are compared by measurement. The chosen port is
// printed ("listening on 127.0.0.1:PORT") and written to --port_file; SIGTERM/SIGINT stop it.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/grpc/hello.grpc.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(std::string, mode, "sync", "Thread model: sync or callback.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int32_t, port, 0, "Port to listen on (0 picks a free one).");
ABSL_FLAG(std::string, port_file, "", "File the chosen port is written to.");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20,
          "Largest request accepted (the services' --grpc_max_message_bytes default).");
ABSL_FLAG(int32_t, max_pollers, 32,
          "Idle sync-API handler threads kept (the services' --grpc_max_pollers default).");

namespace {

using triad::bench::hello::v1::Greeter;
using triad::bench::hello::v1::SayHelloRequest;
using triad::bench::hello::v1::SayHelloResponse;

// SyncGreeter answers on the sync API's thread pool, as the services' handlers do.
class SyncGreeter final : public Greeter::Service {
  grpc::Status SayHello(grpc::ServerContext*, const SayHelloRequest* request,
                        SayHelloResponse* response) override {
    response->set_message(absl::StrCat("hello, ", request->name()));
    return grpc::Status::OK;
  }
};

// CallbackGreeter answers inline on gRPC's callback (reactor) threads.
class CallbackGreeter final : public Greeter::CallbackService {
  grpc::ServerUnaryReactor* SayHello(grpc::CallbackServerContext* ctx,
                                     const SayHelloRequest* request,
                                     SayHelloResponse* response) override {
    response->set_message(absl::StrCat("hello, ", request->name()));
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  // As the services do (common/server/service_main.cc): no debug-only mutex deadlock detection.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  // SIGTERM and SIGINT are blocked in every thread (gRPC's inherit the mask) and taken by
  // sigwait below, which shuts the server down outside any signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  std::unique_ptr<grpc::Service> service;
  if (mode == "sync") {
    service = std::make_unique<SyncGreeter>();
  } else if (mode == "callback") {
    service = std::make_unique<CallbackGreeter>();
  } else {
    std::cerr << "--mode must be sync or callback\n";
    return 2;
  }
  // The settings of ServiceHost::Start (common/server/service_host.cc), line for line.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::StrCat(absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port)),
                           grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // as the services
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              absl::GetFlag(FLAGS_max_pollers));
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "cannot listen\n";
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  std::cout << "listening on " << absl::GetFlag(FLAGS_host) << ":" << port << " (" << mode
            << " API)" << std::endl;
  if (const std::string file = absl::GetFlag(FLAGS_port_file); !file.empty()) {
    std::ofstream(file) << port << "\n";
  }
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server->Shutdown();
  });
  server->Wait();
  stopper.join();
  return 0;
}
