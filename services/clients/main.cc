// triad-clients: the clients service process (client records, ownership, cases, follow-ups).
// Declares the service for RunService: ClientsDomain on the shared runtime, its consumer,
// the SLA-breach and due-follow-up scans, and resuming interrupted handovers after start.

#include <memory>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/config/logging.h"
#include "common/server/service_main.h"
#include "services/clients/access.h"
#include "services/clients/admin_grpc_service.h"
#include "services/clients/domain.h"
#include "services/clients/grpc_service.h"
#include "services/clients/repository.h"

ABSL_FLAG(absl::Duration, scan_interval, absl::Seconds(60),
          "How often SLA breaches and due follow-ups are scanned (0 disables the scans).");
ABSL_FLAG(int32_t, handover_chunk_size, 500,
          "Clients moved per RocksDB WriteBatch by HandOverPortfolio.");
ABSL_FLAG(int32_t, post_delivery_days, 7,
          "Days after a project completes when its post-delivery follow-up is due.");

namespace triad::clients {
namespace {

// Process is what the clients process keeps alive: repository, ownership rules, domain and gRPC
// adapters.
struct Process {
  Process(server::ServiceRuntime& rt, DomainOptions options, const auth::CallSecurity& security)
      : repo(&rt.store()),
        access(&repo),
        domain(&rt.store(), &rt.outbox(), &repo, options),
        service(&domain, security.WithAccess(&access)),
        admin(&domain, security.WithAccess(&access)) {}
  RocksClientsRepository repo;
  ClientsAccess access;
  ClientsDomain domain;
  ClientsGrpcService service;
  ClientsAdminGrpcService admin;
};

// RunScans runs both periodic scans once, logging failures.
void RunScans(ClientsDomain& domain) {
  auto breaches = domain.ScanSlaBreaches();
  if (!breaches.ok()) {
    logging::Error("SLA breach scan failed", {{"error", breaches.status()}});
  } else if (breaches->breached_case_ids_size() > 0) {
    logging::Info("SLA breaches found", {{"count", breaches->breached_case_ids_size()}});
  }
  auto due = domain.ScanDueFollowUps();
  if (!due.ok()) {
    logging::Error("due follow-up scan failed", {{"error", due.status()}});
  } else if (due->due_follow_up_ids_size() > 0) {
    logging::Info("follow-ups fell due", {{"count", due->due_follow_up_ids_size()}});
  }
}

}  // namespace
}  // namespace triad::clients

int main(int argc, char** argv) {
  using triad::clients::Process;
  Process* process = nullptr;  // owned by the runtime's wiring (see RunService)
  triad::server::ServiceSpec spec;
  spec.name = "clients";
  spec.usage =
      "triad-clients: client records, ownership, service cases and follow-ups (see "
      "services/clients/README.md)";
  spec.column_families = triad::clients::ColumnFamilies();
  spec.topics = {triad::clients::kClientTopic, triad::clients::kCaseTopic,
                 triad::clients::kFollowUpTopic, triad::clients::kPersonTopic};
  spec.wire =
      [&process](triad::server::ServiceRuntime& rt) -> absl::StatusOr<std::shared_ptr<void>> {
    triad::clients::DomainOptions options;
    options.handover_chunk_size = absl::GetFlag(FLAGS_handover_chunk_size);
    options.post_delivery_delay = absl::Hours(24 * absl::GetFlag(FLAGS_post_delivery_days));
    // Ownership of clients (clients::ClientsAccess) is plugged in by Process.
    auto owned = std::make_shared<Process>(rt, options, rt.call_security());
    process = owned.get();
    rt.host().AddService(&process->service, triad::clients::kServiceFullName);
    rt.host().AddService(&process->admin, triad::clients::kAdminServiceFullName);
    triad::events::ConsumerOptions consumer;
    consumer.topics = {triad::clients::kOpportunityTopic, triad::clients::kProjectTopic,
                       triad::clients::kPipelinePersonTopic, triad::clients::kReviewPersonTopic,
                       triad::clients::kProductionPersonTopic};
    consumer.apply_mutex = &process->domain.mutex();
    process->domain.RegisterHandlers(rt.AddConsumer(consumer));
    // SLA breaches and due follow-ups are scanned periodically; the runtime stops the scans
    // before it closes the store.
    triad::clients::ClientsDomain* domain = &process->domain;
    rt.AddPeriodicTask("sla and follow-up scans", absl::GetFlag(FLAGS_scan_interval),
                       [domain] { triad::clients::RunScans(*domain); });
    return std::shared_ptr<void>(std::move(owned));
  };
  spec.after_start = [&process](triad::server::ServiceRuntime&) {
    if (absl::Status s = process->domain.ResumeHandovers(); !s.ok()) {
      triad::logging::Error("resuming handovers failed", {{"error", s}});
    }
    if (absl::Status s = process->domain.ResumeOffboardings(); !s.ok()) {
      triad::logging::Error("resuming offboardings failed", {{"error", s}});
    }
  };
  return triad::server::RunService(argc, argv, spec);
}
