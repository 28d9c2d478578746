// Benchmarks of the pipeline service: the funnel report over the aggregates of 1,000,000
// opportunities for all 64 filter combinations (a markdown table with the start-up load time,
// peak RSS and the funnel's bytes), AdvanceStage with checkpoint evaluation, and ranking
// 100,000 open deals by expected value per expert-hour.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <malloc.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/proto_time.h"
#include "services/pipeline/funnel.h"
#include "services/pipeline/pipeline.h"
#include "tests/testing/test_env.h"

namespace triad::pipeline {
namespace {

// The funnel's size: 1,000,000 opportunities unless --funnel_opportunities=N (quick runs).
int kFunnelOpportunities = 1'000'000;
constexpr int kRankDeals = 100'000;
constexpr int kDays = 365;
const absl::Time kDay0 = absl::FromUnixSeconds(int64_t{20000} * 86400);

// Env is one pipeline on its own store in a temporary directory.
struct Env {
  testing::TempDir dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<events::Outbox> outbox;
  std::unique_ptr<Pipeline> pipeline;
  absl::Time now = kDay0;

  void OpenStore() {
    storage::StoreOptions so;
    so.path = dir.Sub("db");
    so.column_families = ColumnFamilies();
    for (const char* cf : {"outbox", "inbox", "requests"}) so.column_families.push_back(cf);
    store = std::move(*storage::Store::Open(so));
    events::OutboxOptions oo;
    oo.source = "triad/pipeline";
    outbox = std::move(*events::Outbox::Create(store.get(), oo));
  }
  void OpenPipeline() {
    PipelineOptions po;
    po.clock = [this] { return now; };
    auto p = Pipeline::Create(store.get(), outbox.get(), po);
    if (!p.ok()) {
      std::fprintf(stderr, "Pipeline::Create: %s\n", p.status().ToString().c_str());
      std::abort();
    }
    pipeline = std::move(*p);
  }
  void RegisterClients(int n) {
    for (int i = 0; i < n; ++i) {
      clients::v1::ClientSummary c;
      c.set_client_id(absl::StrCat("client-", i));
      c.set_owner_id(absl::StrCat("u:", i % 200));
      c.set_team_id(absl::StrCat("team-", i % 20));
      c.set_region(absl::StrCat("region-", i % 8));
      c.set_tier(static_cast<clients::v1::ClientTier>(1 + i % 4));
      c.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
      c.set_repeat_client(i % 3 == 0);
      c.set_version(1);
      events::Event e;
      e.id = events::NewEventId();
      (void)pipeline->OnClient(e, c);
    }
  }
};

// WriteFunnelAggregates writes, through FunnelIndex into the store at `path`, the aggregates of
// 1,000,000 opportunities over a year (each with the signals and leads of its 7:1 funnel, its
// stage entries and exits, and its close or open gauge). It runs in a child process so that the
// writer's own in-memory index does not count in the measured process' peak RSS.
void WriteFunnelAggregates(const std::string& path) {
  storage::StoreOptions so;
  so.path = path;
  so.column_families = ColumnFamilies();
  for (const char* cf : {"outbox", "inbox", "requests"}) so.column_families.push_back(cf);
  std::unique_ptr<storage::Store> store = std::move(*storage::Store::Open(so));
  auto repo = NewRocksRepository(store.get());
  FunnelIndex index(repo.get());
  (void)index.Load();
  std::mt19937_64 rng(42);
  const std::vector<std::string> stages[2] = {
      {"qualification", "needs_analysis", "concept", "proposal", "negotiation"},
      {"qualification", "site_survey", "technical_assessment", "solution_design", "proposal",
       "negotiation"}};
  const char* lines[2] = {kArchitecturalDesign, kSpecialisedEquipment};
  std::vector<Delta> deltas;
  for (int i = 0; i < kFunnelOpportunities; ++i) {
    int owner = static_cast<int>(rng() % 200);
    int line = static_cast<int>(rng() % 2);
    Dims dims{absl::StrCat("u:", owner),
              absl::StrCat("team-", owner % 20),
              lines[line],
              absl::StrCat("region-", rng() % 8),
              static_cast<int>(1 + rng() % 4),
              static_cast<int>(1 + rng() % 2),
              "CNY"};
    int64_t day = 20000 + static_cast<int64_t>(rng() % kDays);
    int64_t value = 100'000 + static_cast<int64_t>(rng() % 10'000'000);
    Dims market = dims;
    market.owner.clear();
    market.team.clear();
    market.tier = 0;
    market.repeat = 0;
    deltas.push_back({day - 20, market, "signal", {49, 49 * value, 0}});
    deltas.push_back({day - 10, dims, "lead", {7, 7 * value, 0}});
    deltas.push_back({day - 5, dims, "qualified_lead", {2, 2 * value, 0}});
    deltas.push_back({day, dims, "opportunity", {1, value, 0}});
    const std::vector<std::string>& st = stages[line];
    int reached = static_cast<int>(rng() % st.size());
    int64_t d = day;
    for (int s = 0; s <= reached; ++s) {
      deltas.push_back({d, dims, "stage:" + st[s], {1, value, 0}});
      if (s < reached) {
        int64_t stay = 1 + static_cast<int64_t>(rng() % 20);
        d += stay;
        deltas.push_back({d, dims, "exit:" + st[s], {1, 0, stay * 86400}});
      }
    }
    int outcome = static_cast<int>(rng() % 3);  // 0 open, 1 won, 2 lost
    if (outcome == 0) {
      deltas.push_back({kOpenDay, dims, "open:" + st[reached], {1, value, value / 2}});
    } else {
      deltas.push_back({d + 3, dims, "exit:" + st[reached], {1, 0, 3 * 86400}});
      deltas.push_back({d + 3, dims, outcome == 1 ? "won" : "lost", {1, value, 0}});
    }
    if (deltas.size() >= 20000 || i + 1 == kFunnelOpportunities) {
      rocksdb::WriteBatch batch;
      FunnelIndex::Staged staged = index.Stage(deltas, batch);
      if (!store->Write(batch).ok()) std::abort();
      index.Apply(staged);
      deltas.clear();
    }
  }
  std::fprintf(stderr, "funnel setup (child): %zu aggregate rows written\n", index.RowCount());
}

// ProcStatusKb reads a "Vm...:" line of /proc/self/status (kB), or -1.
int64_t ProcStatusKb(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t kb = -1;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') kb = std::atoll(line + n + 1);
  }
  std::fclose(f);
  return kb;
}

// ThreadCpuSeconds is the CPU time of the calling thread (what a phase cost on a shared machine,
// whatever its wall time).
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// AllocatorBytes is what the allocator the binary runs on says of its heap.
struct AllocatorBytes {
  const char* allocator;
  double in_use_mib;
  double held_mib;  // taken from the OS and not given back
};

// AllocatorNow reads tcmalloc's counters when tcmalloc is linked (the services' allocator, see
// the top-level CMakeLists.txt; looked up at run time so the bench builds either way), glibc's
// mallinfo2 otherwise.
AllocatorBytes AllocatorNow() {
  using GetProperty = int (*)(const char*, size_t*);
  auto get =
      reinterpret_cast<GetProperty>(dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty"));
  size_t used = 0, heap = 0, unmapped = 0;
  if (get != nullptr && get("generic.current_allocated_bytes", &used) != 0 &&
      get("generic.heap_size", &heap) != 0 &&
      get("tcmalloc.pageheap_unmapped_bytes", &unmapped) != 0) {
    return {"tcmalloc", used / 1048576.0, (heap - unmapped) / 1048576.0};
  }
  const struct mallinfo2 mi = mallinfo2();
  return {"glibc malloc", mi.uordblks / 1048576.0, (mi.arena + mi.hblkhd) / 1048576.0};
}

// FunnelFilterFor sets the dimensions of bit mask `combo` (owner, team, line, region, tier,
// repeat) to values present in the data and returns the filter's label.
std::string FunnelFilterFor(int combo, v1::FunnelFilter* f) {
  std::string label;
  if (combo & 1) f->set_owner_id("u:17"), label += "owner+";
  if (combo & 2) f->set_team_id("team-17"), label += "team+";
  if (combo & 4) f->set_product_line(kArchitecturalDesign), label += "line+";
  if (combo & 8) f->set_region("region-3"), label += "region+";
  if (combo & 16) f->set_client_tier(clients::v1::CLIENT_TIER_KEY), label += "tier+";
  if (combo & 32) f->set_client_kind(v1::CLIENT_KIND_REPEAT), label += "repeat+";
  if (label.empty()) return "none";
  label.pop_back();
  return label;
}

// RunFunnelBench builds the 1M-opportunity funnel (child process), loads it with
// Pipeline::Create (the service's start-up path) and prints, as markdown, the load time, peak
// RSS, the funnel's bytes and every one of the 64 filter combinations at 365 and 90 days
// (median of 7 reports after one warm-up).
void RunFunnelBench() {
  const absl::Time t0 = absl::Now();
  Env env;
  const std::string path = env.dir.Sub("db");
  std::fflush(nullptr);
  pid_t child = fork();
  if (child == 0) {
    WriteFunnelAggregates(path);
    std::fflush(nullptr);
    _exit(0);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "funnel setup failed\n");
    std::abort();
  }
  const absl::Time t1 = absl::Now();
  const int64_t hwm_before_kb = ProcStatusKb("VmHWM");
  env.OpenStore();
  const absl::Time t2 = absl::Now();
  const double cpu0 = ThreadCpuSeconds();
  env.OpenPipeline();
  const absl::Time t3 = absl::Now();
  const double load_cpu = ThreadCpuSeconds() - cpu0;
  const AllocatorBytes heap = AllocatorNow();
  const int64_t hwm_kb = ProcStatusKb("VmHWM");
  const int64_t rss_kb = ProcStatusKb("VmRSS");
  const size_t rows = env.pipeline->FunnelRows();
  const size_t bytes = env.pipeline->FunnelBytes();
  std::printf("\n## Funnel report, %d opportunities over %d days\n\n", kFunnelOpportunities, kDays);
  std::printf("| measure | value |\n| --- | ---: |\n");
  std::printf("| aggregate rows | %zu |\n", rows);
  std::printf("| funnel in memory (FunnelIndex::MemoryBytes) | %.1f MiB (%.1f B/opportunity) |\n",
              bytes / 1048576.0, static_cast<double>(bytes) / kFunnelOpportunities);
  std::printf("| writing the aggregates (child process: Stage + WriteBatch) | %.1f s |\n",
              absl::ToDoubleSeconds(t1 - t0));
  std::printf("| opening the store | %.2f s |\n", absl::ToDoubleSeconds(t2 - t1));
  std::printf("| start-up load (Pipeline::Create), wall | %.2f s |\n",
              absl::ToDoubleSeconds(t3 - t2));
  std::printf("| start-up load, CPU time of the loading thread | %.2f s |\n", load_cpu);
  std::printf("| peak RSS after loading (VmHWM; %.1f MiB before the store opened) | %.1f MiB |\n",
              hwm_before_kb / 1024.0, hwm_kb / 1024.0);
  std::printf("| RSS after loading (VmRSS) | %.1f MiB |\n", rss_kb / 1024.0);
  std::printf("| heap after loading (%s): in use / held from the OS | %.1f / %.1f MiB |\n\n",
              heap.allocator, heap.in_use_mib, heap.held_mib);

  std::printf("| filter | 365 d ms | 90 d ms | opportunities (365 d) |\n");
  std::printf("| --- | ---: | ---: | ---: |\n");
  double worst = 0, worst_selective = 0;
  for (int combo = 0; combo < 64; ++combo) {
    v1::GetFunnelReportRequest req;
    const std::string label = FunnelFilterFor(combo, req.mutable_filter());
    double ms[2];
    int64_t opportunities = 0;
    int i = 0;
    for (int days : {kDays, 90}) {
      *req.mutable_start_time() = util::ToProto(kDay0);
      *req.mutable_end_time() = util::ToProto(kDay0 + absl::Hours(24 * days));
      std::vector<double> runs;
      for (int run = 0; run < 8; ++run) {
        absl::Time a = absl::Now();
        auto report = env.pipeline->GetFunnelReport(req);
        absl::Time b = absl::Now();
        if (!report.ok()) std::abort();
        if (run == 0) {
          if (days == kDays) {
            for (const auto& s : report->steps()) {
              if (s.step() == "opportunity") opportunities = s.count();
            }
          }
          continue;  // warm-up
        }
        runs.push_back(absl::ToDoubleMilliseconds(b - a));
      }
      std::sort(runs.begin(), runs.end());
      ms[i++] = runs[runs.size() / 2];
    }
    worst = std::max({worst, ms[0], ms[1]});
    if ((combo & 1) || combo == 63) worst_selective = std::max({worst_selective, ms[0], ms[1]});
    std::printf("| %s | %.2f | %.2f | %lld |\n", label.c_str(), ms[0], ms[1],
                static_cast<long long>(opportunities));
  }
  std::printf(
      "\nfunnel: worst of the 64 combinations %.2f ms; worst with the owner set %.2f ms; "
      "section wall time %.0f s\n\n",
      worst, worst_selective, absl::ToDoubleSeconds(absl::Now() - t0));
  std::fflush(stdout);
}

// AdvanceStage: a pool of deals moved forward (qualification -> site_survey, checkpoints
// evaluated and satisfied) and back (with a reason); one iteration = one forward + one back.
Env* AdvanceEnv(std::vector<std::string>* ids) {
  static std::vector<std::string> pool;
  static Env* env = [] {
    auto* e = new Env();
    e->OpenStore();
    e->OpenPipeline();
    e->RegisterClients(100);
    for (int i = 0; i < 1000; ++i) {
      v1::CreateOpportunityRequest req;
      req.set_request_id(absl::StrCat("adv-", i));
      req.set_client_id(absl::StrCat("client-", i % 100));
      req.set_owner_id("u:1");
      req.set_title("Boiler retrofit");
      req.mutable_value()->set_amount_minor(1'000'000);
      req.mutable_value()->set_currency("CNY");
      *req.mutable_expected_close_time() = util::ToProto(kDay0 + absl::Hours(24 * 90));
      req.set_product_line(kSpecialisedEquipment);
      auto opp = e->pipeline->CreateOpportunity(req);
      v1::CompleteChecklistItemRequest tick;
      tick.set_opportunity_id(opp->id());
      tick.set_checkpoint_id("qualification.application");
      (void)e->pipeline->CompleteChecklistItem(tick);
      pool.push_back(opp->id());
    }
    return e;
  }();
  *ids = pool;
  return env;
}

void BM_AdvanceStageForwardAndBack(benchmark::State& state) {
  std::vector<std::string> ids;
  Env* env = AdvanceEnv(&ids);
  size_t i = 0;
  for (auto _ : state) {
    v1::AdvanceStageRequest fwd;
    fwd.set_opportunity_id(ids[i % ids.size()]);
    fwd.set_target_stage("site_survey");
    auto r = env->pipeline->AdvanceStage(fwd);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    v1::AdvanceStageRequest back = fwd;
    back.set_target_stage("qualification");
    back.set_reason("bench");
    r = env->pipeline->AdvanceStage(back);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    ++i;
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_AdvanceStageForwardAndBack)->Unit(benchmark::kMicrosecond);

// A refused move: every checkpoint of the stage is evaluated and listed; nothing is written.
void BM_AdvanceStageRefused(benchmark::State& state) {
  std::vector<std::string> ids;
  Env* env = AdvanceEnv(&ids);
  v1::AdvanceStageRequest req;
  req.set_opportunity_id(ids[0]);
  req.set_target_stage("solution_design");
  for (auto _ : state) {
    auto r = env->pipeline->AdvanceStage(req);
    if (r.ok()) state.SkipWithError("move unexpectedly allowed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_AdvanceStageRefused)->Unit(benchmark::kMicrosecond);

// Ranking: 100,000 open deals created through CreateOpportunity.
Env* RankEnv() {
  static Env* env = [] {
    auto* e = new Env();
    e->OpenStore();
    e->OpenPipeline();
    e->RegisterClients(1000);
    std::mt19937_64 rng(7);
    absl::Time t0 = absl::Now();
    for (int i = 0; i < kRankDeals; ++i) {
      v1::CreateOpportunityRequest req;
      req.set_request_id(absl::StrCat("rank-", i));
      req.set_client_id(absl::StrCat("client-", i % 1000));
      req.set_owner_id(absl::StrCat("u:", i % 200));
      req.set_title("Deal");
      req.mutable_value()->set_amount_minor(100'000 + static_cast<int64_t>(rng() % 10'000'000));
      req.mutable_value()->set_currency("CNY");
      req.set_product_line(i % 2 ? kArchitecturalDesign : kSpecialisedEquipment);
      auto opp = e->pipeline->CreateOpportunity(req);
      if (!opp.ok()) std::abort();
    }
    std::fprintf(stderr, "rank setup: %d deals created in %.1f s\n", kRankDeals,
                 absl::ToDoubleSeconds(absl::Now() - t0));
    return e;
  }();
  return env;
}

void BM_RankOpenDeals(benchmark::State& state) {
  Env* env = RankEnv();
  v1::RankOpenDealsRequest req;
  req.set_page_size(50);
  if (state.range(0) == 1) req.mutable_filter()->set_product_line(kArchitecturalDesign);
  int64_t considered = 0;
  for (auto _ : state) {
    auto r = env->pipeline->RankOpenDeals(req);
    if (!r.ok()) state.SkipWithError("rank failed");
    considered = r->open_deals_considered();
    benchmark::DoNotOptimize(r);
  }
  state.counters["deals_considered"] = static_cast<double>(considered);
  state.SetLabel(state.range(0) == 1 ? "filter=product_line" : "no filter");
}
BENCHMARK(BM_RankOpenDeals)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace triad::pipeline

// main prints the funnel table (unless --skip_funnel; --funnel_opportunities=N for a smaller
// funnel), then runs the registered benchmarks.
int main(int argc, char** argv) {
  bool funnel = true;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--skip_funnel") == 0) {
      funnel = false;
    } else if (std::strncmp(argv[i], "--funnel_opportunities=", 23) == 0) {
      triad::pipeline::kFunnelOpportunities = std::max(1000, std::atoi(argv[i] + 23));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (funnel) triad::pipeline::RunFunnelBench();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
