// triad-pipeline: the sales pipeline service process (playbooks, signals, leads,
// opportunities, gates, funnel). Wires the domain into the shared ServiceRuntime.

#include <cstdlib>
#include <memory>

#include "absl/flags/flag.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "common/server/runtime.h"
#include "services/pipeline/grpc_service.h"
#include "services/pipeline/pipeline.h"

ABSL_FLAG(absl::Duration, stale_scan_interval, absl::Hours(1),
          "How often deals past their stage's maximum days are scanned and reported "
          "(one stale event per deal and stage entry); a duration such as 15m or 1h; 0 "
          "disables the scan.");

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
  pipeline_options.consumer_group = rt.consumer_group();
  auto pipeline = triad::pipeline::Pipeline::Create(&rt.store(), &rt.outbox(), pipeline_options);
  if (!pipeline.ok()) {
    triad::logging::Error("cannot open the pipeline", {{"error", pipeline.status()}});
    return EXIT_FAILURE;
  }

  triad::events::ConsumerOptions consumer_options;
  consumer_options.group_id = pipeline_options.consumer_group;
  consumer_options.topics = triad::pipeline::Pipeline::ConsumedTopics();
  consumer_options.apply_mutex = &(*pipeline)->mutex();
  (*pipeline)->RegisterHandlers(rt.AddConsumer(std::move(consumer_options)));

  triad::pipeline::PipelineGrpcService service(pipeline->get());
  rt.host().AddService(&service, triad::pipeline::kServiceFullName);

  // Stale deals are scanned periodically; the runtime stops the scan before it closes the store.
  triad::pipeline::Pipeline* domain = pipeline->get();
  rt.AddPeriodicTask("stale deal scan", absl::GetFlag(FLAGS_stale_scan_interval), [domain] {
    auto resp = domain->ScanStaleDeals(triad::pipeline::v1::ScanStaleDealsRequest());
    if (!resp.ok()) {
      triad::logging::Warn("stale scan failed", {{"error", resp.status()}});
    } else if (resp->newly_reported_size() > 0) {
      triad::logging::Info("stale deals reported", {{"count", resp->newly_reported_size()}});
    }
  });
  if (absl::Status s = rt.Start(); !s.ok()) {
    triad::logging::Error("cannot start", {{"error", s}});
    rt.Shutdown();
    return EXIT_FAILURE;
  }
  triad::logging::Info("pipeline serving", {{"grpc_port", rt.host().grpc_port()},
                                            {"admin_port", rt.host().admin_port()}});
  return rt.Run();
}
