// Implements ClientsDomain's service cases: open with an SLA, assign, move along the status
// flow, and the periodic SLA breach scan.
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"

namespace triad::clients {

// ---------------------------------------------------------------------------------------------
// Service cases.

v1::CaseSummary ClientsDomain::CaseSummaryOf(const v1::ServiceCase& c) const {
  v1::CaseSummary s;
  s.set_case_id(c.case_id());
  s.set_client_id(c.client_id());
  s.set_contact_id(c.contact_id());
  s.set_severity(c.severity());
  s.set_status(c.status());
  s.set_assignee_id(c.assignee_id());
  absl::StatusOr<Client> client = repo_->GetClient(c.client_id());
  if (client.ok()) s.set_client_owner_id(client->owner_id());
  s.set_client_tier(c.client_tier());
  *s.mutable_open_time() = c.open_time();
  *s.mutable_sla_due_time() = c.sla_due_time();
  s.set_breached(c.breached());
  s.set_satisfaction_score(c.satisfaction_score());
  s.set_version(c.version());
  return s;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::LoadCase(std::string_view case_id) const {
  v1::ServiceCase c;
  absl::Status s = repo_->GetRecord(CaseKey(case_id), &c);
  if (absl::IsNotFound(s))
    return absl::NotFoundError(absl::StrCat("case ", std::string(case_id), " not found"));
  RETURN_IF_ERROR(s);
  return c;
}

absl::Status ClientsDomain::WriteCase(events::Transaction& txn, const v1::ServiceCase* before,
                                      v1::ServiceCase& after) {
  after.set_version((before ? before->version() : 0) + 1);
  after.set_etag(absl::StrCat(after.version()));
  if (before != nullptr && CaseActive(*before)) {
    RETURN_IF_ERROR(repo_->DeleteRecord(
        txn.batch(), CaseSlaWatchKey(util::FromProto(before->sla_due_time()), before->case_id())));
  }
  if (CaseActive(after)) {
    RETURN_IF_ERROR(repo_->PutMarker(
        txn.batch(), CaseSlaWatchKey(util::FromProto(after.sla_due_time()), after.case_id())));
  }
  if (before == nullptr) {
    RETURN_IF_ERROR(
        repo_->PutMarker(txn.batch(), CaseByClientKey(after.client_id(), after.case_id())));
  }
  if (after.breach_count() > 0) {
    RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), CaseBreachedKey(after.case_id())));
  }
  // The open cases by assignee (what an offboarding moves).
  if (before != nullptr && CaseOpen(*before) && !before->assignee_id().empty()) {
    RETURN_IF_ERROR(repo_->DeleteRecord(
        txn.batch(), CaseByAssigneeKey(before->assignee_id(), before->case_id())));
  }
  if (CaseOpen(after) && !after.assignee_id().empty()) {
    RETURN_IF_ERROR(
        repo_->PutMarker(txn.batch(), CaseByAssigneeKey(after.assignee_id(), after.case_id())));
  }
  return repo_->PutRecord(txn.batch(), CaseKey(after.case_id()), after);
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::OpenCase(const v1::OpenCaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  if (req.severity() == v1::CASE_SEVERITY_UNSPECIFIED ||
      !v1::CaseSeverity_IsValid(req.severity())) {
    return InvalidField("severity", "required (critical, high, medium or low)");
  }
  if (IsBlank(req.description())) return InvalidField("description", "required");
  RETURN_IF_ERROR(api::CheckLength("description", req.description(), 10 * kMaxTextLength));
  RETURN_IF_ERROR(api::CheckOptionalId("contact_id", req.contact_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::ServiceCase> replay(*store_, "OpenCase", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::ServiceCase> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::ServiceCase c;
  ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
  if (client.status() == v1::CLIENT_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", client.client_id(), " is archived; restore it to open cases"));
  }
  if (!req.contact_id().empty()) {
    v1::Contact ct;
    absl::Status s = repo_->GetRecord(ContactKey(client.client_id(), req.contact_id()), &ct);
    if (absl::IsNotFound(s)) {
      return InvalidField("contact_id", absl::StrCat("no contact ", req.contact_id(), " at client ",
                                                     client.client_id()));
    }
    RETURN_IF_ERROR(s);
  }
  absl::Time now = Now();
  c.set_case_id(util::NewId("case"));
  c.set_client_id(client.client_id());
  c.set_contact_id(req.contact_id());
  c.set_severity(req.severity());
  c.set_description(req.description());
  c.set_status(v1::CASE_STATUS_OPEN);
  c.set_client_tier(client.tier());
  *c.mutable_open_time() = util::ToProto(now);
  *c.mutable_sla_due_time() = util::ToProto(now + SlaDuration(req.severity(), client.tier()));
  c.set_opened_by(req.actor().id());
  events::Transaction txn;
  RETURN_IF_ERROR(WriteCase(txn, nullptr, c));
  v1::CaseOpened ev;
  *ev.mutable_case_summary() = CaseSummaryOf(c);
  ev.set_description(c.description());
  *ev.mutable_actor() = req.actor();
  contracts::Emit<contracts::clients::CaseOpened>(txn, c.case_id(), ev);
  RETURN_IF_ERROR(replay.Record(txn.batch(), c));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return c;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::GetCase(std::string_view case_id) const {
  RETURN_IF_ERROR(api::CheckId("case_id", case_id));
  return LoadCase(case_id);
}

absl::StatusOr<v1::ListCasesResponse> ClientsDomain::ListCases(
    const v1::ListCasesRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  if (req.client_id().empty() && !req.breached_only()) {
    return InvalidField("client_id", "required unless breached_only is set");
  }
  if (!v1::CaseStatus_IsValid(req.status())) return InvalidField("status", "unknown value");
  std::string prefix;
  std::string fp = api::FilterFingerprint({req.client_id(), req.breached_only() ? "b" : "",
                                           absl::StrCat(static_cast<int>(req.status()))});
  if (!req.client_id().empty()) {
    ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
    prefix = CaseByClientPrefix(client.client_id());
  } else {
    prefix = CaseBreachedPrefix();
  }
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListCasesResponse resp;
  absl::Status inner;
  RETURN_IF_ERROR(
      repo_->ScanRecords(prefix, pager.after_key(), [&](std::string_view key, std::string_view) {
        absl::StatusOr<v1::ServiceCase> c = LoadCase(LastComponent(key));
        if (!c.ok()) {
          inner = c.status();
          return false;
        }
        if (req.status() && c->status() != req.status()) return true;
        if (req.breached_only() && c->breach_count() == 0) return true;
        if (!pager.Accept(key)) return false;
        *resp.add_cases() = *std::move(c);
        return true;
      }));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::AssignCase(const v1::AssignCaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("case_id", req.case_id()));
  RETURN_IF_ERROR(api::CheckId("assignee_id", req.assignee_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckPersonActive("assignee_id", req.assignee_id()));
  ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(req.case_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(before.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("case ", before.case_id())));
  if (before.status() == v1::CASE_STATUS_CLOSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", before.case_id(), " is closed; reopen it before assigning"));
  }
  if (before.assignee_id() == req.assignee_id()) return before;
  v1::ServiceCase after = before;
  after.set_assignee_id(req.assignee_id());
  events::Transaction txn;
  RETURN_IF_ERROR(WriteCase(txn, &before, after));
  v1::CaseAssigned ev;
  *ev.mutable_case_summary() = CaseSummaryOf(after);
  ev.set_previous_assignee_id(before.assignee_id());
  *ev.mutable_actor() = req.actor();
  contracts::Emit<contracts::clients::CaseAssigned>(txn, after.case_id(), ev);
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return after;
}

absl::StatusOr<v1::ServiceCase> ClientsDomain::TransitionCase(
    const v1::TransitionCaseRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("case_id", req.case_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  const v1::CaseStatus to = req.target_status();
  if (to != v1::CASE_STATUS_IN_PROGRESS && to != v1::CASE_STATUS_RESOLVED &&
      to != v1::CASE_STATUS_CLOSED && to != v1::CASE_STATUS_REOPENED) {
    return InvalidField("target_status", "must be IN_PROGRESS, RESOLVED, CLOSED or REOPENED");
  }
  if (to == v1::CASE_STATUS_CLOSED &&
      (req.satisfaction_score() < 1 || req.satisfaction_score() > 5)) {
    return InvalidField("satisfaction_score", "required (1..5) when closing");
  }
  if (to != v1::CASE_STATUS_CLOSED && req.satisfaction_score() != 0) {
    return InvalidField("satisfaction_score", "only given when closing");
  }
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(req.case_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(before.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("case ", before.case_id())));
  const v1::CaseStatus from = before.status();
  static const std::map<v1::CaseStatus, std::set<v1::CaseStatus>> kAllowed = {
      {v1::CASE_STATUS_OPEN, {v1::CASE_STATUS_IN_PROGRESS, v1::CASE_STATUS_RESOLVED}},
      {v1::CASE_STATUS_IN_PROGRESS, {v1::CASE_STATUS_RESOLVED}},
      {v1::CASE_STATUS_RESOLVED, {v1::CASE_STATUS_CLOSED, v1::CASE_STATUS_REOPENED}},
      {v1::CASE_STATUS_CLOSED, {v1::CASE_STATUS_REOPENED}},
      {v1::CASE_STATUS_REOPENED, {v1::CASE_STATUS_IN_PROGRESS, v1::CASE_STATUS_RESOLVED}},
  };
  auto it = kAllowed.find(from);
  if (it == kAllowed.end() || !it->second.count(to)) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", before.case_id(), " cannot move from ", v1::CaseStatus_Name(from),
                     " to ", v1::CaseStatus_Name(to)));
  }
  if (to == v1::CASE_STATUS_IN_PROGRESS && before.assignee_id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", before.case_id(), " has no assignee; assign it first"));
  }
  absl::Time now = Now();
  v1::ServiceCase after = before;
  after.set_status(to);
  // The event of the transition: the contracts declare one type per target status.
  void (*emit)(events::Transaction&, std::string_view, const v1::CaseStatusChanged&,
               std::string_view) = nullptr;
  switch (to) {
    case v1::CASE_STATUS_IN_PROGRESS:
      emit = &contracts::Emit<contracts::clients::CaseStarted>;
      break;
    case v1::CASE_STATUS_RESOLVED:
      emit = &contracts::Emit<contracts::clients::CaseResolved>;
      *after.mutable_resolve_time() = util::ToProto(now);
      after.set_resolution(req.resolution());
      break;
    case v1::CASE_STATUS_CLOSED:
      emit = &contracts::Emit<contracts::clients::CaseClosed>;
      *after.mutable_close_time() = util::ToProto(now);
      after.set_satisfaction_score(req.satisfaction_score());
      break;
    default:
      emit = &contracts::Emit<contracts::clients::CaseReopened>;
      after.set_breached(false);
      after.clear_breach_time();
      after.clear_resolve_time();
      after.clear_close_time();
      after.set_satisfaction_score(0);
      *after.mutable_sla_due_time() =
          util::ToProto(now + SlaDuration(after.severity(), after.client_tier()));
  }
  events::Transaction txn;
  RETURN_IF_ERROR(WriteCase(txn, &before, after));
  v1::CaseStatusChanged ev;
  *ev.mutable_case_summary() = CaseSummaryOf(after);
  ev.set_previous_status(from);
  *ev.mutable_actor() = req.actor();
  ev.set_resolution(after.resolution());
  emit(txn, after.case_id(), ev, {});
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return after;
}

absl::StatusOr<v1::ScanSlaBreachesResponse> ClientsDomain::ScanSlaBreaches() {
  std::lock_guard lock(mu_);
  absl::Time now = Now();
  std::vector<std::string> ids;
  absl::Status inner;
  RETURN_IF_ERROR(
      repo_->ScanRecords(CaseSlaWatchPrefix(), "", [&](std::string_view key, std::string_view) {
        absl::StatusOr<absl::Time> due = KeyTime(key);
        if (!due.ok()) {
          inner = due.status();
          return false;
        }
        if (*due > now) return false;
        storage::KeyReader r(key);
        (void)r.Str();
        (void)r.I64();
        absl::StatusOr<std::string> id = r.Str();
        if (id.ok()) ids.push_back(*id);
        return static_cast<int>(ids.size()) < kMaxScanPerCall;
      }));
  RETURN_IF_ERROR(inner);
  v1::ScanSlaBreachesResponse resp;
  if (ids.empty()) return resp;
  events::Transaction txn;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::ServiceCase before, LoadCase(id));
    if (!CaseActive(before)) continue;
    v1::ServiceCase after = before;
    after.set_breached(true);
    *after.mutable_breach_time() = util::ToProto(now);
    after.set_breach_count(before.breach_count() + 1);
    RETURN_IF_ERROR(WriteCase(txn, &before, after));
    v1::CaseBreached ev;
    *ev.mutable_case_summary() = CaseSummaryOf(after);
    *ev.mutable_detect_time() = util::ToProto(now);
    contracts::Emit<contracts::clients::CaseBreached>(txn, after.case_id(), ev);
    resp.add_breached_case_ids(id);
  }
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return resp;
}

}  // namespace triad::clients
