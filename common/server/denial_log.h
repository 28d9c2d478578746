// DenialLog: the calls a service refused (auth::Denial), kept in its store (column family
// `access_denials`), newest first, bounded to the newest `keep` (10,000 by default), and listed
// page by page through AdminService.ListAccessDenials. It is the runtime's auth::DenialSink.
#ifndef TRIAD_COMMON_SERVER_DENIAL_LOG_H_
#define TRIAD_COMMON_SERVER_DENIAL_LOG_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/denials.h"
#include "common/storage/store.h"
#include "triad/admin/v1/admin_service.pb.h"

namespace triad::server {

class DenialLog : public auth::DenialSink {
 public:
  static constexpr char kColumnFamily[] = "access_denials";
  static constexpr uint64_t kDefaultKeep = 10000;

  // Open creates the column family when missing and finds the newest sequence; the store is
  // not owned.
  static absl::StatusOr<std::unique_ptr<DenialLog>> Open(storage::Store* store,
                                                         uint64_t keep = kDefaultKeep);

  // Keep stores `denial` and drops those beyond the newest `keep` (failures are logged: a
  // denial must not fail the call it refuses).
  void Keep(const auth::Denial& denial) override;

  // List returns up to `limit` denials, newest first, starting after the page key
  // `after_key` ("" for the newest); each comes with its page key.
  absl::StatusOr<std::vector<std::pair<std::string, admin::v1::AccessDenial>>> List(
      size_t limit, const std::string& after_key) const;

 private:
  DenialLog(storage::Store* store, uint64_t keep, uint64_t newest)
      : store_(store), keep_(keep), newest_(newest) {}

  storage::Store* store_;
  const uint64_t keep_;
  mutable std::mutex mu_;
  uint64_t newest_;
};

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_DENIAL_LOG_H_
