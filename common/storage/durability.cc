// Implements GroupCommit and the per-thread list of writes awaiting durability.
#include "common/storage/durability.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace triad::storage {
namespace {

// The writes a thread made and has not yet awaited: one entry per database (a process has
// one or two), holding the database's GroupCommit weakly so a closed and destroyed store is
// simply skipped (its close synced the log).
struct Pending {
  std::weak_ptr<GroupCommit> group;
  uint64_t seq = 0;
};

std::vector<Pending>& ThreadPending() {
  thread_local std::vector<Pending> pending;
  return pending;
}

}  // namespace

absl::Status GroupCommit::SyncTo(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_ && durable_ < seq) {
    if (syncing_) {
      cv_.wait(lock);
      continue;
    }
    syncing_ = true;
    // Every write numbered up to `target` has reached the log file before its Write returned,
    // so one sync started now covers all of them.
    const uint64_t target = latest_();
    lock.unlock();
    absl::Status s = sync_();
    lock.lock();
    syncing_ = false;
    ++syncs_;
    if (s.ok()) durable_ = std::max(durable_, target);
    cv_.notify_all();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void GroupCommit::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

uint64_t GroupCommit::durable_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_;
}

uint64_t GroupCommit::syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

void GroupCommit::NoteWrite(uint64_t seq) {
  std::weak_ptr<GroupCommit> self = weak_from_this();
  std::vector<Pending>& pending = ThreadPending();
  for (Pending& p : pending) {
    // Same control block: the same GroupCommit (never a later one at a reused address).
    if (!p.group.owner_before(self) && !self.owner_before(p.group)) {
      p.seq = std::max(p.seq, seq);
      return;
    }
  }
  pending.push_back(Pending{std::move(self), seq});
}

absl::Status AwaitDurable() {
  std::vector<Pending>& pending = ThreadPending();
  absl::Status first;
  for (Pending& p : pending) {
    std::shared_ptr<GroupCommit> group = p.group.lock();
    if (!group) continue;
    absl::Status s = group->SyncTo(p.seq);
    if (first.ok() && !s.ok()) first = s;
  }
  pending.clear();
  return first;
}

bool HasPendingWrites() { return !ThreadPending().empty(); }

}  // namespace triad::storage
