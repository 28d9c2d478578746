// triad-pipeline: the sales pipeline service process (playbooks, signals, leads,
// opportunities, gates, funnel). Declares the service for RunService: the Pipeline domain on
// the shared runtime, its consumer and the periodic stale-deal scan.

#include <memory>

#include "absl/flags/flag.h"
#include "common/config/logging.h"
#include "common/server/service_main.h"
#include "services/pipeline/access.h"
#include "services/pipeline/admin_grpc_service.h"
#include "services/pipeline/grpc_service.h"
#include "services/pipeline/pipeline.h"

ABSL_FLAG(absl::Duration, stale_scan_interval, absl::Hours(1),
          "How often deals past their stage's maximum days are scanned and reported "
          "(one stale event per deal and stage entry); a duration such as 15m or 1h; 0 "
          "disables the scan.");

namespace triad::pipeline {
namespace {

// Process is what the pipeline process keeps alive: the domain, the ownership rules of leads and
// opportunities, and the gRPC adapters.
struct Process {
  Process(std::unique_ptr<Pipeline> p, storage::Store* store, const auth::CallSecurity& security)
      : pipeline(std::move(p)),
        access(store),
        service(pipeline.get(), security.WithAccess(&access)),
        admin(pipeline.get(), security.WithAccess(&access)) {}
  std::unique_ptr<Pipeline> pipeline;
  PipelineAccess access;
  PipelineGrpcService service;
  PipelineAdminGrpcService admin;
};

absl::StatusOr<std::shared_ptr<void>> Wire(server::ServiceRuntime& rt) {
  PipelineOptions options;
  options.consumer_group = rt.consumer_group();
  absl::StatusOr<std::unique_ptr<Pipeline>> pipeline =
      Pipeline::Create(&rt.store(), &rt.outbox(), options);
  if (!pipeline.ok()) return pipeline.status();
  auto process = std::make_shared<Process>(std::move(*pipeline), &rt.store(), rt.call_security());
  Pipeline* domain = process->pipeline.get();

  events::ConsumerOptions consumer;
  consumer.group_id = options.consumer_group;
  consumer.topics = Pipeline::ConsumedTopics();
  consumer.apply_mutex = &domain->mutex();
  domain->RegisterHandlers(rt.AddConsumer(std::move(consumer)));
  rt.host().AddService(&process->service, kServiceFullName);
  rt.host().AddService(&process->admin, kAdminServiceFullName);

  // Stale deals are scanned periodically; the runtime stops the scan before it closes the store.
  rt.AddPeriodicTask("stale deal scan", absl::GetFlag(FLAGS_stale_scan_interval), [domain] {
    auto resp = domain->ScanStaleDeals(v1::ScanStaleDealsRequest());
    if (!resp.ok()) {
      logging::Warn("stale scan failed", {{"error", resp.status()}});
    } else if (resp->newly_reported_size() > 0) {
      logging::Info("stale deals reported", {{"count", resp->newly_reported_size()}});
    }
  });
  // Offboardings left unfinished by their announcement (large holdings, or a crash between
  // chunks) move on, a chunk per transaction.
  rt.AddPeriodicTask("offboarding continuation", absl::Seconds(2), [domain] {
    auto chunks = domain->ContinueOffboardings();
    if (!chunks.ok()) {
      logging::Warn("offboarding continuation failed", {{"error", chunks.status()}});
    } else if (*chunks > 0) {
      logging::Info("offboarding chunks moved", {{"count", *chunks}});
    }
  });
  return std::shared_ptr<void>(std::move(process));
}

}  // namespace
}  // namespace triad::pipeline

int main(int argc, char** argv) {
  triad::server::ServiceSpec spec;
  spec.name = "pipeline";
  spec.usage =
      "triad-pipeline: sales pipeline service (gRPC API triad.pipeline.v1.PipelineService)";
  spec.column_families = triad::pipeline::ColumnFamilies();
  spec.topics = triad::pipeline::Pipeline::Topics();
  spec.wire = triad::pipeline::Wire;
  return triad::server::RunService(argc, argv, spec);
}
