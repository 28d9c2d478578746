// triad-clients: the clients service process (client records, ownership, cases, follow-ups).
// Wires ServiceRuntime (store, outbox relay, consumers, gRPC host) to ClientsDomain, resumes
// interrupted handovers, and runs the SLA-breach and due-follow-up scans periodically.

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/config/logging.h"
#include "common/server/runtime.h"
#include "services/clients/domain.h"
#include "services/clients/grpc_service.h"
#include "services/clients/repository.h"

ABSL_FLAG(absl::Duration, scan_interval, absl::Seconds(60),
          "How often SLA breaches and due follow-ups are scanned (0 disables the scans).");
ABSL_FLAG(int32_t, handover_chunk_size, 500,
          "Clients moved per RocksDB WriteBatch by HandOverPortfolio.");
ABSL_FLAG(int32_t, post_delivery_days, 7,
          "Days after a project completes when its post-delivery follow-up is due.");

namespace {

// RunScans runs both periodic scans once, logging failures.
void RunScans(triad::clients::ClientsDomain& domain) {
  auto breaches = domain.ScanSlaBreaches();
  if (!breaches.ok()) {
    triad::logging::Error("SLA breach scan failed", {{"error", breaches.status()}});
  } else if (breaches->breached_case_ids_size() > 0) {
    triad::logging::Info("SLA breaches found", {{"count", breaches->breached_case_ids_size()}});
  }
  auto due = domain.ScanDueFollowUps();
  if (!due.ok()) {
    triad::logging::Error("due follow-up scan failed", {{"error", due.status()}});
  } else if (due->due_follow_up_ids_size() > 0) {
    triad::logging::Info("follow-ups fell due", {{"count", due->due_follow_up_ids_size()}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  triad::server::BlockTerminationSignals();
  triad::config::ParseFlags(argc, argv,
                            "triad-clients: client records, ownership, service cases and "
                            "follow-ups (see services/clients/README.md)");
  triad::logging::Init("clients", absl::GetFlag(FLAGS_log_level));

  triad::server::RuntimeOptions options;
  options.service = "clients";
  options.column_families = triad::clients::ColumnFamilies();
  options.topics = {triad::clients::kClientTopic, triad::clients::kCaseTopic,
                    triad::clients::kFollowUpTopic};
  auto runtime = triad::server::ServiceRuntime::CreateFromFlags(options);
  if (!runtime.ok()) {
    triad::logging::Error("cannot create the runtime", {{"error", runtime.status()}});
    return EXIT_FAILURE;
  }
  triad::server::ServiceRuntime& rt = **runtime;

  triad::clients::RocksClientsRepository repo(&rt.store());
  triad::clients::DomainOptions domain_options;
  domain_options.handover_chunk_size = absl::GetFlag(FLAGS_handover_chunk_size);
  domain_options.post_delivery_delay = absl::Hours(24 * absl::GetFlag(FLAGS_post_delivery_days));
  triad::clients::ClientsDomain domain(&rt.store(), &rt.outbox(), &repo, domain_options);
  triad::clients::ClientsGrpcService service(&domain);
  rt.host().AddService(&service, "triad.clients.v1.ClientsService");

  triad::events::ConsumerOptions consumer;
  consumer.topics = {triad::clients::kOpportunityTopic, triad::clients::kProjectTopic};
  consumer.apply_mutex = &domain.mutex();
  domain.RegisterHandlers(rt.AddConsumer(consumer));

  // SLA breaches and due follow-ups are scanned periodically; the runtime stops the scans
  // before it closes the store.
  rt.AddPeriodicTask("sla and follow-up scans", absl::GetFlag(FLAGS_scan_interval),
                     [&domain] { RunScans(domain); });
  if (absl::Status s = rt.Start(); !s.ok()) {
    triad::logging::Error("cannot start", {{"error", s}});
    rt.Shutdown();
    return EXIT_FAILURE;
  }
  triad::logging::Info("clients service started", {{"grpc_port", rt.host().grpc_port()},
                                                   {"admin_port", rt.host().admin_port()}});
  if (absl::Status s = domain.ResumeHandovers(); !s.ok()) {
    triad::logging::Error("resuming handovers failed", {{"error", s}});
  }

  return rt.Run();
}
