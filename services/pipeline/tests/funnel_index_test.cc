// Tests of FunnelIndex's compact layout: packed columns at the int64 extremes, every filter
// combination against a naive reference over random deltas (live and after a reload), the
// marginal and tuple-scan paths agreeing through the domain (moves back and forth, reassignment,
// close), and reports read while rows are written.
#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "common/storage/store.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/pipeline/funnel.h"
#include "services/pipeline/tests/test_support.h"
#include "tests/testing/test_env.h"

namespace triad::pipeline {
namespace {

TEST(PackedColumnTest, RoundTripsExtremesAndWidensOnInsertAndSet) {
  PackedColumn c;
  const std::vector<int64_t> values = {5, 5, 6, -120, 300, INT64_MAX, INT64_MIN, 0, -1, 70000};
  std::vector<int64_t> want;
  for (int64_t v : values) {
    c.Insert(c.size(), v);
    want.push_back(v);
  }
  c.Insert(3, INT32_MIN);
  want.insert(want.begin() + 3, INT32_MIN);
  c.Set(0, INT64_MIN);
  want[0] = INT64_MIN;
  ASSERT_EQ(c.size(), want.size());
  std::vector<int64_t> decoded(want.size());
  c.Decode(0, c.size(), decoded.data());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(c.Get(i), want[i]) << i;
    EXPECT_EQ(decoded[i], want[i]) << i;
  }
  EXPECT_EQ(c.width(), 8);
}

TEST(PackedColumnTest, ConstantColumnTakesNoBytesPerValue) {
  PackedColumn c;
  for (int i = 0; i < 100; ++i) c.Insert(c.size(), 42);
  EXPECT_EQ(c.width(), 0);
  EXPECT_EQ(c.Get(99), 42);
  c.Set(50, 43);
  EXPECT_EQ(c.width(), 1);
  EXPECT_EQ(c.Get(50), 43);
  EXPECT_EQ(c.Get(49), 42);
}

// FunnelStore is a RocksDB store with the pipeline's column families in a TempDir.
class FunnelStore {
 public:
  FunnelStore() { Reopen(); }
  void Reopen() {
    repo_.reset();
    store_.reset();
    storage::StoreOptions so;
    so.path = dir_.Sub("db");
    so.column_families = ColumnFamilies();
    auto s = storage::Store::Open(so);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    repo_ = NewRocksRepository(store_.get());
  }
  // Write stages and applies deltas in one batch, as the domain does.
  void Write(FunnelIndex& index, const std::vector<Delta>& deltas) {
    rocksdb::WriteBatch batch;
    FunnelIndex::Staged staged = index.Stage(deltas, batch);
    ASSERT_TRUE(store_->Write(batch).ok());
    index.Apply(staged);
  }
  Repository* repo() { return repo_.get(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Repository> repo_;
};

// Reference sums every delta naively: per (day, dims, step), then filtered and summed per step.
struct Reference {
  std::vector<Delta> all;
  Totals Query(int64_t from, int64_t to, const v1::FunnelFilter& f) const {
    std::map<std::string, std::map<std::string, Counter>> period, open;
    for (const Delta& d : all) {
      if (!MatchesFilter(d.dims, f)) continue;
      bool in_open = d.day == kOpenDay;
      if (!in_open && (d.day < from || d.day >= to)) continue;
      Counter& c = (in_open ? open : period)[d.step][d.dims.currency];
      c.count += d.add.count;
      c.value += d.add.value;
      c.extra += d.add.extra;
    }
    Totals t;
    auto fold = [](const auto& in, auto& total, auto& by_currency) {
      for (const auto& [step, currencies] : in) {
        for (const auto& [currency, c] : currencies) {
          if (c.count == 0 && c.value == 0 && c.extra == 0) continue;
          by_currency[step][currency] = c;
          Counter& s = total[step];
          s.count += c.count;
          s.value += c.value;
          s.extra += c.extra;
        }
      }
    };
    fold(period, t.period, t.period_by_currency);
    fold(open, t.open, t.open_by_currency);
    return t;
  }
};

bool Same(const Counter& a, const Counter& b) {
  return a.count == b.count && a.value == b.value && a.extra == b.extra;
}

void ExpectSameTotals(const Totals& got, const Totals& want, const std::string& what) {
  auto same_map = [](const std::map<std::string, Counter>& a,
                     const std::map<std::string, Counter>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a) {
      auto it = b.find(k);
      if (it == b.end() || !Same(v, it->second)) return false;
    }
    return true;
  };
  auto same_nested = [&](const auto& a, const auto& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a) {
      auto it = b.find(k);
      if (it == b.end() || !same_map(v, it->second)) return false;
    }
    return true;
  };
  EXPECT_TRUE(same_map(got.period, want.period)) << what;
  EXPECT_TRUE(same_map(got.open, want.open)) << what;
  EXPECT_TRUE(same_nested(got.period_by_currency, want.period_by_currency)) << what;
  EXPECT_TRUE(same_nested(got.open_by_currency, want.open_by_currency)) << what;
}

// Filter sets the dimensions of bit mask `combo` (owner, team, line, region, tier, kind) to the
// values of `d` (and the currency when `currency`).
v1::FunnelFilter Filter(int combo, const Dims& d, bool currency) {
  v1::FunnelFilter f;
  if (combo & 1) f.set_owner_id(d.owner);
  if (combo & 2) f.set_team_id(d.team);
  if (combo & 4) f.set_product_line(d.product_line);
  if (combo & 8) f.set_region(d.region);
  if (combo & 16) f.set_client_tier(static_cast<clients::v1::ClientTier>(d.tier));
  if (combo & 32) f.set_client_kind(d.repeat == 1 ? v1::CLIENT_KIND_NEW : v1::CLIENT_KIND_REPEAT);
  if (currency) f.set_currency(d.currency);
  return f;
}

Dims RandomDims(std::mt19937_64& rng) {
  Dims d;
  // Small pools so that tuples repeat; "" appears as a value (market rows have no owner).
  int owner = static_cast<int>(rng() % 6);
  d.owner = owner == 0 ? "" : absl::StrCat("u:", owner);
  d.team = owner == 0 ? "" : absl::StrCat("team-", owner % 3);
  d.product_line = rng() % 2 ? "architectural-design" : "specialised-equipment";
  d.region = rng() % 4 == 0 ? "" : absl::StrCat("region-", rng() % 3);
  d.tier = static_cast<int>(rng() % 5);
  d.repeat = static_cast<int>(rng() % 3);
  const char* currencies[] = {"", "CNY", "EUR"};
  d.currency = currencies[rng() % 3];
  return d;
}

Delta RandomDelta(std::mt19937_64& rng) {
  static const char* steps[] = {"signal", "lead",   "opportunity", "stage:a", "stage:b",
                                "exit:a", "open:a", "won",         "lost"};
  Delta d;
  d.dims = RandomDims(rng);
  d.step = steps[rng() % 9];
  d.day = d.step.rfind("open:", 0) == 0 ? kOpenDay : 20000 + static_cast<int64_t>(rng() % 60) - 5;
  // Negative adds (moves back, reassignments) and amounts that need every column width.
  const int64_t big[] = {1, 100, 70'000, 5'000'000'000, -3};
  d.add.count = rng() % 4 == 0 ? -1 : 1;
  d.add.value = big[rng() % 5] * static_cast<int64_t>(rng() % 1000);
  d.add.extra = d.step == "exit:a" || d.step == "open:a" ? big[rng() % 5] : 0;
  return d;
}

void ExpectEveryFilterMatches(const FunnelIndex& index, const Reference& ref, std::mt19937_64& rng,
                              const std::string& what) {
  for (int combo = 0; combo < 64; ++combo) {
    for (bool currency : {false, true}) {
      Dims d = RandomDims(rng);
      v1::FunnelFilter f = Filter(combo, d, currency);
      int64_t from = 20000 + static_cast<int64_t>(rng() % 40) - 10;
      int64_t to = from + static_cast<int64_t>(rng() % 40);
      ExpectSameTotals(index.Query(from, to, f), ref.Query(from, to, f),
                       absl::StrCat(what, " combo ", combo, " currency ", currency, " days [", from,
                                    ",", to, ") ", f.ShortDebugString()));
      // The whole range, and a filter naming a value no tuple has.
      ExpectSameTotals(index.Query(0, kOpenDay, f), ref.Query(0, kOpenDay, f), what);
    }
  }
  v1::FunnelFilter unknown;
  unknown.set_region("nowhere");
  EXPECT_TRUE(index.Query(0, kOpenDay, unknown).period.empty());
  unknown.clear_region();
  unknown.set_currency("XXX");
  EXPECT_TRUE(index.Query(0, kOpenDay, unknown).open.empty());
}

TEST(FunnelIndexPropertyTest, EveryFilterCombinationMatchesNaiveReference) {
  FunnelStore store;
  FunnelIndex index(store.repo());
  ASSERT_TRUE(index.Load().ok());
  Reference ref;
  std::mt19937_64 rng(20261129);
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<Delta> deltas;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) deltas.push_back(RandomDelta(rng));
    store.Write(index, deltas);
    ref.all.insert(ref.all.end(), deltas.begin(), deltas.end());
    if (batch % 20 == 19) ExpectEveryFilterMatches(index, ref, rng, absl::StrCat("live ", batch));
  }
  // The start-up path: a new index loaded from the column family answers the same.
  store.Reopen();
  FunnelIndex loaded(store.repo());
  ASSERT_TRUE(loaded.Load().ok());
  EXPECT_EQ(loaded.RowCount(), index.RowCount());
  ExpectEveryFilterMatches(loaded, ref, rng, "loaded");
  // And keeps answering the same when written to after the load.
  std::vector<Delta> more;
  for (int i = 0; i < 50; ++i) more.push_back(RandomDelta(rng));
  store.Write(loaded, more);
  ref.all.insert(ref.all.end(), more.begin(), more.end());
  ExpectEveryFilterMatches(loaded, ref, rng, "loaded then written");
}

TEST(FunnelIndexConcurrencyTest, ReadersSeeWholeBatchesWhileRowsAreWritten) {
  FunnelStore store;
  FunnelIndex index(store.repo());
  ASSERT_TRUE(index.Load().ok());
  // Each batch adds one "opportunity" and one "stage:a" row count to the same tuple on a new
  // day: a reader must always see both counts equal and never decreasing.
  Dims dims{"u:1", "team-1", "architectural-design", "east", 1, 1, "CNY"};
  constexpr int kBatches = 400;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      int64_t last = 0;
      v1::FunnelFilter f;
      if (r == 1) f.set_owner_id("u:1");  // tuple scan; reader 0 reads the marginal
      while (!done.load()) {
        Totals t = index.Query(0, kOpenDay - 1, f);
        int64_t opp = t.period.count("opportunity") ? t.period["opportunity"].count : 0;
        int64_t stage = t.period.count("stage:a") ? t.period["stage:a"].count : 0;
        if (opp != stage || opp < last) bad.fetch_add(1);
        last = opp;
      }
    });
  }
  for (int i = 0; i < kBatches; ++i) {
    // Days in a shuffled order so rows are inserted in the middle of the columns too.
    int64_t day = 20000 + (i * 7919) % kBatches;
    store.Write(index,
                {{day, dims, "opportunity", {1, 100, 0}}, {day, dims, "stage:a", {1, 1, 0}}});
  }
  done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  Totals t = index.Query(0, kOpenDay - 1, {});
  EXPECT_EQ(t.period["opportunity"].count, kBatches);
  EXPECT_EQ(t.period["opportunity"].value, 100 * kBatches);
}

// Through the domain: the marginal path (no filter, one coarse dimension) and the tuple scan
// (the same set of deals selected with an extra always-true dimension) agree, and a restart
// (the load path) reports exactly what the live index did.
TEST_F(PipelineTest, FunnelPathsAgreeAfterMovesReassignmentAndRestart) {
  RegisterClient("c1");
  RegisterClient("c2", "u:li");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    clock_.Set(Day(i));
    ids.push_back(CreateOpp(i % 2 ? "c1" : "c2", kArchitecturalDesign, 1000 * (i + 1)).id());
  }
  clock_.Set(Day(5));
  for (const std::string& id : ids) Tick(id, "qualification.decision_maker");
  ASSERT_TRUE(Advance(ids[0], "needs_analysis").ok());
  clock_.Set(Day(7));
  ASSERT_TRUE(Advance(ids[0], "qualification", "back for a new decision maker").ok());
  clock_.Set(Day(8));
  ASSERT_TRUE(Advance(ids[0], "needs_analysis").ok());
  ASSERT_TRUE(Advance(ids[1], "needs_analysis").ok());
  v1::ReassignOpportunityRequest re;
  re.set_opportunity_id(ids[2]);
  re.set_new_owner_id("u:zhou");
  re.set_reason("holiday cover");
  ASSERT_TRUE(p_->ReassignOpportunity(re).ok());
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(ids[3]);
  lose.set_reason(v1::LOSS_REASON_PRICE);
  ASSERT_TRUE(p_->LoseOpportunity(lose).ok()) << p_->LoseOpportunity(lose).status();

  auto report = [&](const v1::FunnelFilter& f, int from, int to) {
    v1::GetFunnelReportRequest req;
    *req.mutable_start_time() = util::ToProto(Day(from));
    *req.mutable_end_time() = util::ToProto(Day(to));
    *req.mutable_filter() = f;
    auto r = p_->GetFunnelReport(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::FunnelReport();
  };
  // Every client is in team-east: adding the team turns a marginal read into a tuple scan.
  v1::FunnelFilter none, region, region_team, line, line_team, pair, pair_team;
  region.set_region("east");
  region_team = region;
  region_team.set_team_id("team-east");
  line.set_product_line(kArchitecturalDesign);
  line_team = line;
  line_team.set_team_id("team-east");
  pair = line;  // a pair of coarse dimensions: its own marginal
  pair.set_region("east");
  pair_team = pair;
  pair_team.set_team_id("team-east");
  using google::protobuf::util::MessageDifferencer;
  std::vector<v1::FunnelReport> before;
  for (auto [from, to] : {std::pair{-1, 30}, std::pair{6, 8}}) {
    v1::FunnelReport all = report(none, from, to);
    EXPECT_TRUE(MessageDifferencer::Equals(all, report(region, from, to)));
    EXPECT_TRUE(MessageDifferencer::Equals(all, report(region_team, from, to)));
    EXPECT_TRUE(MessageDifferencer::Equals(report(line, from, to), report(line_team, from, to)));
    EXPECT_TRUE(MessageDifferencer::Equals(report(pair, from, to), report(pair_team, from, to)));
    for (const auto& f : {none, region, region_team}) before.push_back(report(f, from, to));
  }
  int64_t opportunities = 0;
  for (const auto& s : before[0].steps()) {
    if (s.step() == "opportunity") opportunities = s.count();
  }
  EXPECT_EQ(opportunities, 4);
  Open();  // restart: the funnel is rebuilt by the load path
  std::vector<v1::FunnelReport> after;
  for (auto [from, to] : {std::pair{-1, 30}, std::pair{6, 8}}) {
    for (const auto& f : {none, region, region_team}) after.push_back(report(f, from, to));
  }
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(before[i], after[i])) << i;
  }
}

}  // namespace
}  // namespace triad::pipeline
