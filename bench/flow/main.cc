// flow_bench: the event-flow benchmark (scripts/bench-flow.sh runs it; not part of `make test`).
// Part 1 (latency): deal won in pipeline -> project scheduled and readable in production, at
// fixed win rates. Part 2 (apply): events applied per second by each service over a backlog.
// Prints markdown tables with their setup; asserts nothing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/flow/flow_bench.h"
#include "common/events/envelope.h"

ABSL_FLAG(std::string, flow_part, "all", "latency, apply or all");
ABSL_FLAG(std::string, flow_bootstrap, "", "Kafka bootstrap (default $KAFKA_BOOTSTRAP_SERVERS)");
ABSL_FLAG(std::string, flow_build_dir, "build", "build tree holding services/<svc>/triad-<svc>");
ABSL_FLAG(std::string, flow_work_dir, "/tmp/triad-bench-flow", "data directories and logs");
ABSL_FLAG(std::string, flow_service_flags, "",
          "extra service flags, comma-separated (e.g. --sync_writes=true)");
ABSL_FLAG(std::string, flow_rates, "10,100,1000", "win rates of part 1 (deals/s)");
ABSL_FLAG(double, flow_seconds, 10, "seconds of open-loop load per rate");
ABSL_FLAG(int, flow_warmup, 20, "warm-up deals before the measured runs");
ABSL_FLAG(absl::Duration, flow_drain_timeout, absl::Seconds(20),
          "wait for a run's projects after its last win");
ABSL_FLAG(int, flow_verify_every, 20, "every n-th deal is read back with GetProject");
ABSL_FLAG(int, flow_resources_per_skill, 10, "production resources per skill");
ABSL_FLAG(int, flow_apply_events, 50000, "backlog per service in part 2");
ABSL_FLAG(int, flow_apply_won_events, 2000, "backlog of OpportunityWon for production");
ABSL_FLAG(std::string, flow_apply_services, "clients,pipeline,review,production",
          "services measured in part 2");
ABSL_FLAG(absl::Duration, flow_apply_timeout, absl::Seconds(30), "longest wait for one backlog");

namespace {

std::string Machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string model;
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream load("/proc/loadavg");
  std::string l1, l5, l15;
  load >> l1 >> l5 >> l15;
  return absl::StrCat(std::thread::hardware_concurrency(), " cores (", model, "), load average ",
                      l1, " ", l5, " ", l15);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  namespace bf = triad::bench_flow;
  bf::Setup setup;
  setup.bootstrap = absl::GetFlag(FLAGS_flow_bootstrap);
  if (setup.bootstrap.empty() && std::getenv("KAFKA_BOOTSTRAP_SERVERS") != nullptr) {
    setup.bootstrap = std::getenv("KAFKA_BOOTSTRAP_SERVERS");
  }
  if (setup.bootstrap.empty()) {
    std::fprintf(stderr, "flow_bench: set --flow_bootstrap or KAFKA_BOOTSTRAP_SERVERS\n");
    return 2;
  }
  setup.build_dir = absl::GetFlag(FLAGS_flow_build_dir);
  setup.work_dir = absl::GetFlag(FLAGS_flow_work_dir);
  setup.run_id = triad::events::NewEventId().substr(0, 8);
  setup.service_flags =
      absl::StrSplit(absl::GetFlag(FLAGS_flow_service_flags), ',', absl::SkipEmpty());
  std::printf("flow_bench on %s; broker %s; run %s\n", Machine().c_str(), setup.bootstrap.c_str(),
              setup.run_id.c_str());
  const std::string part = absl::GetFlag(FLAGS_flow_part);
  if (part == "all" || part == "latency") {
    bf::LatencyOptions o;
    o.rates.clear();
    const std::vector<std::string> rates =
        absl::StrSplit(absl::GetFlag(FLAGS_flow_rates), ',', absl::SkipEmpty());
    for (const std::string& r : rates) {
      int v = 0;
      if (absl::SimpleAtoi(r, &v) && v > 0) o.rates.push_back(v);
    }
    o.seconds = absl::GetFlag(FLAGS_flow_seconds);
    o.warmup_deals = absl::GetFlag(FLAGS_flow_warmup);
    o.drain_timeout = absl::GetFlag(FLAGS_flow_drain_timeout);
    o.verify_every = absl::GetFlag(FLAGS_flow_verify_every);
    o.resources_per_skill = absl::GetFlag(FLAGS_flow_resources_per_skill);
    if (absl::Status s = bf::RunLatency(setup, o); !s.ok()) {
      std::fprintf(stderr, "flow_bench latency: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (part == "all" || part == "apply") {
    bf::ApplyOptions o;
    o.events = absl::GetFlag(FLAGS_flow_apply_events);
    o.production_won_events = absl::GetFlag(FLAGS_flow_apply_won_events);
    o.apply_timeout = absl::GetFlag(FLAGS_flow_apply_timeout);
    o.services = absl::StrSplit(absl::GetFlag(FLAGS_flow_apply_services), ',', absl::SkipEmpty());
    if (absl::Status s = bf::RunApply(setup, o); !s.ok()) {
      std::fprintf(stderr, "flow_bench apply: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
