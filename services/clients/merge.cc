// Implements ClientsDomain::MergeClients: the survivor takes the merged record's values where
// it has none, its contacts, touchpoints, follow-ups and cases, in one transaction.
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"

namespace triad::clients {

absl::StatusOr<Client> ClientsDomain::MergeClients(const v1::MergeClientsRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("survivor_id", req.survivor_id()));
  RETURN_IF_ERROR(api::CheckId("merged_id", req.merged_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  if (req.survivor_id() == req.merged_id()) {
    return InvalidField("merged_id", "must differ from survivor_id");
  }
  if (IsBlank(req.actor().reason())) return InvalidField("actor.reason", "required for a merge");
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Client survivor, LoadLiveClient(req.survivor_id()));
  ASSIGN_OR_RETURN(Client loser, LoadLiveClient(req.merged_id()));
  events::Transaction txn;
  // The survivor keeps its values and takes the loser's where it has none.
  Client s_after = survivor;
  for (const FieldDef& f : Fields()) {
    if (std::string_view(f.name) == "tags") continue;
    if (f.get(s_after).empty() ||
        (std::string_view(f.name) == "tier" && s_after.tier() == v1::CLIENT_TIER_UNSPECIFIED)) {
      f.copy(loser, s_after);
    }
  }
  std::set<std::string> tags(s_after.tags().begin(), s_after.tags().end());
  for (const std::string& t : loser.tags()) {
    if (tags.insert(t).second) s_after.add_tags(t);
  }
  s_after.add_merged_client_ids(loser.client_id());
  for (const std::string& id : loser.merged_client_ids()) s_after.add_merged_client_ids(id);
  std::vector<FieldChange> s_changes = Diff(survivor, s_after);
  s_changes.push_back(Change("merged_client_ids", "", loser.client_id()));
  Client l_after = loser;
  l_after.set_status(v1::CLIENT_STATUS_MERGED);
  l_after.set_merged_into(survivor.client_id());
  std::vector<FieldChange> l_changes = {
      Change("status", v1::ClientStatus_Name(loser.status()), "CLIENT_STATUS_MERGED"),
      Change("merged_into", "", survivor.client_id())};
  // Contacts and touchpoints move to the survivor; the loser's pending follow-ups are dropped.
  absl::Status inner;
  auto move_all = [&](const std::string& prefix, auto make_key, auto proto) -> absl::Status {
    std::vector<std::pair<std::string, std::string>> rows;
    RETURN_IF_ERROR(repo_->ScanRecords(prefix, "", [&](std::string_view k, std::string_view v) {
      rows.emplace_back(std::string(k), std::string(v));
      return true;
    }));
    for (auto& [k, v] : rows) {
      auto msg = proto;
      if (!msg.ParseFromString(v)) return absl::DataLossError("record does not decode");
      msg.set_client_id(survivor.client_id());
      RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), k));
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), make_key(msg), msg));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(move_all(
      ContactPrefix(loser.client_id()),
      [](const v1::Contact& m) { return ContactKey(m.client_id(), m.contact_id()); },
      v1::Contact()));
  RETURN_IF_ERROR(move_all(
      TouchpointPrefix(loser.client_id()),
      [](const v1::Touchpoint& m) { return TouchpointKey(m.client_id(), m.touchpoint_id()); },
      v1::Touchpoint()));
  // Follow-ups: the loser's pending cadence follow-ups are dropped (the survivor has its own);
  // its post-delivery and completed ones move to the survivor.
  std::vector<v1::FollowUp> loser_fus;
  RETURN_IF_ERROR(repo_->ScanRecords(FollowUpPrefix(loser.client_id()), "",
                                     [&](std::string_view k, std::string_view v) {
                                       v1::FollowUp f;
                                       if (f.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
                                         loser_fus.push_back(f);
                                       } else {
                                         inner = absl::DataLossError("follow-up does not decode");
                                       }
                                       return inner.ok();
                                     }));
  RETURN_IF_ERROR(inner);
  for (const v1::FollowUp& f : loser_fus) {
    const bool pending = f.status() == v1::FOLLOW_UP_STATUS_PENDING;
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), FollowUpKey(f.client_id(), f.follow_up_id())));
    if (pending) {
      RETURN_IF_ERROR(repo_->DeleteRecord(
          txn.batch(),
          FollowUpDueKey(util::FromProto(f.due_time()), f.client_id(), f.follow_up_id())));
    }
    if (pending && f.kind() == v1::FOLLOW_UP_KIND_CADENCE) continue;
    v1::FollowUp existing;
    absl::Status es =
        repo_->GetRecord(FollowUpKey(survivor.client_id(), f.follow_up_id()), &existing);
    if (es.ok()) continue;  // the survivor already has it (same project delivered to both)
    if (!absl::IsNotFound(es)) return es;
    v1::FollowUp moved = f;
    moved.set_client_id(survivor.client_id());
    RETURN_IF_ERROR(
        repo_->PutRecord(txn.batch(), FollowUpKey(moved.client_id(), moved.follow_up_id()), moved));
    if (pending && !moved.due_notified()) {
      RETURN_IF_ERROR(
          repo_->PutMarker(txn.batch(), FollowUpDueKey(util::FromProto(moved.due_time()),
                                                       moved.client_id(), moved.follow_up_id())));
    }
  }
  // Service cases move to the survivor (their SLA and history stay as they are).
  std::vector<std::string> case_ids;
  RETURN_IF_ERROR(repo_->ScanRecords(CaseByClientPrefix(loser.client_id()), "",
                                     [&](std::string_view k, std::string_view) {
                                       case_ids.push_back(LastComponent(k));
                                       return true;
                                     }));
  for (const std::string& id : case_ids) {
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), CaseByClientKey(loser.client_id(), id)));
    absl::StatusOr<v1::ServiceCase> before_case = LoadCase(id);
    if (absl::IsNotFound(before_case.status())) continue;
    RETURN_IF_ERROR(before_case.status());
    v1::ServiceCase after_case = *before_case;
    after_case.set_client_id(survivor.client_id());
    RETURN_IF_ERROR(WriteCase(txn, &*before_case, after_case));
    RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), CaseByClientKey(survivor.client_id(), id)));
  }
  if (!case_ids.empty()) {
    s_changes.push_back(
        Change("cases", "", absl::StrCat(case_ids.size(), " moved from ", loser.client_id())));
  }
  // Taking the loser's tier may change the survivor's cadence.
  RETURN_IF_ERROR(RescheduleCadence(txn, survivor, s_after, &s_changes));
  RETURN_IF_ERROR(
      WriteClient(txn, &loser, l_after, "merged", req.actor(), std::move(l_changes), ""));
  RETURN_IF_ERROR(
      WriteClient(txn, &survivor, s_after, "merged_in", req.actor(), std::move(s_changes), ""));
  Client out = s_after;
  RETURN_IF_ERROR(WithRepeatBusiness(out));
  v1::ClientsMerged ev;
  *ev.mutable_survivor() = SummaryOf(s_after, out.repeat_business().repeat_client());
  ev.set_merged_client_id(loser.client_id());
  *ev.mutable_actor() = req.actor();
  ev.add_redirected_client_ids(loser.client_id());
  for (const std::string& id : loser.merged_client_ids()) ev.add_redirected_client_ids(id);
  for (const std::string& id : case_ids) ev.add_remapped_case_ids(id);
  contracts::Emit<contracts::clients::ClientsMerged>(txn, s_after.client_id(), ev);
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return out;
}

}  // namespace triad::clients
