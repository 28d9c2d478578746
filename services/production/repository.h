// Repository: the production service's one storage interface (records by kind and key, ordered
// scans) and its RocksDB implementation on storage::Store.
#ifndef TRIAD_SERVICES_PRODUCTION_REPOSITORY_H_
#define TRIAD_SERVICES_PRODUCTION_REPOSITORY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/storage/store.h"
#include "google/protobuf/message_lite.h"
#include "rocksdb/write_batch.h"

namespace triad::production {

// Kind is a family of records; each has its own column family.
enum class Kind {
  kResource,  // key: resource id -> Resource
  kTemplate,  // key: TemplateKey(product_line, version) -> PhaseTemplateSet
  kProject,   // key: project id -> Project
  kIndex,     // key: "opp/" + opportunity id -> project id (raw)
};

class Repository {
 public:
  virtual ~Repository() = default;
  // GetRaw reads a raw value; NOT_FOUND when absent.
  virtual absl::StatusOr<std::string> GetRaw(Kind kind, std::string_view key) const = 0;
  // PutProto adds the record to `batch`.
  virtual void PutProto(rocksdb::WriteBatch& batch, Kind kind, std::string_view key,
                        const google::protobuf::MessageLite& msg) = 0;
  // PutRaw adds a raw value to `batch`.
  virtual void PutRaw(rocksdb::WriteBatch& batch, Kind kind, std::string_view key,
                      std::string_view value) = 0;
  // Delete adds the removal of `key` to `batch`.
  virtual void Delete(rocksdb::WriteBatch& batch, Kind kind, std::string_view key) = 0;
  // Scan visits every key of `kind` in order (after `start_after` when it is non-empty).
  virtual absl::Status Scan(Kind kind, const storage::ScanFn& fn,
                            std::string_view start_after = {}) const = 0;
};

// ColumnFamilies lists the column families RocksRepository needs.
std::vector<std::string> ColumnFamilies();

// NewRocksRepository returns a repository on `store` (not owned), opened with ColumnFamilies().
std::unique_ptr<Repository> NewRocksRepository(storage::Store* store);

// TemplateKey is the key of a template version (versions sort numerically).
std::string TemplateKey(std::string_view product_line, int version);

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_REPOSITORY_H_
