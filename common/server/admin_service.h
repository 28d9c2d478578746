// AdminService (triad.admin.v1), the operator's API every service serves beside its own:
// online backups of the store (ServiceRuntime::backups), the outbox quarantine
// (Outbox::ListQuarantined / Requeue) and the refused calls (DenialLog). RunService registers it
// for every service; in-process tests call AddAdminService.
//
// CreateBackup starts the backup on its own thread and waits for it within the call's
// deadline; one backup runs at a time (another CreateBackup gets ABORTED, a retry with the
// same request_id waits for the running one). A call whose deadline passes first gets
// DEADLINE_EXCEEDED while the backup goes on: retrying with the same request_id returns it.
// Every write takes a request_id (at most 128 bytes) and is logged with the caller's address.
#ifndef TRIAD_COMMON_SERVER_ADMIN_SERVICE_H_
#define TRIAD_COMMON_SERVER_ADMIN_SERVICE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/call_security.h"
#include "common/auth/guard.h"
#include "common/events/outbox.h"
#include "common/server/backups.h"
#include "common/server/denial_log.h"
#include "common/server/runtime.h"
#include "common/storage/store.h"
#include "triad/admin/v1/admin_service.grpc.pb.h"

namespace triad::server {

// The longest request_id the admin RPCs accept, in bytes.
inline constexpr size_t kMaxAdminRequestIdLength = 128;
// Page sizes of the admin lists: 0 means kDefaultAdminPageSize, larger ones are clamped.
inline constexpr int kDefaultAdminPageSize = 20;
inline constexpr int kMaxAdminPageSize = 100;

// Admin holds the rules of the admin RPCs (validation, paging, request replay); it returns
// absl statuses and knows nothing of gRPC.
class Admin {
 public:
  // None is owned; the store must have the "requests" column family. Without `denials`
  // ListAccessDenials lists nothing.
  Admin(storage::Store* store, events::Outbox* outbox, Backups* backups,
        const DenialLog* denials = nullptr)
      : store_(store), outbox_(outbox), backups_(backups), denials_(denials) {}

  // CreateBackup takes a backup, waiting for it until `deadline` or until `cancelled`
  // returns true (the call was cancelled, e.g. at shutdown); the backup goes on either way.
  absl::StatusOr<admin::v1::Backup> CreateBackup(const admin::v1::CreateBackupRequest& req,
                                                 absl::Time deadline,
                                                 const std::function<bool()>& cancelled = nullptr);
  // ListBackups lists the backups, newest first.
  absl::StatusOr<admin::v1::ListBackupsResponse> ListBackups(
      const admin::v1::ListBackupsRequest& req);
  // DeleteBackup removes one backup.
  absl::StatusOr<admin::v1::DeleteBackupResponse> DeleteBackup(
      const admin::v1::DeleteBackupRequest& req);
  // ListQuarantinedEvents lists the quarantined outbox events, oldest first.
  absl::StatusOr<admin::v1::ListQuarantinedEventsResponse> ListQuarantinedEvents(
      const admin::v1::ListQuarantinedEventsRequest& req);
  // RequeueQuarantinedEvent moves one quarantined event back into the outbox.
  absl::StatusOr<admin::v1::RequeueQuarantinedEventResponse> RequeueQuarantinedEvent(
      const admin::v1::RequeueQuarantinedEventRequest& req);
  // ListAccessDenials lists the refused calls, newest first.
  absl::StatusOr<admin::v1::ListAccessDenialsResponse> ListAccessDenials(
      const admin::v1::ListAccessDenialsRequest& req);

 private:
  storage::Store* store_;
  events::Outbox* outbox_;
  Backups* backups_;
  const DenialLog* denials_;
};

// AdminGrpcService is the gRPC adapter of Admin; every call passes the request guard with
// AdminServicePolicy (operators only).
class AdminGrpcService final : public admin::v1::AdminService::Service {
 public:
  // `service` is the short name of the serving service (the denial metric's label).
  AdminGrpcService(storage::Store* store, events::Outbox* outbox, Backups* backups,
                   std::string service = "admin", auth::CallSecurity security = {},
                   const DenialLog* denials = nullptr);

  grpc::Status CreateBackup(grpc::ServerContext* ctx, const admin::v1::CreateBackupRequest* req,
                            admin::v1::Backup* resp) override;
  grpc::Status ListBackups(grpc::ServerContext* ctx, const admin::v1::ListBackupsRequest* req,
                           admin::v1::ListBackupsResponse* resp) override;
  grpc::Status DeleteBackup(grpc::ServerContext* ctx, const admin::v1::DeleteBackupRequest* req,
                            admin::v1::DeleteBackupResponse* resp) override;
  grpc::Status ListQuarantinedEvents(grpc::ServerContext* ctx,
                                     const admin::v1::ListQuarantinedEventsRequest* req,
                                     admin::v1::ListQuarantinedEventsResponse* resp) override;
  grpc::Status RequeueQuarantinedEvent(grpc::ServerContext* ctx,
                                       const admin::v1::RequeueQuarantinedEventRequest* req,
                                       admin::v1::RequeueQuarantinedEventResponse* resp) override;
  grpc::Status ListAccessDenials(grpc::ServerContext* ctx,
                                 const admin::v1::ListAccessDenialsRequest* req,
                                 admin::v1::ListAccessDenialsResponse* resp) override;

 private:
  Admin admin_;
  auth::Guard guard_;
};

// AddAdminService registers an AdminGrpcService for the runtime's store, outbox and backups
// on its host (before Start); the caller keeps it alive until the runtime has shut down.
std::unique_ptr<AdminGrpcService> AddAdminService(ServiceRuntime& rt);

}  // namespace triad::server

#endif  // TRIAD_COMMON_SERVER_ADMIN_SERVICE_H_
