// PackedColumn and TupleRows: the compact in-memory layout of the funnel's aggregate rows.
// A PackedColumn stores int64 values as fixed-width offsets from a base (0, 1, 2, 4 or 8 bytes
// each, widened when a value does not fit), so small counters, amounts and day numbers take one
// to four bytes. TupleRows holds the rows of one dimension tuple as columns sorted by (day,
// step), plus the tuple's open gauge.
#ifndef TRIAD_SERVICES_PIPELINE_FUNNEL_COLUMNS_H_
#define TRIAD_SERVICES_PIPELINE_FUNNEL_COLUMNS_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace triad::pipeline {

// Counter is what a row accumulates. `extra` is the summed seconds in stage for "exit:" steps
// and the weighted value (value x probability) for "open:" steps.
struct Counter {
  int64_t count = 0;
  int64_t value = 0;
  int64_t extra = 0;
};

// PackedColumn is a growable array of int64 values stored as width-byte two's-complement
// offsets from base_ (exact for every int64: arithmetic is modulo 2^64).
class PackedColumn {
 public:
  // size returns the number of values.
  size_t size() const { return n_; }

  // Get returns value i.
  int64_t Get(size_t i) const;

  // Set replaces value i, widening the column when needed.
  void Set(size_t i, int64_t v);

  // Insert inserts v before position i (i == size() appends).
  void Insert(size_t i, int64_t v);

  // Decode writes values [lo, hi) to out.
  void Decode(size_t lo, size_t hi, int64_t* out) const;

  // ShrinkToFit releases spare capacity.
  void ShrinkToFit() { data_.shrink_to_fit(); }

  // Bytes is the heap memory held.
  size_t Bytes() const { return data_.capacity(); }

  // width is the bytes per value (for tests).
  int width() const { return width_; }

 private:
  static int WidthFor(int64_t offset);
  void Widen(int width);

  int64_t base_ = 0;
  uint32_t n_ = 0;
  uint8_t width_ = 0;
  std::vector<uint8_t> data_;
};

// TupleRows is every row of one dimension tuple: columns sorted by (day, step), and the open
// gauge (rows of kOpenDay) sorted by step.
class TupleRows {
 public:
  // Find returns the counter of (day, step), or zeros.
  Counter Find(int64_t day, uint32_t step) const;

  // Set stores the counter of (day, step) and returns the previous one.
  Counter Set(int64_t day, uint32_t step, const Counter& value);

  // FindOpen / SetOpen are Find / Set for the open gauge.
  Counter FindOpen(uint32_t step) const;
  Counter SetOpen(uint32_t step, const Counter& value);

  // AddPeriod adds the rows of days [from_day, to_day) into out[step * stride + offset].
  void AddPeriod(int64_t from_day, int64_t to_day, size_t stride, size_t offset,
                 Counter* out) const;

  // AddOpen adds the open gauge into out[step * stride + offset].
  void AddOpen(size_t stride, size_t offset, Counter* out) const;

  // RowCount is the number of rows (dated and open).
  size_t RowCount() const { return day_.size() + open_.size(); }

  // ShrinkToFit releases spare capacity (after a bulk load).
  void ShrinkToFit();

  // Bytes is the heap memory held.
  size_t Bytes() const;

 private:
  // LowerBound returns the first position whose (day, step) is not less than the given one.
  size_t LowerBound(int64_t day, uint32_t step) const;

  PackedColumn day_, step_, count_, value_, extra_;
  std::vector<std::pair<uint32_t, Counter>> open_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_FUNNEL_COLUMNS_H_
