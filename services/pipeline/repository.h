// Repository: the pipeline's one storage interface (records by kind and key, raw index entries,
// ordered scans), and its RocksDB implementation on storage::Store.
#ifndef TRIAD_SERVICES_PIPELINE_REPOSITORY_H_
#define TRIAD_SERVICES_PIPELINE_REPOSITORY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/storage/store.h"
#include "google/protobuf/message_lite.h"
#include "rocksdb/write_batch.h"

namespace triad::pipeline {

// Kind is a family of records; each has its own column family.
enum class Kind {
  kPlaybook,     // key: PlaybookKey(product_line, version) -> Playbook
  kSignal,       // key: signal id -> Signal
  kLead,         // key: lead id -> Lead
  kOpportunity,  // key: opportunity id -> Opportunity
  kClient,       // key: client id -> triad.clients.v1.ClientSummary
  kIndex,        // secondary indexes (raw keys, see pipeline.cc)
  kFunnel,       // funnel aggregates (see funnel.h)
  kList,         // list indexes: owner/product line/stage/state -> opportunity, etc.
};

class Repository {
 public:
  virtual ~Repository() = default;

  // GetProto reads the record `key` of `kind` into `msg`; NOT_FOUND when absent.
  virtual absl::Status GetProto(Kind kind, std::string_view key,
                                google::protobuf::MessageLite* msg) const = 0;
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
  // Scan visits the keys of `kind` starting with `prefix` in order, after `start_after`.
  virtual absl::Status Scan(Kind kind, std::string_view prefix, const storage::ScanFn& fn,
                            std::string_view start_after = {}) const = 0;
  // ScanBulk is Scan for a one-off load of many keys (start-up): it does not fill the block
  // cache.
  virtual absl::Status ScanBulk(Kind kind, std::string_view prefix,
                                const storage::ScanFn& fn) const {
    return Scan(kind, prefix, fn);
  }
};

// ColumnFamilies lists the column families RocksRepository needs.
std::vector<std::string> ColumnFamilies();

// NewRocksRepository returns a repository on `store` (not owned), which must have been opened
// with ColumnFamilies().
std::unique_ptr<Repository> NewRocksRepository(storage::Store* store);

// PlaybookKey is the key of a playbook version (versions sort numerically).
std::string PlaybookKey(std::string_view product_line, int version);

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_REPOSITORY_H_
