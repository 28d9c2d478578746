// FunnelIndex: the funnel aggregates, maintained as events happen and never rebuilt by scanning
// opportunities. Each change adds counters to rows keyed (day, dimension tuple, step); the rows
// are written to the "funnel" column family in the same WriteBatch as the change, and mirrored
// in memory (loaded from the column family at start) so that a report over any period and any
// filter is a scan of the period's rows with a precomputed tuple-match bitmap.
#ifndef TRIAD_SERVICES_PIPELINE_FUNNEL_H_
#define TRIAD_SERVICES_PIPELINE_FUNNEL_H_

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rocksdb/write_batch.h"
#include "services/pipeline/repository.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"

namespace triad::pipeline {

// Dims are the dimensions a funnel row is filtered by.
struct Dims {
  std::string owner;
  std::string team;
  std::string product_line;
  std::string region;
  int tier = 0;    // triad.clients.v1.ClientTier
  int repeat = 0;  // 0 unknown, 1 new client, 2 repeat client
  // ISO 4217 code of the amounts of the row ("" when the record carries no amount). Values of
  // different currencies are never summed together.
  std::string currency;
};

// Counter is what a row accumulates. `extra` is the summed seconds in stage for "exit:" steps
// and the weighted value (value x probability) for "open:" steps.
struct Counter {
  int64_t count = 0;
  int64_t value = 0;
  int64_t extra = 0;
};

// Delta is one increment: `day` is days since the Unix epoch, or kOpenDay for the current open
// pipeline (a gauge not tied to a period).
struct Delta {
  int64_t day = 0;
  Dims dims;
  std::string step;
  Counter add;
};

inline constexpr int64_t kOpenDay = INT64_MAX;

// DayOf returns the day bucket (UTC) of a time.
int64_t DayOf(absl::Time t);

// MatchesFilter is true when the dims pass every set field of the filter.
bool MatchesFilter(const Dims& dims, const v1::FunnelFilter& filter);

// Totals is a query result: counters per step name, within the period and for the open gauge.
// `period`/`open` sum every currency (use their count and, for "exit:" steps, extra); the
// `*_by_currency` maps split value and extra by currency (only currencies with rows present).
struct Totals {
  std::map<std::string, Counter> period;
  std::map<std::string, Counter> open;
  std::map<std::string, std::map<std::string, Counter>> period_by_currency;
  std::map<std::string, std::map<std::string, Counter>> open_by_currency;
};

class FunnelIndex {
 public:
  explicit FunnelIndex(Repository* repo) : repo_(repo) {}

  // Load reads the persisted aggregates into memory (call once, before use).
  absl::Status Load();

  // Staged is a set of row updates written into a batch but not yet applied in memory.
  struct Staged {
    std::vector<std::pair<uint32_t, Dims>> new_tuples;
    std::vector<std::pair<uint32_t, std::string>> new_steps;
    struct Row {
      int64_t day;
      uint32_t tuple;
      uint32_t step;
      Counter value;
    };
    std::vector<Row> rows;
  };

  // Stage adds the deltas' new row values (and any new dictionary entries) to `batch`. Callers
  // serialise Stage/Apply (one writer at a time) and call Apply only after the batch committed.
  Staged Stage(const std::vector<Delta>& deltas, rocksdb::WriteBatch& batch);

  // Apply makes committed rows visible to queries.
  void Apply(const Staged& staged);

  // Query sums the rows of days [from_day, to_day) and the open gauge that match the filter.
  Totals Query(int64_t from_day, int64_t to_day, const v1::FunnelFilter& filter) const;

  // TupleMatches returns, for the filter, a bitmap over tuple ids (for callers that index deals
  // by tuple id, e.g. the ranking of open deals).
  std::vector<char> TupleMatches(const v1::FunnelFilter& filter) const;

  // TupleId returns the id of committed dims, or -1.
  int64_t TupleId(const Dims& dims) const;

  // RowCount is the number of rows held (for benchmarks and metrics).
  size_t RowCount() const;

 private:
  struct Row {
    uint32_t tuple;
    uint32_t step;
    Counter value;
  };
  struct DayBucket {
    absl::flat_hash_map<uint64_t, uint32_t> index;
    std::vector<Row> rows;
  };

  Counter Current(int64_t day, uint32_t tuple, uint32_t step) const;
  void SetRow(int64_t day, uint32_t tuple, uint32_t step, const Counter& value);
  std::vector<char> TupleMatchesLocked(const v1::FunnelFilter& filter) const;
  void SetTupleLocked(uint32_t id, const Dims& dims);

  Repository* repo_;
  mutable std::shared_mutex mu_;
  std::vector<Dims> tuples_;
  // Currency id of each tuple (index into currencies_; 0 is "").
  std::vector<uint32_t> tuple_currency_;
  std::vector<std::string> currencies_{""};
  absl::flat_hash_map<std::string, uint32_t> currency_ids_{{"", 0}};
  absl::flat_hash_map<std::string, uint32_t> tuple_ids_;
  std::vector<std::string> steps_;
  absl::flat_hash_map<std::string, uint32_t> step_ids_;
  std::map<int64_t, DayBucket> days_;
};

// EncodeDims renders dims as a dictionary key.
std::string EncodeDims(const Dims& dims);

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_FUNNEL_H_
