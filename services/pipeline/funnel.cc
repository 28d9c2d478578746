// Implements the funnel aggregates (FunnelIndex).
#include "services/pipeline/funnel.h"

#include <cstring>
#include <mutex>

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

uint64_t RowIndexKey(uint32_t tuple, uint32_t step) {
  return (static_cast<uint64_t>(tuple) << 32) | step;
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
    SetTupleLocked(static_cast<uint32_t>(*id), *dims);
    tuple_ids_[std::string(v)] = static_cast<uint32_t>(*id);
    return true;
  });
  if (!st.ok()) return st;
  if (!inner.ok()) return inner;
  st = repo_->Scan(Kind::kFunnel, "s", [&](std::string_view key, std::string_view v) {
    storage::KeyReader r(key.substr(1));
    auto id = r.U64();
    if (!id.ok()) {
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
  st = repo_->Scan(Kind::kFunnel, "r", [&](std::string_view key, std::string_view v) {
    storage::KeyReader r(key.substr(1));
    auto day = r.I64();
    auto tuple = r.U64();
    auto step = r.U64();
    Counter c;
    if (!day.ok() || !tuple.ok() || !step.ok() || !DecodeCounter(v, &c)) {
      inner = absl::DataLossError("corrupt funnel row");
      return false;
    }
    SetRow(*day, static_cast<uint32_t>(*tuple), static_cast<uint32_t>(*step), c);
    return true;
  });
  if (!st.ok()) return st;
  return inner;
}

Counter FunnelIndex::Current(int64_t day, uint32_t tuple, uint32_t step) const {
  auto d = days_.find(day);
  if (d == days_.end()) return {};
  auto it = d->second.index.find(RowIndexKey(tuple, step));
  if (it == d->second.index.end()) return {};
  return d->second.rows[it->second].value;
}

void FunnelIndex::SetRow(int64_t day, uint32_t tuple, uint32_t step, const Counter& value) {
  DayBucket& b = days_[day];
  auto [it, inserted] = b.index.try_emplace(RowIndexKey(tuple, step), b.rows.size());
  if (inserted) {
    b.rows.push_back(Row{tuple, step, value});
  } else {
    b.rows[it->second].value = value;
  }
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
  for (const Staged::Row& r : staged.rows) SetRow(r.day, r.tuple, r.step, r.value);
}

void FunnelIndex::SetTupleLocked(uint32_t id, const Dims& dims) {
  if (tuples_.size() <= id) {
    tuples_.resize(id + 1);
    tuple_currency_.resize(id + 1, 0);
  }
  tuples_[id] = dims;
  auto [it, inserted] =
      currency_ids_.try_emplace(dims.currency, static_cast<uint32_t>(currencies_.size()));
  if (inserted) currencies_.push_back(dims.currency);
  tuple_currency_[id] = it->second;
}

std::vector<char> FunnelIndex::TupleMatchesLocked(const v1::FunnelFilter& filter) const {
  std::vector<char> match(tuples_.size(), 0);
  for (size_t i = 0; i < tuples_.size(); ++i) match[i] = MatchesFilter(tuples_[i], filter) ? 1 : 0;
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
  for (const auto& [day, b] : days_) n += b.rows.size();
  return n;
}

Totals FunnelIndex::Query(int64_t from_day, int64_t to_day, const v1::FunnelFilter& filter) const {
  std::shared_lock lock(mu_);
  std::vector<char> match = TupleMatchesLocked(filter);
  // One counter per (step, currency): values of different currencies are kept apart.
  const size_t nc = currencies_.size();
  std::vector<Counter> period(steps_.size() * nc), open(steps_.size() * nc);
  auto add = [](Counter& into, const Counter& c) {
    into.count += c.count;
    into.value += c.value;
    into.extra += c.extra;
  };
  if (to_day > kOpenDay - 1) to_day = kOpenDay - 1;
  for (auto it = days_.lower_bound(from_day); it != days_.end() && it->first < to_day; ++it) {
    for (const Row& r : it->second.rows) {
      if (match[r.tuple]) add(period[r.step * nc + tuple_currency_[r.tuple]], r.value);
    }
  }
  if (auto it = days_.find(kOpenDay); it != days_.end()) {
    for (const Row& r : it->second.rows) {
      if (match[r.tuple]) add(open[r.step * nc + tuple_currency_[r.tuple]], r.value);
    }
  }
  Totals totals;
  auto nonzero = [](const Counter& c) { return c.count != 0 || c.value != 0 || c.extra != 0; };
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (size_t c = 0; c < nc; ++c) {
      const Counter& p = period[i * nc + c];
      if (nonzero(p)) {
        add(totals.period[steps_[i]], p);
        totals.period_by_currency[steps_[i]][currencies_[c]] = p;
      }
      const Counter& o = open[i * nc + c];
      if (nonzero(o)) {
        add(totals.open[steps_[i]], o);
        totals.open_by_currency[steps_[i]][currencies_[c]] = o;
      }
    }
  }
  return totals;
}

}  // namespace triad::pipeline
