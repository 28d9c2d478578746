// Implements the ClientsDomain facade: tier cadence and SLA tables, loading clients (following
// merges), repeat-business figures and writing a client with its history.
#include "services/clients/domain.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/clients/domain_internal.h"

namespace triad::clients {

int CadenceDays(v1::ClientTier tier) {
  switch (tier) {
    case v1::CLIENT_TIER_STRATEGIC:
    case v1::CLIENT_TIER_KEY:
      return 30;
    case v1::CLIENT_TIER_SMALL:
      return 180;
    default:
      return 90;
  }
}

absl::Duration SlaDuration(v1::CaseSeverity severity, v1::ClientTier tier) {
  // Hours to resolve, by severity (rows) and tier (strategic, key, standard/unset, small).
  static constexpr int kHours[4][4] = {
      {4, 8, 24, 48},      // critical
      {8, 24, 48, 72},     // high
      {24, 48, 72, 120},   // medium
      {72, 120, 168, 240}  // low
  };
  int row = std::clamp(static_cast<int>(severity), 1, 4) - 1;
  int col = 2;
  if (tier == v1::CLIENT_TIER_STRATEGIC) col = 0;
  if (tier == v1::CLIENT_TIER_KEY) col = 1;
  if (tier == v1::CLIENT_TIER_SMALL) col = 3;
  return absl::Hours(kHours[row][col]);
}

int CompletenessScore(const Client& c) {
  const bool filled[] = {!IsBlank(c.name()),     !IsBlank(c.tax_id()),
                         !IsBlank(c.phone()),    !IsBlank(c.email()),
                         !IsBlank(c.address()),  !IsBlank(c.industry()),
                         !IsBlank(c.region()),   c.tier() != v1::CLIENT_TIER_UNSPECIFIED,
                         !IsBlank(c.owner_id()), !IsBlank(c.website())};
  int n = 0;
  for (bool f : filled) n += f ? 1 : 0;
  return n * 100 / static_cast<int>(sizeof(filled) / sizeof(filled[0]));
}

ClientsDomain::ClientsDomain(storage::Store* store, events::Outbox* outbox, ClientsRepository* repo,
                             DomainOptions options)
    : store_(store), outbox_(outbox), repo_(repo), options_(std::move(options)) {}

// ---------------------------------------------------------------------------------------------
// Loading.

absl::StatusOr<Client> ClientsDomain::LoadClient(std::string_view client_id,
                                                 bool follow_merge) const {
  absl::StatusOr<Client> c = repo_->GetClient(client_id);
  if (absl::IsNotFound(c.status())) {
    return absl::NotFoundError(absl::StrCat("client ", std::string(client_id), " not found"));
  }
  RETURN_IF_ERROR(c.status());
  for (int hops = 0; follow_merge && c->status() == v1::CLIENT_STATUS_MERGED &&
                     !c->merged_into().empty() && hops < 16;
       ++hops) {
    c = repo_->GetClient(c->merged_into());
    RETURN_IF_ERROR(c.status());
  }
  return c;
}

absl::StatusOr<Client> ClientsDomain::LoadLiveClient(std::string_view client_id) const {
  ASSIGN_OR_RETURN(Client c, LoadClient(client_id, /*follow_merge=*/false));
  if (c.status() == v1::CLIENT_STATUS_MERGED) {
    return absl::FailedPreconditionError(absl::StrCat("client ", std::string(client_id),
                                                      " was merged into ", c.merged_into(),
                                                      "; use the survivor"));
  }
  return c;
}

absl::Status ClientsDomain::WithRepeatBusiness(Client& client) const {
  return WithRepeatBusiness(std::vector<Client*>{&client});
}

absl::Status ClientsDomain::WithRepeatBusiness(const std::vector<Client*>& clients) const {
  std::vector<std::vector<std::string_view>> ids;
  ids.reserve(clients.size());
  for (const Client* c : clients) {
    std::vector<std::string_view>& own = ids.emplace_back();
    own.push_back(c->client_id());
    for (const std::string& id : c->merged_client_ids()) own.push_back(id);
  }
  ASSIGN_OR_RETURN(std::vector<v1::RepeatBusiness> totals, RepeatBusinessOf(ids));
  for (size_t i = 0; i < clients.size(); ++i) {
    *clients[i]->mutable_repeat_business() = std::move(totals[i]);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RepeatBusiness>> ClientsDomain::RepeatBusinessOf(
    const std::vector<std::vector<std::string_view>>& ids) const {
  // One batched read of every record: each client's own and those of the clients merged
  // into it.
  std::vector<std::string> keys;
  for (const std::vector<std::string_view>& own : ids) {
    for (std::string_view id : own) keys.push_back(RepeatBusinessKey(id));
  }
  std::vector<v1::RepeatBusiness> records(keys.size());
  std::vector<google::protobuf::Message*> msgs;
  msgs.reserve(records.size());
  for (v1::RepeatBusiness& rb : records) msgs.push_back(&rb);
  ASSIGN_OR_RETURN(std::vector<bool> found, repo_->GetRecords(keys, msgs));
  std::vector<v1::RepeatBusiness> totals(ids.size());
  size_t next = 0;
  for (size_t c = 0; c < ids.size(); ++c) {
    v1::RepeatBusiness& total = totals[c];
    for (size_t i = next; i < next + ids[c].size(); ++i) {
      if (!found[i]) continue;
      const v1::RepeatBusiness& rb = records[i];
      total.set_deals_won(total.deals_won() + rb.deals_won());
      total.set_deals_lost(total.deals_lost() + rb.deals_lost());
      for (const auto& m : rb.lifetime_value()) {
        AddMoneySaturating(*total.mutable_lifetime_value(), m);
      }
      if (util::FromProto(rb.last_won_time()) > util::FromProto(total.last_won_time())) {
        *total.mutable_last_won_time() = rb.last_won_time();
      }
      if (util::FromProto(rb.last_delivery_time()) > util::FromProto(total.last_delivery_time())) {
        *total.mutable_last_delivery_time() = rb.last_delivery_time();
        total.set_last_delivered_project_id(rb.last_delivered_project_id());
      }
      total.set_repeat_client(total.repeat_client() || rb.repeat_client());
    }
    next += ids[c].size();
    if (total.deals_won() > 1) total.set_repeat_client(true);
  }
  return totals;
}

// ---------------------------------------------------------------------------------------------
// Writing a client: record + indexes + history (events are emitted by the callers).

absl::Status ClientsDomain::WriteClient(events::Transaction& txn, const Client* before,
                                        Client& after, std::string_view action, const Actor& actor,
                                        std::vector<FieldChange> changes,
                                        std::string_view handover_id) {
  absl::Time now = Now();
  after.set_version((before ? before->version() : 0) + 1);
  after.set_etag(absl::StrCat(after.version()));
  *after.mutable_update_time() = util::ToProto(now);
  after.clear_repeat_business();
  RETURN_IF_ERROR(repo_->PutClient(txn.batch(), before, after));
  v1::HistoryEntry h;
  h.set_client_id(after.client_id());
  h.set_action(std::string(action));
  *h.mutable_actor() = actor;
  *h.mutable_time() = util::ToProto(now);
  for (FieldChange& ch : changes) *h.add_changes() = std::move(ch);
  h.set_version(after.version());
  h.set_handover_id(std::string(handover_id));
  return repo_->AddHistory(txn.batch(), h);
}

}  // namespace triad::clients
