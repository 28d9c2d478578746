// Implements the request-id response store.
#include "common/util/idempotency.h"

#include "absl/status/status.h"
#include "common/storage/key_codec.h"

namespace triad::util {

absl::StatusOr<std::optional<std::string>> LookupRequest(const storage::Store& store,
                                                         std::string_view method,
                                                         std::string_view request_id) {
  if (request_id.empty()) return std::optional<std::string>();
  std::string key = storage::KeyBuilder().Str(method).Str(request_id).Build();
  // Records expire after the dedupe retention (see StoreOptions::retention).
  return store.GetExpiring(kRequestsColumnFamily, key);
}

absl::Status RecordRequest(const storage::Store& store, rocksdb::WriteBatch& batch,
                           std::string_view method, std::string_view request_id,
                           std::string_view response) {
  if (request_id.empty()) return absl::OkStatus();
  if (store.Cf(kRequestsColumnFamily) == nullptr) {
    return absl::FailedPreconditionError("store has no requests column family");
  }
  std::string key = storage::KeyBuilder().Str(method).Str(request_id).Build();
  return store.PutExpiring(batch, kRequestsColumnFamily, key, response);
}

}  // namespace triad::util
