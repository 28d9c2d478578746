// The two parts of the event-flow benchmark: the latency from winning a deal in pipeline to its
// project being scheduled and readable in production (latency.cc), and the sustained apply
// throughput of each service's consumer over a pre-produced backlog (apply.cc).
#ifndef TRIAD_BENCH_FLOW_FLOW_BENCH_H_
#define TRIAD_BENCH_FLOW_FLOW_BENCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace triad::bench_flow {

// Setup is what both parts share: where the binaries are, where data and logs go, the broker.
struct Setup {
  // The build tree (services/<svc>/triad-<svc> under it).
  std::string build_dir;
  // A fresh directory for data directories and logs.
  std::string work_dir;
  std::string bootstrap;
  // Unique suffix of consumer groups and request ids.
  std::string run_id;
  // Passed to every service (e.g. --sync_writes=true).
  std::vector<std::string> service_flags;
};

struct LatencyOptions {
  // Target win rates (deals/s), each run open-loop for `seconds`.
  std::vector<int> rates = {10, 100, 1000};
  double seconds = 10;
  // Deals won (one at a time) before the measured runs, not reported.
  int warmup_deals = 20;
  // How long to wait after the last win of a run for its projects.
  absl::Duration drain_timeout = absl::Seconds(20);
  // Every n-th deal of a run is read back with GetProject once its event is visible.
  int verify_every = 20;
  // Concurrent callers preparing deals (create + advance to the last stage).
  int prep_threads = 8;
  // Production resources per skill of the benchmark's phase template (168 h/week each).
  int resources_per_skill = 10;
};

// RunLatency starts clients, pipeline and production, prepares the deals, runs each rate and
// prints a markdown table with the setup.
absl::Status RunLatency(const Setup& setup, const LatencyOptions& options);

struct ApplyOptions {
  // The services to measure, in order: clients, pipeline, review, production.
  std::vector<std::string> services = {"clients", "pipeline", "review", "production"};
  // Backlog size per service (production: FeasibilityRequested).
  int events = 50000;
  // Backlog of production's OpportunityWon (each creates and schedules a project).
  int production_won_events = 2000;
  // Longest wait for one backlog to be applied.
  absl::Duration apply_timeout = absl::Seconds(30);
};

// RunApply measures, per service, events applied per second over a backlog produced before the
// service starts, and prints a markdown table.
absl::Status RunApply(const Setup& setup, const ApplyOptions& options);

}  // namespace triad::bench_flow

#endif  // TRIAD_BENCH_FLOW_FLOW_BENCH_H_
