// Implements the RocksDB repository of the pipeline service.
#include "services/pipeline/repository.h"

#include <memory>

#include "common/storage/key_codec.h"
#include "rocksdb/db.h"

namespace triad::pipeline {
namespace {

const char* CfName(Kind kind) {
  switch (kind) {
    case Kind::kPlaybook:
      return "playbooks";
    case Kind::kSignal:
      return "signals";
    case Kind::kLead:
      return "leads";
    case Kind::kOpportunity:
      return "opportunities";
    case Kind::kClient:
      return "clients";
    case Kind::kIndex:
      return "index";
    case Kind::kFunnel:
      return "funnel";
    case Kind::kList:
      return "lists";
  }
  return "default";
}

class RocksRepository : public Repository {
 public:
  explicit RocksRepository(storage::Store* store) : store_(store) {}

  absl::Status GetProto(Kind kind, std::string_view key,
                        google::protobuf::MessageLite* msg) const override {
    absl::StatusOr<std::string> raw = store_->Get(CfName(kind), key);
    if (!raw.ok()) return raw.status();
    if (!msg->ParseFromString(*raw)) {
      return absl::DataLossError(std::string("corrupt record in ") + CfName(kind));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> GetRaw(Kind kind, std::string_view key) const override {
    return store_->Get(CfName(kind), key);
  }

  void PutProto(rocksdb::WriteBatch& batch, Kind kind, std::string_view key,
                const google::protobuf::MessageLite& msg) override {
    PutRaw(batch, kind, key, msg.SerializeAsString());
  }

  void PutRaw(rocksdb::WriteBatch& batch, Kind kind, std::string_view key,
              std::string_view value) override {
    batch.Put(store_->Cf(CfName(kind)), rocksdb::Slice(key.data(), key.size()),
              rocksdb::Slice(value.data(), value.size()));
  }

  void Delete(rocksdb::WriteBatch& batch, Kind kind, std::string_view key) override {
    batch.Delete(store_->Cf(CfName(kind)), rocksdb::Slice(key.data(), key.size()));
  }

  absl::Status Scan(Kind kind, std::string_view prefix, const storage::ScanFn& fn,
                    std::string_view start_after) const override {
    return store_->ScanPrefix(CfName(kind), prefix, fn, start_after);
  }

  absl::Status ScanBulk(Kind kind, std::string_view prefix,
                        const storage::ScanFn& fn) const override {
    // Blocks are not added to the block cache: a start-up load would fill it to its full
    // size and evict the working set.
    std::string end = storage::PrefixSuccessor(prefix);
    rocksdb::ReadOptions ro = storage::ScanReadOptions();
    ro.fill_cache = false;
    rocksdb::Slice upper(end.data(), end.size());
    if (!end.empty()) ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->Cf(CfName(kind))));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      rocksdb::Slice v = it->value();
      if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
    }
    return storage::ToStatus(it->status());
  }

 private:
  storage::Store* store_;
};

}  // namespace

std::vector<std::string> ColumnFamilies() {
  // Append-only: existing databases list the earlier names in this order.
  return {"playbooks", "signals", "leads", "opportunities", "clients", "index", "funnel", "lists"};
}

std::unique_ptr<Repository> NewRocksRepository(storage::Store* store) {
  return std::make_unique<RocksRepository>(store);
}

std::string PlaybookKey(std::string_view product_line, int version) {
  storage::KeyBuilder k;
  k.Str(product_line).U64(static_cast<uint64_t>(version));
  return k.Build();
}

}  // namespace triad::pipeline
