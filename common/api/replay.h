// Replay: request_id idempotency for create-style RPCs. A request carrying a request_id stores
// its response, with a fingerprint of the request, in the same WriteBatch as its effect; a retry
// with the same (method, request_id) gets the first response back, and a different request
// reusing the id is refused (INVALID_ARGUMENT naming "request_id"). Built on the request store
// of common/util/idempotency.h.
#ifndef TRIAD_COMMON_API_REPLAY_H_
#define TRIAD_COMMON_API_REPLAY_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/storage/store.h"
#include "google/protobuf/message.h"
#include "rocksdb/write_batch.h"

namespace triad::api {

// RequestReplay is the type-erased core of Replay<Msg>.
class RequestReplay {
 public:
  // The store must have the "requests" column family; it is not owned. An empty request_id
  // disables the replay (Lookup finds nothing, Record writes nothing). A request_id is checked
  // (at most kMaxIdLength bytes, valid UTF-8) by Lookup.
  RequestReplay(const storage::Store& store, std::string_view method, std::string_view request_id,
                const google::protobuf::Message& request);

  // Lookup parses the response stored for this request into `response`: true when there was
  // one, false when this is the first call. INVALID_ARGUMENT naming "request_id" when the id was
  // used by a different request; DATA_LOSS when the stored response does not decode.
  absl::StatusOr<bool> Lookup(google::protobuf::Message& response) const;

  // Record adds `response` and the request's fingerprint to `batch`.
  absl::Status Record(rocksdb::WriteBatch& batch, const google::protobuf::Message& response) const;

  // active is false for an empty request_id.
  bool active() const { return !request_id_.empty(); }

 private:
  const storage::Store& store_;
  std::string method_;
  std::string request_id_;
  std::string fingerprint_;
};

// Replay<Msg> is a RequestReplay whose response type is Msg.
template <typename Msg>
class Replay {
 public:
  Replay(const storage::Store& store, std::string_view method, std::string_view request_id,
         const google::protobuf::Message& request)
      : core_(store, method, request_id, request) {}

  // Prior returns the response stored for this request, or nullopt on the first call.
  absl::StatusOr<std::optional<Msg>> Prior() const {
    Msg msg;
    absl::StatusOr<bool> found = core_.Lookup(msg);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<Msg>();
    return std::optional<Msg>(std::move(msg));
  }

  // Record adds `response` to `batch` (the batch that writes the request's effect).
  absl::Status Record(rocksdb::WriteBatch& batch, const Msg& response) const {
    return core_.Record(batch, response);
  }

 private:
  RequestReplay core_;
};

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_REPLAY_H_
