// Implements ClientsDomain's follow-up plans: scheduling, rescheduling on a tier change, the
// plan and overdue lists, completion with a touchpoint, and the periodic due scan.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/events/envelope.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"

namespace triad::clients {

absl::Status ClientsDomain::RescheduleCadence(events::Transaction& txn, const Client& before,
                                              const Client& after,
                                              std::vector<FieldChange>* history) {
  const int old_days = CadenceDays(before.tier());
  const int new_days = CadenceDays(after.tier());
  if (old_days == new_days) return absl::OkStatus();
  std::vector<v1::FollowUp> pending;
  absl::Status inner;
  RETURN_IF_ERROR(repo_->ScanRecords(
      FollowUpPrefix(after.client_id()), "", [&](std::string_view, std::string_view v) {
        v1::FollowUp f;
        if (!f.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          inner = absl::DataLossError("follow-up does not decode");
          return false;
        }
        if (f.status() == v1::FOLLOW_UP_STATUS_PENDING && f.kind() == v1::FOLLOW_UP_KIND_CADENCE) {
          pending.push_back(std::move(f));
        }
        return true;
      }));
  RETURN_IF_ERROR(inner);
  const std::string reason = absl::StrCat("tier changed from ", v1::ClientTier_Name(before.tier()),
                                          " to ", v1::ClientTier_Name(after.tier()), ": cadence ",
                                          old_days, " -> ", new_days, " days");
  for (const v1::FollowUp& f : pending) {
    // The cadence counts from when the follow-up was scheduled (the last contact or creation).
    const absl::Time old_due = util::FromProto(f.due_time());
    const absl::Time new_due = util::FromProto(f.create_time()) + absl::Hours(24 * new_days);
    if (new_due == old_due) continue;
    v1::FollowUp moved = f;
    *moved.mutable_due_time() = util::ToProto(new_due);
    moved.set_due_notified(false);
    RETURN_IF_ERROR(
        repo_->DeleteRecord(txn.batch(), FollowUpDueKey(old_due, f.client_id(), f.follow_up_id())));
    RETURN_IF_ERROR(
        repo_->PutMarker(txn.batch(), FollowUpDueKey(new_due, f.client_id(), f.follow_up_id())));
    RETURN_IF_ERROR(
        repo_->PutRecord(txn.batch(), FollowUpKey(f.client_id(), f.follow_up_id()), moved));
    v1::FollowUpScheduled ev;
    *ev.mutable_follow_up() = FollowUpSummaryOf(moved, after.owner_id());
    *ev.mutable_previous_due_time() = f.due_time();
    ev.set_reschedule_reason(reason);
    contracts::Emit<contracts::clients::FollowUpScheduled>(txn, f.client_id(), ev);
    history->push_back(Change(absl::StrCat("follow_up_due_time[", f.follow_up_id(), "]"),
                              events::FormatEventTime(old_due), events::FormatEventTime(new_due)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Follow-ups.

v1::FollowUpSummary ClientsDomain::FollowUpSummaryOf(const v1::FollowUp& f,
                                                     std::string_view owner) const {
  v1::FollowUpSummary s;
  s.set_follow_up_id(f.follow_up_id());
  s.set_client_id(f.client_id());
  s.set_owner_id(std::string(owner));
  s.set_kind(f.kind());
  *s.mutable_due_time() = f.due_time();
  s.set_project_id(f.project_id());
  return s;
}

absl::Status ClientsDomain::ScheduleFollowUp(events::Transaction& txn, const Client& client,
                                             v1::FollowUpKind kind, absl::Time due,
                                             std::string_view project_id, std::string follow_up_id,
                                             v1::FollowUp* out) {
  v1::FollowUp f;
  f.set_follow_up_id(std::move(follow_up_id));
  f.set_client_id(client.client_id());
  f.set_kind(kind);
  f.set_status(v1::FOLLOW_UP_STATUS_PENDING);
  *f.mutable_due_time() = util::ToProto(due);
  f.set_project_id(std::string(project_id));
  *f.mutable_create_time() = util::ToProto(Now());
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), FollowUpKey(f.client_id(), f.follow_up_id()), f));
  RETURN_IF_ERROR(
      repo_->PutMarker(txn.batch(), FollowUpDueKey(due, f.client_id(), f.follow_up_id())));
  v1::FollowUpScheduled ev;
  *ev.mutable_follow_up() = FollowUpSummaryOf(f, client.owner_id());
  contracts::Emit<contracts::clients::FollowUpScheduled>(txn, f.client_id(), ev);
  if (out != nullptr) *out = std::move(f);
  return absl::OkStatus();
}

absl::StatusOr<v1::FollowUpPlan> ClientsDomain::GetFollowUpPlan(std::string_view client_id) const {
  RETURN_IF_ERROR(api::CheckId("client_id", client_id));
  ASSIGN_OR_RETURN(Client client, LoadClient(client_id, true));
  v1::FollowUpPlan plan;
  plan.set_client_id(client.client_id());
  plan.set_owner_id(client.owner_id());
  plan.set_tier(client.tier());
  plan.set_cadence_days(CadenceDays(client.tier()));
  std::vector<v1::FollowUp> pending;
  RETURN_IF_ERROR(repo_->ScanRecords(
      FollowUpPrefix(client.client_id()), "", [&](std::string_view, std::string_view v) {
        v1::FollowUp f;
        if (f.ParseFromArray(v.data(), v.size()) && f.status() == v1::FOLLOW_UP_STATUS_PENDING) {
          pending.push_back(std::move(f));
        }
        return true;
      }));
  std::sort(pending.begin(), pending.end(), [](const v1::FollowUp& a, const v1::FollowUp& b) {
    return util::FromProto(a.due_time()) < util::FromProto(b.due_time());
  });
  if (!pending.empty()) *plan.mutable_next_due_time() = pending.front().due_time();
  for (auto& f : pending) *plan.add_pending() = std::move(f);
  return plan;
}

absl::StatusOr<v1::ListOverdueFollowUpsResponse> ClientsDomain::ListOverdueFollowUps(
    const v1::ListOverdueFollowUpsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("owner_id", req.owner_id()));
  std::string fp = "overdue:" + req.owner_id();
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  absl::Time now = Now();
  v1::ListOverdueFollowUpsResponse resp;
  absl::Status inner;
  // A page holds whole clients: each client's overdue follow-ups count as one group.
  RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, req.owner_id(), false, pager.after_key(),
                                   [&](std::string_view key, std::string_view client_id) {
                                     std::vector<v1::FollowUp> overdue;
                                     inner = repo_->ScanRecords(
                                         FollowUpPrefix(client_id), "",
                                         [&](std::string_view, std::string_view v) {
                                           v1::FollowUp f;
                                           if (f.ParseFromArray(v.data(), v.size()) &&
                                               f.status() == v1::FOLLOW_UP_STATUS_PENDING &&
                                               util::FromProto(f.due_time()) <= now) {
                                             overdue.push_back(std::move(f));
                                           }
                                           return true;
                                         });
                                     if (!inner.ok()) return false;
                                     if (overdue.empty()) return true;
                                     if (!pager.Accept(key, static_cast<int>(overdue.size())))
                                       return false;
                                     for (v1::FollowUp& f : overdue)
                                       *resp.add_follow_ups() = std::move(f);
                                     return true;
                                   }));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::CompleteFollowUpResponse> ClientsDomain::CompleteFollowUp(
    const v1::CompleteFollowUpRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckId("follow_up_id", req.follow_up_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  const v1::Touchpoint& in = req.touchpoint();
  RETURN_IF_ERROR(ValidateTouchpoint(in, "touchpoint.", /*require_participants=*/false));
  std::lock_guard lock(mu_);
  const api::Replay<v1::CompleteFollowUpResponse> replay(*store_, "CompleteFollowUp",
                                                         req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::CompleteFollowUpResponse> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::CompleteFollowUpResponse resp;
  ASSIGN_OR_RETURN(Client client, LoadLiveClient(req.client_id()));
  for (const std::string& contact : in.contact_ids()) {
    v1::Contact ct;
    absl::Status cs = repo_->GetRecord(ContactKey(client.client_id(), contact), &ct);
    if (absl::IsNotFound(cs)) {
      return InvalidField("touchpoint.contact_ids",
                          absl::StrCat("no contact ", contact, " at client ", client.client_id()));
    }
    RETURN_IF_ERROR(cs);
  }
  v1::FollowUp before;
  absl::Status s = repo_->GetRecord(FollowUpKey(client.client_id(), req.follow_up_id()), &before);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(absl::StrCat("follow-up ", req.follow_up_id(),
                                            " not found for client ", client.client_id()));
  }
  RETURN_IF_ERROR(s);
  if (before.status() != v1::FOLLOW_UP_STATUS_PENDING) {
    return absl::FailedPreconditionError(
        absl::StrCat("follow-up ", before.follow_up_id(), " is already completed"));
  }
  absl::Time now = Now();
  events::Transaction txn;
  v1::Touchpoint t = in;
  t.set_touchpoint_id(util::NewId("tp"));
  t.set_client_id(client.client_id());
  if (t.participant_ids().empty()) t.add_participant_ids(req.actor().id());
  if (!t.has_occur_time()) *t.mutable_occur_time() = util::ToProto(now);
  t.set_recorded_by(req.actor().id());
  t.set_follow_up_id(before.follow_up_id());
  RETURN_IF_ERROR(
      repo_->PutRecord(txn.batch(), TouchpointKey(t.client_id(), t.touchpoint_id()), t));
  v1::FollowUp after = before;
  after.set_status(v1::FOLLOW_UP_STATUS_COMPLETED);
  *after.mutable_complete_time() = util::ToProto(now);
  after.set_touchpoint_id(t.touchpoint_id());
  RETURN_IF_ERROR(
      repo_->PutRecord(txn.batch(), FollowUpKey(after.client_id(), after.follow_up_id()), after));
  RETURN_IF_ERROR(
      repo_->DeleteRecord(txn.batch(), FollowUpDueKey(util::FromProto(before.due_time()),
                                                      before.client_id(), before.follow_up_id())));
  v1::FollowUpCompleted ev;
  if (before.kind() == v1::FOLLOW_UP_KIND_CADENCE) {
    v1::FollowUp next;
    RETURN_IF_ERROR(ScheduleFollowUp(txn, client, v1::FOLLOW_UP_KIND_CADENCE,
                                     now + absl::Hours(24 * CadenceDays(client.tier())), "",
                                     util::NewId("fu"), &next));
    *ev.mutable_next() = FollowUpSummaryOf(next, client.owner_id());
    *resp.mutable_next() = std::move(next);
  }
  *ev.mutable_follow_up() = FollowUpSummaryOf(after, client.owner_id());
  ev.set_touchpoint_id(t.touchpoint_id());
  *ev.mutable_complete_time() = util::ToProto(now);
  *ev.mutable_actor() = req.actor();
  contracts::Emit<contracts::clients::FollowUpCompleted>(txn, client.client_id(), ev);
  *resp.mutable_follow_up() = std::move(after);
  *resp.mutable_touchpoint() = std::move(t);
  RETURN_IF_ERROR(replay.Record(txn.batch(), resp));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

absl::StatusOr<v1::ScanDueFollowUpsResponse> ClientsDomain::ScanDueFollowUps() {
  std::lock_guard lock(mu_);
  absl::Time now = Now();
  struct Due {
    std::string key, client_id, follow_up_id;
  };
  std::vector<Due> due;
  RETURN_IF_ERROR(
      repo_->ScanRecords(FollowUpDuePrefix(), "", [&](std::string_view key, std::string_view) {
        storage::KeyReader r(key);
        (void)r.Str();
        absl::StatusOr<int64_t> micros = r.I64();
        if (!micros.ok() || absl::FromUnixMicros(*micros) > now) return false;
        absl::StatusOr<std::string> client_id = r.Str();
        absl::StatusOr<std::string> id = r.Str();
        if (client_id.ok() && id.ok()) due.push_back({std::string(key), *client_id, *id});
        return static_cast<int>(due.size()) < kMaxScanPerCall;
      }));
  v1::ScanDueFollowUpsResponse resp;
  if (due.empty()) return resp;
  events::Transaction txn;
  for (const Due& d : due) {
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), d.key));
    v1::FollowUp f;
    absl::Status s = repo_->GetRecord(FollowUpKey(d.client_id, d.follow_up_id), &f);
    if (absl::IsNotFound(s)) continue;
    RETURN_IF_ERROR(s);
    if (f.status() != v1::FOLLOW_UP_STATUS_PENDING || f.due_notified()) continue;
    f.set_due_notified(true);
    RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), FollowUpKey(d.client_id, d.follow_up_id), f));
    absl::StatusOr<Client> client = repo_->GetClient(d.client_id);
    v1::FollowUpDue ev;
    *ev.mutable_follow_up() = FollowUpSummaryOf(f, client.ok() ? client->owner_id() : "");
    contracts::Emit<contracts::clients::FollowUpDue>(txn, d.client_id, ev);
    resp.add_due_follow_up_ids(d.follow_up_id);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

}  // namespace triad::clients
