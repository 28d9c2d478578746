// Locks for a domain's writes: a reader/writer mutex whose waiting writers can be given
// precedence over new readers, and striped locks over keys (so writes that touch different
// keys run side by side and writes that share a key take turns).
#ifndef TRIAD_COMMON_UTIL_LOCKS_H_
#define TRIAD_COMMON_UTIL_LOCKS_H_

#include <pthread.h>

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::util {

// SharedMutex is a reader/writer lock meeting the C++ SharedMutex requirements (so
// std::lock_guard, std::unique_lock and std::shared_lock work on it). With
// Preference::kReaders it behaves as std::shared_mutex does on glibc: a shared lock is granted
// while a writer waits, so a steady stream of shared holders can keep a writer out
// indefinitely. With Preference::kWriters a waiting writer stops new shared locks, so the
// writer gets in as soon as the current holders leave; a thread must then not take a shared
// lock it already holds again (a writer queued in between would deadlock it).
class SharedMutex {
 public:
  enum class Preference { kReaders, kWriters };

  explicit SharedMutex(Preference preference = Preference::kReaders);
  ~SharedMutex();
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock();
  bool try_lock();
  void unlock();
  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

 private:
  pthread_rwlock_t rw_;
};

// KeyLocks serialises work per key without a mutex per key: a key maps to one of a fixed set of
// stripes, and Lock takes the stripes of all its keys in one order (so two callers locking
// overlapping sets cannot deadlock). Keys that share a stripe by chance only take turns: with
// 16 callers of 3 keys each, 64 stripes made most callers wait on an unrelated one, 4,096 make
// about one in thirty (the stripes are 160 KiB).
class KeyLocks {
 public:
  static constexpr size_t kStripes = 4096;

  // Guard holds the stripes of one Lock call until it is destroyed.
  class Guard {
   public:
    Guard(Guard&& other) noexcept
        : locks_(std::exchange(other.locks_, nullptr)), stripes_(std::move(other.stripes_)) {}
    Guard& operator=(Guard&&) = delete;
    Guard(const Guard&) = delete;
    ~Guard();

    // stripes lists the stripes held, ascending (for tests).
    const std::vector<size_t>& stripes() const { return stripes_; }

   private:
    friend class KeyLocks;
    Guard(KeyLocks* locks, std::vector<size_t> stripes)
        : locks_(locks), stripes_(std::move(stripes)) {}
    KeyLocks* locks_;
    std::vector<size_t> stripes_;
  };

  KeyLocks() = default;
  KeyLocks(const KeyLocks&) = delete;
  KeyLocks& operator=(const KeyLocks&) = delete;

  // StripeOf is the stripe that `key` maps to.
  static size_t StripeOf(std::string_view key);

  // Lock blocks until it holds the stripe of every key of `keys` (empty keys are skipped) and
  // returns the guard that releases them.
  Guard Lock(const std::vector<std::string>& keys);

 private:
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_LOCKS_H_
