// The scale seeder's shared pieces: the seeded store (the column families the service's runtime
// opens, with an outbox for the domains the seeder drives), the per-service seeders, and the
// spread of records over owners, teams, regions and days every seeder uses.
//
// A seeder writes N records of its service into a fresh data directory through the service's
// own domain (where a record needs the domain's rules, e.g. the funnel of an opportunity) or
// through its repository in large WriteBatches (producing what the domain would write, for the
// bulk of records whose shape is simple). Outbox entries and request-replay records the domain
// writes on the way are dropped at the end: a service at steady state has published its
// outbox, and replay records expire (see docs/performance-scale.md).
#ifndef TRIAD_BENCH_SCALE_SEED_H_
#define TRIAD_BENCH_SCALE_SEED_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"

namespace triad::bench {

// SeedStore is an open service store with an outbox (relay not started).
struct SeedStore {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<events::Outbox> outbox;
};

// OpenSeedStore opens the store at `path` with the service's `column_families` plus those
// ServiceRuntime adds (outbox, inbox, requests, consumer offsets).
absl::StatusOr<SeedStore> OpenSeedStore(const std::string& path,
                                        std::vector<std::string> column_families,
                                        const std::string& source);

// FinishSeedStore drops the outbox entries and request-replay records the seeding wrote,
// flushes the store (seeding writes skip the write-ahead log: StoreOptions::bulk_load) and
// closes it. Nothing is compacted by force: a service starts on the files RocksDB's own
// compaction left, as after a long run of writes.
absl::Status FinishSeedStore(SeedStore& s);

// SeedSpec says what to seed.
struct SeedSpec {
  std::string data_dir;
  int64_t n = 0;
  uint64_t seed = 42;
  // The clock the domains run on while seeding: "now" of the seeded data.
  absl::Time now;
  // Where the sample of seeded ids goes (one a line).
  std::string ids_path;
};

// IdSample keeps up to 1,000 ids spread evenly over the n records offered in order.
class IdSample {
 public:
  explicit IdSample(int64_t n) : step_(n > 1000 ? n / 1000 : 1) {}
  // Offer offers the id of record i.
  void Offer(int64_t i, const std::string& id) {
    if (i % step_ == 0 && ids_.size() < 1000) ids_.push_back(id);
  }
  // Write writes the kept ids to `path`.
  absl::Status Write(const std::string& path) const;

 private:
  int64_t step_;
  std::vector<std::string> ids_;
};

// SeedStats is what a seeder reports (printed as one line of JSON by the binary).
struct SeedStats {
  int64_t records = 0;
  // The open (active) part of the records, where the service distinguishes one.
  int64_t open = 0;
  // Other records written beside them (experts, resources, knowledge documents, ...).
  int64_t extra = 0;
  std::string note;
};

// Owners and spread: record i belongs to owner OwnerOf(i) (u:owner-<k>), team TeamOf(i),
// region RegionOf(i). The read benchmarks use owner 7 (u:owner-7), which owns N/kOwners records.
inline constexpr int kOwners = 200;
inline constexpr int kTeams = 20;
inline constexpr int kRegions = 8;
std::string OwnerOf(int64_t i);
std::string TeamOf(int64_t i);
std::string RegionOf(int64_t i);

// The seeders (one per service, in <service>_seed.cc).
absl::StatusOr<SeedStats> SeedClients(const SeedSpec& spec);
absl::StatusOr<SeedStats> SeedPipeline(const SeedSpec& spec);
absl::StatusOr<SeedStats> SeedReview(const SeedSpec& spec);
absl::StatusOr<SeedStats> SeedProduction(const SeedSpec& spec);

}  // namespace triad::bench

#endif  // TRIAD_BENCH_SCALE_SEED_H_
