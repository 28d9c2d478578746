// Idempotent requests: a create-style RPC carrying a request_id stores its response in the same
// WriteBatch as its effect; a retry with the same id gets the first response back.
#ifndef TRIAD_COMMON_UTIL_IDEMPOTENCY_H_
#define TRIAD_COMMON_UTIL_IDEMPOTENCY_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/storage/store.h"
#include "rocksdb/write_batch.h"

namespace triad::util {

inline constexpr char kRequestsColumnFamily[] = "requests";

// LookupRequest returns the response stored for (method, request_id), if any. An empty
// request_id never matches.
absl::StatusOr<std::optional<std::string>> LookupRequest(const storage::Store& store,
                                                         std::string_view method,
                                                         std::string_view request_id);

// RecordRequest adds the response of (method, request_id) to `batch` (no-op for an empty id).
absl::Status RecordRequest(const storage::Store& store, rocksdb::WriteBatch& batch,
                           std::string_view method, std::string_view request_id,
                           std::string_view response);

}  // namespace triad::util

#endif  // TRIAD_COMMON_UTIL_IDEMPOTENCY_H_
