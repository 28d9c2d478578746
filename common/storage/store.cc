// Implements Store on RocksDB.
#include "common/storage/store.h"

#include <filesystem>
#include <utility>

#include "common/storage/key_codec.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"

namespace triad::storage {

absl::Status ToStatus(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = "rocksdb: " + s.ToString();
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return absl::UnavailableError(msg);
  if (s.IsShutdownInProgress()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("store: path is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return absl::InternalError("store: cannot create " + options.path + ": " + ec.message());

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = 16 << 20;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& name : options.column_families) {
    if (name == rocksdb::kDefaultColumnFamilyName) continue;
    descriptors.emplace_back(name, cf_options);
  }
  // Column families created by a newer release stay openable: add any that exist on disk.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    for (const std::string& name : existing) {
      bool known = false;
      for (const auto& d : descriptors) known = known || d.name == name;
      if (!known) descriptors.emplace_back(name, cf_options);
    }
  }

  std::unique_ptr<Store> store(new Store(options));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return ToStatus(s);
  store->db_.reset(raw);
  for (size_t i = 0; i < handles.size(); ++i) store->handles_[descriptors[i].name] = handles[i];
  store->write_options_.sync = options.sync_writes;
  return store;
}

Store::~Store() { (void)Close(); }

rocksdb::ColumnFamilyHandle* Store::Cf(std::string_view name) const {
  auto it = handles_.find(name);
  return it == handles_.end() ? nullptr : it->second;
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> Store::Handle(std::string_view cf) const {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  rocksdb::ColumnFamilyHandle* h = Cf(cf);
  if (h == nullptr)
    return absl::InvalidArgumentError("store: unknown column family " + std::string(cf));
  return h;
}

absl::Status Store::Write(rocksdb::WriteBatch& batch) {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  absl::Status s = ToStatus(db_->Write(write_options_, &batch));
  if (!s.ok()) return s;
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    listeners = listeners_;
  }
  for (auto& l : listeners) l();
  return absl::OkStatus();
}

absl::StatusOr<std::string> Store::Get(std::string_view cf, std::string_view key) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> h = Handle(cf);
  if (!h.ok()) return h.status();
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), *h, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return absl::NotFoundError("not found");
  if (!s.ok()) return ToStatus(s);
  return value;
}

absl::StatusOr<bool> Store::Exists(std::string_view cf, std::string_view key) const {
  absl::StatusOr<std::string> v = Get(cf, key);
  if (v.ok()) return true;
  if (absl::IsNotFound(v.status())) return false;
  return v.status();
}

absl::Status Store::ScanRange(std::string_view cf, std::string_view begin, std::string_view end,
                              const ScanFn& fn) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> h = Handle(cf);
  if (!h.ok()) return h.status();
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, *h));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  return ToStatus(it->status());
}

absl::Status Store::ScanPrefix(std::string_view cf, std::string_view prefix, const ScanFn& fn,
                               std::string_view start_after) const {
  std::string end = PrefixSuccessor(prefix);
  std::string begin(prefix);
  if (!start_after.empty() && start_after > prefix) {
    begin = std::string(start_after);
    begin.push_back('\0');  // the smallest key after start_after
  }
  return ScanRange(cf, begin, end, fn);
}

absl::Status Store::ScanPrefixReverse(std::string_view cf, std::string_view prefix,
                                      const ScanFn& fn) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> h = Handle(cf);
  if (!h.ok()) return h.status();
  std::string end = PrefixSuccessor(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower(prefix.data(), prefix.size());
  ro.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, *h));
  if (end.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(end);
    if (it->Valid() && it->key().compare(rocksdb::Slice(end)) >= 0) it->Prev();
  }
  for (; it->Valid(); it->Prev()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  return ToStatus(it->status());
}

absl::Status Store::SyncWal() {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  return ToStatus(db_->SyncWAL());
}

void Store::AddWriteListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

absl::Status Store::Close() {
  if (!db_) return absl::OkStatus();
  absl::Status status = ToStatus(db_->SyncWAL());
  rocksdb::CancelAllBackgroundWork(db_.get(), /*wait=*/true);
  for (auto& [name, handle] : handles_) {
    db_->DestroyColumnFamilyHandle(handle);
  }
  handles_.clear();
  rocksdb::Status s = db_->Close();
  if (status.ok() && !s.ok()) status = ToStatus(s);
  db_.reset();
  return status;
}

}  // namespace triad::storage
