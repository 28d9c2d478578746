// Implements GroupCommit and the per-thread list of writes awaiting durability.
#include "common/storage/durability.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/server/metrics.h"
#include "prometheus/family.h"

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

GroupCommitMetrics GroupCommitMetricsFor(std::string_view store) {
  auto& reg = metrics::Registry();
  static auto& syncs = prometheus::BuildCounter()
                           .Name("triad_store_log_syncs_total")
                           .Help("Syncs of the write-ahead log run by group commit.")
                           .Register(reg);
  static auto& waits =
      prometheus::BuildCounter()
          .Name("triad_store_durable_waits_total")
          .Help(
              "AwaitDurable calls with writes of the store to make durable (divided by the "
              "log syncs: the writes acknowledged per sync).")
          .Register(reg);
  static auto& seconds = prometheus::BuildHistogram()
                             .Name("triad_store_log_sync_seconds")
                             .Help("Duration of each sync of the write-ahead log.")
                             .Register(reg);
  const prometheus::Labels labels{{"store", std::string(store)}};
  return GroupCommitMetrics{
      .syncs = &syncs.Add(labels),
      .durable_waits = &waits.Add(labels),
      .sync_seconds = &seconds.Add(
          labels,
          prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
  };
}

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
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = sync_();
    if (metrics_.sync_seconds != nullptr) {
      metrics_.sync_seconds->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (metrics_.syncs != nullptr) metrics_.syncs->Increment();
    lock.lock();
    syncing_ = false;
    ++syncs_;
    if (s.ok()) durable_ = std::max(durable_, target);
    cv_.notify_all();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status GroupCommit::AwaitWrites(uint64_t seq) {
  if (metrics_.durable_waits != nullptr) metrics_.durable_waits->Increment();
  return SyncTo(seq);
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
    absl::Status s = group->AwaitWrites(p.seq);
    if (first.ok() && !s.ok()) first = s;
  }
  pending.clear();
  return first;
}

bool HasPendingWrites() { return !ThreadPending().empty(); }

}  // namespace triad::storage
