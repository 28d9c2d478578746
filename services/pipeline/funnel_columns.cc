// Implements PackedColumn and TupleRows (the funnel's compact row layout).
#include "services/pipeline/funnel_columns.h"

#include <algorithm>
#include <cstring>

namespace triad::pipeline {
namespace {

// Offset arithmetic is modulo 2^64, so base + offset restores every int64 exactly.
int64_t OffsetOf(int64_t v, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(v) - static_cast<uint64_t>(base));
}
int64_t FromOffset(int64_t base, int64_t off) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(off));
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void StoreOffset(uint8_t* p, int width, int64_t off) {
  switch (width) {
    case 1: {
      int8_t v = static_cast<int8_t>(off);
      std::memcpy(p, &v, 1);
      break;
    }
    case 2: {
      int16_t v = static_cast<int16_t>(off);
      std::memcpy(p, &v, 2);
      break;
    }
    case 4: {
      int32_t v = static_cast<int32_t>(off);
      std::memcpy(p, &v, 4);
      break;
    }
    case 8:
      std::memcpy(p, &off, 8);
      break;
    default:
      break;
  }
}

int64_t LoadOffset(const uint8_t* p, int width) {
  switch (width) {
    case 1:
      return Load<int8_t>(p);
    case 2:
      return Load<int16_t>(p);
    case 4:
      return Load<int32_t>(p);
    case 8:
      return Load<int64_t>(p);
    default:
      return 0;
  }
}

template <typename T>
void DecodeAs(const uint8_t* p, size_t n, int64_t base, int64_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = FromOffset(base, Load<T>(p + i * sizeof(T)));
}

bool Less(int64_t d1, uint32_t s1, int64_t d2, uint32_t s2) {
  return d1 < d2 || (d1 == d2 && s1 < s2);
}

void AddTo(Counter& into, const Counter& c) {
  into.count += c.count;
  into.value += c.value;
  into.extra += c.extra;
}

}  // namespace

int PackedColumn::WidthFor(int64_t off) {
  if (off == 0) return 0;
  if (off >= INT8_MIN && off <= INT8_MAX) return 1;
  if (off >= INT16_MIN && off <= INT16_MAX) return 2;
  if (off >= INT32_MIN && off <= INT32_MAX) return 4;
  return 8;
}

int64_t PackedColumn::Get(size_t i) const {
  return FromOffset(base_, LoadOffset(data_.data() + i * width_, width_));
}

void PackedColumn::Widen(int width) {
  std::vector<uint8_t> wider(static_cast<size_t>(n_) * width);
  for (size_t i = 0; i < n_; ++i) {
    StoreOffset(wider.data() + i * width, width, LoadOffset(data_.data() + i * width_, width_));
  }
  data_ = std::move(wider);
  width_ = static_cast<uint8_t>(width);
}

void PackedColumn::Set(size_t i, int64_t v) {
  int64_t off = OffsetOf(v, base_);
  int w = WidthFor(off);
  if (w > width_) Widen(w);
  StoreOffset(data_.data() + i * width_, width_, off);
}

void PackedColumn::Insert(size_t i, int64_t v) {
  if (n_ == 0) {
    base_ = v;
    width_ = 0;
    data_.clear();
  }
  int64_t off = OffsetOf(v, base_);
  int w = WidthFor(off);
  if (w > width_) Widen(w);
  // Grow by a quarter, not the vector's doubling: the rows of every tuple grow together at
  // load, so the spare capacity is a share of the whole mirror at its peak.
  if (data_.size() + width_ > data_.capacity()) {
    data_.reserve(std::max(data_.size() + width_, data_.capacity() + data_.capacity() / 4 + 16));
  }
  data_.insert(data_.begin() + static_cast<ptrdiff_t>(i * width_), width_, 0);
  StoreOffset(data_.data() + i * width_, width_, off);
  ++n_;
}

void PackedColumn::Decode(size_t lo, size_t hi, int64_t* out) const {
  const uint8_t* p = data_.data() + lo * width_;
  size_t n = hi - lo;
  switch (width_) {
    case 0:
      std::fill(out, out + n, base_);
      break;
    case 1:
      DecodeAs<int8_t>(p, n, base_, out);
      break;
    case 2:
      DecodeAs<int16_t>(p, n, base_, out);
      break;
    case 4:
      DecodeAs<int32_t>(p, n, base_, out);
      break;
    default:
      DecodeAs<int64_t>(p, n, base_, out);
      break;
  }
}

size_t TupleRows::LowerBound(int64_t day, uint32_t step) const {
  size_t lo = 0, hi = day_.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (Less(day_.Get(mid), static_cast<uint32_t>(step_.Get(mid)), day, step)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Counter TupleRows::Find(int64_t day, uint32_t step) const {
  size_t i = LowerBound(day, step);
  if (i == day_.size() || day_.Get(i) != day || step_.Get(i) != step) return {};
  return Counter{count_.Get(i), value_.Get(i), extra_.Get(i)};
}

Counter TupleRows::Set(int64_t day, uint32_t step, const Counter& value) {
  const size_t n = day_.size();
  // Rows mostly arrive in (day, step) order (the load scans them so): append without a search.
  size_t i = n;
  if (n > 0 && !Less(day_.Get(n - 1), static_cast<uint32_t>(step_.Get(n - 1)), day, step)) {
    i = LowerBound(day, step);
  }
  if (i < n && day_.Get(i) == day && step_.Get(i) == step) {
    Counter old{count_.Get(i), value_.Get(i), extra_.Get(i)};
    count_.Set(i, value.count);
    value_.Set(i, value.value);
    extra_.Set(i, value.extra);
    return old;
  }
  day_.Insert(i, day);
  step_.Insert(i, step);
  count_.Insert(i, value.count);
  value_.Insert(i, value.value);
  extra_.Insert(i, value.extra);
  return {};
}

Counter TupleRows::FindOpen(uint32_t step) const {
  auto it = std::lower_bound(open_.begin(), open_.end(), step,
                             [](const auto& e, uint32_t s) { return e.first < s; });
  return it != open_.end() && it->first == step ? it->second : Counter{};
}

Counter TupleRows::SetOpen(uint32_t step, const Counter& value) {
  auto it = std::lower_bound(open_.begin(), open_.end(), step,
                             [](const auto& e, uint32_t s) { return e.first < s; });
  if (it != open_.end() && it->first == step) {
    Counter old = it->second;
    it->second = value;
    return old;
  }
  open_.insert(it, {step, value});
  return {};
}

void TupleRows::AddPeriod(int64_t from_day, int64_t to_day, size_t stride, size_t offset,
                          Counter* out) const {
  if (from_day >= to_day || day_.size() == 0) return;
  const size_t lo = LowerBound(from_day, 0);
  const size_t hi = LowerBound(to_day, 0);
  constexpr size_t kChunk = 256;
  int64_t step[kChunk], count[kChunk], value[kChunk], extra[kChunk];
  for (size_t at = lo; at < hi; at += kChunk) {
    const size_t end = std::min(hi, at + kChunk);
    const size_t n = end - at;
    step_.Decode(at, end, step);
    count_.Decode(at, end, count);
    value_.Decode(at, end, value);
    extra_.Decode(at, end, extra);
    for (size_t i = 0; i < n; ++i) {
      Counter& c = out[static_cast<size_t>(step[i]) * stride + offset];
      c.count += count[i];
      c.value += value[i];
      c.extra += extra[i];
    }
  }
}

void TupleRows::AddOpen(size_t stride, size_t offset, Counter* out) const {
  for (const auto& [step, c] : open_) AddTo(out[step * stride + offset], c);
}

void TupleRows::ShrinkToFit() {
  for (PackedColumn* c : {&day_, &step_, &count_, &value_, &extra_}) c->ShrinkToFit();
  open_.shrink_to_fit();
}

size_t TupleRows::Bytes() const {
  return day_.Bytes() + step_.Bytes() + count_.Bytes() + value_.Bytes() + extra_.Bytes() +
         open_.capacity() * sizeof(open_[0]);
}

}  // namespace triad::pipeline
