// FunnelIndex: the funnel aggregates, maintained as events happen and never rebuilt by scanning
// opportunities. Each change adds counters to rows keyed (day, dimension tuple, step); the rows
// are written to the "funnel" column family in the same WriteBatch as the change, and mirrored
// in memory (loaded from the column family at start). The mirror is tuple-major and compact
// (funnel_columns.h): a report matches the filter against the dictionary-encoded tuples, then
// sums the period's rows of the matching tuples only. Reports filtered by nothing, by one or by
// two of the coarse dimensions (product line, region, client tier, new vs repeat) read
// pre-summed per-(day, step, currency) marginals instead.
#ifndef TRIAD_SERVICES_PIPELINE_FUNNEL_H_
#define TRIAD_SERVICES_PIPELINE_FUNNEL_H_

#include <cstdint>
#include <deque>
#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rocksdb/write_batch.h"
#include "services/pipeline/funnel_columns.h"
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

  // MemoryBytes is the heap memory of the in-memory mirror (rows, dictionaries, marginals),
  // approximately (benchmarks and metrics).
  size_t MemoryBytes() const;

 private:
  // Dictionary interns the strings of one dimension as dense ids ("" is always id 0).
  struct Dictionary {
    absl::flat_hash_map<std::string, uint32_t> ids{{"", 0}};
    std::vector<std::string> names{""};
    uint32_t Intern(const std::string& s);
    // Find returns the id of s, or -1.
    int64_t Find(const std::string& s) const;
  };
  // TupleCode is a tuple's dims as dictionary ids.
  struct TupleCode {
    uint32_t owner = 0, team = 0, line = 0, region = 0, currency = 0;
    int32_t tier = 0, repeat = 0;
  };
  // Marginal is the rows of a group of tuples summed per (day, step, currency): for each day,
  // counters indexed by cell (a dense id of a (step, currency) pair).
  struct Marginal {
    absl::btree_map<int64_t, std::vector<Counter>> days;
    // The last day added to (rows arrive day by day at load); reset on every insertion.
    int64_t last_day = 0;
    std::vector<Counter>* last = nullptr;
  };
  // Marginal groups: a group is a set of coarse dimensions (a mask of kLine, kRegion, kTier,
  // kKind with at most two bits: every tuple, one per value of each dimension, one per pair of
  // values of each pair of dimensions) and their values. Its key packs the mask (top 4 bits)
  // and up to two values of 30 bits each (a tuple whose value does not fit is in no group of
  // that mask, and a filter naming such a value scans tuples).
  enum GroupDim : uint32_t { kLine = 1, kRegion = 2, kTier = 4, kKind = 8 };
  static constexpr int kMaxGroups = 11;  // 1 + 4 single dimensions + 6 pairs
  static constexpr uint32_t kNoGroup = UINT32_MAX;
  // GroupKey returns the key of (mask, values of the tuple's dimensions in mask order), or
  // false when a value is 0 ("" / unset: never asked for by a filter) or does not fit.
  static bool GroupKey(uint32_t mask, const uint32_t values[4], uint64_t* key);

  Counter Current(int64_t day, uint32_t tuple, uint32_t step) const;
  // SetRowLocked stores a row and keeps the marginals in step.
  void SetRowLocked(int64_t day, uint32_t tuple, uint32_t step, const Counter& value);
  std::vector<char> TupleMatchesLocked(const v1::FunnelFilter& filter) const;
  void SetTupleLocked(uint32_t id, const Dims& dims);
  // GroupIdLocked returns the dense id of a group key, creating its marginal.
  uint32_t GroupIdLocked(uint64_t key);
  static void AddToMarginal(Marginal& m, int64_t day, uint32_t cell, const Counter& delta);
  // CellLocked returns the cell id of (step, currency), creating it.
  uint32_t CellLocked(uint32_t step, uint32_t currency);
  // QueryGroup returns the marginal answering the filter, or nullptr (scan tuples); sets
  // *empty when the filter names a value no tuple has.
  const Marginal* QueryGroup(const v1::FunnelFilter& filter, bool* empty) const;

  Repository* repo_;
  mutable std::shared_mutex mu_;
  std::vector<TupleCode> tuples_;
  std::vector<char> tuple_known_;
  std::vector<TupleRows> rows_;
  Dictionary owners_, teams_, lines_, regions_;
  Dictionary currencies_;
  absl::flat_hash_map<std::string, uint32_t> tuple_ids_;
  std::vector<std::string> steps_;
  absl::flat_hash_map<std::string, uint32_t> step_ids_;
  // Marginals by dense group id (a deque: references stay valid as groups are added), the ids
  // by group key, and each tuple's group ids (kMaxGroups per tuple, kNoGroup when unused).
  std::deque<Marginal> marginals_;
  absl::flat_hash_map<uint64_t, uint32_t> group_ids_;
  std::vector<uint32_t> tuple_groups_;
  absl::flat_hash_map<uint64_t, uint32_t> cell_ids_;
  std::vector<std::pair<uint32_t, uint32_t>> cells_;  // cell -> (step, currency)
  std::vector<std::vector<uint32_t>> cell_cache_;     // [step][currency] -> cell + 1, or 0
};

// EncodeDims renders dims as a dictionary key.
std::string EncodeDims(const Dims& dims);

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_FUNNEL_H_
