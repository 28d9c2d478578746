// triad-scale-seed: writes N records of one service into a fresh data directory for the scale
// benchmark (scripts/bench-scale.sh), and a sample of the seeded ids for its reads.
//
//   triad-scale-seed --service=clients --n=100000 --out=.cache/bench-scale/clients-100000
//
// writes <out>/data (the service's RocksDB), <out>/ids.txt (up to 1,000 ids of seeded records,
// spread over the whole set, one a line) and prints one line of JSON: records, open, extra,
// seconds. The output directory must not hold a database yet.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/scale/seed.h"
#include "common/events/consumer.h"
#include "common/events/consumer_offsets.h"
#include "common/status/status_macros.h"
#include "common/util/idempotency.h"
#include "rocksdb/db.h"

ABSL_FLAG(std::string, service, "", "clients, pipeline, review or production.");
ABSL_FLAG(int64_t, n, 10000, "Number of records to seed.");
ABSL_FLAG(std::string, out, "", "Output directory (<out>/data, <out>/ids.txt).");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the generator (the same seed writes the same spread).");
ABSL_FLAG(std::string, now, "",
          "The time the seeded data ends at, RFC 3339 (default: the current time); with the "
          "same --seed, the same records.");

namespace triad::bench {

std::string OwnerOf(int64_t i) { return absl::StrCat("u:owner-", i % kOwners); }
std::string TeamOf(int64_t i) { return absl::StrCat("team-", (i % kOwners) % kTeams); }
std::string RegionOf(int64_t i) { return absl::StrCat("region-", (i / 7) % kRegions); }

absl::Status IdSample::Write(const std::string& path) const {
  std::ofstream f(path);
  for (const std::string& id : ids_) f << id << "\n";
  f.close();
  if (!f) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

absl::StatusOr<SeedStore> OpenSeedStore(const std::string& path,
                                        std::vector<std::string> column_families,
                                        const std::string& source) {
  for (const char* cf :
       {events::Outbox::kColumnFamily, events::IdempotentConsumer::kInboxColumnFamily,
        util::kRequestsColumnFamily, events::kOffsetsColumnFamily}) {
    column_families.push_back(cf);
  }
  storage::StoreOptions so;
  so.path = path;
  so.column_families = std::move(column_families);
  so.bulk_load = true;
  SeedStore s;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(so);
  if (!store.ok()) return store.status();
  s.store = std::move(*store);
  events::OutboxOptions oo;
  oo.source = source;
  absl::StatusOr<std::unique_ptr<events::Outbox>> outbox =
      events::Outbox::Create(s.store.get(), oo);
  if (!outbox.ok()) return outbox.status();
  s.outbox = std::move(*outbox);
  return s;
}

absl::Status FinishSeedStore(SeedStore& s) {
  s.outbox.reset();
  rocksdb::DB* db = s.store->db();
  for (const char* cf : {events::Outbox::kColumnFamily, util::kRequestsColumnFamily,
                         events::IdempotentConsumer::kInboxColumnFamily}) {
    rocksdb::ColumnFamilyHandle* h = s.store->Cf(cf);
    if (h == nullptr) continue;
    // Every key of these families sorts below "\xff\xff..." (ids and encoded sequence numbers).
    const std::string end(64, '\xff');
    rocksdb::Status st = db->DeleteRange(rocksdb::WriteOptions(), h, "", end);
    if (!st.ok()) return storage::ToStatus(st);
  }
  RETURN_IF_ERROR(s.store->Flush());
  return s.store->Close();
}

}  // namespace triad::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace triad::bench;  // NOLINT: a main of one screen
  const std::string service = absl::GetFlag(FLAGS_service);
  const std::string out = absl::GetFlag(FLAGS_out);
  SeedSpec spec;
  spec.n = absl::GetFlag(FLAGS_n);
  spec.seed = absl::GetFlag(FLAGS_seed);
  spec.now = absl::Now();
  if (const std::string now = absl::GetFlag(FLAGS_now); !now.empty()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, now, &spec.now, &error)) {
      std::fprintf(stderr, "triad-scale-seed: --now: %s\n", error.c_str());
      return 2;
    }
  }
  if (out.empty() || spec.n <= 0) {
    std::fprintf(stderr, "usage: triad-scale-seed --service=S --n=N --out=DIR\n");
    return 2;
  }
  spec.data_dir = out + "/data";
  spec.ids_path = out + "/ids.txt";
  if (std::filesystem::exists(spec.data_dir)) {
    std::fprintf(stderr, "%s exists: seed into a fresh directory\n", spec.data_dir.c_str());
    return 2;
  }
  std::filesystem::create_directories(out);
  absl::Time t0 = absl::Now();
  absl::StatusOr<SeedStats> stats = absl::InvalidArgumentError("unknown --service " + service);
  if (service == "clients") stats = SeedClients(spec);
  if (service == "pipeline") stats = SeedPipeline(spec);
  if (service == "review") stats = SeedReview(spec);
  if (service == "production") stats = SeedProduction(spec);
  if (!stats.ok()) {
    std::fprintf(stderr, "seeding %s failed: %s\n", service.c_str(),
                 stats.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "{\"service\":\"%s\",\"records\":%lld,\"open\":%lld,\"extra\":%lld,\"seconds\":%.1f,"
      "\"note\":\"%s\"}\n",
      service.c_str(), static_cast<long long>(stats->records), static_cast<long long>(stats->open),
      static_cast<long long>(stats->extra), absl::ToDoubleSeconds(absl::Now() - t0),
      stats->note.c_str());
  return 0;
}
