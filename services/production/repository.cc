// Implements the RocksDB repository of the production service.
#include "services/production/repository.h"

#include "common/storage/key_codec.h"

namespace triad::production {
namespace {

const char* CfName(Kind kind) {
  switch (kind) {
    case Kind::kResource:
      return "resources";
    case Kind::kTemplate:
      return "templates";
    case Kind::kProject:
      return "projects";
    case Kind::kIndex:
      return "index";
  }
  return "default";
}

class RocksRepository : public Repository {
 public:
  explicit RocksRepository(storage::Store* store) : store_(store) {}

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
  absl::Status Scan(Kind kind, const storage::ScanFn& fn,
                    std::string_view start_after) const override {
    return store_->ScanPrefix(CfName(kind), "", fn, start_after);
  }

 private:
  storage::Store* store_;
};

}  // namespace

std::vector<std::string> ColumnFamilies() {
  return {"resources", "templates", "projects", "index"};
}

std::unique_ptr<Repository> NewRocksRepository(storage::Store* store) {
  return std::make_unique<RocksRepository>(store);
}

std::string TemplateKey(std::string_view product_line, int version) {
  storage::KeyBuilder k;
  k.Str(product_line).U64(static_cast<uint64_t>(version));
  return k.Build();
}

}  // namespace triad::production
