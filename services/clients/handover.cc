// Implements ClientsDomain's ownership: reassigning one client and the chunked, resumable
// portfolio handover.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"

namespace triad::clients {

// ---------------------------------------------------------------------------------------------
// Ownership.

absl::Status ClientsDomain::ChangeOwner(events::Transaction& txn, Client client,
                                        const std::string& new_owner, const Actor& actor,
                                        std::string_view handover_id) {
  Client before = client;
  client.set_owner_id(new_owner);
  RETURN_IF_ERROR(WriteClient(txn, &before, client, "owner_changed", actor,
                              {Change("owner_id", before.owner_id(), new_owner)}, handover_id));
  Client with_rb = client;  // repeat-business figures summed over the ids merged into it
  RETURN_IF_ERROR(WithRepeatBusiness(with_rb));
  v1::ClientOwnerChanged ev;
  *ev.mutable_client() = SummaryOf(client, with_rb.repeat_business().repeat_client());
  ev.set_previous_owner_id(before.owner_id());
  ev.set_new_owner_id(new_owner);
  *ev.mutable_actor() = actor;
  ev.set_handover_id(std::string(handover_id));
  contracts::Emit<contracts::clients::ClientOwnerChanged>(txn, client.client_id(), ev);
  return absl::OkStatus();
}

absl::StatusOr<Client> ClientsDomain::ReassignClient(const v1::ReassignClientRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckId("new_owner_id", req.new_owner_id()));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  if (IsBlank(req.actor().reason()))
    return InvalidField("actor.reason", "required when changing owner");
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckPersonActive("new_owner_id", req.new_owner_id()));
  ASSIGN_OR_RETURN(Client c, LoadLiveClient(req.client_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(c.etag()), api::GivenEtag(req.etag()),
                                 absl::StrCat("client ", c.client_id())));
  if (c.owner_id() != req.new_owner_id()) {
    events::Transaction txn;
    RETURN_IF_ERROR(ChangeOwner(txn, c, req.new_owner_id(), req.actor(), ""));
    RETURN_IF_ERROR(outbox_->Commit(txn));
  }
  ASSIGN_OR_RETURN(Client out, LoadClient(req.client_id(), false));
  RETURN_IF_ERROR(WithRepeatBusiness(out));
  return out;
}

absl::StatusOr<v1::Handover> ClientsDomain::HandOverPortfolio(
    const v1::HandOverPortfolioRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("from_owner_id", req.from_owner_id()));
  RETURN_IF_ERROR(api::CheckId("to_owner_id", req.to_owner_id()));
  if (req.from_owner_id() == req.to_owner_id()) {
    return InvalidField("to_owner_id", "must differ from from_owner_id");
  }
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  if (IsBlank(req.actor().reason())) return InvalidField("actor.reason", "required for a handover");
  v1::Handover h;
  {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(CheckPersonActive("to_owner_id", req.to_owner_id()));
    // The replay stores the handover as created; a retry continues it from its stored progress.
    const api::Replay<v1::Handover> replay(*store_, "HandOverPortfolio", req.request_id(), req);
    ASSIGN_OR_RETURN(std::optional<v1::Handover> prior, replay.Prior());
    if (prior.has_value()) {
      RETURN_IF_ERROR(repo_->GetRecord(HandoverKey(prior->handover_id()), &h));
      if (h.status() == v1::HANDOVER_STATUS_COMPLETED) return h;
    } else {
      int64_t total = 0;
      RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, req.from_owner_id(), false, "",
                                       [&](std::string_view, std::string_view) {
                                         ++total;
                                         return true;
                                       }));
      h.set_handover_id(util::NewId("ho"));
      h.set_from_owner_id(req.from_owner_id());
      h.set_to_owner_id(req.to_owner_id());
      *h.mutable_actor() = req.actor();
      h.set_status(v1::HANDOVER_STATUS_RUNNING);
      h.set_total(total);
      *h.mutable_start_time() = util::ToProto(Now());
      *h.mutable_update_time() = h.start_time();
      h.set_request_id(req.request_id());
      events::Transaction txn;
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), HandoverKey(h.handover_id()), h));
      RETURN_IF_ERROR(repo_->PutMarker(txn.batch(), HandoverRunningKey(h.handover_id())));
      RETURN_IF_ERROR(replay.Record(txn.batch(), h));
      RETURN_IF_ERROR(outbox_->Commit(txn));
    }
  }
  return RunHandover(std::move(h));
}

absl::StatusOr<v1::Handover> ClientsDomain::RunHandover(v1::Handover h) {
  int chunks = 0;
  const int chunk_size = std::max(1, options_.handover_chunk_size);
  while (true) {
    std::lock_guard lock(mu_);
    // Another caller may run the same handover (a concurrent retry, or the start-up resume):
    // continue from the progress persisted by the last chunk, whoever moved it.
    v1::Handover stored;
    absl::Status hs = repo_->GetRecord(HandoverKey(h.handover_id()), &stored);
    if (!hs.ok() && !absl::IsNotFound(hs)) return hs;
    if (hs.ok()) h = std::move(stored);
    if (h.status() == v1::HANDOVER_STATUS_COMPLETED) return h;
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->ScanIndex(ClientIndex::kOwner, h.from_owner_id(), false, "",
                                     [&](std::string_view, std::string_view id) {
                                       ids.emplace_back(id);
                                       return static_cast<int>(ids.size()) < chunk_size;
                                     }));
    events::Transaction txn;
    *h.mutable_update_time() = util::ToProto(Now());
    if (ids.empty()) {
      h.set_status(v1::HANDOVER_STATUS_COMPLETED);
      *h.mutable_complete_time() = h.update_time();
      h.set_total(std::max(h.total(), h.moved()));
      RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), HandoverKey(h.handover_id()), h));
      RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), HandoverRunningKey(h.handover_id())));
      RETURN_IF_ERROR(outbox_->Commit(txn));
      logging::Info("handover completed", {{"handover_id", h.handover_id()},
                                           {"moved", static_cast<long long>(h.moved())}});
      return h;
    }
    int moved = 0;
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(Client c, LoadClient(id, false));
      if (c.owner_id() != h.from_owner_id()) continue;
      RETURN_IF_ERROR(ChangeOwner(txn, std::move(c), h.to_owner_id(), h.actor(), h.handover_id()));
      ++moved;
    }
    h.set_moved(h.moved() + moved);
    h.set_total(std::max(h.total(), h.moved()));
    RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), HandoverKey(h.handover_id()), h));
    RETURN_IF_ERROR(outbox_->Commit(txn));
    if (++chunks == options_.handover_stop_after_chunks) return h;
  }
}

absl::StatusOr<v1::Handover> ClientsDomain::GetHandover(std::string_view handover_id) const {
  RETURN_IF_ERROR(api::CheckId("handover_id", handover_id));
  v1::Handover h;
  absl::Status s = repo_->GetRecord(HandoverKey(handover_id), &h);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(absl::StrCat("handover ", std::string(handover_id), " not found"));
  }
  RETURN_IF_ERROR(s);
  return h;
}

absl::Status ClientsDomain::ResumeHandovers() {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(
      repo_->ScanRecords(HandoverRunningPrefix(), "", [&](std::string_view key, std::string_view) {
        ids.push_back(LastComponent(key));
        return true;
      }));
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Handover h, GetHandover(id));
    if (h.status() != v1::HANDOVER_STATUS_RUNNING) continue;
    logging::Info("resuming handover", {{"handover_id", id}});
    RETURN_IF_ERROR(RunHandover(std::move(h)).status());
  }
  return absl::OkStatus();
}

}  // namespace triad::clients
