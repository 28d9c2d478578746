// Implements SharedMutex (over a pthread rwlock, whose glibc kinds give the writer preference)
// and KeyLocks.
#include "common/util/locks.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace triad::util {

SharedMutex::SharedMutex(Preference preference) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, preference == Preference::kWriters
                                           ? PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
                                           : PTHREAD_RWLOCK_PREFER_READER_NP);
  pthread_rwlock_init(&rw_, &attr);
  pthread_rwlockattr_destroy(&attr);
}

SharedMutex::~SharedMutex() { pthread_rwlock_destroy(&rw_); }

void SharedMutex::lock() { pthread_rwlock_wrlock(&rw_); }
bool SharedMutex::try_lock() { return pthread_rwlock_trywrlock(&rw_) == 0; }
void SharedMutex::unlock() { pthread_rwlock_unlock(&rw_); }
void SharedMutex::lock_shared() { pthread_rwlock_rdlock(&rw_); }
bool SharedMutex::try_lock_shared() { return pthread_rwlock_tryrdlock(&rw_) == 0; }
void SharedMutex::unlock_shared() { pthread_rwlock_unlock(&rw_); }

size_t KeyLocks::StripeOf(std::string_view key) {
  return absl::Hash<std::string_view>{}(key) % kStripes;
}

KeyLocks::Guard KeyLocks::Lock(const std::vector<std::string>& keys) {
  std::vector<size_t> stripes;
  stripes.reserve(keys.size());
  for (const std::string& key : keys) {
    if (!key.empty()) stripes.push_back(StripeOf(key));
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (size_t s : stripes) stripes_[s].lock();
  return Guard(this, std::move(stripes));
}

KeyLocks::Guard::~Guard() {
  if (locks_ == nullptr) return;
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) locks_->stripes_[*it].unlock();
}

}  // namespace triad::util
