// triad-pipeline: the sales pipeline service process (playbooks, signals, leads,
// opportunities, gates, funnel). Wires the domain into the shared ServiceRuntime.
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/flags/flag.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "common/server/runtime.h"
#include "services/pipeline/grpc_service.h"
#include "services/pipeline/pipeline.h"

ABSL_FLAG(std::string, pipeline_consumer_group, "triad-pipeline",
          "Kafka consumer group of the client, review and production events the pipeline "
          "consumes.");
ABSL_FLAG(absl::Duration, stale_scan_interval, absl::Hours(1),
          "How often the process calls its own ScanStaleDeals RPC to report deals past their "
          "stage's maximum days (a duration such as 15m or 1h); 0 disables the scan.");

int main(int argc, char** argv) {
  triad::server::BlockTerminationSignals();
  triad::config::ParseFlags(argc, argv,
                            "triad-pipeline: sales pipeline service (gRPC API "
                            "triad.pipeline.v1.PipelineService)");
  triad::logging::Init("pipeline", absl::GetFlag(FLAGS_log_level));

  triad::server::RuntimeOptions options;
  options.service = "pipeline";
  options.column_families = triad::pipeline::ColumnFamilies();
  options.topics = triad::pipeline::Pipeline::Topics();
  auto runtime = triad::server::ServiceRuntime::CreateFromFlags(std::move(options));
  if (!runtime.ok()) {
    triad::logging::Error("cannot create the runtime", {{"error", runtime.status()}});
    return EXIT_FAILURE;
  }
  triad::server::ServiceRuntime& rt = **runtime;

  triad::pipeline::PipelineOptions pipeline_options;
  pipeline_options.consumer_group = absl::GetFlag(FLAGS_pipeline_consumer_group);
  auto pipeline = triad::pipeline::Pipeline::Create(&rt.store(), &rt.outbox(), pipeline_options);
  if (!pipeline.ok()) {
    triad::logging::Error("cannot open the pipeline", {{"error", pipeline.status()}});
    return EXIT_FAILURE;
  }

  triad::events::ConsumerOptions consumer_options;
  consumer_options.group_id = pipeline_options.consumer_group;
  consumer_options.topics = triad::pipeline::Pipeline::ConsumedTopics();
  (*pipeline)->RegisterHandlers(rt.AddConsumer(std::move(consumer_options)));

  triad::pipeline::PipelineGrpcService service(pipeline->get());
  rt.host().AddService(&service, triad::pipeline::kServiceFullName);

  if (absl::Status s = rt.Start(); !s.ok()) {
    triad::logging::Error("cannot start", {{"error", s}});
    return EXIT_FAILURE;
  }
  triad::logging::Info("pipeline serving", {{"grpc_port", rt.host().grpc_port()},
                                            {"admin_port", rt.host().admin_port()}});
  // The stale scan goes through the service's own gRPC endpoint, so that shutdown drains an
  // in-flight scan before the store closes (the runtime's stop steps close it).
  const absl::Duration interval = absl::GetFlag(FLAGS_stale_scan_interval);
  std::mutex scan_mu;
  std::condition_variable scan_cv;
  bool stopping = false;
  std::thread scanner;
  if (interval > absl::ZeroDuration()) {
    scanner = std::thread([&, address = rt.host().grpc_address()] {
      auto stub = triad::pipeline::v1::PipelineService::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
      while (true) {
        {
          std::unique_lock lock(scan_mu);
          if (scan_cv.wait_for(lock, absl::ToChronoMilliseconds(interval),
                               [&] { return stopping; })) {
            return;
          }
        }
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        triad::pipeline::v1::ScanStaleDealsResponse resp;
        grpc::Status s = stub->ScanStaleDeals(&ctx, {}, &resp);
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
          // The server is stopping (or not up yet): the next round will tell.
          triad::logging::Debug("stale scan skipped", {{"error", s.error_message()}});
        } else if (!s.ok()) {
          triad::logging::Warn("stale scan failed", {{"error", s.error_message()}});
        } else if (resp.newly_reported_size() > 0) {
          triad::logging::Info("stale deals reported", {{"count", resp.newly_reported_size()}});
        }
      }
    });
  }
  rt.Run();
  {
    std::lock_guard lock(scan_mu);
    stopping = true;
  }
  scan_cv.notify_all();
  if (scanner.joinable()) scanner.join();
  return EXIT_SUCCESS;
}
