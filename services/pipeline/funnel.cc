// Implements the funnel aggregates (FunnelIndex).
#include "services/pipeline/funnel.h"

#include <cstring>
#include <mutex>
#include <utility>

#include "common/storage/key_codec.h"

namespace triad::pipeline {
namespace {

// Keys in the funnel column family: "t"<id> -> dims, "s"<id> -> step name,
// "r"<day><tuple><step> -> 24-byte counter.
std::string TupleKey(uint32_t id) { return "t" + storage::KeyBuilder().U64(id).Build(); }
std::string StepKey(uint32_t id) { return "s" + storage::KeyBuilder().U64(id).Build(); }
std::string RowKey(int64_t day, uint32_t tuple, uint32_t step) {
  return "r" + storage::KeyBuilder().I64(day).U64(tuple).U64(step).Build();
}

std::string EncodeCounter(const Counter& c) {
  std::string out(24, '\0');
  std::memcpy(out.data(), &c.count, 8);
  std::memcpy(out.data() + 8, &c.value, 8);
  std::memcpy(out.data() + 16, &c.extra, 8);
  return out;
}

bool DecodeCounter(std::string_view s, Counter* c) {
  if (s.size() != 24) return false;
  std::memcpy(&c->count, s.data(), 8);
  std::memcpy(&c->value, s.data() + 8, 8);
  std::memcpy(&c->extra, s.data() + 16, 8);
  return true;
}

absl::StatusOr<Dims> DecodeDims(std::string_view s) {
  storage::KeyReader r(s);
  Dims d;
  auto owner = r.Str();
  auto team = r.Str();
  auto line = r.Str();
  auto region = r.Str();
  auto tier = r.U64();
  auto repeat = r.U64();
  // Tuples written before currencies were tracked end here (currency "").
  absl::StatusOr<std::string> currency = std::string();
  if (!r.done()) currency = r.Str();
  if (!currency.ok() || !owner.ok() || !team.ok() || !line.ok() || !region.ok() || !tier.ok() ||
      !repeat.ok()) {
    return absl::DataLossError("corrupt funnel tuple");
  }
  d.owner = *owner;
  d.team = *team;
  d.product_line = *line;
  d.region = *region;
  d.tier = static_cast<int>(*tier);
  d.repeat = static_cast<int>(*repeat);
  d.currency = *currency;
  return d;
}

}  // namespace

int64_t DayOf(absl::Time t) {
  int64_t secs = absl::ToUnixSeconds(t);
  return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

std::string EncodeDims(const Dims& d) {
  storage::KeyBuilder k;
  k.Str(d.owner).Str(d.team).Str(d.product_line).Str(d.region);
  k.U64(static_cast<uint64_t>(d.tier)).U64(static_cast<uint64_t>(d.repeat));
  // The currency component is omitted when empty, so tuples stored before it existed keep
  // their encoding.
  if (!d.currency.empty()) k.Str(d.currency);
  return k.Build();
}

bool MatchesFilter(const Dims& d, const v1::FunnelFilter& f) {
  if (!f.owner_id().empty() && f.owner_id() != d.owner) return false;
  if (!f.team_id().empty() && f.team_id() != d.team) return false;
  if (!f.product_line().empty() && f.product_line() != d.product_line) return false;
  if (!f.region().empty() && f.region() != d.region) return false;
  if (f.client_tier() != 0 && f.client_tier() != d.tier) return false;
  if (f.client_kind() == v1::CLIENT_KIND_NEW && d.repeat != 1) return false;
  if (f.client_kind() == v1::CLIENT_KIND_REPEAT && d.repeat != 2) return false;
  if (!f.currency().empty() && f.currency() != d.currency) return false;
  return true;
}

absl::Status FunnelIndex::Load() {
  std::unique_lock lock(mu_);
  absl::Status inner;
  absl::Status st = repo_->Scan(Kind::kFunnel, "t", [&](std::string_view key, std::string_view v) {
    storage::KeyReader r(key.substr(1));
    auto id = r.U64();
    auto dims = DecodeDims(v);
    if (!id.ok() || !dims.ok()) {
      inner = absl::DataLossError("corrupt funnel tuple entry");
      return false;
    }
    if (*id > UINT32_MAX) {
      inner = absl::DataLossError("corrupt funnel tuple id");
      return false;
    }
    SetTupleLocked(static_cast<uint32_t>(*id), *dims);
    tuple_ids_[std::string(v)] = static_cast<uint32_t>(*id);
    return true;
  });
  if (!st.ok()) return st;
  if (!inner.ok()) return inner;
  st = repo_->Scan(Kind::kFunnel, "s", [&](std::string_view key, std::string_view v) {
    storage::KeyReader r(key.substr(1));
    auto id = r.U64();
    if (!id.ok() || *id > UINT32_MAX) {
      inner = absl::DataLossError("corrupt funnel step entry");
      return false;
    }
    if (steps_.size() <= *id) steps_.resize(*id + 1);
    steps_[*id] = std::string(v);
    step_ids_[std::string(v)] = static_cast<uint32_t>(*id);
    return true;
  });
  if (!st.ok()) return st;
  if (!inner.ok()) return inner;
  st = repo_->ScanBulk(Kind::kFunnel, "r", [&](std::string_view key, std::string_view v) {
    storage::KeyReader r(key.substr(1));
    auto day = r.I64();
    auto tuple = r.U64();
    auto step = r.U64();
    Counter c;
    if (!day.ok() || !tuple.ok() || !step.ok() || !DecodeCounter(v, &c)) {
      inner = absl::DataLossError("corrupt funnel row");
      return false;
    }
    // Rows name tuples and steps written in the same batch: anything else is corruption.
    if (*tuple >= tuples_.size() || !tuple_known_[*tuple] || *step >= steps_.size()) {
      inner = absl::DataLossError("funnel row names an unknown tuple or step");
      return false;
    }
    SetRowLocked(*day, static_cast<uint32_t>(*tuple), static_cast<uint32_t>(*step), c);
    return true;
  });
  if (!st.ok()) return st;
  for (TupleRows& rows : rows_) rows.ShrinkToFit();
  for (Marginal& m : marginals_) {
    for (auto& [day, cells] : m.days) cells.shrink_to_fit();
  }
  return inner;
}

FunnelIndex::Staged FunnelIndex::Stage(const std::vector<Delta>& deltas,
                                       rocksdb::WriteBatch& batch) {
  // Reads only: the caller is the single writer, so memory cannot change under us.
  Staged staged;
  absl::flat_hash_map<std::string, uint32_t> pending_tuples;
  absl::flat_hash_map<std::string, uint32_t> pending_steps;
  std::map<std::tuple<int64_t, uint32_t, uint32_t>, Counter> rows;
  for (const Delta& d : deltas) {
    std::string enc = EncodeDims(d.dims);
    uint32_t tuple;
    if (auto it = tuple_ids_.find(enc); it != tuple_ids_.end()) {
      tuple = it->second;
    } else if (auto p = pending_tuples.find(enc); p != pending_tuples.end()) {
      tuple = p->second;
    } else {
      tuple = static_cast<uint32_t>(tuples_.size() + pending_tuples.size());
      pending_tuples[enc] = tuple;
      staged.new_tuples.emplace_back(tuple, d.dims);
      repo_->PutRaw(batch, Kind::kFunnel, TupleKey(tuple), enc);
    }
    uint32_t step;
    if (auto it = step_ids_.find(d.step); it != step_ids_.end()) {
      step = it->second;
    } else if (auto p = pending_steps.find(d.step); p != pending_steps.end()) {
      step = p->second;
    } else {
      step = static_cast<uint32_t>(steps_.size() + pending_steps.size());
      pending_steps[d.step] = step;
      staged.new_steps.emplace_back(step, d.step);
      repo_->PutRaw(batch, Kind::kFunnel, StepKey(step), d.step);
    }
    auto key = std::make_tuple(d.day, tuple, step);
    auto it = rows.find(key);
    if (it == rows.end()) it = rows.emplace(key, Current(d.day, tuple, step)).first;
    it->second.count += d.add.count;
    it->second.value += d.add.value;
    it->second.extra += d.add.extra;
  }
  for (const auto& [key, value] : rows) {
    auto [day, tuple, step] = key;
    repo_->PutRaw(batch, Kind::kFunnel, RowKey(day, tuple, step), EncodeCounter(value));
    staged.rows.push_back({day, tuple, step, value});
  }
  return staged;
}

void FunnelIndex::Apply(const Staged& staged) {
  std::unique_lock lock(mu_);
  for (const auto& [id, dims] : staged.new_tuples) {
    SetTupleLocked(id, dims);
    tuple_ids_[EncodeDims(dims)] = id;
  }
  for (const auto& [id, name] : staged.new_steps) {
    if (steps_.size() <= id) steps_.resize(id + 1);
    steps_[id] = name;
    step_ids_[name] = id;
  }
  for (const Staged::Row& r : staged.rows) SetRowLocked(r.day, r.tuple, r.step, r.value);
}

uint32_t FunnelIndex::Dictionary::Intern(const std::string& s) {
  auto [it, inserted] = ids.try_emplace(s, static_cast<uint32_t>(names.size()));
  if (inserted) names.push_back(s);
  return it->second;
}

int64_t FunnelIndex::Dictionary::Find(const std::string& s) const {
  auto it = ids.find(s);
  return it == ids.end() ? -1 : static_cast<int64_t>(it->second);
}

Counter FunnelIndex::Current(int64_t day, uint32_t tuple, uint32_t step) const {
  if (tuple >= rows_.size()) return {};
  return day == kOpenDay ? rows_[tuple].FindOpen(step) : rows_[tuple].Find(day, step);
}

bool FunnelIndex::GroupKey(uint32_t mask, const uint32_t values[4], uint64_t* key) {
  uint64_t packed = 0;
  int n = 0;
  for (int i = 0; i < 4; ++i) {
    if ((mask & (1u << i)) == 0) continue;
    // 0 ("", tier 0, an unknown kind) is never asked for by a filter: no group.
    if (values[i] == 0 || values[i] >= (1u << 30) || n == 2) return false;
    packed = (packed << 30) | values[i];
    ++n;
  }
  *key = (uint64_t{mask} << 60) | packed;
  return true;
}

uint32_t FunnelIndex::GroupIdLocked(uint64_t key) {
  auto [it, inserted] = group_ids_.try_emplace(key, static_cast<uint32_t>(marginals_.size()));
  if (inserted) marginals_.emplace_back();
  return it->second;
}

void FunnelIndex::AddToMarginal(Marginal& m, int64_t day, uint32_t cell, const Counter& delta) {
  if (m.last == nullptr || m.last_day != day) {
    auto [it, inserted] = m.days.try_emplace(day);
    if (inserted) it = m.days.find(day);  // insertion may move values: look up again
    m.last = &it->second;
    m.last_day = day;
  }
  std::vector<Counter>& cells = *m.last;
  if (cells.size() <= cell) cells.resize(cell + 1);
  cells[cell].count += delta.count;
  cells[cell].value += delta.value;
  cells[cell].extra += delta.extra;
}

uint32_t FunnelIndex::CellLocked(uint32_t step, uint32_t currency) {
  // A dense (step, currency) -> cell + 1 table in front of the hash map: one lookup per row.
  if (cell_cache_.size() <= step) cell_cache_.resize(step + 1);
  std::vector<uint32_t>& by_currency = cell_cache_[step];
  if (by_currency.size() <= currency) by_currency.resize(currency + 1, 0);
  if (by_currency[currency] != 0) return by_currency[currency] - 1;
  auto [it, inserted] = cell_ids_.try_emplace((static_cast<uint64_t>(step) << 32) | currency,
                                              static_cast<uint32_t>(cells_.size()));
  if (inserted) cells_.emplace_back(step, currency);
  by_currency[currency] = it->second + 1;
  return it->second;
}

void FunnelIndex::SetRowLocked(int64_t day, uint32_t tuple, uint32_t step, const Counter& value) {
  if (rows_.size() <= tuple) rows_.resize(tuple + 1);
  Counter old =
      day == kOpenDay ? rows_[tuple].SetOpen(step, value) : rows_[tuple].Set(day, step, value);
  Counter delta{value.count - old.count, value.value - old.value, value.extra - old.extra};
  if (delta.count == 0 && delta.value == 0 && delta.extra == 0) return;
  const uint32_t cell = CellLocked(step, tuples_[tuple].currency);
  const uint32_t* groups = &tuple_groups_[static_cast<size_t>(tuple) * kMaxGroups];
  for (int i = 0; i < kMaxGroups && groups[i] != kNoGroup; ++i) {
    AddToMarginal(marginals_[groups[i]], day, cell, delta);
  }
}

void FunnelIndex::SetTupleLocked(uint32_t id, const Dims& dims) {
  if (tuples_.size() <= id) {
    tuples_.resize(id + 1);
    tuple_known_.resize(id + 1, 0);
  }
  if (rows_.size() <= id) rows_.resize(id + 1);
  TupleCode& c = tuples_[id];
  c.owner = owners_.Intern(dims.owner);
  c.team = teams_.Intern(dims.team);
  c.line = lines_.Intern(dims.product_line);
  c.region = regions_.Intern(dims.region);
  c.currency = currencies_.Intern(dims.currency);
  c.tier = dims.tier;
  c.repeat = dims.repeat;
  tuple_known_[id] = 1;
  // The tuple's marginal groups: every tuple, each coarse dimension, each pair of them.
  if (tuple_groups_.size() < tuples_.size() * kMaxGroups) {
    tuple_groups_.resize(tuples_.size() * kMaxGroups, kNoGroup);
  }
  const uint32_t values[4] = {c.line, c.region, static_cast<uint32_t>(c.tier),
                              c.repeat == 1 || c.repeat == 2 ? static_cast<uint32_t>(c.repeat) : 0};
  uint32_t* groups = &tuple_groups_[static_cast<size_t>(id) * kMaxGroups];
  int n = 0;
  for (uint32_t mask : {0u, 1u, 2u, 4u, 8u, 3u, 5u, 9u, 6u, 10u, 12u}) {
    uint64_t key;
    if (GroupKey(mask, values, &key)) groups[n++] = GroupIdLocked(key);
  }
  while (n < kMaxGroups) groups[n++] = kNoGroup;
}

std::vector<char> FunnelIndex::TupleMatchesLocked(const v1::FunnelFilter& f) const {
  std::vector<char> match(tuples_.size(), 0);
  // A named value no tuple has matches nothing; -2 stands for "not filtered".
  auto code = [](const Dictionary& d, const std::string& s) -> int64_t {
    return s.empty() ? -2 : d.Find(s);
  };
  const int64_t owner = code(owners_, f.owner_id()), team = code(teams_, f.team_id()),
                line = code(lines_, f.product_line()), region = code(regions_, f.region()),
                currency = code(currencies_, f.currency());
  if (owner == -1 || team == -1 || line == -1 || region == -1 || currency == -1) return match;
  const int32_t tier = f.client_tier();
  const int32_t repeat = f.client_kind() == v1::CLIENT_KIND_NEW      ? 1
                         : f.client_kind() == v1::CLIENT_KIND_REPEAT ? 2
                                                                     : 0;
  for (size_t i = 0; i < tuples_.size(); ++i) {
    const TupleCode& t = tuples_[i];
    match[i] = tuple_known_[i] && (owner < 0 || t.owner == owner) && (team < 0 || t.team == team) &&
               (line < 0 || t.line == line) && (region < 0 || t.region == region) &&
               (currency < 0 || t.currency == currency) && (tier == 0 || t.tier == tier) &&
               (repeat == 0 || t.repeat == repeat);
  }
  return match;
}

std::vector<char> FunnelIndex::TupleMatches(const v1::FunnelFilter& filter) const {
  std::shared_lock lock(mu_);
  return TupleMatchesLocked(filter);
}

int64_t FunnelIndex::TupleId(const Dims& dims) const {
  std::shared_lock lock(mu_);
  auto it = tuple_ids_.find(EncodeDims(dims));
  return it == tuple_ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

size_t FunnelIndex::RowCount() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const TupleRows& r : rows_) n += r.RowCount();
  return n;
}

size_t FunnelIndex::MemoryBytes() const {
  std::shared_lock lock(mu_);
  size_t n = rows_.capacity() * sizeof(TupleRows) + tuples_.capacity() * sizeof(TupleCode) +
             tuple_known_.capacity();
  for (const TupleRows& r : rows_) n += r.Bytes();
  // Hash maps: about one slot (key, value, control byte) per entry plus the key's heap text.
  for (const auto& [enc, id] : tuple_ids_) n += sizeof(std::string) + 5 + enc.capacity();
  for (const Marginal& m : marginals_) {
    n += sizeof(Marginal);
    for (const auto& [day, cells] : m.days) n += 48 + cells.capacity() * sizeof(Counter);
  }
  n += group_ids_.size() * 13 + tuple_groups_.capacity() * sizeof(uint32_t);
  n += cell_ids_.size() * 13 + cells_.capacity() * sizeof(cells_[0]);
  return n;
}

const FunnelIndex::Marginal* FunnelIndex::QueryGroup(const v1::FunnelFilter& f, bool* empty) const {
  *empty = false;
  if (!f.owner_id().empty() || !f.team_id().empty()) return nullptr;  // selective: scan
  uint32_t mask = 0;
  uint32_t values[4] = {0, 0, 0, 0};
  for (int i = 0; i < 2; ++i) {
    const std::string& name = i == 0 ? f.product_line() : f.region();
    if (name.empty()) continue;
    int64_t id = (i == 0 ? lines_ : regions_).Find(name);
    if (id < 0) {
      *empty = true;  // a value no tuple has
      return nullptr;
    }
    mask |= i == 0 ? kLine : kRegion;
    values[i] = static_cast<uint32_t>(id);
  }
  if (f.client_tier() != 0) {
    mask |= kTier;
    values[2] = static_cast<uint32_t>(f.client_tier());
  }
  if (f.client_kind() == v1::CLIENT_KIND_NEW || f.client_kind() == v1::CLIENT_KIND_REPEAT) {
    mask |= kKind;
    values[3] = f.client_kind() == v1::CLIENT_KIND_NEW ? 1 : 2;
  }
  uint64_t key;
  // Three or four dimensions (or a value outside the groups): scan the matching tuples.
  if (!GroupKey(mask, values, &key)) return nullptr;
  auto it = group_ids_.find(key);
  if (it == group_ids_.end()) {
    *empty = true;  // no tuple has these values
    return nullptr;
  }
  return &marginals_[it->second];
}

Totals FunnelIndex::Query(int64_t from_day, int64_t to_day, const v1::FunnelFilter& filter) const {
  std::shared_lock lock(mu_);
  // One counter per (step, currency): values of different currencies are kept apart.
  const size_t nc = currencies_.names.size();
  std::vector<Counter> period(steps_.size() * nc), open(steps_.size() * nc);
  auto add = [](Counter& into, const Counter& c) {
    into.count += c.count;
    into.value += c.value;
    into.extra += c.extra;
  };
  if (to_day > kOpenDay - 1) to_day = kOpenDay - 1;
  bool empty = false;
  const Marginal* m = QueryGroup(filter, &empty);
  int64_t currency = filter.currency().empty() ? -2 : currencies_.Find(filter.currency());
  if (currency == -1) empty = true;
  if (empty) {
    // Nothing matches.
  } else if (m != nullptr) {
    auto add_day = [&](const std::vector<Counter>& cells, std::vector<Counter>& into) {
      for (size_t cell = 0; cell < cells.size(); ++cell) {
        auto [step, cur] = cells_[cell];
        if (currency >= 0 && cur != currency) continue;
        add(into[step * nc + cur], cells[cell]);
      }
    };
    if (from_day < to_day) {
      for (auto it = m->days.lower_bound(from_day); it != m->days.end() && it->first < to_day;
           ++it) {
        add_day(it->second, period);
      }
    }
    if (auto it = m->days.find(kOpenDay); it != m->days.end()) add_day(it->second, open);
  } else {
    std::vector<char> match = TupleMatchesLocked(filter);
    for (size_t t = 0; t < match.size() && t < rows_.size(); ++t) {
      if (!match[t]) continue;
      rows_[t].AddPeriod(from_day, to_day, nc, tuples_[t].currency, period.data());
      rows_[t].AddOpen(nc, tuples_[t].currency, open.data());
    }
  }
  Totals totals;
  auto nonzero = [](const Counter& c) { return c.count != 0 || c.value != 0 || c.extra != 0; };
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (size_t c = 0; c < nc; ++c) {
      const Counter& p = period[i * nc + c];
      if (nonzero(p)) {
        add(totals.period[steps_[i]], p);
        totals.period_by_currency[steps_[i]][currencies_.names[c]] = p;
      }
      const Counter& o = open[i * nc + c];
      if (nonzero(o)) {
        add(totals.open[steps_[i]], o);
        totals.open_by_currency[steps_[i]][currencies_.names[c]] = o;
      }
    }
  }
  return totals;
}

}  // namespace triad::pipeline
