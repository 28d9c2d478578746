// Implements the effects of the events ClientsDomain consumes (opportunity won/lost, project
// completed) and their registration on the consumer.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/contracts/clients.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/events/envelope.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"
#include "triad/review/v1/events.pb.h"

namespace triad::clients {

// ---------------------------------------------------------------------------------------------
// Consumed events. Repeat-business figures live in their own records, written only here (one
// consumer thread), so these handlers never race the RPCs' read-modify-write of client records.

namespace {
// Decoded wraps a typed handler in the decoding step IdempotentConsumer::OnMessage performs.
template <typename Msg>
events::Handler Decoded(std::function<absl::Status(const Msg&, events::Transaction&)> fn) {
  return [fn = std::move(fn)](const events::Event& e, events::Transaction& txn) -> absl::Status {
    Msg msg;
    if (!msg.ParseFromString(e.payload)) {
      return absl::InvalidArgumentError("payload: does not decode as " + msg.GetTypeName());
    }
    return fn(msg, txn);
  };
}
}  // namespace

std::vector<std::pair<std::string, events::Handler>> ClientsDomain::EventHandlers() {
  std::vector<std::pair<std::string, events::Handler>> out;
  out.emplace_back(kOpportunityWonType,
                   Decoded<pipeline::v1::OpportunityWon>(
                       [this](const pipeline::v1::OpportunityWon& m, events::Transaction& txn) {
                         return ApplyOpportunityWon(m, txn);
                       }));
  out.emplace_back(kOpportunityLostType,
                   Decoded<pipeline::v1::OpportunityLost>(
                       [this](const pipeline::v1::OpportunityLost& m, events::Transaction& txn) {
                         return ApplyOpportunityLost(m, txn);
                       }));
  out.emplace_back(kProjectCompletedType,
                   Decoded<production::v1::ProjectCompleted>(
                       [this](const production::v1::ProjectCompleted& m, events::Transaction& txn) {
                         return ApplyProjectCompleted(m, txn);
                       }));
  // Offboarding reports of the other services (see offboarding.cc).
  out.emplace_back(
      contracts::pipeline::PersonOffboardingProgressed::kType,
      Decoded<pipeline::v1::PersonOffboardingProgressed>(
          [this](const pipeline::v1::PersonOffboardingProgressed& m, events::Transaction& txn) {
            return ApplyOffboardingProgress("pipeline", m.offboarding_id(), m.moved(),
                                            m.remaining(), m.done(), txn);
          }));
  out.emplace_back(
      contracts::review::PersonOffboardingProgressed::kType,
      Decoded<review::v1::PersonOffboardingProgressed>(
          [this](const review::v1::PersonOffboardingProgressed& m, events::Transaction& txn) {
            return ApplyOffboardingProgress("review", m.offboarding_id(), m.moved(), m.remaining(),
                                            m.done(), txn);
          }));
  out.emplace_back(
      contracts::production::PersonOffboardingProgressed::kType,
      Decoded<production::v1::PersonOffboardingProgressed>(
          [this](const production::v1::PersonOffboardingProgressed& m, events::Transaction& txn) {
            return ApplyOffboardingProgress("production", m.offboarding_id(), m.moved(),
                                            m.remaining(), m.done(), txn);
          }));
  return out;
}

void ClientsDomain::RegisterHandlers(events::IdempotentConsumer& consumer) {
  for (auto& [type, handler] : EventHandlers()) consumer.On(type, std::move(handler));
}

namespace {
// ResolveEventClient finds the (surviving) client an event names; nullopt when unknown.
absl::StatusOr<std::optional<Client>> ResolveEventClient(
    const std::function<absl::StatusOr<Client>(std::string_view)>& load, std::string_view id,
    std::string_view what) {
  if (id.empty()) return InvalidField("client_id", absl::StrCat("missing in ", std::string(what)));
  RETURN_IF_ERROR(api::CheckLength("client_id", id, kMaxIdLength));
  absl::StatusOr<Client> c = load(id);
  if (absl::IsNotFound(c.status())) {
    logging::Warn("event for an unknown client ignored", {{"client_id", id}, {"event", what}});
    return std::optional<Client>();
  }
  RETURN_IF_ERROR(c.status());
  return std::optional<Client>(*std::move(c));
}
}  // namespace

absl::Status ClientsDomain::ApplyOpportunityWon(const pipeline::v1::OpportunityWon& msg,
                                                events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckLength("opportunity_id", msg.opportunity_id(), kMaxIdLength));
  // A value with neither amount nor currency is "unknown"; anything else must be a real amount.
  const bool has_value = api::IsMoneyGiven(msg.value());
  RETURN_IF_ERROR(api::CheckMoney("value", msg.value(), api::MoneyPresence::kOptional));
  if (msg.has_won_time()) {
    RETURN_IF_ERROR(api::CheckTimestamp("won_time", msg.won_time()));
    if (util::FromProto(msg.won_time()) > Now() + absl::Hours(24 * 366)) {
      return InvalidField("won_time", "more than a year in the future");
    }
  }
  ASSIGN_OR_RETURN(std::optional<Client> client,
                   ResolveEventClient([this](std::string_view id) { return LoadClient(id, true); },
                                      msg.client_id(), "OpportunityWon"));
  if (!client.has_value()) return absl::OkStatus();
  v1::RepeatBusiness rb;
  absl::Status s = repo_->GetRecord(RepeatBusinessKey(client->client_id()), &rb);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  Client before_view = *client;
  RETURN_IF_ERROR(WithRepeatBusiness(before_view));
  const v1::RepeatBusiness& before = before_view.repeat_business();
  rb.set_deals_won(rb.deals_won() + 1);
  if (has_value && !AddMoney(*rb.mutable_lifetime_value(), msg.value())) {
    return InvalidField("value.amount_minor", "the client's lifetime value would overflow");
  }
  if (util::FromProto(msg.won_time()) > util::FromProto(rb.last_won_time())) {
    *rb.mutable_last_won_time() = msg.won_time();
  }
  if (msg.repeat_client() || rb.deals_won() > 1) rb.set_repeat_client(true);
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), RepeatBusinessKey(client->client_id()), rb));
  // The totals over the client and the records merged into it, after this deal.
  v1::RepeatBusiness after = before;
  after.set_deals_won(before.deals_won() + 1);
  if (has_value) AddMoneySaturating(*after.mutable_lifetime_value(), msg.value());
  after.set_repeat_client(before.repeat_client() || rb.repeat_client() || after.deals_won() > 1);
  std::vector<FieldChange> changes = {
      Change("deals_won", absl::StrCat(before.deals_won()), absl::StrCat(after.deals_won())),
      Change("lifetime_value", MoneyText(before.lifetime_value()),
             MoneyText(after.lifetime_value()))};
  if (before.repeat_client() != after.repeat_client()) {
    changes.push_back(Change("repeat_client", before.repeat_client() ? "true" : "false",
                             after.repeat_client() ? "true" : "false"));
  }
  Actor actor;
  actor.set_id("svc:pipeline");
  actor.set_reason(absl::StrCat("opportunity ", msg.opportunity_id(), " won"));
  v1::HistoryEntry h;
  h.set_client_id(client->client_id());
  h.set_action("deal_won");
  *h.mutable_actor() = actor;
  *h.mutable_time() = util::ToProto(Now());
  for (const FieldChange& ch : changes) *h.add_changes() = ch;
  h.set_version(client->version());
  RETURN_IF_ERROR(repo_->AddHistory(txn.batch(), h));
  v1::ClientUpdated ev;
  *ev.mutable_client() = SummaryOf(*client, after.repeat_client());
  for (const FieldChange& ch : changes) *ev.add_changes() = ch;
  *ev.mutable_actor() = actor;
  contracts::Emit<contracts::clients::ClientUpdated>(txn, client->client_id(), ev);
  return absl::OkStatus();
}

absl::Status ClientsDomain::ApplyOpportunityLost(const pipeline::v1::OpportunityLost& msg,
                                                 events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckLength("opportunity_id", msg.opportunity_id(), kMaxIdLength));
  ASSIGN_OR_RETURN(std::optional<Client> client,
                   ResolveEventClient([this](std::string_view id) { return LoadClient(id, true); },
                                      msg.client_id(), "OpportunityLost"));
  if (!client.has_value()) return absl::OkStatus();
  v1::RepeatBusiness rb;
  absl::Status s = repo_->GetRecord(RepeatBusinessKey(client->client_id()), &rb);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  rb.set_deals_lost(rb.deals_lost() + 1);
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), RepeatBusinessKey(client->client_id()), rb));
  v1::HistoryEntry h;
  h.set_client_id(client->client_id());
  h.set_action("deal_lost");
  h.mutable_actor()->set_id("svc:pipeline");
  h.mutable_actor()->set_reason(absl::StrCat("opportunity ", msg.opportunity_id(), " lost: ",
                                             pipeline::v1::LossReason_Name(msg.reason())));
  *h.mutable_time() = util::ToProto(Now());
  *h.add_changes() =
      Change("deals_lost", absl::StrCat(rb.deals_lost() - 1), absl::StrCat(rb.deals_lost()));
  h.set_version(client->version());
  return repo_->AddHistory(txn.batch(), h);
}

absl::Status ClientsDomain::ApplyProjectCompleted(const production::v1::ProjectCompleted& msg,
                                                  events::Transaction& txn) {
  if (msg.project_id().empty()) return InvalidField("project_id", "missing in ProjectCompleted");
  RETURN_IF_ERROR(api::CheckLength("project_id", msg.project_id(), kMaxIdLength));
  if (msg.has_complete_time()) {
    RETURN_IF_ERROR(api::CheckTimestamp("complete_time", msg.complete_time()));
    if (util::FromProto(msg.complete_time()) > Now() + absl::Hours(24 * 366)) {
      return InvalidField("complete_time", "more than a year in the future");
    }
  }
  ASSIGN_OR_RETURN(std::optional<Client> client,
                   ResolveEventClient([this](std::string_view id) { return LoadClient(id, true); },
                                      msg.client_id(), "ProjectCompleted"));
  if (!client.has_value()) return absl::OkStatus();
  absl::Time completed = msg.has_complete_time() ? util::FromProto(msg.complete_time()) : Now();
  v1::RepeatBusiness rb;
  absl::Status s = repo_->GetRecord(RepeatBusinessKey(client->client_id()), &rb);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  std::string old_delivery = rb.has_last_delivery_time()
                                 ? events::FormatEventTime(util::FromProto(rb.last_delivery_time()))
                                 : "";
  if (completed >= util::FromProto(rb.last_delivery_time())) {
    *rb.mutable_last_delivery_time() = util::ToProto(completed);
    rb.set_last_delivered_project_id(msg.project_id());
  }
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), RepeatBusinessKey(client->client_id()), rb));
  // One post-delivery follow-up per project (its id derives from the project id).
  std::string fu_id = absl::StrCat("fu_pd_", msg.project_id());
  v1::FollowUp existing;
  absl::Status fs = repo_->GetRecord(FollowUpKey(client->client_id(), fu_id), &existing);
  if (absl::IsNotFound(fs)) {
    RETURN_IF_ERROR(ScheduleFollowUp(txn, *client, v1::FOLLOW_UP_KIND_POST_DELIVERY,
                                     completed + options_.post_delivery_delay, msg.project_id(),
                                     fu_id, nullptr));
  } else {
    RETURN_IF_ERROR(fs);
  }
  v1::HistoryEntry h;
  h.set_client_id(client->client_id());
  h.set_action("delivered");
  h.mutable_actor()->set_id("svc:production");
  h.mutable_actor()->set_reason(absl::StrCat("project ", msg.project_id(), " completed"));
  *h.mutable_time() = util::ToProto(Now());
  *h.add_changes() = Change("last_delivery_time", old_delivery,
                            events::FormatEventTime(util::FromProto(rb.last_delivery_time())));
  h.set_version(client->version());
  return repo_->AddHistory(txn.batch(), h);
}

}  // namespace triad::clients
