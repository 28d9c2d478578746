// Attributes of the calling thread: its name (as `top -H` and /proc show it) and its CPU
// priority, so a service's background work (event relay, consumers, periodic tasks) yields the
// cores to the threads answering requests.
#ifndef TRIAD_COMMON_UTIL_THREAD_H_
#define TRIAD_COMMON_UTIL_THREAD_H_

#include <functional>
#include <string_view>

#include "absl/status/status.h"

namespace triad::util {

// kMaxNiceSteps is the most a thread can be lowered (Linux nice values run from -20 to 19).
inline constexpr int kMaxNiceSteps = 19;

// kDefaultBackgroundNice is how many nice values a service's background threads run below its
// request handlers by default (--background_nice and RuntimeOptions take it from here): a
// share of about 1:3 when both want the same core.
inline constexpr int kDefaultBackgroundNice = 5;

// NameThisThread names the calling thread (cut to the 15 bytes Linux keeps).
void NameThisThread(std::string_view name);

// LowerThisThreadPriority lowers the calling thread's CPU priority by `steps` nice values
// (capped at 19, the lowest; 0 leaves it). Linux keeps a nice value per thread, and threads it
// starts later inherit it. Lowering needs no privilege; raising it back would.
absl::Status LowerThisThreadPriority(int steps);

// RunAsBackgroundThread names the calling thread and lowers it by `nice_steps`; a failure to
// lower is logged, not fatal (the work runs either way).
void RunAsBackgroundThread(std::string_view name, int nice_steps);

// RunOnLoweredThread runs `fn` on a short-lived thread lowered by `nice_steps` and waits for
// it: the threads `fn` starts (e.g. librdkafka's, when it creates a client) inherit the lower
// priority while the caller keeps its own (which an unprivileged thread could not raise back).
void RunOnLoweredThread(int nice_steps, const std::function<void()>& fn);

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_THREAD_H_
