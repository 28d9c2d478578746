// Implements DenialLog: keys are max-sequence (newest first in key order), the oldest beyond the
// bound are dropped with one range deletion every few writes.
#include "common/server/denial_log.h"

#include <limits>

#include "common/config/logging.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"

namespace triad::server {
namespace {

constexpr uint64_t kTrimEvery = 100;

std::string KeyOf(uint64_t seq) {
  return storage::KeyBuilder().U64(std::numeric_limits<uint64_t>::max() - seq).Build();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DenialLog>> DenialLog::Open(storage::Store* store, uint64_t keep) {
  if (absl::Status s = store->EnsureColumnFamily(kColumnFamily); !s.ok()) return s;
  uint64_t newest = 0;
  absl::Status s =
      store->ScanRange(kColumnFamily, "", "", [&](std::string_view, std::string_view value) {
        admin::v1::AccessDenial d;
        if (d.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          newest = d.sequence();
        }
        return false;  // the first key is the newest
      });
  if (!s.ok()) return s;
  return std::unique_ptr<DenialLog>(new DenialLog(store, keep == 0 ? 1 : keep, newest));
}

void DenialLog::Keep(const auth::Denial& denial) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t seq = newest_ + 1;
  admin::v1::AccessDenial d;
  d.set_sequence(seq);
  *d.mutable_denial_time() = util::ToProto(denial.time);
  d.set_service(denial.service);
  d.set_method(denial.method);
  d.set_code(denial.code == absl::StatusCode::kUnauthenticated ? "UNAUTHENTICATED"
                                                               : "PERMISSION_DENIED");
  d.set_reason(denial.reason);
  d.set_subject(denial.subject);
  d.set_peer(denial.peer);
  d.set_message(denial.message);
  rocksdb::ColumnFamilyHandle* cf = store_->Cf(kColumnFamily);
  if (cf == nullptr) return;
  rocksdb::WriteBatch batch;
  batch.Put(cf, KeyOf(seq), d.SerializeAsString());
  if (seq > keep_ && seq % kTrimEvery == 0) {
    // Everything at or below seq - keep: keys from KeyOf(seq - keep) to KeyOf(0) (exclusive;
    // sequence 0 is never used).
    batch.DeleteRange(cf, KeyOf(seq - keep_), KeyOf(0));
  }
  if (absl::Status s = store_->Write(batch); !s.ok()) {
    logging::Warn("keeping an access denial failed", {{"error", s}});
    return;
  }
  newest_ = seq;
}

absl::StatusOr<std::vector<std::pair<std::string, admin::v1::AccessDenial>>> DenialLog::List(
    size_t limit, const std::string& after_key) const {
  std::vector<std::pair<std::string, admin::v1::AccessDenial>> out;
  uint64_t newest = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    newest = newest_;
  }
  // Denials beyond the bound (not yet trimmed) are not listed.
  const uint64_t oldest = newest > keep_ ? newest - keep_ + 1 : 1;
  absl::Status s = store_->ScanPrefix(
      kColumnFamily, "",
      [&](std::string_view key, std::string_view value) {
        if (out.size() >= limit) return false;
        admin::v1::AccessDenial d;
        if (!d.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
        if (d.sequence() < oldest) return false;
        out.emplace_back(std::string(key), std::move(d));
        return true;
      },
      after_key);
  if (!s.ok()) return s;
  return out;
}

}  // namespace triad::server
