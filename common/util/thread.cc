// Implements the calling thread's name and CPU priority (pthread_setname_np, setpriority on the
// thread id).
#include "common/util/thread.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/config/logging.h"

namespace triad::util {

void NameThisThread(std::string_view name) {
  std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

absl::Status LowerThisThreadPriority(int steps) {
  if (steps < 0 || steps > kMaxNiceSteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("nice steps must be in [0, ", kMaxNiceSteps, "], got ", steps));
  }
  if (steps == 0) return absl::OkStatus();
  const id_t tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) {
    return absl::InternalError(absl::StrCat("getpriority: ", std::strerror(errno)));
  }
  const int wanted = std::min(current + steps, kMaxNiceSteps);
  if (setpriority(PRIO_PROCESS, tid, wanted) != 0) {
    return absl::InternalError(absl::StrCat("setpriority: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void RunAsBackgroundThread(std::string_view name, int nice_steps) {
  NameThisThread(name);
  absl::Status s = LowerThisThreadPriority(nice_steps);
  if (!s.ok()) {
    logging::Warn("cannot lower a background thread's priority; it runs at the handlers'",
                  {{"thread", std::string(name)}, {"error", s}});
  }
}

void RunOnLoweredThread(int nice_steps, const std::function<void()>& fn) {
  if (nice_steps == 0) {
    fn();
    return;
  }
  std::thread([&] {
    RunAsBackgroundThread("triad-starter", nice_steps);
    fn();
  }).join();
}

}  // namespace triad::util
