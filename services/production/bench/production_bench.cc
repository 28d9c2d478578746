// Benchmarks of the production scheduler, printing measured numbers only: scheduling 2,000
// projects x 5 phases on 300 resources; a feasibility probe under that load; the phases moved
// when one project is added to that schedule; and total (value-weighted) tardiness of the
// service's rule against earliest-due-date and ATC list scheduling on the same instances;
// won deals applied one by one (OpportunityWon events, each committed) and progress reports
// (phases started, advanced, completed; also at 2,000 active projects with many late), with
// 100, 1,000 and 2,000 active projects, with the incremental paths and with a full reschedule
// per change. TRIAD_BENCH_SEED changes the instances.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "common/contracts/pipeline.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"
#include "services/production/repository.h"
#include "services/production/scheduler.h"
#include "tests/testing/test_env.h"

namespace triad::production::sched {
namespace {

const std::vector<std::string> kSkills = {"design", "manufacture", "test", "install", "drafting"};

Problem Instance(uint64_t seed, int projects, int phases, int resources, double load) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Problem p;
  p.today = *ParseDay("2026-03-02");
  p.horizon_days = 3650;
  for (int i = 0; i < resources; ++i) {
    ResourceIn r;
    r.id = "r" + std::to_string(i);
    r.skills = {kSkills[i % kSkills.size()]};
    if (uni(0, 3) == 0) r.skills.push_back(kSkills[uni(0, 4)]);
    r.weekly_hours = uni(30, 40);
    for (int k = uni(0, 10); k > 0; --k) r.off_days.push_back(p.today + uni(0, 365));
    p.resources.push_back(r);
  }
  // Due dates spread so that the load is `load` times what fits before the last due date.
  double capacity_per_day = resources * 35.0 / 7;
  double total_hours = 0;
  std::vector<double> hours(projects);
  for (int i = 0; i < projects; ++i) {
    hours[i] = uni(100, 900);
    total_hours += hours[i];
  }
  const int span = static_cast<int>(total_hours / capacity_per_day / load);
  for (int i = 0; i < projects; ++i) {
    ProjectIn pr;
    pr.id = "p" + std::to_string(i);
    pr.value = uni(10, 1000);
    pr.release = p.today;
    int min_days = static_cast<int>(hours[i] / phases / 8 * phases * 7 / 5) + 7;
    pr.due = p.today + std::max(min_days, uni(0, span));
    for (int k = 0; k < phases; ++k) {
      PhaseIn ph;
      ph.id = "ph" + std::to_string(k);
      ph.skill = kSkills[(k + i) % kSkills.size()];
      ph.effort_hours = hours[i] / phases;
      pr.phases.push_back(ph);
    }
    p.projects.push_back(pr);
  }
  return p;
}

struct Tardiness {
  double total_days = 0;
  double weighted = 0;
  int late = 0;
};

Tardiness Measure(const Problem& p, const Result& r) {
  Tardiness t;
  for (size_t i = 0; i < p.projects.size(); ++i) {
    int end = r.projects[i].end;
    if (end < 0) end = p.today + p.horizon_days;
    double late = std::max(0, end - p.projects[i].due);
    t.total_days += late;
    t.weighted += late * p.projects[i].value;
    t.late += late > 0 ? 1 : 0;
  }
  return t;
}

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// StoredResource is `r` as the service stores an active resource, with `first_skill` (when not
// empty) before the instance's skills and, with `off_days`, the instance's days off.
v1::Resource StoredResource(const ResourceIn& r, const std::string& first_skill, bool off_days) {
  v1::Resource res;
  res.set_resource_id(r.id);
  res.set_display_name(r.id);
  if (!first_skill.empty()) res.add_skills(first_skill);
  for (const std::string& sk : r.skills) res.add_skills(sk);
  res.set_weekly_capacity_hours(r.weekly_hours);
  res.set_state(v1::RESOURCE_STATE_ACTIVE);
  if (off_days) {
    for (Day d : r.off_days) res.mutable_calendar()->add_non_working_dates(FormatDay(d));
  }
  return res;
}

// StoredProject is `pr` as the service stores an active "bench-line" project due on `due`,
// every phase planned.
v1::Project StoredProject(const ProjectIn& pr, Day due) {
  v1::Project p;
  p.set_project_id(pr.id);
  p.set_client_id("client");
  p.set_product_line("bench-line");
  p.set_due_date(FormatDay(due));
  p.mutable_value()->set_amount_minor(static_cast<int64_t>(pr.value * 100));
  p.mutable_value()->set_currency("CNY");
  p.set_state(v1::PROJECT_STATE_ACTIVE);
  for (size_t k = 0; k < pr.phases.size(); ++k) {
    v1::Phase* ph = p.add_phases();
    ph->set_phase_id(pr.phases[k].id);
    ph->set_name("phase " + std::to_string(k));
    ph->set_required_skill(pr.phases[k].skill);
    ph->set_effort_hours(pr.phases[k].effort_hours);
    ph->set_state(v1::PHASE_STATE_PLANNED);
  }
  return p;
}

// MarkActiveIndexBuilt marks the store's active-project index as built (the projects having
// been written with PutProject, record and index entry), so start-up reads through it.
void MarkActiveIndexBuilt(Repository& repo, rocksdb::WriteBatch& batch) {
  repo.PutRaw(batch, Kind::kIndex, ActiveIndexedKey(), "");
}

// DomainBench measures the service path on the same load: loading 2,000 stored projects (with
// the full reschedule at start), one CreateProject RPC (reschedule + commit of what changed)
// and CheckFeasibility RPCs.
void DomainBench(const Problem& big) {
  ::triad::testing::TempDir dir;
  auto storage =
      ::triad::testing::OpenServiceStorage(dir.Sub("db"), ColumnFamilies(), "triad/production");
  if (!storage.ok()) {
    std::printf("domain bench: %s\n", storage.status().ToString().c_str());
    return;
  }
  auto repo = NewRocksRepository(storage->store.get());
  rocksdb::WriteBatch batch;
  v1::PhaseTemplateSet tpl;
  tpl.set_product_line("bench-line");
  tpl.set_version(1);
  tpl.set_default_effort_hours(500);
  for (int k = 0; k < 5; ++k) {
    v1::PhaseTemplate* ph = tpl.add_phases();
    ph->set_name("phase " + std::to_string(k));
    ph->set_effort_share(0.2);
    ph->set_required_skill(kSkills[k]);
  }
  repo->PutProto(batch, Kind::kTemplate, TemplateKey("bench-line", 1), tpl);
  for (const ResourceIn& r : big.resources) {
    repo->PutProto(batch, Kind::kResource, r.id, StoredResource(r, "", /*off_days=*/true));
  }
  for (const ProjectIn& pr : big.projects) {
    v1::Project p = StoredProject(pr, pr.due);
    p.set_template_version(1);
    PutProject(*repo, batch, p);
  }
  MarkActiveIndexBuilt(*repo, batch);
  if (!storage->store->Write(batch).ok()) return;
  ProductionOptions o;
  const absl::Time now = absl::FromCivil(absl::CivilDay(2026, 3, 2), absl::UTCTimeZone());
  o.clock = [now] { return now; };
  auto t0 = std::chrono::steady_clock::now();
  auto created = Production::Create(storage->store.get(), storage->outbox.get(), o);
  if (!created.ok()) {
    std::printf("domain bench: %s\n", created.status().ToString().c_str());
    return;
  }
  Production& prod = **created;
  std::printf("service: load 2000 projects + 300 resources and schedule them at start: %.1f ms\n",
              Ms(std::chrono::steady_clock::now() - t0));
  // The first reschedule writes every project's plan; the next one changes what moved.
  for (int n = 0; n < 3; ++n) {
    v1::CreateProjectRequest req;
    req.mutable_project()->set_client_id("client");
    req.mutable_project()->set_product_line("bench-line");
    req.mutable_project()->set_title("new");
    req.mutable_project()->set_due_date(FormatDay(big.today + 200 + 50 * n));
    req.mutable_project()->set_effort_hours(600);
    req.mutable_actor()->set_id("u:bench");
    t0 = std::chrono::steady_clock::now();
    auto resp = prod.CreateProject(req);
    const double ms = Ms(std::chrono::steady_clock::now() - t0);
    if (!resp.ok()) {
      std::printf("CreateProject: %s\n", resp.status().ToString().c_str());
      return;
    }
    std::printf(
        "service: CreateProject #%d on 2000 projects: %.1f ms (%d phases moved, %lld days "
        "shift)\n",
        n + 1, ms, resp->report().phases_moved(),
        static_cast<long long>(resp->report().total_shift_days()));
  }
  v1::CheckFeasibilityRequest f;
  f.set_product_line("bench-line");
  f.set_effort_hours(600);
  const int answers = 50;
  t0 = std::chrono::steady_clock::now();
  std::string date;
  for (int i = 0; i < answers; ++i) {
    auto r = prod.CheckFeasibility(f);
    if (r.ok()) date = r->earliest_completion_date();
  }
  std::printf("service: CheckFeasibility under that load: %.3f ms per answer (completion %s)\n",
              Ms(std::chrono::steady_clock::now() - t0) / answers, date.c_str());
}

// StoredDomain is a production domain on its own store with `active` active projects (stored,
// planned at start) on 300 resources with the service's lines' skills, on 2026-03-02; with
// `overdue`, due on the instance's due dates (an overloaded schedule with late projects), else
// a year later.
struct StoredDomain {
  ::triad::testing::TempDir dir;
  ::triad::testing::ServiceStorage storage;
  std::unique_ptr<Production> prod;
};

const absl::Time kBenchNow = absl::FromCivil(absl::CivilDay(2026, 3, 2), absl::UTCTimeZone());

std::unique_ptr<StoredDomain> OpenStoredDomain(uint64_t seed, int active, bool incremental,
                                               bool overdue = false) {
  Problem inst = Instance(seed, active, 5, 300, 0.5);
  auto d = std::make_unique<StoredDomain>();
  auto storage =
      ::triad::testing::OpenServiceStorage(d->dir.Sub("db"), ColumnFamilies(), "triad/production");
  if (!storage.ok()) {
    std::printf("stored domain: %s\n", storage.status().ToString().c_str());
    return nullptr;
  }
  d->storage = *std::move(storage);
  auto repo = NewRocksRepository(d->storage.store.get());
  rocksdb::WriteBatch batch;
  // The service's lines' skills, so won deals (default templates) find resources.
  static const std::vector<std::string> kLineSkills = {
      "architectural-design", "drafting", "equipment-design",
      "manufacturing",        "testing",  "installation"};
  for (const ResourceIn& r : inst.resources) {
    const std::string& line_skill =
        kLineSkills[std::hash<std::string>()(r.id) % kLineSkills.size()];
    repo->PutProto(batch, Kind::kResource, r.id, StoredResource(r, line_skill, /*off_days=*/false));
  }
  for (const ProjectIn& pr : inst.projects) {
    PutProject(*repo, batch, StoredProject(pr, overdue ? pr.due : pr.due + 365));
  }
  MarkActiveIndexBuilt(*repo, batch);
  if (!d->storage.store->Write(batch).ok()) return nullptr;
  ProductionOptions o;
  o.clock = [] { return kBenchNow; };
  o.incremental_placement = incremental;
  auto created = Production::Create(d->storage.store.get(), d->storage.outbox.get(), o);
  if (!created.ok()) {
    std::printf("stored domain: %s\n", created.status().ToString().c_str());
    return nullptr;
  }
  d->prod = *std::move(created);
  return d;
}

// WonDealsBench applies `deals` won deals one by one (each an OpportunityWon event applied and
// committed as the consumer does) to a domain with `active` active projects (stored, planned
// at start) on 300 resources, and prints events/s and how many were placed incrementally.
void WonDealsBench(uint64_t seed, int active, int deals, bool incremental) {
  std::unique_ptr<StoredDomain> d = OpenStoredDomain(seed, active, incremental);
  if (d == nullptr) return;
  Production& prod = *d->prod;
  std::mt19937_64 rng(seed + 3);
  auto t0 = std::chrono::steady_clock::now();
  int failed = 0;
  for (int n = 0; n < deals; ++n) {
    pipeline::v1::OpportunityWon won;
    won.set_opportunity_id("opp-" + std::to_string(n));
    won.set_client_id("client");
    won.set_product_line(n % 2 ? kArchitecturalDesign : kSpecialisedEquipment);
    won.set_title("won deal");
    won.mutable_value()->set_amount_minor(5'000'000);
    won.mutable_value()->set_currency("CNY");
    const int days = std::uniform_int_distribution<int>(400, 1000)(rng);
    *won.mutable_due_time() = util::ToProto(kBenchNow + absl::Hours(24 * days));
    won.set_estimated_effort_hours(std::uniform_int_distribution<int>(100, 600)(rng));
    events::Event e;
    e.id = events::NewEventId();
    e.source = "triad/pipeline";
    e.type = std::string(contracts::pipeline::OpportunityWon::kType);
    e.payload = won.SerializeAsString();
    if (!prod.HandleEvent(e).ok()) ++failed;
  }
  const double ms = Ms(std::chrono::steady_clock::now() - t0);
  std::printf("| %d | %s | %d | %.0f | %.2f | %lld | %d |\n", active,
              incremental ? "incremental" : "full reschedule", deals, deals / (ms / 1000),
              ms / deals, static_cast<long long>(prod.IncrementalPlacements()), failed);
}

// ProgressBench starts the first phase of 10 of `active` stored projects (one progress report
// each), sends `reports` further progress reports on those started phases, round robin with
// rising progress, then completes them (each report an RPC of the domain, committed), and prints
// the time per start and per completion, the advances' reports/s and how many reports of each
// kind kept every plan instead of rescheduling.
void ProgressBench(uint64_t seed, int active, int reports, bool incremental, bool overdue = false) {
  std::unique_ptr<StoredDomain> d = OpenStoredDomain(seed, active, incremental, overdue);
  if (d == nullptr) return;
  Production& prod = *d->prod;
  constexpr int kStarted = 10;
  std::vector<std::pair<std::string, std::string>> phases;  // project id, phase id
  int failed = 0;
  auto report = [&](const std::pair<std::string, std::string>& at, double percent, int n) {
    v1::ReportPhaseProgressRequest req;
    req.set_project_id(at.first);
    req.set_phase_id(at.second);
    req.set_progress_percent(percent);
    req.set_request_id("progress-" + std::to_string(n));
    req.mutable_actor()->set_id("u:bench");
    if (!prod.ReportPhaseProgress(req).ok()) ++failed;
  };
  v1::ListProjectsRequest list;
  list.set_page_size(kStarted);
  auto page = prod.ListProjects(list);
  if (!page.ok()) {
    std::printf("progress bench: %s\n", page.status().ToString().c_str());
    return;
  }
  for (const v1::Project& p : page->projects()) {
    if (p.phases_size() > 0) phases.emplace_back(p.project_id(), p.phases(0).phase_id());
  }
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < phases.size(); ++i) report(phases[i], 1, -1 - static_cast<int>(i));
  const double start_ms =
      Ms(std::chrono::steady_clock::now() - t0) / std::max<size_t>(1, phases.size());
  const int64_t kept_starts = prod.ProgressWithoutReschedule();
  t0 = std::chrono::steady_clock::now();
  for (int n = 0; n < reports && !phases.empty(); ++n) {
    const size_t i = static_cast<size_t>(n) % phases.size();
    report(phases[i], std::min(99.0, 2.0 + static_cast<double>(n / phases.size())), n);
  }
  const double ms = Ms(std::chrono::steady_clock::now() - t0);
  const int64_t kept_advances = prod.ProgressWithoutReschedule() - kept_starts;
  t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < phases.size(); ++i) report(phases[i], 100, reports + static_cast<int>(i));
  const double complete_ms =
      Ms(std::chrono::steady_clock::now() - t0) / std::max<size_t>(1, phases.size());
  const int64_t kept_completions = prod.ProgressWithoutReschedule() - kept_starts - kept_advances;
  std::printf("| %d | %s | %zu | %.2f | %lld | %d | %.0f | %.2f | %lld | %.2f | %lld | %d |\n",
              active,
              incremental ? (overdue ? "incremental, late projects" : "incremental")
                          : (overdue ? "full reschedule, late projects" : "full reschedule"),
              phases.size(), start_ms, static_cast<long long>(kept_starts), reports,
              reports / (ms / 1000), ms / reports, static_cast<long long>(kept_advances),
              complete_ms, static_cast<long long>(kept_completions), failed);
}

int Main() {
  const char* env = std::getenv("TRIAD_BENCH_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 20260302;
  std::printf("production_bench seed=%llu (TRIAD_BENCH_SEED)\n",
              static_cast<unsigned long long>(seed));

  // 1. The full schedule.
  Problem big = Instance(seed, 2000, 5, 300, 1.0);
  Scheduler s;
  double best = 1e18;
  Result result;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    result = s.Run(big);
    best = std::min(best, Ms(std::chrono::steady_clock::now() - t0));
  }
  Tardiness bt = Measure(big, result);
  std::printf(
      "schedule 2000 projects x 5 phases on 300 resources: %.1f ms (best of 3); "
      "late projects %d\n",
      best, bt.late);

  // 2. A feasibility probe on the remaining capacity.
  ProjectIn hypo;
  hypo.id = "hypothetical";
  hypo.release = big.today;
  hypo.due = big.today + 365;
  for (int k = 0; k < 5; ++k) {
    PhaseIn ph;
    ph.id = "ph" + std::to_string(k);
    ph.skill = kSkills[k];
    ph.effort_hours = 120;
    hypo.phases.push_back(ph);
  }
  const int probes = 200;
  auto t0 = std::chrono::steady_clock::now();
  Day end = 0;
  for (int i = 0; i < probes; ++i) end = s.Probe(hypo).end;
  std::printf("feasibility probe under that load: %.3f ms per answer (%d answers; completion %s)\n",
              Ms(std::chrono::steady_clock::now() - t0) / probes, probes, FormatDay(end).c_str());

  // 3. Phases moved per new project (stable rescheduling), on this instance and on one whose
  // load fits before the due dates.
  std::mt19937_64 rng(seed + 1);
  for (double load : {1.0, 0.7}) {
    Problem base = load == 1.0 ? big : Instance(seed + 7, 2000, 5, 300, load);
    Result first = Schedule(base);
    for (size_t i = 0; i < base.projects.size(); ++i) {
      for (size_t k = 0; k < base.projects[i].phases.size(); ++k) {
        PhaseIn& ph = base.projects[i].phases[k];
        ph.previous_resource = first.projects[i].phases[k].resource;
        ph.previous_start = first.projects[i].phases[k].start;
        ph.previous_allocation = first.projects[i].phases[k].allocation;
      }
    }
    long moved = 0;
    long shift = 0;
    int kept = 0;
    int late_before = Measure(base, first).late;
    const int additions = 10;
    for (int n = 0; n < additions; ++n) {
      Problem with = base;
      ProjectIn extra = hypo;
      extra.id = "new" + std::to_string(n);
      extra.due = base.today + std::uniform_int_distribution<int>(30, 400)(rng);
      extra.value = 500;
      with.projects.push_back(extra);
      Result r = Schedule(with);
      moved += r.phases_moved;
      shift += r.total_shift_days;
      kept += r.plans_kept ? 1 : 0;
    }
    std::printf(
        "one project added (base %d of 2000 late): %.1f phases moved, %.1f days total shift, "
        "plans kept %d of %d (mean of %d)\n",
        late_before, static_cast<double>(moved) / additions, static_cast<double>(shift) / additions,
        kept, additions, additions);
  }

  // 4. Tardiness against the baselines on the same instances.
  std::printf("%-8s %-22s %14s %20s %8s\n", "load", "rule", "tardiness(d)", "weighted(d*value)",
              "late");
  for (double load : {0.8, 1.0, 1.3}) {
    for (uint64_t k = 0; k < 3; ++k) {
      Problem inst = Instance(seed + 100 + k, 500, 5, 80, load);
      for (Rule rule : {Rule::kDueDateValue, Rule::kEarliestDueDate, Rule::kAtc}) {
        inst.rule = rule;
        Tardiness t = Measure(inst, Schedule(inst));
        const char* name = rule == Rule::kDueDateValue      ? "service (due, value)"
                           : rule == Rule::kEarliestDueDate ? "EDD"
                                                            : "ATC (k=2)";
        std::printf("%-4.1f#%-3llu %-22s %14.0f %20.0f %8d\n", load,
                    static_cast<unsigned long long>(k), name, t.total_days, t.weighted, t.late);
      }
    }
  }
  DomainBench(big);

  // 5. Won deals applied one by one (each event committed): events/s.
  std::printf(
      "\nwon deals applied one by one (300 resources, 5 phases per stored project):\n"
      "| active projects | path | deals | events/s | ms/event | placed incrementally | failed "
      "|\n|---|---|---|---|---|---|---|\n");
  for (int active : {100, 1000, 2000}) {
    // At 2,000 active projects most deals take the full reschedule (about 0.2 s each): 100
    // deals measure that rate as well as 500 and keep `make bench` short.
    WonDealsBench(seed, active, active >= 2000 ? 100 : 500, true);
    WonDealsBench(seed, active, active >= 1000 ? 10 : 50, false);
  }

  // 6. Progress reports on started phases (each committed): reports/s.
  std::printf(
      "\nprogress reports: 10 phases started, advanced, then completed (300 resources, 5 phases "
      "per stored project):\n"
      "| active projects | path | starts | ms/start | starts kept | advances | advances/s | "
      "ms/advance | advances kept | ms/completion | completions kept | failed |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int active : {100, 1000, 2000}) {
    ProgressBench(seed, active, 500, true);
    ProgressBench(seed, active, active >= 1000 ? 10 : 50, false);
  }
  // The same on an overloaded schedule (the projects due on the instance's dates: many late),
  // where the plans are no fixed point: a start or completion reschedules in full, an advance
  // keeps the plans when the reschedule before it gave every plan back.
  ProgressBench(seed, 2000, 500, true, /*overdue=*/true);
  ProgressBench(seed, 2000, 10, false, /*overdue=*/true);
  return 0;
}

}  // namespace
}  // namespace triad::production::sched

int main() { return triad::production::sched::Main(); }
