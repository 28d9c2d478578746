// World: the Triad services of one part of the event-flow benchmark, as real processes on fresh
// data directories and consumer groups of their own, and the records they need seeded through
// their gRPC APIs (clients, experts, production resources, a phase template, a gate-free
// playbook, prepared deals).
#ifndef TRIAD_BENCH_FLOW_FLOW_WORLD_H_
#define TRIAD_BENCH_FLOW_FLOW_WORLD_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/flow/flow_bench.h"
#include "bench/flow/flow_kit.h"

namespace triad::bench_flow {

// The product line of the benchmark: a two-stage playbook without gates in pipeline and a copy
// of the shipped architectural-design phase template in production.
inline constexpr char kProductLine[] = "flow-bench";
// The review domain of the benchmark's experts.
inline constexpr char kDomain[] = "flow-bench-domain";

class World {
 public:
  // Start launches `services` (fresh data directories <work_dir>/<tag>-<svc>, consumer groups
  // flow-<tag>-<svc>-<run_id>) and waits until each accepts gRPC connections.
  static absl::StatusOr<std::unique_ptr<World>> Start(const Setup& setup,
                                                      const std::vector<std::string>& services,
                                                      const std::string& tag);
  ~World();

  // Stop terminates every service (SIGTERM, then SIGKILL after 30 s).
  void Stop();

  // Get returns the process of `service` (nullptr when not started).
  ServiceProcess* Get(const std::string& service) const;

  // WaitServing waits until `service` accepts gRPC connections (restarted processes too).
  absl::Status WaitServing(const std::string& service);

  // SeedLatency creates the benchmark's phase template and `resources_per_skill` resources per
  // skill in production, its playbook in pipeline and one client in clients.
  absl::Status SeedLatency(int resources_per_skill);

  // SeedTemplateAndResources does the production half of SeedLatency.
  absl::Status SeedTemplateAndResources(int resources_per_skill);

  // SeedClients creates `n` clients through clients' API; returns their ids.
  absl::StatusOr<std::vector<std::string>> SeedClients(int n);

  // SeedExperts creates `n` experts of kDomain (40 h/week each) through review's API.
  absl::Status SeedExperts(int n);

  // PrepareDeals creates `n` opportunities of the seeded client on kProductLine and advances
  // each to the playbook's last stage, with `threads` concurrent callers; returns their ids.
  absl::StatusOr<std::vector<std::string>> PrepareDeals(size_t n, int threads);

  // ConsumerGroup returns the consumer group given to `service`.
  std::string ConsumerGroup(const std::string& service) const;

 private:
  World(Setup setup, std::string tag) : setup_(std::move(setup)), tag_(std::move(tag)) {}
  Setup setup_;
  std::string tag_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> procs_;
  std::string client_id_;
};

}  // namespace triad::bench_flow

#endif  // TRIAD_BENCH_FLOW_FLOW_WORLD_H_
