// Group commit: how a Store makes acknowledged writes durable without an fsync per write and
// without an fsync under the caller's lock.
//
// With StoreOptions::sync_writes, Store::Write puts the batch into the write-ahead log without
// syncing it (so a domain lock held around the write is held only for the in-memory work) and
// notes the write's sequence number for the calling thread. Before the caller acknowledges
// anything it calls AwaitDurable (the request guard does, after the domain call has returned
// and released its lock): the first waiter fsyncs the log up to the newest sequence and every
// thread whose write that sync covers returns with it; writes arriving meanwhile are covered by
// the next sync. Many concurrent writers thus share one fsync ("group commit").
//
// What a reader may observe: a write is visible to other calls as soon as it is in the log
// (before its fsync), exactly as without sync_writes; only its acknowledgement waits. A crash
// of the process loses nothing written (the log is in the operating system's page cache); a
// power loss may lose writes not yet acknowledged — never an acknowledged one. Anything that
// depends on a write is later in the log, so it is never durable without it.
//
// Metrics (labelled by store): triad_store_log_syncs_total counts the log syncs,
// triad_store_durable_waits_total the AwaitDurable calls that had writes of the store to make
// durable (so waits / syncs is the writes acknowledged per sync), and the histogram
// triad_store_log_sync_seconds the duration of each sync.
#ifndef TRIAD_COMMON_STORAGE_DURABILITY_H_
#define TRIAD_COMMON_STORAGE_DURABILITY_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/status/status.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"

namespace triad::storage {

// GroupCommitMetrics are the Prometheus series a GroupCommit updates (a null one is skipped).
struct GroupCommitMetrics {
  // The log syncs run (triad_store_log_syncs_total).
  prometheus::Counter* syncs = nullptr;
  // The AwaitDurable calls that had writes of the database to make durable
  // (triad_store_durable_waits_total).
  prometheus::Counter* durable_waits = nullptr;
  // The duration of each log sync, in seconds (triad_store_log_sync_seconds).
  prometheus::Histogram* sync_seconds = nullptr;
};

// GroupCommitMetricsFor returns the series labelled store=`store` in the process-wide registry
// (metrics::Registry()), registering them on first use; later calls with the same name return
// the same series.
GroupCommitMetrics GroupCommitMetricsFor(std::string_view store);

// GroupCommit serialises log syncs of one database and lets many waiters share each one.
class GroupCommit : public std::enable_shared_from_this<GroupCommit> {
 public:
  // Create a GroupCommit with std::make_shared (threads hold it weakly while they wait).
  // `latest` returns the database's newest sequence number; `sync` fsyncs its log; `metrics`
  // are updated once per sync and once per AwaitDurable call with writes of this database.
  GroupCommit(std::function<uint64_t()> latest, std::function<absl::Status()> sync,
              GroupCommitMetrics metrics = {})
      : latest_(std::move(latest)), sync_(std::move(sync)), metrics_(metrics) {}

  // SyncTo returns once every write up to sequence `seq` is durable: it waits for a sync in
  // progress, or runs one itself covering every write made so far.
  absl::Status SyncTo(uint64_t seq);

  // SyncAll is SyncTo(the newest sequence number).
  absl::Status SyncAll() { return SyncTo(latest_()); }

  // Close marks the database closed (its close synced the log): later waits return at once.
  void Close();

  // durable_sequence is the newest sequence number known durable.
  uint64_t durable_sequence() const;
  // syncs counts the log syncs run (a measure of the grouping).
  uint64_t syncs() const;

  // NoteWrite records that the calling thread wrote up to `seq` in this database and must
  // AwaitDurable before acknowledging it.
  void NoteWrite(uint64_t seq);
  // NoteDependency records that the calling thread is about to acknowledge something it read
  // (e.g. the stored answer of a repeated request), so that it waits for the newest writes.
  void NoteDependency() { NoteWrite(latest_()); }

 private:
  friend absl::Status AwaitDurable();

  // AwaitWrites is SyncTo(seq) for AwaitDurable, counted as a durable wait.
  absl::Status AwaitWrites(uint64_t seq);

  std::function<uint64_t()> latest_;
  std::function<absl::Status()> sync_;
  const GroupCommitMetrics metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool syncing_ = false;
  bool closed_ = false;
  uint64_t durable_ = 0;
  uint64_t syncs_ = 0;
};

// AwaitDurable makes durable every write the calling thread noted (GroupCommit::NoteWrite)
// since its last call, then forgets them. OK when there were none. A failure means the writes
// happened but could not be made durable: the caller must not acknowledge them (UNAVAILABLE:
// the request may be retried with the same request id).
absl::Status AwaitDurable();

// HasPendingWrites is true when the calling thread noted writes it has not awaited yet.
bool HasPendingWrites();

}  // namespace triad::storage

#endif  // TRIAD_COMMON_STORAGE_DURABILITY_H_
