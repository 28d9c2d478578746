// Store: a RocksDB database with named column families, one write path (an atomic WriteBatch),
// point reads, ordered prefix/range iteration, a bounded block cache and an orderly close.
#ifndef TRIAD_COMMON_STORAGE_STORE_H_
#define TRIAD_COMMON_STORAGE_STORE_H_

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
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace triad::storage {

struct StoreOptions {
  // Directory of the database; created when missing.
  std::string path;
  // Column families besides "default". Keep the list append-only across releases.
  std::vector<std::string> column_families;
  // Size of the shared LRU block cache, in bytes.
  size_t block_cache_bytes = 64 << 20;
  // fsync the WAL on every write (survives power loss, not only process death).
  bool sync_writes = false;
};

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
  absl::Status Write(rocksdb::WriteBatch& batch);

  // Get reads one value; NotFound when the key is absent.
  absl::StatusOr<std::string> Get(std::string_view cf, std::string_view key) const;

  // Exists is true when the key is present.
  absl::StatusOr<bool> Exists(std::string_view cf, std::string_view key) const;

  // ScanPrefix visits the keys starting with `prefix` in order, beginning after `start_after`
  // when it is non-empty (for pagination).
  absl::Status ScanPrefix(std::string_view cf, std::string_view prefix, const ScanFn& fn,
                          std::string_view start_after = {}) const;

  // ScanRange visits keys in [begin, end) in order; an empty `end` means "to the last key".
  absl::Status ScanRange(std::string_view cf, std::string_view begin, std::string_view end,
                         const ScanFn& fn) const;

  // ScanPrefixReverse visits the keys starting with `prefix` from the last to the first.
  absl::Status ScanPrefixReverse(std::string_view cf, std::string_view prefix,
                                 const ScanFn& fn) const;

  // SyncWal makes every write so far durable on disk (fsync of the write-ahead log).
  absl::Status SyncWal();

  // AddWriteListener registers a callback run after every successful Write.
  void AddWriteListener(std::function<void()> listener);

  // Close syncs the WAL, stops background work and closes the database. Idempotent.
  absl::Status Close();

  // db gives access to the underlying database for what this class does not wrap.
  rocksdb::DB* db() const { return db_.get(); }

  const std::string& path() const { return options_.path; }

 private:
  explicit Store(StoreOptions options) : options_(std::move(options)) {}
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Handle(std::string_view cf) const;

  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> handles_;
  rocksdb::WriteOptions write_options_;
  std::mutex listeners_mu_;
  std::vector<std::function<void()>> listeners_;
};

// ToStatus converts a RocksDB status to an absl::Status.
absl::Status ToStatus(const rocksdb::Status& s);

}  // namespace triad::storage

#endif  // TRIAD_COMMON_STORAGE_STORE_H_
