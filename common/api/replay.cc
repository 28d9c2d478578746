// Implements RequestReplay. A stored value is "rp1" + 8-byte request fingerprint + the
// serialized response; a value without that header (written before fingerprints were stored)
// is the bare response and is replayed without the fingerprint check.
#include "common/api/replay.h"

#include <cstdint>

#include "common/api/validation.h"
#include "common/util/idempotency.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace triad::api {
namespace {

constexpr std::string_view kHeader = "rp1";
constexpr size_t kFingerprintBytes = 8;

// Fingerprint hashes the deterministic serialization of `request` (FNV-1a 64, stable).
std::string Fingerprint(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string fp(kFingerprintBytes, '\0');
  for (size_t i = 0; i < kFingerprintBytes; ++i) {
    fp[i] = static_cast<char>((h >> (56 - 8 * i)) & 0xFF);
  }
  return fp;
}

}  // namespace

RequestReplay::RequestReplay(const storage::Store& store, std::string_view method,
                             std::string_view request_id, const google::protobuf::Message& request)
    : store_(store),
      method_(method),
      request_id_(request_id),
      fingerprint_(request_id.empty() ? std::string() : Fingerprint(request)) {}

absl::StatusOr<bool> RequestReplay::Lookup(google::protobuf::Message& response) const {
  if (request_id_.empty()) return false;
  if (absl::Status s = CheckText("request_id", request_id_, kMaxIdLength); !s.ok()) return s;
  absl::StatusOr<std::optional<std::string>> stored =
      util::LookupRequest(store_, method_, request_id_);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return false;
  // The stored answer may belong to a write still awaiting its group commit: acknowledge it
  // only once that is durable.
  store_.NoteDependency();
  std::string_view value = **stored;
  if (value.substr(0, kHeader.size()) == kHeader &&
      value.size() >= kHeader.size() + kFingerprintBytes) {
    if (value.substr(kHeader.size(), kFingerprintBytes) != fingerprint_) {
      return InvalidField("request_id", "already used for a different request");
    }
    value.remove_prefix(kHeader.size() + kFingerprintBytes);
  }
  if (!response.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("stored response does not decode");
  }
  return true;
}

absl::Status RequestReplay::Record(rocksdb::WriteBatch& batch,
                                   const google::protobuf::Message& response) const {
  if (request_id_.empty()) return absl::OkStatus();
  std::string value(kHeader);
  value.append(fingerprint_);
  response.AppendToString(&value);
  return util::RecordRequest(store_, batch, method_, request_id_, value);
}

}  // namespace triad::api
