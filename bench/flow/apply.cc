// Part 2 of the event-flow benchmark: sustained apply throughput of each service's consumer.
// Per service: start it on a fresh data directory and consumer group, seed what its events
// refer to through its API, stop it; purge the consumed topics and produce a backlog of valid
// events (contract topic, ce_source and headers) onto them; start it again and time, from its
// /metrics (triad_consumer_messages_total of its group), how fast the backlog is applied.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/flow/flow_bench.h"
#include "bench/flow/flow_kit.h"
#include "bench/flow/flow_world.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/events/kafka.h"
#include "common/events/origin.h"
#include "common/util/proto_time.h"
#include "triad/clients/v1/events.pb.h"
#include "triad/pipeline/v1/events.pb.h"

namespace triad::bench_flow {
namespace {

namespace cv1 = ::triad::clients::v1;
namespace pv1 = ::triad::pipeline::v1;

// The topics whose records are purged before each service's run (everything the four
// services consume).
std::vector<std::string> ConsumedTopics() {
  return {"triad.clients.client",     "triad.clients.person",         "triad.pipeline.opportunity",
          "triad.pipeline.person",    "triad.review.request",         "triad.review.person",
          "triad.production.project", "triad.production.feasibility", "triad.production.person"};
}

// CpuSeconds returns the user + system CPU time of process `pid` so far.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Case is one backlog: the service, the event type and how to build event i.
struct Case {
  std::string service;
  std::string type;
  int events = 0;
  std::string what;
  // Seeds the running service; may fill `refs` (e.g. client ids).
  std::function<absl::Status(World&, std::vector<std::string>& refs)> seed;
  // Produces event i.
  std::function<absl::Status(EventProducer&, int i, const std::vector<std::string>& refs)> make;
};

pv1::OpportunityWon Won(const std::string& run, int i, const std::string& client,
                        const std::string& line) {
  pv1::OpportunityWon m;
  m.set_opportunity_id(absl::StrCat("opp-flow-", run, "-", i));
  m.set_client_id(client);
  m.set_owner_id("u:flow.bench");
  m.set_product_line(line);
  m.set_title(absl::StrCat("Flow backlog deal ", i));
  m.mutable_value()->set_amount_minor(100000000);
  m.mutable_value()->set_currency("CNY");
  const absl::Time now = absl::Now();
  *m.mutable_won_time() = util::ToProto(now);
  *m.mutable_due_time() = util::ToProto(now + absl::Hours(24 * 365));
  return m;
}

std::vector<Case> Cases(const Setup& setup, const ApplyOptions& o) {
  const std::string run = setup.run_id;
  std::vector<Case> cases;
  cases.push_back(
      {"clients", std::string(contracts::pipeline::OpportunityWon::kType), o.events,
       "OpportunityWon on 100 seeded clients (repeat business, lifetime value, history)",
       [](World& w, std::vector<std::string>& refs) {
         absl::StatusOr<std::vector<std::string>> ids = w.SeedClients(100);
         if (!ids.ok()) return ids.status();
         refs = *ids;
         return absl::OkStatus();
       },
       [run](EventProducer& p, int i, const std::vector<std::string>& refs) {
         pv1::OpportunityWon m = Won(run, i, refs[i % refs.size()], "architectural-design");
         return p.Produce(contracts::pipeline::OpportunityWon::kType, m.opportunity_id(), m);
       }});
  cases.push_back({"pipeline", std::string(contracts::clients::ClientRegistered::kType), o.events,
                   "ClientRegistered of new clients (client replica)",
                   [](World&, std::vector<std::string>&) { return absl::OkStatus(); },
                   [run](EventProducer& p, int i, const std::vector<std::string>&) {
                     cv1::ClientRegistered m;
                     cv1::ClientSummary* c = m.mutable_client();
                     c->set_client_id(absl::StrCat("cl-flow-", run, "-", i));
                     c->set_name(absl::StrCat("Flow backlog client ", i));
                     c->set_owner_id("u:flow.bench");
                     c->set_status(cv1::CLIENT_STATUS_COLLECTED);
                     c->set_industry("healthcare");
                     c->set_region("cn-east");
                     c->set_tier(cv1::CLIENT_TIER_KEY);
                     c->set_version(1);
                     *c->mutable_update_time() = util::ToProto(absl::Now());
                     *m.mutable_actor() = Actor();
                     return p.Produce(contracts::clients::ClientRegistered::kType, c->client_id(),
                                      m);
                   }});
  cases.push_back({"review", std::string(contracts::pipeline::ReviewRequested::kType), o.events,
                   "ReviewRequested in a domain of 20 seeded experts (assignment by load, queue)",
                   [](World& w, std::vector<std::string>&) { return w.SeedExperts(20); },
                   [run](EventProducer& p, int i, const std::vector<std::string>&) {
                     pv1::ReviewRequested m;
                     m.set_opportunity_id(absl::StrCat("opp-flow-rv-", run, "-", i));
                     m.set_client_id(absl::StrCat("cl-flow-", run, "-", i % 100));
                     m.set_domain(kDomain);
                     m.set_requirements("hospital design concept");
                     m.mutable_value()->set_amount_minor(100000000);
                     m.mutable_value()->set_currency("CNY");
                     *m.mutable_due_time() = util::ToProto(absl::Now() + absl::Hours(24 * 60));
                     m.set_product_line("architectural-design");
                     m.set_stage("concept");
                     m.set_gate_id("concept.expert_review");
                     m.set_owner_id("u:flow.bench");
                     return p.Produce(contracts::pipeline::ReviewRequested::kType,
                                      m.opportunity_id(), m);
                   }});
  auto seed_production = [](World& w, std::vector<std::string>&) {
    return w.SeedTemplateAndResources(10);
  };
  cases.push_back(
      {"production", std::string(contracts::pipeline::FeasibilityRequested::kType), o.events,
       "FeasibilityRequested (placement on the schedule, answer event)", seed_production,
       [run](EventProducer& p, int i, const std::vector<std::string>&) {
         pv1::FeasibilityRequested m;
         m.set_opportunity_id(absl::StrCat("opp-flow-fr-", run, "-", i));
         m.set_product_line(kProductLine);
         m.set_estimated_effort_hours(40);
         *m.mutable_desired_end_time() = util::ToProto(absl::Now() + absl::Hours(24 * 365));
         m.set_gate_id("concept.feasibility");
         return p.Produce(contracts::pipeline::FeasibilityRequested::kType, m.opportunity_id(), m);
       }});
  cases.push_back(
      {"production", std::string(contracts::pipeline::OpportunityWon::kType),
       o.production_won_events,
       "OpportunityWon (a project created and scheduled per event, 20 resources)", seed_production,
       [run](EventProducer& p, int i, const std::vector<std::string>&) {
         pv1::OpportunityWon m = Won(run, i, "cl-flow-any", kProductLine);
         return p.Produce(contracts::pipeline::OpportunityWon::kType, m.opportunity_id(), m);
       }});
  return cases;
}

// Perf records `pid` with call graphs into `path` until Stop().
class Perf {
 public:
  Perf(pid_t pid, const std::string& path) {
    child_ = fork();
    if (child_ == 0) {
      std::string p = std::to_string(pid);
      execlp("perf", "perf", "record", "-q", "--call-graph=dwarf,16384", "-F", "199", "-p",
             p.c_str(), "-o", path.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  void Stop() {
    if (child_ <= 0) return;
    kill(child_, SIGINT);
    int status = 0;
    waitpid(child_, &status, 0);
    child_ = -1;
  }
  ~Perf() { Stop(); }

 private:
  pid_t child_ = -1;
};

absl::Status RunCase(const Setup& setup, const ApplyOptions& o, const Case& c, int index,
                     const std::string& perf_dir) {
  if (absl::Status s = PurgeTopics(setup.bootstrap, ConsumedTopics()); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<World>> made =
      World::Start(setup, {c.service}, absl::StrCat("apply", index));
  if (!made.ok()) return made.status();
  World& w = **made;
  std::vector<std::string> refs;
  if (absl::Status s = c.seed(w, refs); !s.ok()) return s;
  ServiceProcess* p = w.Get(c.service);
  p->Stop();
  // Anything the seeding emitted that the service consumes is dropped too: the backlog alone.
  if (absl::Status s = PurgeTopics(setup.bootstrap, ConsumedTopics()); !s.ok()) return s;
  // The topic exists with the services' default partitions even on a broker no producer of it
  // has run against yet (--flow_part=apply alone).
  absl::StatusOr<events::EventOrigin> origin = events::ContractOrigin(c.type);
  if (!origin.ok()) return origin.status();
  events::KafkaConfig kafka;
  kafka.bootstrap_servers = setup.bootstrap;
  if (absl::Status s = events::EnsureTopics(kafka, {origin->topic}, 6); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<EventProducer>> producer = EventProducer::Create(setup.bootstrap);
  if (!producer.ok()) return producer.status();
  const absl::Time produce_begin = absl::Now();
  for (int i = 0; i < c.events; ++i) {
    if (absl::Status s = c.make(**producer, i, refs); !s.ok()) return s;
  }
  if (absl::Status s = (*producer)->Flush(); !s.ok()) return s;
  const double produce_s = absl::ToDoubleSeconds(absl::Now() - produce_begin);

  if (absl::Status s = p->Start(); !s.ok()) return s;
  const std::string group = w.ConsumerGroup(c.service);
  auto count = [&](const char* result) -> double {
    std::map<std::string, std::string> labels = {{"group", group}};
    if (result != nullptr) labels["result"] = result;
    absl::StatusOr<double> v =
        ScrapeMetric(p->admin_port(), "triad_consumer_messages_total", labels);
    return v.ok() ? *v : -1;
  };
  // Every result but `retried` (a transient failure, the same event counted again later).
  auto done = [&] { return std::max(0.0, count(nullptr)) - std::max(0.0, count("retried")); };
  absl::Time first = absl::InfinitePast();
  double n_first = 0, cpu_first = 0;
  std::unique_ptr<Perf> perf;
  absl::Status waited = WaitUntil(
      [&] {
        if (!p->Alive()) return true;
        const double n = done();
        if (n > 0 && first == absl::InfinitePast()) {
          first = absl::Now();
          n_first = n;
          cpu_first = CpuSeconds(p->pid());
          if (!perf_dir.empty()) {
            perf = std::make_unique<Perf>(
                p->pid(), absl::StrCat(perf_dir, "/", c.service, "-", index, ".perf.data"));
          }
        }
        return n >= c.events;
      },
      o.apply_timeout, absl::StrCat(c.service, " to apply ", c.events, " events"));
  const absl::Time last = absl::Now();
  const bool died = !p->Alive();
  const double cpu = died ? 0 : CpuSeconds(p->pid()) - cpu_first;
  if (perf != nullptr) perf->Stop();
  const double applied = died ? 0 : done();
  const double dead = died ? 0 : count("dead_lettered");
  const double ignored = died ? 0 : count("ignored");
  const double retried = died ? 0 : count("retried");
  p->Stop();
  if (died || first == absl::InfinitePast()) {
    std::printf("| %s | `%s` | %s | | | | | | | %s |\n", c.service.c_str(), c.type.c_str(),
                died ? "the service exited (see its log)" : "nothing applied",
                std::string(waited.message()).c_str());
    std::fflush(stdout);
    return absl::OkStatus();
  }
  // The rate over the window: events counted after the first poll that saw any.
  const double window = absl::ToDoubleSeconds(last - first);
  const double counted = applied - n_first;
  const double rate = window > 0 ? counted / window : 0;
  std::printf(
      "| %s | `%s` | %.0f / %d | %.1f | %.1f | %s%.1f | **%.0f** | %.0f | %.0f / %.0f%s | %s |\n",
      c.service.c_str(), c.type.c_str(), applied, c.events, produce_s,
      absl::ToDoubleSeconds(first - p->start_time()), waited.ok() ? "" : "(timeout) ", window, rate,
      counted > 0 ? cpu * 1e6 / counted : 0, dead, ignored,
      retried > 0 ? absl::StrCat(" (", retried, " retried)").c_str() : "", c.what.c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunApply(const Setup& setup, const ApplyOptions& options) {
  const absl::Time begin = absl::Now();
  const char* perf_dir = std::getenv("TRIAD_FLOW_PERF_DIR");
  std::printf(
      "\n### Sustained apply throughput (backlog produced first, then the service started)\n\n"
      "setup: one service at a time (real binary, --auth_mode=disabled%s%s), fresh data "
      "directory and consumer group, its references seeded through its API; events applied "
      "per second from the first poll that saw an applied event to the last "
      "(triad_consumer_messages_total "
      "of its group, polled every 20 ms); CPU = the service's user+system CPU per 1,000 "
      "events; goal >= 5,000 events/s\n\n"
      "| service | consumed event | applied / backlog | produce s | start -> first applied s | "
      "apply s | events/s | CPU ms / 1k events | dead-lettered / ignored | what it does |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      setup.service_flags.empty() ? "" : ", ", absl::StrJoin(setup.service_flags, " ").c_str());
  std::fflush(stdout);
  int index = 0;
  for (const Case& c : Cases(setup, options)) {
    ++index;
    bool wanted = false;
    for (const std::string& s : options.services) wanted = wanted || s == c.service;
    if (!wanted || c.events <= 0) continue;
    if (absl::Status s = RunCase(setup, options, c, index, perf_dir ? perf_dir : ""); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(c.service, " (", c.type, "): ", s.message()));
    }
  }
  std::printf("\npart 2 wall time: %.1f s\n", absl::ToDoubleSeconds(absl::Now() - begin));
  return absl::OkStatus();
}

}  // namespace triad::bench_flow
