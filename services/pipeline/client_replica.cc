// Implements Pipeline's replica of client summaries: resolving a client (following merges),
// repeat-client detection, and applying consumed client events.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

absl::StatusOr<clients::v1::ClientSummary> Pipeline::ResolveClient(
    std::string_view client_view) const {
  const std::string client_id(client_view);
  std::string id(client_id);
  // Follow merge redirects to the survivor. OnClient keeps them acyclic (a survivor never has a
  // redirect); the visited set still stops a cycle in data written before that rule.
  std::set<std::string> visited = {id};
  for (int hop = 0; hop < 64; ++hop) {
    absl::StatusOr<std::string> redirect = repo_->GetRaw(Kind::kIndex, RedirectKey(id));
    if (!redirect.ok()) {
      if (!absl::IsNotFound(redirect.status())) return redirect.status();
      break;
    }
    if (!visited.insert(*redirect).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("client ", client_id, " is in a cycle of merges"));
    }
    id = *redirect;
  }
  clients::v1::ClientSummary c;
  absl::Status st = repo_->GetProto(Kind::kClient, id, &c);
  if (absl::IsNotFound(st)) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", client_id, " is not known (no client event received for it)"));
  }
  RETURN_IF_ERROR(st);
  if (c.status() == clients::v1::CLIENT_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError(absl::StrCat("client ", id, " is archived"));
  }
  if (c.status() == clients::v1::CLIENT_STATUS_MERGED) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", id, " was merged and its survivor is not known yet"));
  }
  return c;
}

bool Pipeline::IsRepeatClient(const clients::v1::ClientSummary& c) const {
  if (c.repeat_client()) return true;
  absl::StatusOr<std::string> won = repo_->GetRaw(Kind::kIndex, WonClientKey(c.client_id()));
  return won.ok();
}

absl::Status Pipeline::OnClient(const events::Event& event,
                                const clients::v1::ClientSummary& client,
                                std::string_view previous_owner, std::string_view new_owner,
                                std::string_view merged_client_id) {
  return Standalone(event, [&](events::Transaction& txn) {
    return ApplyClient(event, client, previous_owner, new_owner, merged_client_id, txn);
  });
}

absl::Status Pipeline::ApplyClient(const events::Event& event,
                                   const clients::v1::ClientSummary& client,
                                   std::string_view previous_owner, std::string_view new_owner,
                                   std::string_view merged_client_id, events::Transaction& txn) {
  if (event.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  if (client.client_id().empty()) {
    return absl::InvalidArgumentError("client event without client.client_id");
  }
  RETURN_IF_ERROR(api::CheckUtf8(client, "client"));
  for (std::string_view v : {previous_owner, new_owner, merged_client_id}) {
    if (!api::IsValidUtf8(v)) {
      return absl::InvalidArgumentError("client event: an owner or client id is not valid UTF-8");
    }
  }
  const bool merge = !merged_client_id.empty() && merged_client_id != client.client_id();
  Work work(txn);
  // Replica: keep the newest version (events of one client arrive in order; the check guards
  // against a replay of an older one).
  clients::v1::ClientSummary stored;
  absl::Status st = repo_->GetProto(Kind::kClient, client.client_id(), &stored);
  if (!st.ok() && !absl::IsNotFound(st)) return st;
  // A merge survivor is live whatever an earlier merge said of it (e.g. A into B, then B back
  // into A): its redirect goes, so redirects never form a cycle.
  const bool revive = merge && st.ok() && stored.status() == clients::v1::CLIENT_STATUS_MERGED &&
                      client.status() != clients::v1::CLIENT_STATUS_MERGED;
  if (!st.ok() || client.version() >= stored.version() || revive) {
    repo_->PutProto(work.txn.batch(), Kind::kClient, client.client_id(), client);
  }
  if (merge) repo_->Delete(work.txn.batch(), Kind::kIndex, RedirectKey(client.client_id()));
  absl::Time now = options_.clock();
  if (!previous_owner.empty() && !new_owner.empty() && previous_owner != new_owner) {
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->Scan(Kind::kIndex, ClientOppPrefix(client.client_id()),
                                [&](std::string_view key, std::string_view) {
                                  storage::KeyReader r(key.substr(1));
                                  auto c = r.Str();
                                  auto id = r.Str();
                                  if (c.ok() && id.ok()) ids.push_back(*id);
                                  return true;
                                }));
    for (const std::string& id : ids) {
      absl::StatusOr<v1::Opportunity> opp_or = LoadOpportunity(id);
      if (!opp_or.ok()) continue;
      v1::Opportunity& opp = *opp_or;
      if (opp.state() != v1::OPPORTUNITY_STATE_OPEN || opp.owner_id() != previous_owner) continue;
      GaugeDeltas(work, opp, -1);
      std::string reason =
          absl::StrCat("client ", client.client_id(), " owner changed from ",
                       std::string(previous_owner), " to ", std::string(new_owner));
      AddHistory(opp, now, "owner_changed", reason, "svc:clients");
      v1::OpportunityOwnerChanged ev;
      ev.set_opportunity_id(opp.id());
      ev.set_client_id(opp.client_id());
      ev.set_previous_owner_id(opp.owner_id());
      ev.set_new_owner_id(std::string(new_owner));
      ev.set_reason(reason);
      ev.set_actor_id("svc:clients");
      ev.set_cause_event_id(event.id);
      *ev.mutable_change_time() = ToProto(now);
      opp.set_owner_id(std::string(new_owner));
      GaugeDeltas(work, opp, +1);
      contracts::Emit<contracts::pipeline::OpportunityOwnerChanged>(work.txn, opp.id(), ev);
      SaveOpportunity(work, opp);
    }
  }
  if (merge) {
    const std::string merged(merged_client_id);
    repo_->PutRaw(work.txn.batch(), Kind::kIndex, RedirectKey(merged), client.client_id());
    clients::v1::ClientSummary old;
    if (repo_->GetProto(Kind::kClient, merged, &old).ok()) {
      old.set_status(clients::v1::CLIENT_STATUS_MERGED);
      repo_->PutProto(work.txn.batch(), Kind::kClient, merged, old);
    }
    if (repo_->GetRaw(Kind::kIndex, WonClientKey(merged)).ok()) {
      repo_->PutRaw(work.txn.batch(), Kind::kIndex, WonClientKey(client.client_id()), "");
    }
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->Scan(Kind::kIndex, ClientOppPrefix(merged),
                                [&](std::string_view key, std::string_view) {
                                  storage::KeyReader r(key.substr(1));
                                  auto c = r.Str();
                                  auto id = r.Str();
                                  if (c.ok() && id.ok()) ids.push_back(*id);
                                  return true;
                                }));
    for (const std::string& id : ids) {
      absl::StatusOr<v1::Opportunity> opp_or = LoadOpportunity(id);
      repo_->Delete(work.txn.batch(), Kind::kIndex, ClientOppKey(merged, id));
      if (!opp_or.ok()) continue;
      v1::Opportunity& opp = *opp_or;
      opp.set_client_id(client.client_id());
      AddHistory(opp, now, "client_remapped",
                 absl::StrCat("client ", merged, " merged into ", client.client_id()),
                 "svc:clients");
      v1::OpportunityClientRemapped ev;
      ev.set_opportunity_id(id);
      ev.set_previous_client_id(merged);
      ev.set_new_client_id(client.client_id());
      *ev.mutable_remap_time() = ToProto(now);
      contracts::Emit<contracts::pipeline::OpportunityClientRemapped>(work.txn, id, ev);
      SaveOpportunity(work, opp);
    }
  }
  return StageLocked(work);
}

absl::Status Pipeline::ApplyClientErased(const events::Event& event,
                                         const clients::v1::ClientPersonalDataErased& m,
                                         events::Transaction& txn) {
  for (const std::string& id : m.merged_client_ids()) {
    RETURN_IF_ERROR(api::CheckId("merged_client_ids", id));
  }
  RETURN_IF_ERROR(ApplyClient(event, m.client(), {}, {}, {}, txn));
  if (!m.client_is_person()) return absl::OkStatus();
  // ApplyClient keeps a newer stored version of the client as it is: blank its name as well.
  std::vector<std::string> ids(m.merged_client_ids().begin(), m.merged_client_ids().end());
  clients::v1::ClientSummary stored;
  absl::Status st = repo_->GetProto(Kind::kClient, m.client().client_id(), &stored);
  if (!st.ok() && !absl::IsNotFound(st)) return st;
  if (st.ok() && stored.version() > m.client().version()) ids.push_back(m.client().client_id());
  for (const std::string& id : ids) {
    clients::v1::ClientSummary c;
    absl::Status got = repo_->GetProto(Kind::kClient, id, &c);
    if (absl::IsNotFound(got)) continue;
    RETURN_IF_ERROR(got);
    if (c.name() == m.client().name()) continue;
    c.set_name(m.client().name());
    repo_->PutProto(txn.batch(), Kind::kClient, id, c);
  }
  return absl::OkStatus();
}

}  // namespace triad::pipeline
