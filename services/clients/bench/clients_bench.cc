// Benchmarks of the clients service domain on a real RocksDB: create with duplicate check and
// history at 10k vs a large number of existing clients, list by owner, and a 10,000-client
// portfolio handover. Sizes: TRIAD_CLIENTS_BENCH_LARGE (default 1000000) existing clients for the
// large case. Results are recorded in docs/performance-clients.md.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/idempotency.h"
#include "common/util/ids.h"
#include "services/clients/domain.h"
#include "services/clients/repository.h"
#include "tests/testing/test_env.h"

namespace triad::clients {
namespace {

// Env is a store + domain preloaded with `n` clients spread over 100 owners.
struct Env {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<events::Outbox> outbox;
  std::unique_ptr<RocksClientsRepository> repo;
  std::unique_ptr<ClientsDomain> domain;
  double load_seconds = 0;
};

std::unique_ptr<Env> MakeEnv(int64_t n) {
  auto env = std::make_unique<Env>();
  env->dir = std::make_unique<testing::TempDir>();
  storage::StoreOptions so;
  so.path = env->dir->Sub("db");
  so.column_families = ColumnFamilies();
  so.column_families.push_back(events::Outbox::kColumnFamily);
  so.column_families.push_back(events::IdempotentConsumer::kInboxColumnFamily);
  so.column_families.push_back(util::kRequestsColumnFamily);
  so.block_cache_bytes = 256 << 20;
  env->store = *storage::Store::Open(so);
  events::OutboxOptions oo;
  oo.source = "triad/clients";
  env->outbox = *events::Outbox::Create(env->store.get(), oo);
  env->repo = std::make_unique<RocksClientsRepository>(env->store.get());
  env->domain =
      std::make_unique<ClientsDomain>(env->store.get(), env->outbox.get(), env->repo.get());
  // Bulk load through the repository (record + every index entry, as CreateClient writes them).
  absl::Time start = absl::Now();
  rocksdb::WriteBatch batch;
  for (int64_t i = 0; i < n; ++i) {
    v1::Client c;
    c.set_client_id(absl::StrCat("cl_load_", i));
    c.set_name(absl::StrCat("Existing Company ", i, " Co., Ltd."));
    c.set_tax_id(absl::StrCat("91110000", i));
    c.set_phone(absl::StrCat("1380000", 1000000 + i));
    c.set_email(absl::StrCat("info@company", i, ".cn"));
    c.set_owner_id(absl::StrCat("u:owner", i % 100));
    c.set_region(i % 2 ? "north" : "south");
    c.set_industry("design");
    c.set_status(v1::CLIENT_STATUS_COLLECTED);
    c.set_tier(v1::CLIENT_TIER_STANDARD);
    c.set_version(1);
    c.set_etag("1");
    (void)env->repo->PutClient(batch, nullptr, c);
    if (batch.Count() >= 20000) {
      (void)env->store->Write(batch);
      batch.Clear();
    }
  }
  if (batch.Count() > 0) (void)env->store->Write(batch);
  // Settle the LSM tree so that no background compaction of the preload runs while measuring.
  for (const std::string& cf : ColumnFamilies()) {
    (void)env->store->db()->CompactRange(rocksdb::CompactRangeOptions(), env->store->Cf(cf),
                                         nullptr, nullptr);
  }
  env->load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return env;
}

// The preloaded stores, kept across benchmarks and removed (with their TempDirs) at exit.
std::map<int64_t, std::unique_ptr<Env>>& Envs() {
  static std::map<int64_t, std::unique_ptr<Env>> envs;
  return envs;
}

Env& EnvFor(int64_t n) {
  auto it = Envs().find(n);
  if (it == Envs().end()) it = Envs().emplace(n, MakeEnv(n)).first;
  return *it->second;
}

int64_t LargeSize() {
  const char* v = std::getenv("TRIAD_CLIENTS_BENCH_LARGE");
  return v ? std::atoll(v) : 1000000;
}

common::v1::Actor BenchActor() {
  common::v1::Actor a;
  a.set_id("u:bench");
  a.set_reason("benchmark");
  return a;
}

// BM_CreateWithDuplicateCheck: CreateClient (duplicate check on 4 indexes, record, history,
// follow-up, outbox event) with `state.range(0)` existing clients.
void BM_CreateWithDuplicateCheck(benchmark::State& state) {
  Env& env = EnvFor(state.range(0));
  state.counters["preload_s"] = env.load_seconds;
  int64_t i = 0;
  for (auto _ : state) {
    v1::CreateClientRequest req;
    req.mutable_client()->set_name(absl::StrCat("New Client ", state.range(0), "-", i));
    req.mutable_client()->set_tax_id(absl::StrCat("NEW", state.range(0), "X", i));
    req.mutable_client()->set_phone(absl::StrCat("1590000", 1000000 + i));
    req.mutable_client()->set_email(absl::StrCat("a@new", i, "-", state.range(0), ".com"));
    req.mutable_client()->set_owner_id("u:bench");
    req.set_request_id(util::NewId("req"));
    *req.mutable_actor() = BenchActor();
    auto c = env.domain->CreateClient(req);
    if (!c.ok()) state.SkipWithError(std::string(c.status().message()).c_str());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// BM_ListByOwner: one page of 50 clients of one owner (100 owners share the clients).
void BM_ListByOwner(benchmark::State& state) {
  Env& env = EnvFor(state.range(0));
  int64_t i = 0;
  for (auto _ : state) {
    v1::ListClientsRequest req;
    req.set_owner_id(absl::StrCat("u:owner", i++ % 100));
    req.set_page_size(50);
    auto page = env.domain->ListClients(req);
    if (!page.ok() || page->clients_size() != 50) state.SkipWithError("unexpected page");
  }
  state.SetItemsProcessed(state.iterations() * 50);
}

// BM_Handover10k: HandOverPortfolio of 10,000 clients (chunks of 500), alternating direction.
void BM_Handover10k(benchmark::State& state) {
  // Key -1 holds the handover store: 10,000 clients of one owner.
  if (!Envs().count(-1)) {
    auto e = MakeEnv(0);
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 10000; ++i) {
      v1::Client c;
      c.set_client_id(absl::StrCat("cl_ho_", i));
      c.set_name(absl::StrCat("Portfolio Client ", i));
      c.set_owner_id("u:leaving");
      c.set_status(v1::CLIENT_STATUS_COLLECTED);
      c.set_version(1);
      c.set_etag("1");
      (void)e->repo->PutClient(batch, nullptr, c);
    }
    (void)e->store->Write(batch);
    Envs().emplace(-1, std::move(e));
  }
  Env* env = Envs()[-1].get();
  bool forward = true;
  for (auto _ : state) {
    v1::HandOverPortfolioRequest req;
    req.set_from_owner_id(forward ? "u:leaving" : "u:staying");
    req.set_to_owner_id(forward ? "u:staying" : "u:leaving");
    *req.mutable_actor() = BenchActor();
    auto h = env->domain->HandOverPortfolio(req);
    if (!h.ok() || h->moved() != 10000) state.SkipWithError("handover did not move 10000");
    forward = !forward;
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}

BENCHMARK(BM_CreateWithDuplicateCheck)
    ->Arg(10000)
    ->Arg(LargeSize())
    ->Iterations(5000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_ListByOwner)
    ->Arg(10000)
    ->Arg(LargeSize())
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_Handover10k)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace triad::clients

// main runs the benchmarks, then closes and removes the stores before static destruction.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  triad::clients::Envs().clear();
  benchmark::Shutdown();
  return 0;
}
