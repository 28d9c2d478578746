// triad-production: the production scheduling service process (resources, phase templates,
// projects on a finite-capacity schedule, feasibility, utilisation). Declares the service for
// RunService: the Production domain on the shared runtime, its gRPC adapter and its consumer of
// pipeline and review events.
#include <memory>

#include "common/server/service_main.h"
#include "services/production/grpc_service.h"
#include "services/production/production.h"

namespace triad::production {
namespace {

// Process is what the production process keeps alive: the domain and its gRPC adapter.
struct Process {
  Process(std::unique_ptr<Production> p, auth::CallSecurity security)
      : production(std::move(p)), service(production.get(), std::move(security)) {}
  std::unique_ptr<Production> production;
  ProductionGrpcService service;
};

absl::StatusOr<std::shared_ptr<void>> Wire(server::ServiceRuntime& rt) {
  ProductionOptions options;
  options.consumer_group = rt.consumer_group();
  absl::StatusOr<std::unique_ptr<Production>> production =
      Production::Create(&rt.store(), &rt.outbox(), options);
  if (!production.ok()) return production.status();
  // Production records are not owned by salespeople: no ResourceAccess, the role table only.
  auto process = std::make_shared<Process>(std::move(*production), rt.call_security());
  Production* domain = process->production.get();
  events::ConsumerOptions consumer;
  consumer.group_id = options.consumer_group;
  consumer.topics = Production::ConsumedTopics();
  consumer.apply_mutex = &domain->mutex();
  domain->RegisterHandlers(rt.AddConsumer(std::move(consumer)));
  rt.host().AddService(&process->service, kServiceFullName);
  return std::shared_ptr<void>(std::move(process));
}

}  // namespace
}  // namespace triad::production

int main(int argc, char** argv) {
  triad::server::ServiceSpec spec;
  spec.name = "production";
  spec.usage =
      "triad-production: production scheduling service (gRPC API "
      "triad.production.v1.ProductionService)";
  spec.column_families = triad::production::ColumnFamilies();
  spec.topics = triad::production::Production::Topics();
  spec.wire = triad::production::Wire;
  return triad::server::RunService(argc, argv, spec);
}
