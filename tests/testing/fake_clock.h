// FakeClock: a settable clock for domain options (`clock = fake.AsFunction()`), so tests control
// every timestamp and never sleep.
#ifndef TRIAD_TESTS_TESTING_FAKE_CLOCK_H_
#define TRIAD_TESTS_TESTING_FAKE_CLOCK_H_

#include <functional>
#include <mutex>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace triad::testing {

class FakeClock {
 public:
  // The default start, 2026-03-02 09:00 UTC, is a Monday morning.
  explicit FakeClock(absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0),
                                                        absl::UTCTimeZone()))
      : now_(start) {}

  // Now returns the current fake time.
  absl::Time Now() const {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  // Set moves the clock to `t` (backwards too).
  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }
  // Advance moves the clock forward by `d`.
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  // AsFunction returns a clock function reading this clock (which must outlive it).
  std::function<absl::Time()> AsFunction() const {
    return [this] { return Now(); };
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_FAKE_CLOCK_H_
