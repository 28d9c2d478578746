// Implements the gRPC server bootstrap: health, reflection, keepalive, interceptors (logging,
// metrics, default deadline), the admin /metrics endpoint and ordered graceful shutdown.
#include "common/server/service_host.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"

namespace triad::server {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return (i >= 0 && i <= 16) ? kNames[i] : "UNKNOWN";
}

// DeadlineWatchdog cancels calls that arrived without a deadline once the default one passes.
class DeadlineWatchdog {
 public:
  DeadlineWatchdog() : thread_([this] { Loop(); }) {}
  ~DeadlineWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }

  uint64_t Watch(grpc::ServerContextBase* ctx, absl::Time deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = ++next_id_;
    calls_[id] = {ctx, deadline};
    cv_.notify_all();
    return id;
  }

  void Unwatch(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(id);
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      absl::Time now = absl::Now();
      absl::Time next = now + absl::Seconds(1);
      for (auto it = calls_.begin(); it != calls_.end();) {
        if (it->second.second <= now) {
          it->second.first->TryCancel();
          it = calls_.erase(it);
        } else {
          next = std::min(next, it->second.second);
          ++it;
        }
      }
      cv_.wait_for(lock, absl::ToChronoMilliseconds(next - now + absl::Milliseconds(1)));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::pair<grpc::ServerContextBase*, absl::Time>> calls_;
  std::thread thread_;
};

struct RpcMetrics {
  prometheus::Family<prometheus::Counter>& handled;
  prometheus::Family<prometheus::Histogram>& latency;
};

RpcMetrics& Metrics() {
  static RpcMetrics m{prometheus::BuildCounter()
                          .Name("grpc_server_handled_total")
                          .Help("RPCs completed on the server, by service, method and status code.")
                          .Register(metrics::Registry()),
                      prometheus::BuildHistogram()
                          .Name("grpc_server_handling_seconds")
                          .Help("RPC latency on the server, by service and method.")
                          .Register(metrics::Registry())};
  return m;
}

// MethodMetrics holds one method's series: its latency histogram and its handled counter per
// status code, each found in its family once and then kept.
struct MethodMetrics {
  std::string grpc_service = "unknown";
  std::string short_method;
  prometheus::Histogram* latency = nullptr;
  std::array<prometheus::Counter*, 17> handled{};

  prometheus::Counter& Handled(grpc::StatusCode code, const char* name) {
    const size_t i = static_cast<size_t>(code) < handled.size() ? static_cast<size_t>(code) : 2;
    if (handled[i] == nullptr) {
      handled[i] = &Metrics().handled.Add(
          {{"grpc_service", grpc_service}, {"grpc_method", short_method}, {"grpc_code", name}});
    }
    return *handled[i];
  }
};

// MetricsOf returns the series of `method` ("/package.Service/Method") from a per-thread
// cache: a call's metrics cost a hash lookup, not a label-set lookup under the family's lock
// (prometheus-cpp's Family::Add) for each of its two series.
MethodMetrics& MetricsOf(std::string_view method) {
  thread_local absl::flat_hash_map<std::string, MethodMetrics> cache;
  auto it = cache.find(absl::string_view(method.data(), method.size()));
  if (it != cache.end()) return it->second;
  MethodMetrics m;
  m.short_method = std::string(method);
  if (size_t slash = method.rfind('/'); slash != std::string_view::npos && slash > 0) {
    m.grpc_service = std::string(method.substr(1, slash - 1));
    m.short_method = std::string(method.substr(slash + 1));
  }
  m.latency = &Metrics().latency.Add(
      {{"grpc_service", m.grpc_service}, {"grpc_method", m.short_method}},
      prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25, 0.5, 1, 2.5, 5, 10});
  return cache.emplace(std::string(method), std::move(m)).first->second;
}

// CallInterceptor logs and measures one call and applies the default deadline.
class CallInterceptor : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(grpc::experimental::ServerRpcInfo* info, std::string service_name,
                  absl::Duration default_deadline, DeadlineWatchdog* watchdog)
      : info_(info),
        service_name_(std::move(service_name)),
        default_deadline_(default_deadline),
        watchdog_(watchdog),
        start_(absl::Now()) {}

  ~CallInterceptor() override {
    if (watch_id_ != 0) watchdog_->Unwatch(watch_id_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      grpc::ServerContextBase* ctx = info_->server_context();
      if (ctx != nullptr && default_deadline_ > absl::ZeroDuration() &&
          ctx->deadline() == std::chrono::system_clock::time_point::max()) {
        watch_id_ = watchdog_->Watch(ctx, start_ + default_deadline_);
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      // The call is answering: stop watching it while its context is certainly alive (the
      // destructor's Unwatch would race the watchdog's TryCancel on a context being torn
      // down).
      if (watch_id_ != 0) {
        watchdog_->Unwatch(watch_id_);
        watch_id_ = 0;
      }
      grpc::Status status = methods->GetSendStatus();
      const char* method = info_->method();
      double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
      const char* code = CodeName(status.error_code());
      MethodMetrics& series = MetricsOf(method);
      series.Handled(status.error_code(), code).Increment();
      series.latency->Observe(seconds);
      logging::Level level = status.ok() ? logging::Level::kDebug
                             : (status.error_code() == grpc::StatusCode::INTERNAL ||
                                status.error_code() == grpc::StatusCode::UNKNOWN ||
                                status.error_code() == grpc::StatusCode::DATA_LOSS)
                                 ? logging::Level::kError
                                 : logging::Level::kInfo;
      if (logging::Enabled(level)) {
        logging::Log(level, "rpc",
                     {{"method", method},
                      {"code", code},
                      {"latency_ms", seconds * 1000.0},
                      {"error", status.error_message()}});
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  std::string service_name_;
  absl::Duration default_deadline_;
  DeadlineWatchdog* watchdog_;
  absl::Time start_;
  uint64_t watch_id_ = 0;
};

class CallInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallInterceptorFactory(std::string service_name, absl::Duration default_deadline,
                         std::shared_ptr<DeadlineWatchdog> watchdog)
      : service_name_(std::move(service_name)),
        default_deadline_(default_deadline),
        watchdog_(std::move(watchdog)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(info, service_name_, default_deadline_, watchdog_.get());
  }

 private:
  std::string service_name_;
  absl::Duration default_deadline_;
  std::shared_ptr<DeadlineWatchdog> watchdog_;
};

// NoReflection removes the server reflection plugin (registered process-wide) from a builder.
class NoReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream content;
  content << in.rdbuf();
  if (content.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is empty"));
  }
  return content.str();
}

// Credentials builds the server's transport credentials: TLS (with the client certificate
// mode of the options) or plaintext.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const TlsOptions& tls) {
  if (absl::Status s = CheckTlsOptions(tls); !s.ok()) return s;
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPemFile(tls.cert_file, "--tls_cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile(tls.key_file, "--tls_key_file");
  if (!key.ok()) return key.status();
  grpc_ssl_client_certificate_request_type mode = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  std::string client_ca;
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(tls.client_ca_file, "--tls_client_ca_file");
    if (!ca.ok()) return ca.status();
    client_ca = *std::move(ca);
    mode = tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                   : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  grpc::SslServerCredentialsOptions options(mode);
  options.pem_root_certs = client_ca;
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(options);
}

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

ServerOptions ServerOptionsFromFlags(std::string service_name) {
  ServerOptions o;
  o.service_name = std::move(service_name);
  o.host = absl::GetFlag(FLAGS_listen_host);
  o.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  o.admin_port = absl::GetFlag(FLAGS_admin_port);
  o.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  o.not_serving_grace = absl::GetFlag(FLAGS_not_serving_grace);
  o.default_deadline = absl::GetFlag(FLAGS_default_deadline);
  o.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  o.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  o.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  o.tls.require_client_cert = absl::GetFlag(FLAGS_tls_require_client_cert);
  o.reflection = absl::GetFlag(FLAGS_grpc_reflection);
  o.max_message_bytes = absl::GetFlag(FLAGS_grpc_max_message_bytes);
  o.max_pollers = absl::GetFlag(FLAGS_grpc_max_pollers);
  return o;
}

absl::Status CheckTlsOptions(const TlsOptions& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file/--tls_key_file");
  }
  if (tls.require_client_cert && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError("--tls_require_client_cert needs --tls_client_ca_file");
  }
  return absl::OkStatus();
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ServiceHost::ServiceHost(ServerOptions options) : options_(std::move(options)) {}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(grpc::Service* service, std::string full_name) {
  services_.emplace_back(service, std::move(full_name));
}

void ServiceHost::OnStop(std::string name, std::function<void()> step) {
  stop_steps_.emplace_back(std::move(name), std::move(step));
}

std::string ServiceHost::grpc_address() const {
  return absl::StrCat(options_.host, ":", grpc_port_);
}

absl::Status ServiceHost::Start() {
  if (server_) return absl::FailedPreconditionError("server already started");
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  if (options_.max_message_bytes <= 0) {
    return absl::InvalidArgumentError("--grpc_max_message_bytes must be positive");
  }
  if (options_.max_pollers <= 0) {
    return absl::InvalidArgumentError("--grpc_max_pollers must be positive");
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(options_.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  if (!options_.reflection) builder.SetOption(std::make_unique<NoReflection>());
  builder.AddListeningPort(absl::StrCat(options_.host, ":", options_.grpc_port), *credentials,
                           &grpc_port_);
  // One process per port: without this gRPC sets SO_REUSEPORT, and a second server started on
  // a port already in use would share its connections instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options_.max_pollers);
  for (auto& [service, name] : services_) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<CallInterceptorFactory>(
      options_.service_name, options_.default_deadline, std::make_shared<DeadlineWatchdog>()));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.grpc_port));
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("", true);
    for (auto& [service, name] : services_) health->SetServingStatus(name, true);
  }
  if (options_.admin_port >= 0) {
    absl::StatusOr<std::unique_ptr<metrics::AdminServer>> admin =
        metrics::AdminServer::Start(options_.host, options_.admin_port);
    if (!admin.ok()) {
      server_->Shutdown();
      server_.reset();
      return admin.status();
    }
    admin_ = std::move(*admin);
  }
  logging::Info("server listening", {{"service", options_.service_name},
                                     {"grpc", grpc_address()},
                                     {"tls", options_.tls.enabled()},
                                     {"mtls", !options_.tls.client_ca_file.empty()},
                                     {"reflection", options_.reflection},
                                     {"admin_port", admin_port()}});
  return absl::OkStatus();
}

void ServiceHost::Run() {
  BlockTerminationSignals();
  sigset_t set = TerminationSignals();
  while (true) {
    {
      std::lock_guard<std::mutex> lock(run_mu_);
      if (shutting_down_) break;
    }
    timespec timeout{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      logging::Info("signal received; shutting down",
                    {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
  }
  Shutdown();
}

void ServiceHost::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(run_mu_);
    shutting_down_ = true;
  }
  std::call_once(shutdown_once_, [this] {
    if (server_) {
      if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
      if (options_.not_serving_grace > absl::ZeroDuration()) {
        // Health says NOT_SERVING while the listeners still accept calls, so load balancers
        // and Kubernetes endpoints stop routing here before the port closes.
        logging::Info("not serving; grace period before draining",
                      {{"service", options_.service_name},
                       {"grace_ms", absl::ToInt64Milliseconds(options_.not_serving_grace)}});
        absl::SleepFor(options_.not_serving_grace);
      }
      logging::Info("draining",
                    {{"service", options_.service_name},
                     {"deadline_ms", absl::ToInt64Milliseconds(options_.drain_timeout)}});
      server_->Shutdown(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.drain_timeout));
    }
    for (auto& [name, step] : stop_steps_) {
      logging::Info("shutdown step", {{"service", options_.service_name}, {"step", name}});
      step();
    }
    admin_.reset();
    if (server_) server_->Wait();
    logging::Info("stopped", {{"service", options_.service_name}});
  });
}

}  // namespace triad::server
