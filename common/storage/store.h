// Store: a RocksDB database with named column families, one write path (an atomic WriteBatch),
// point reads, ordered prefix/range iteration, a bounded block cache and an orderly close.
#ifndef TRIAD_COMMON_STORAGE_STORE_H_
#define TRIAD_COMMON_STORAGE_STORE_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/storage/durability.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace triad::storage {

struct StoreOptions {
  // Directory of the database; created when missing.
  std::string path;
  // Name of the store in its metrics (label `store`); empty means the last component of path.
  // Keep it stable and one per database, since every name is a set of series kept until the
  // process exits.
  std::string name;
  // Column families besides "default". Keep the list append-only across releases.
  std::vector<std::string> column_families;
  // Size of the shared LRU block cache, in bytes.
  size_t block_cache_bytes = 64 << 20;
  // Acknowledged writes survive power loss, not only process death: each Write is noted for
  // the calling thread and AwaitDurable (common/storage/durability.h) fsyncs the WAL for many
  // concurrent writes at once (group commit), outside any lock the writer held.
  bool sync_writes = false;
  // Column families whose records expire: written with PutExpiring, removed by compaction
  // once older than the retention (the dedupe records of consumed events and requests).
  std::map<std::string, absl::Duration> retention;
  // The clock that dates expiring records (tests move it forward).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // The RocksDB environment (tests inject file-system faults); nullptr means the default.
  rocksdb::Env* env = nullptr;
  // Opens a frozen copy (a checkpoint being backed up): the write-ahead log is not flushed
  // at recovery and nothing is compacted, so the files stay those of the copy.
  bool frozen_copy = false;
  // Bulk load (offline seeding tools only, never a service): writes skip the write-ahead log,
  // so they are on disk only after Flush (Close flushes too); a crash before that loses them.
  bool bulk_load = false;
};

// ScanReadOptions are the read options of an iterator that sees every key in order. Each column
// family also filters by a key prefix (below); an iterator that reads across prefixes must use
// these (rocksdb::ReadOptions() alone would let RocksDB skip files by the seek key's prefix).
rocksdb::ReadOptions ScanReadOptions();

// ScanFn receives each key/value in order; returning false stops the scan.
using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class Store {
 public:
  // Open opens (creating if needed) the database with the given column families.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Cf returns the handle of a column family opened by Open, or nullptr if there is none.
  rocksdb::ColumnFamilyHandle* Cf(std::string_view name) const;

  // Write applies the batch atomically across column families, then tells the listeners.
  // With sync_writes the write is not yet durable when Write returns: the caller (the request
  // guard, for every RPC) calls AwaitDurable before acknowledging it.
  // After a failed write (e.g. a full disk put RocksDB into read-only mode) the next Write
  // first tries to resume the database, so a store recovers once the fault is gone.
  absl::Status Write(rocksdb::WriteBatch& batch);

  // EnsureColumnFamily creates the column family `name` when the database does not have it.
  // Call it during start-up, before the store is used concurrently.
  absl::Status EnsureColumnFamily(std::string_view name);

  // PutExpiring adds to `batch` a record of an expiring column family (see
  // StoreOptions::retention), stamped with the current time.
  absl::Status PutExpiring(rocksdb::WriteBatch& batch, std::string_view cf, std::string_view key,
                           std::string_view value) const;

  // GetExpiring reads a record written by PutExpiring (nullopt when absent). A record past
  // its retention may still be returned until compaction has removed it.
  absl::StatusOr<std::optional<std::string>> GetExpiring(std::string_view cf,
                                                         std::string_view key) const;

  // CompactExpired compacts every expiring column family, dropping the records past their
  // retention. Runs in the background of a service (see ServiceRuntime) and in tests.
  absl::Status CompactExpired();

  // LiveSstBytes is the size of the SST files of column family `cf` on disk.
  uint64_t LiveSstBytes(std::string_view cf) const;

  // Get reads one value; NotFound when the key is absent.
  absl::StatusOr<std::string> Get(std::string_view cf, std::string_view key) const;

  // MultiGet reads many keys of one column family in one batched lookup (cheaper than a Get
  // each: RocksDB shares the filter and block lookups); the answer holds one entry per key,
  // in order, nullopt where a key is absent.
  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      std::string_view cf, const std::vector<std::string>& keys) const;

  // Exists is true when the key is present.
  absl::StatusOr<bool> Exists(std::string_view cf, std::string_view key) const;

  // ScanPrefix visits the keys starting with `prefix` in order, beginning after `start_after`
  // when it is non-empty (for pagination). A prefix of exactly two whole string components
  // (KeyBuilder().Str(a).Str(b)) is looked up in the Bloom filters first: the memtables and
  // files that hold no key with it are not read (a duplicate check that finds nothing, a
  // client with no earlier reviewer).
  absl::Status ScanPrefix(std::string_view cf, std::string_view prefix, const ScanFn& fn,
                          std::string_view start_after = {}) const;

  // ScanRange visits keys in [begin, end) in order; an empty `end` means "to the last key".
  absl::Status ScanRange(std::string_view cf, std::string_view begin, std::string_view end,
                         const ScanFn& fn) const;

  // ScanPrefixReverse visits the keys starting with `prefix` from the last to the first.
  absl::Status ScanPrefixReverse(std::string_view cf, std::string_view prefix,
                                 const ScanFn& fn) const;

  // SyncWal makes every write so far durable on disk (fsync of the write-ahead log), sharing
  // the fsync with concurrent callers (group commit).
  absl::Status SyncWal();

  // NoteDependency makes the calling thread's next AwaitDurable wait for every write so far
  // (before acknowledging an answer read from the store, e.g. a repeated request's). A no-op
  // without sync_writes.
  void NoteDependency() const;

  // group_commit is the store's log-sync coordinator (counters for tests and metrics).
  const GroupCommit& group_commit() const { return *group_; }

  // AddWriteListener registers a callback run after every successful Write.
  void AddWriteListener(std::function<void()> listener);

  // Flush writes every column family's memtable to SST files (ends a bulk load: its writes
  // skipped the write-ahead log).
  absl::Status Flush();

  // Close syncs the WAL, stops background work and closes the database. Idempotent.
  absl::Status Close();

  // db gives access to the underlying database for what this class does not wrap.
  rocksdb::DB* db() const { return db_.get(); }

  const std::string& path() const { return options_.path; }

 private:
  explicit Store(StoreOptions options) : options_(std::move(options)) {}
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Handle(std::string_view cf) const;
  // Scan visits keys in [begin, end); `prefix_filtered` when they all share begin's
  // two-component prefix, so the Bloom filters may skip memtables and files.
  absl::Status Scan(std::string_view cf, std::string_view begin, std::string_view end,
                    bool prefix_filtered, const ScanFn& fn) const;
  // SyncWalNow runs one fsync of the log (GroupCommit calls it; one at a time).
  absl::Status SyncWalNow();

  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> handles_;
  rocksdb::WriteOptions write_options_;
  std::mutex listeners_mu_;
  std::atomic<bool> needs_resume_{false};
  std::shared_ptr<GroupCommit> group_;
  rocksdb::ColumnFamilyOptions cf_options_;
  // Compaction filters of the expiring column families (RocksDB does not own them).
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters_;
  std::vector<std::function<void()>> listeners_;
};

// BlockCacheShardBits is log2 of the number of shards of a block cache of `capacity` bytes:
// each shard holds at least 16 MB, so the index and filter blocks of a large SST file stay
// cached beside the data blocks (at most 64 shards).
int BlockCacheShardBits(size_t capacity);

// ToStatus converts a RocksDB status to an absl::Status.
absl::Status ToStatus(const rocksdb::Status& s);

}  // namespace triad::storage

#endif  // TRIAD_COMMON_STORAGE_STORE_H_
