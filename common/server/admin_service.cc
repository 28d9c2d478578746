// Implements Admin (validation, paging, request replay around Backups and the outbox
// quarantine) and its gRPC adapter.
#include "common/server/admin_service.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/server/admin_policy.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"

namespace triad::server {
namespace {

using admin::v1::Backup;

// AdminPager validates page_size by the admin lists' limits and starts a Pager.
absl::StatusOr<api::Pager> AdminPager(int32_t page_size, const std::string& token,
                                      std::string_view list) {
  if (page_size < 0) return api::InvalidField("page_size", "must not be negative");
  int size = page_size == 0 ? kDefaultAdminPageSize : std::min<int>(page_size, kMaxAdminPageSize);
  return api::Pager::Start(size, token, api::FilterFingerprint({list}));
}

absl::Status CheckRequestId(const std::string& request_id) {
  return api::CheckText("request_id", request_id, kMaxAdminRequestIdLength);
}

// Record stores `response` for the request's request_id (when it has one).
template <typename Msg>
absl::Status Record(storage::Store& store, const api::Replay<Msg>& replay, const Msg& response) {
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(replay.Record(batch, response));
  if (batch.Count() == 0) return absl::OkStatus();
  return store.Write(batch);
}

// The page key of a backup: newest (highest id) first.
std::string BackupKey(uint32_t id) {
  return storage::KeyBuilder().U64(std::numeric_limits<uint32_t>::max() - id).Build();
}

}  // namespace

absl::StatusOr<Backup> Admin::CreateBackup(const admin::v1::CreateBackupRequest& req,
                                           absl::Time deadline,
                                           const std::function<bool()>& cancelled) {
  RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  const api::Replay<Backup> replay(*store_, "admin.CreateBackup", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<Backup> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  storage::Store* store = store_;
  ASSIGN_OR_RETURN(
      std::shared_ptr<BackupJob> job,
      backups_->Start(req.request_id(), req.keep_last(), [store, req](const Backup& backup) {
        const api::Replay<Backup> replay(*store, "admin.CreateBackup", req.request_id(), req);
        absl::Status s = Record(*store, replay, backup);
        if (!s.ok()) {
          logging::Warn("recording the backup's request_id failed", {{"error", s}});
        }
      }));
  // Answer a little before the caller's deadline, so the answer arrives in time.
  std::optional<absl::StatusOr<Backup>> done =
      job->Wait(deadline - absl::Milliseconds(200), cancelled);
  if (!done.has_value() && cancelled && cancelled()) {
    return absl::CancelledError("the call was cancelled; the backup goes on");
  }
  if (!done.has_value()) {
    return absl::DeadlineExceededError(
        "the backup is still running; call again with the same request_id to get it");
  }
  return *std::move(done);
}

absl::StatusOr<admin::v1::ListBackupsResponse> Admin::ListBackups(
    const admin::v1::ListBackupsRequest& req) {
  ASSIGN_OR_RETURN(api::Pager pager, AdminPager(req.page_size(), req.page_token(), "backups"));
  ASSIGN_OR_RETURN(std::vector<Backup> all, backups_->List());
  admin::v1::ListBackupsResponse resp;
  for (Backup& b : all) {
    const std::string key = BackupKey(b.backup_id());
    if (!pager.after_key().empty() && key <= pager.after_key()) continue;
    if (!pager.Accept(key)) break;
    *resp.add_backups() = std::move(b);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<admin::v1::DeleteBackupResponse> Admin::DeleteBackup(
    const admin::v1::DeleteBackupRequest& req) {
  if (req.backup_id() == 0) return api::InvalidField("backup_id", "required");
  RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  const api::Replay<admin::v1::DeleteBackupResponse> replay(*store_, "admin.DeleteBackup",
                                                            req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<admin::v1::DeleteBackupResponse> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  RETURN_IF_ERROR(backups_->Delete(req.backup_id()));
  admin::v1::DeleteBackupResponse resp;
  RETURN_IF_ERROR(Record(*store_, replay, resp));
  return resp;
}

absl::StatusOr<admin::v1::ListQuarantinedEventsResponse> Admin::ListQuarantinedEvents(
    const admin::v1::ListQuarantinedEventsRequest& req) {
  ASSIGN_OR_RETURN(api::Pager pager,
                   AdminPager(req.page_size(), req.page_token(), "quarantined events"));
  uint64_t after = 0;
  if (!pager.after_key().empty()) {
    storage::KeyReader reader(pager.after_key());
    absl::StatusOr<uint64_t> seq = reader.U64();
    if (!seq.ok()) return api::InvalidField("page_token", "does not name an event");
    after = *seq;
  }
  ASSIGN_OR_RETURN(std::vector<events::QuarantinedEvent> events,
                   outbox_->ListQuarantined(static_cast<size_t>(pager.page_size()) + 1, after));
  admin::v1::ListQuarantinedEventsResponse resp;
  for (const events::QuarantinedEvent& q : events) {
    if (!pager.Accept(storage::KeyBuilder().U64(q.seq).Build())) break;
    admin::v1::QuarantinedEvent* e = resp.add_events();
    e->set_sequence(q.seq);
    e->set_topic(q.event.topic);
    e->set_key(q.event.key);
    e->set_ce_id(q.event.id);
    e->set_ce_type(q.event.type);
    e->set_error(q.error);
    *e->mutable_quarantine_time() = util::ToProto(q.quarantine_time);
    e->set_payload_bytes(q.event.payload.size());
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<admin::v1::RequeueQuarantinedEventResponse> Admin::RequeueQuarantinedEvent(
    const admin::v1::RequeueQuarantinedEventRequest& req) {
  if (req.sequence() == 0) return api::InvalidField("sequence", "required");
  RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  const api::Replay<admin::v1::RequeueQuarantinedEventResponse> replay(
      *store_, "admin.RequeueQuarantinedEvent", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<admin::v1::RequeueQuarantinedEventResponse> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  RETURN_IF_ERROR(outbox_->Requeue(req.sequence()));
  admin::v1::RequeueQuarantinedEventResponse resp;
  RETURN_IF_ERROR(Record(*store_, replay, resp));
  return resp;
}

absl::StatusOr<admin::v1::ListAccessDenialsResponse> Admin::ListAccessDenials(
    const admin::v1::ListAccessDenialsRequest& req) {
  ASSIGN_OR_RETURN(api::Pager pager,
                   AdminPager(req.page_size(), req.page_token(), "access denials"));
  admin::v1::ListAccessDenialsResponse resp;
  if (denials_ == nullptr) return resp;
  ASSIGN_OR_RETURN(auto page,
                   denials_->List(static_cast<size_t>(pager.page_size()) + 1, pager.after_key()));
  for (auto& [key, denial] : page) {
    if (!pager.Accept(key)) break;
    *resp.add_denials() = std::move(denial);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

namespace {

absl::Time Deadline(const grpc::ServerContext* ctx) {
  const auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(d);
}

// Audit logs a write with who asked (the peer address) and its outcome.
void Audit(const grpc::ServerContext* ctx, std::string_view method, const std::string& request_id,
           const grpc::Status& status, std::string detail) {
  logging::Info("admin: write", {{"method", method},
                                 {"peer", ctx->peer()},
                                 {"request_id", request_id},
                                 {"code", static_cast<int>(status.error_code())},
                                 {"detail", detail}});
}

}  // namespace

AdminGrpcService::AdminGrpcService(storage::Store* store, events::Outbox* outbox, Backups* backups,
                                   std::string service, auth::CallSecurity security,
                                   const DenialLog* denials)
    : admin_(store, outbox, backups, denials),
      guard_(std::move(service), AdminServicePolicy(), std::move(security)) {}

grpc::Status AdminGrpcService::CreateBackup(grpc::ServerContext* ctx,
                                            const admin::v1::CreateBackupRequest* req,
                                            admin::v1::Backup* resp) {
  grpc::Status s = guard_.Call(ctx, "CreateBackup", *req, resp, [&](const auto& r) {
    return admin_.CreateBackup(r, Deadline(ctx), [ctx] { return ctx->IsCancelled(); });
  });
  Audit(ctx, "CreateBackup", req->request_id(), s, absl::StrCat("backup ", resp->backup_id()));
  return s;
}

grpc::Status AdminGrpcService::ListBackups(grpc::ServerContext* ctx,
                                           const admin::v1::ListBackupsRequest* req,
                                           admin::v1::ListBackupsResponse* resp) {
  return guard_.Call(ctx, "ListBackups", *req, resp,
                     [&](const auto& r) { return admin_.ListBackups(r); });
}

grpc::Status AdminGrpcService::DeleteBackup(grpc::ServerContext* ctx,
                                            const admin::v1::DeleteBackupRequest* req,
                                            admin::v1::DeleteBackupResponse* resp) {
  grpc::Status s = guard_.Call(ctx, "DeleteBackup", *req, resp,
                               [&](const auto& r) { return admin_.DeleteBackup(r); });
  Audit(ctx, "DeleteBackup", req->request_id(), s, absl::StrCat("backup ", req->backup_id()));
  return s;
}

grpc::Status AdminGrpcService::ListQuarantinedEvents(
    grpc::ServerContext* ctx, const admin::v1::ListQuarantinedEventsRequest* req,
    admin::v1::ListQuarantinedEventsResponse* resp) {
  return guard_.Call(ctx, "ListQuarantinedEvents", *req, resp,
                     [&](const auto& r) { return admin_.ListQuarantinedEvents(r); });
}

grpc::Status AdminGrpcService::RequeueQuarantinedEvent(
    grpc::ServerContext* ctx, const admin::v1::RequeueQuarantinedEventRequest* req,
    admin::v1::RequeueQuarantinedEventResponse* resp) {
  grpc::Status s = guard_.Call(ctx, "RequeueQuarantinedEvent", *req, resp,
                               [&](const auto& r) { return admin_.RequeueQuarantinedEvent(r); });
  Audit(ctx, "RequeueQuarantinedEvent", req->request_id(), s,
        absl::StrCat("sequence ", req->sequence()));
  return s;
}

grpc::Status AdminGrpcService::ListAccessDenials(grpc::ServerContext* ctx,
                                                 const admin::v1::ListAccessDenialsRequest* req,
                                                 admin::v1::ListAccessDenialsResponse* resp) {
  return guard_.Call(ctx, "ListAccessDenials", *req, resp,
                     [&](const auto& r) { return admin_.ListAccessDenials(r); });
}

std::unique_ptr<AdminGrpcService> AddAdminService(ServiceRuntime& rt) {
  auto service =
      std::make_unique<AdminGrpcService>(&rt.store(), &rt.outbox(), &rt.backups(),
                                         rt.options().service, rt.call_security(), &rt.denials());
  rt.host().AddService(service.get(), "triad.admin.v1.AdminService");
  return service;
}

}  // namespace triad::server
