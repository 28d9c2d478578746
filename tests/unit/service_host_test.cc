// Tests of ServiceHost through real gRPC channels: health, metrics, default deadline, ordered
// graceful shutdown, handler threads kept between bursts of calls.
#include "common/server/service_host.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"
#include "triad/testing/v1/echo_service.grpc.pb.h"
#include "triad/testing/v1/health_service.grpc.pb.h"

namespace triad::server {
namespace {

using triad::testing::v1::EchoRequest;
using triad::testing::v1::EchoResponse;
using triad::testing::v1::EchoService;

class EchoImpl : public EchoService::Service {
 public:
  std::atomic<int> entered{0};

  // Threads returns the ids of the threads that ran Echo since the last call of it.
  std::set<pid_t> Threads() {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<pid_t> out;
    out.swap(threads_);
    return out;
  }

  grpc::Status Echo(grpc::ServerContext* ctx, const EchoRequest* req, EchoResponse* resp) override {
    ++entered;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads_.insert(gettid());
    }
    absl::Time until = absl::Now() + absl::Milliseconds(req->delay_ms());
    while (absl::Now() < until) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (req->fail_with_code() != 0) {
      return ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(req->fail_with_code()),
                                       "text: failing on purpose"));
    }
    resp->set_text(req->text());
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::set<pid_t> threads_;
};

// ProcessThreads lists the ids of this process's threads (/proc/self/task).
std::set<pid_t> ProcessThreads() {
  std::set<pid_t> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') out.insert(static_cast<pid_t>(std::atoi(e->d_name)));
  }
  closedir(dir);
  return out;
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

class ServiceHostTest : public ::testing::Test {
 protected:
  void StartHost(absl::Duration default_deadline = absl::Seconds(30),
                 absl::Duration not_serving_grace = absl::ZeroDuration()) {
    ServerOptions o;
    o.service_name = "echo";
    o.default_deadline = default_deadline;
    o.not_serving_grace = not_serving_grace;
    o.drain_timeout = absl::Seconds(5);
    host_ = std::make_unique<ServiceHost>(o);
    host_->AddService(&impl_, "triad.testing.v1.EchoService");
    host_->OnStop("first", [this] { steps_.push_back("first"); });
    host_->OnStop("second", [this] { steps_.push_back("second"); });
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(host_->grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = EchoService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
  }

  grpc::Status Call(const EchoRequest& req, EchoResponse* resp,
                    absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext ctx;
    if (deadline != absl::InfiniteDuration()) {
      ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
    }
    return stub_->Echo(&ctx, req, resp);
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& service,
                                                              grpc::StatusCode* code) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = health_->Check(&ctx, req, &resp);
    *code = s.error_code();
    return resp.status();
  }

  // Burst makes `n` concurrent calls of 100 ms each and waits for all of them.
  void Burst(int n) {
    std::vector<std::future<grpc::Status>> calls;
    for (int i = 0; i < n; ++i) {
      calls.push_back(std::async(std::launch::async, [this] {
        EchoRequest req;
        req.set_text("burst");
        req.set_delay_ms(100);
        EchoResponse resp;
        return Call(req, &resp);
      }));
    }
    for (auto& c : calls) EXPECT_TRUE(c.get().ok());
  }

  EchoImpl impl_;
  std::vector<std::string> steps_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<EchoService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(ServiceHostTest, ServesHealthOverallAndPerService) {
  StartHost();
  grpc::StatusCode code;
  EXPECT_EQ(Health("", &code), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(Health("triad.testing.v1.EchoService", &code),
            grpc::health::v1::HealthCheckResponse::SERVING);
  Health("no.such.Service", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceHostTest, RefusesANonPositivePollerCount) {
  ServerOptions o;
  o.service_name = "echo";
  o.max_pollers = 0;
  ServiceHost host(o);
  absl::Status s = host.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--grpc_max_pollers"), std::string_view::npos) << s;
}

// gRPC's default SO_REUSEPORT would let a second server start on a port in use and take a share
// of its connections; the host refuses to start there instead.
TEST_F(ServiceHostTest, RefusesAPortAnotherServerListensOn) {
  StartHost();
  ServerOptions o;
  o.service_name = "echo";
  o.grpc_port = host_->grpc_port();
  o.admin_port = -1;
  ServiceHost second(o);
  EchoImpl impl;
  second.AddService(&impl, "triad.testing.v1.EchoService");
  absl::Status s = second.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find(absl::StrCat(":", host_->grpc_port())), std::string_view::npos) << s;
  EchoRequest req;
  req.set_text("still here");
  EchoResponse resp;
  EXPECT_TRUE(Call(req, &resp).ok());  // the first server still answers
}

// With gRPC's default of two idle pollers, the threads a burst of calls needed exit when it is
// over and the next burst creates new ones; the host keeps up to --grpc_max_pollers of them.
TEST_F(ServiceHostTest, KeepsHandlerThreadsBetweenBurstsOfCalls) {
  StartHost();
  Burst(8);
  const std::set<pid_t> first = impl_.Threads();
  ASSERT_GE(first.size(), 4u) << "the burst was not served concurrently";
  const std::set<pid_t> existing = ProcessThreads();
  Burst(8);
  const std::set<pid_t> second = impl_.Threads();
  ASSERT_FALSE(second.empty());
  for (pid_t t : second) {
    EXPECT_EQ(existing.count(t), 1u) << "thread " << t << " was created for the second burst";
  }
}

TEST_F(ServiceHostTest, CountsCallsByMethodAndCodeOnTheMetricsEndpoint) {
  StartHost();
  EchoRequest req;
  req.set_text("hi");
  EchoResponse resp;
  ASSERT_TRUE(Call(req, &resp).ok());
  EXPECT_EQ(resp.text(), "hi");
  req.set_fail_with_code(3);
  grpc::Status s = Call(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "text: failing on purpose");
  std::string body = HttpGet(host_->admin_port(), "/metrics");
  EXPECT_NE(body.find("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Echo\""),
            std::string::npos)
      << body.substr(0, 2000);
  EXPECT_NE(body.find("grpc_code=\"INVALID_ARGUMENT\",grpc_method=\"Echo\""), std::string::npos);
  EXPECT_NE(body.find("grpc_server_handling_seconds_bucket"), std::string::npos);
}

TEST_F(ServiceHostTest, AppliesTheDefaultDeadlineToCallsWithoutOne) {
  StartHost(absl::Milliseconds(300));
  EchoRequest req;
  req.set_delay_ms(20000);
  EchoResponse resp;
  absl::Time start = absl::Now();
  grpc::Status s = Call(req, &resp, absl::InfiniteDuration());
  EXPECT_FALSE(s.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(ServiceHostTest, ShutdownDrainsInFlightCallsThenRunsStopStepsInOrder) {
  StartHost();
  EchoRequest req;
  req.set_text("slow");
  req.set_delay_ms(500);
  auto in_flight = std::async(std::launch::async, [&] {
    EchoResponse resp;
    grpc::Status s = Call(req, &resp);
    return s.ok() && resp.text() == "slow";
  });
  ASSERT_TRUE(testing::PollUntil([&] { return impl_.entered.load() == 1; }, absl::Seconds(5)));
  host_->Shutdown();
  EXPECT_TRUE(in_flight.get());
  EXPECT_EQ(steps_, (std::vector<std::string>{"first", "second"}));
  EchoResponse resp;
  EXPECT_FALSE(Call(EchoRequest(), &resp, absl::Seconds(1)).ok());
}

TEST_F(ServiceHostTest, HealthSaysNotServingWhileCallsAreStillAcceptedDuringTheGrace) {
  StartHost(absl::Seconds(30), absl::Seconds(2));
  grpc::StatusCode code;
  ASSERT_EQ(Health("", &code), grpc::health::v1::HealthCheckResponse::SERVING);
  auto shutdown = std::async(std::launch::async, [&] { host_->Shutdown(); });
  // During the grace period the health check answers NOT_SERVING and calls still succeed.
  ASSERT_TRUE(testing::PollUntil(
      [&] { return Health("", &code) == grpc::health::v1::HealthCheckResponse::NOT_SERVING; },
      absl::Seconds(2), absl::Milliseconds(20)));
  EchoResponse resp;
  EchoRequest req;
  req.set_text("late");
  EXPECT_TRUE(Call(req, &resp, absl::Seconds(1)).ok());
  shutdown.get();
  EXPECT_FALSE(Call(EchoRequest(), &resp, absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace triad::server
