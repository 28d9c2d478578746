// Implements Store on RocksDB.
#include "common/storage/store.h"

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "common/storage/key_codec.h"
#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace triad::storage {
namespace {

// Expiring records: a marker byte (never the first byte of a protobuf message, whose field
// number 0 is invalid), the write time in Unix microseconds (fixed 8 bytes, big-endian), the
// value.
constexpr char kExpiringMarker = 0x01;
constexpr size_t kExpiringHeader = 9;

std::string EncodeExpiring(absl::Time written, std::string_view value) {
  std::string out;
  out.reserve(kExpiringHeader + value.size());
  out.push_back(kExpiringMarker);
  const uint64_t us = static_cast<uint64_t>(absl::ToUnixMicros(written));
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((us >> (8 * i)) & 0xFF));
  out.append(value);
  return out;
}

// DecodeExpiring returns false for a value not written by PutExpiring.
bool DecodeExpiring(std::string_view raw, absl::Time* written, std::string_view* value) {
  if (raw.size() < kExpiringHeader || raw[0] != kExpiringMarker) return false;
  uint64_t us = 0;
  for (size_t i = 1; i < kExpiringHeader; ++i) us = (us << 8) | static_cast<uint8_t>(raw[i]);
  *written = absl::FromUnixMicros(static_cast<int64_t>(us));
  *value = raw.substr(kExpiringHeader);
  return true;
}

// ExpiryFilter drops expiring records older than the retention (and values that are not in
// the expiring format: records of an older release that never expire otherwise).
class ExpiryFilter : public rocksdb::CompactionFilter {
 public:
  ExpiryFilter(std::string name, absl::Duration retention, std::function<absl::Time()> clock)
      : name_("triad.expiry." + std::move(name)), retention_(retention), clock_(std::move(clock)) {}

  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& existing, std::string*,
              bool*) const override {
    absl::Time written;
    std::string_view value;
    if (!DecodeExpiring(std::string_view(existing.data(), existing.size()), &written, &value)) {
      return true;
    }
    return clock_() - written > retention_;
  }

  const char* Name() const override { return name_.c_str(); }

 private:
  std::string name_;
  absl::Duration retention_;
  std::function<absl::Time()> clock_;
};

// StoreName is the `store` label of the store's metrics: options.name, or else the last
// component of its path ("/var/lib/triad/clients/" is "clients").
std::string StoreName(const StoreOptions& options) {
  if (!options.name.empty()) return options.name;
  std::string_view path = options.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash != std::string_view::npos && slash + 1 < path.size()) path.remove_prefix(slash + 1);
  return std::string(path);
}

}  // namespace

absl::Status ToStatus(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = "rocksdb: " + s.ToString();
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return absl::UnavailableError(msg);
  if (s.IsShutdownInProgress()) return absl::UnavailableError(msg);
  // I/O errors (a full disk, a failing device) are transient: the caller may retry once the
  // fault is gone, and the consumer never dead-letters an event because of one.
  if (s.IsIOError() || s.IsIncomplete() || s.IsAborted()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

// TwoStringComponents extracts the first two string components of a key (KeyBuilder's Str
// encoding), the prefix its column family's Bloom filters hold besides whole keys. Keys that
// do not begin with two whole string components are outside its domain.
class TwoStringComponents : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "triad.TwoStringComponents"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), StringComponentsLength(View(key), 2));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return StringComponentsLength(View(key), 2) != std::string_view::npos;
  }

 private:
  static std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
};

int BlockCacheShardBits(size_t capacity) {
  // RocksDB's own choice splits even a 64 MB cache into 64 shards of 1 MB. An SST file of
  // 64 MB has an index block of about 0.5 MB and a filter block of up to 1.5 MB, and a block
  // lives in one shard: in a 1 MB shard it evicts, and is evicted by, the data blocks beside
  // it, so point reads at 1M records kept reading index and filter blocks from the file
  // (pipeline's GetOpportunity ran at half its speed at 10k records). A shard of at least
  // 16 MB keeps them cached; with 2-8 cores, a few shards see no lock contention to speak of.
  constexpr size_t kMinShardBytes = size_t{16} << 20;
  constexpr int kMaxShardBits = 6;
  int bits = 0;
  while (bits < kMaxShardBits && (capacity >> (bits + 1)) >= kMinShardBytes) ++bits;
  return bits;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("store: path is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return absl::InternalError("store: cannot create " + options.path + ": " + ec.message());

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes,
                                           BlockCacheShardBits(options.block_cache_bytes));
  table.cache_index_and_filter_blocks = true;
  // Bloom filters: a point lookup of an absent key (every dedupe check of a new event or
  // request) reads no data block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = 16 << 20;
  // A Bloom filter over each memtable's whole keys (2 % of the write buffer): a point lookup of
  // a key the memtable does not hold (an absent repeat-business record, a new request id or
  // event id) skips the skiplist walk, which perf showed as the largest cost of a page of
  // ListClients.
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.memtable_whole_key_filtering = true;
  // The filters (SST and memtable) also hold each key's first two string components, so a scan
  // of such a prefix (ScanPrefix) skips what holds none: the duplicate check of a new client
  // seeks four index prefixes that usually match nothing, and perf showed those seeks as a
  // third of a create's domain work. Every other iterator reads in total order
  // (ScanReadOptions).
  cf_options.prefix_extractor = std::make_shared<TwoStringComponents>();
  cf_options.disable_auto_compactions = options.frozen_copy;
  std::unique_ptr<Store> store(new Store(options));
  auto options_for = [&](const std::string& name) {
    rocksdb::ColumnFamilyOptions o = cf_options;
    auto it = options.retention.find(name);
    if (it != options.retention.end()) {
      auto filter = std::make_unique<ExpiryFilter>(name, it->second, options.clock);
      o.compaction_filter = filter.get();
      store->filters_.push_back(std::move(filter));
    }
    return o;
  };

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  // Each group of concurrent writes is applied by its leader alone, and waiting writers block
  // instead of spinning. RocksDB's defaults (concurrent memtable inserts by every member of the
  // group, and a waiter yielding the CPU in a loop for up to 100 us before it sleeps) suit many
  // cores; with two, a group finished only when each of its members got a core back, and the
  // spinning waiters took cores from the writer they waited on. Measured build against build
  // (bench/grpc/calls_on_build.py, 3 runs each, sync_writes=false): CreateClient 3,434 -> 3,632
  // per second, AdvanceStage 4,891 -> 5,362; with sync_writes=true the two stayed within the
  // runs' spread (2,793 -> 2,858 and 4,017 -> 3,827).
  db_options.allow_concurrent_memtable_write = false;
  db_options.enable_write_thread_adaptive_yield = false;
  if (options.env != nullptr) db_options.env = options.env;
  db_options.avoid_flush_during_recovery = options.frozen_copy;
  db_options.avoid_flush_during_shutdown = options.frozen_copy;
  db_options.create_if_missing = !options.frozen_copy;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& name : options.column_families) {
    if (name == rocksdb::kDefaultColumnFamilyName) continue;
    descriptors.emplace_back(name, options_for(name));
  }
  // Column families created by a newer release stay openable: add any that exist on disk.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    for (const std::string& name : existing) {
      bool known = false;
      for (const auto& d : descriptors) known = known || d.name == name;
      if (!known) descriptors.emplace_back(name, options_for(name));
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return ToStatus(s);
  store->db_.reset(raw);
  for (size_t i = 0; i < handles.size(); ++i) store->handles_[descriptors[i].name] = handles[i];
  // Never an fsync inside Write: with sync_writes the caller awaits a grouped sync instead.
  store->write_options_.sync = false;
  store->write_options_.disableWAL = options.bulk_load;
  rocksdb::DB* db = raw;
  Store* self = store.get();
  // A frozen copy never syncs through group commit: it exports no series.
  GroupCommitMetrics metrics;
  if (!options.frozen_copy) metrics = GroupCommitMetricsFor(StoreName(options));
  store->group_ = std::make_shared<GroupCommit>([db] { return db->GetLatestSequenceNumber(); },
                                                [self] { return self->SyncWalNow(); }, metrics);
  store->cf_options_ = cf_options;
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

namespace internal {

// RocksDB's DB::Write is reached through these two functions, never inlined, so that every
// ThreadSanitizer report inside it carries a frame naming exactly that call: RocksDB synchronises
// its concurrent writers (write groups, their leaders' shared scratch batch) with its own atomics
// and futexes, which TSan cannot see in Debian's uninstrumented library, and scripts/tsan.supp
// suppresses the accesses below WriteToRocksDb only (nothing of ours runs below it).
[[gnu::noinline]] rocksdb::Status CallRocksDbWrite(rocksdb::DB* db,
                                                   const rocksdb::WriteOptions& options,
                                                   rocksdb::WriteBatch* batch) {
  return db->Write(options, batch);
}

// WriteToRocksDb applies `batch` to `db` (see CallRocksDbWrite).
[[gnu::noinline]] rocksdb::Status WriteToRocksDb(rocksdb::DB* db,
                                                 const rocksdb::WriteOptions& options,
                                                 rocksdb::WriteBatch* batch) {
  return CallRocksDbWrite(db, options, batch);
}

}  // namespace internal

absl::Status Store::Write(rocksdb::WriteBatch& batch) {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  if (needs_resume_.load()) {
    // A background error (e.g. no space) makes RocksDB read-only until resumed.
    rocksdb::Status r = db_->Resume();
    if (r.ok()) needs_resume_ = false;
  }
  absl::Status s = ToStatus(internal::WriteToRocksDb(db_.get(), write_options_, &batch));
  if (!s.ok()) {
    needs_resume_ = true;
    return s;
  }
  if (options_.sync_writes) group_->NoteWrite(db_->GetLatestSequenceNumber());
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    listeners = listeners_;
  }
  for (auto& l : listeners) l();
  return absl::OkStatus();
}

absl::Status Store::EnsureColumnFamily(std::string_view name) {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  if (Cf(name) != nullptr) return absl::OkStatus();
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(cf_options_, std::string(name), &handle);
  if (!s.ok()) return ToStatus(s);
  handles_[std::string(name)] = handle;
  return absl::OkStatus();
}

absl::Status Store::PutExpiring(rocksdb::WriteBatch& batch, std::string_view cf,
                                std::string_view key, std::string_view value) const {
  rocksdb::ColumnFamilyHandle* h = Cf(cf);
  if (h == nullptr) {
    return absl::FailedPreconditionError("store: no column family " + std::string(cf));
  }
  return ToStatus(batch.Put(h, rocksdb::Slice(key.data(), key.size()),
                            EncodeExpiring(options_.clock(), value)));
}

absl::StatusOr<std::optional<std::string>> Store::GetExpiring(std::string_view cf,
                                                              std::string_view key) const {
  absl::StatusOr<std::string> raw = Get(cf, key);
  if (absl::IsNotFound(raw.status())) return std::optional<std::string>();
  if (!raw.ok()) return raw.status();
  absl::Time written;
  std::string_view value;
  if (!DecodeExpiring(*raw, &written, &value)) return std::optional<std::string>();
  return std::optional<std::string>(std::string(value));
}

absl::Status Store::CompactExpired() {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (const auto& [name, retention] : options_.retention) {
    rocksdb::ColumnFamilyHandle* h = Cf(name);
    if (h == nullptr) continue;
    rocksdb::FlushOptions fo;
    rocksdb::Status s = db_->Flush(fo, h);
    if (s.ok()) s = db_->CompactRange(o, h, nullptr, nullptr);
    if (!s.ok()) return ToStatus(s);
  }
  return absl::OkStatus();
}

uint64_t Store::LiveSstBytes(std::string_view cf) const {
  rocksdb::ColumnFamilyHandle* h = Cf(cf);
  uint64_t bytes = 0;
  if (db_ && h != nullptr) db_->GetIntProperty(h, "rocksdb.live-sst-files-size", &bytes);
  return bytes;
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

absl::StatusOr<std::vector<std::optional<std::string>>> Store::MultiGet(
    std::string_view cf, const std::vector<std::string>& keys) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> h = Handle(cf);
  if (!h.ok()) return h.status();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), *h, keys.size(), slices.data(), values.data(),
                statuses.data());
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return ToStatus(statuses[i]);
    out[i].emplace(values[i].data(), values[i].size());
  }
  return out;
}

absl::StatusOr<bool> Store::Exists(std::string_view cf, std::string_view key) const {
  absl::StatusOr<std::string> v = Get(cf, key);
  if (v.ok()) return true;
  if (absl::IsNotFound(v.status())) return false;
  return v.status();
}

rocksdb::ReadOptions ScanReadOptions() {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  return ro;
}

absl::Status Store::ScanRange(std::string_view cf, std::string_view begin, std::string_view end,
                              const ScanFn& fn) const {
  return Scan(cf, begin, end, /*prefix_filtered=*/false, fn);
}

absl::Status Store::Scan(std::string_view cf, std::string_view begin, std::string_view end,
                         bool prefix_filtered, const ScanFn& fn) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> h = Handle(cf);
  if (!h.ok()) return h.status();
  rocksdb::ReadOptions ro = ScanReadOptions();
  if (prefix_filtered) {
    // Every key of [begin, end) has begin's two-component prefix: the filters may skip.
    ro.total_order_seek = false;
    ro.prefix_same_as_start = true;
  }
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
  const bool prefix_filtered = StringComponentsLength(prefix, 2) == prefix.size() &&
                               std::string_view(begin).substr(0, prefix.size()) == prefix;
  return Scan(cf, begin, end, prefix_filtered, fn);
}

absl::Status Store::ScanPrefixReverse(std::string_view cf, std::string_view prefix,
                                      const ScanFn& fn) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> h = Handle(cf);
  if (!h.ok()) return h.status();
  std::string end = PrefixSuccessor(prefix);
  rocksdb::ReadOptions ro = ScanReadOptions();
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
  return group_->SyncAll();
}

void Store::NoteDependency() const {
  if (db_ && options_.sync_writes) group_->NoteDependency();
}

absl::Status Store::SyncWalNow() {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  if (needs_resume_.load()) {
    // After a failed write the WAL writer is in an error state where syncing it is not
    // allowed: resume first, or report the store as unavailable.
    rocksdb::Status r = db_->Resume();
    if (!r.ok()) return ToStatus(r);
    needs_resume_ = false;
  }
  return ToStatus(db_->SyncWAL());
}

void Store::AddWriteListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

absl::Status Store::Flush() {
  if (!db_) return absl::FailedPreconditionError("store: closed");
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const auto& [name, handle] : handles_) handles.push_back(handle);
  return ToStatus(db_->Flush(rocksdb::FlushOptions(), handles));
}

absl::Status Store::Close() {
  if (!db_) return absl::OkStatus();
  absl::Status status = ToStatus(db_->SyncWAL());
  group_->Close();
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
