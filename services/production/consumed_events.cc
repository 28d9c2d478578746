// Implements Production's consumed events: an opportunity won becomes a project (once per
// opportunity, whatever the redelivery), a feasibility request is answered on the remaining
// capacity, and an expert sign-off releases the phase after a key milestone.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {

namespace c = contracts::production;
namespace cp = contracts::pipeline;
namespace cr = contracts::review;

// A won deal without a due date gets this many days from the win.
constexpr int kDefaultDueDays = 180;

std::vector<std::string> Production::ConsumedTopics() {
  return {std::string(cp::OpportunityWon::kTopic), std::string(cr::SignOffCompleted::kTopic),
          std::string(contracts::clients::PersonOffboarded::kTopic),
          std::string(contracts::clients::ClientsMerged::kTopic)};
}

std::vector<std::string> Production::HandledTypes() {
  return {std::string(cp::OpportunityWon::kType), std::string(cp::FeasibilityRequested::kType),
          std::string(cr::SignOffCompleted::kType),
          std::string(contracts::clients::PersonOffboarded::kType),
          std::string(contracts::clients::ClientsMerged::kType)};
}

namespace {
template <typename Msg>
absl::StatusOr<Msg> Decode(const events::Event& e) {
  Msg msg;
  if (!msg.ParseFromString(e.payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload of ", e.type, " does not decode as ", msg.GetTypeName()));
  }
  return msg;
}

sched::Day DayOf(absl::Time t) {
  return static_cast<sched::Day>(std::floor(absl::ToDoubleSeconds(t - absl::UnixEpoch()) / 86400));
}
}  // namespace

absl::Status Production::HandleEvent(const events::Event& e) {
  return events::ApplyOnce(
             *store_, outbox_, options_.consumer_group, e,
             [&](const events::Event& ev, events::Transaction& txn) {
               return HandleEventIn(ev, txn);
             },
             &mu_)
      .status();
}

absl::Status Production::HandleEventIn(const events::Event& e, events::Transaction& txn) {
  if (e.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  if (e.type == cp::OpportunityWon::kType) {
    ASSIGN_OR_RETURN(auto m, Decode<pipeline::v1::OpportunityWon>(e));
    return ApplyWon(e, m, txn);
  }
  if (e.type == cp::FeasibilityRequested::kType) {
    ASSIGN_OR_RETURN(auto m, Decode<pipeline::v1::FeasibilityRequested>(e));
    return ApplyFeasibilityRequested(e, m, txn);
  }
  if (e.type == cr::SignOffCompleted::kType) {
    ASSIGN_OR_RETURN(auto m, Decode<review::v1::SignOffCompleted>(e));
    return ApplySignOff(e, m, txn);
  }
  if (e.type == contracts::clients::PersonOffboarded::kType) {
    ASSIGN_OR_RETURN(auto m, Decode<clients::v1::PersonOffboarded>(e));
    return ApplyPersonOffboarded(e, m, txn);
  }
  if (e.type == contracts::clients::ClientsMerged::kType) {
    ASSIGN_OR_RETURN(auto m, Decode<clients::v1::ClientsMerged>(e));
    return ApplyClientsMerged(e, m, txn);
  }
  return absl::OkStatus();
}

void Production::RegisterHandlers(events::IdempotentConsumer& consumer) {
  for (const std::string& type : HandledTypes()) {
    consumer.On(type, [this](const events::Event& e, events::Transaction& txn) {
      return HandleEventIn(e, txn);
    });
  }
}

absl::Status Production::ApplyWon(const events::Event& e, const pipeline::v1::OpportunityWon& won,
                                  events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckId("opportunity_id", won.opportunity_id()));
  ASSIGN_OR_RETURN(std::optional<std::string> existing,
                   ProjectOfOpportunityLocked(won.opportunity_id()));
  if (existing.has_value()) {
    logging::Info("won opportunity already has a project",
                  {{"opportunity", won.opportunity_id()}, {"event", e.id}});
    return absl::OkStatus();
  }
  v1::Project in;
  in.set_opportunity_id(won.opportunity_id());
  in.set_client_id(won.client_id());
  in.set_product_line(won.product_line());
  in.set_title(api::CheckText("title", won.title(), kMaxNameLength).ok() ? won.title()
                                                                         : won.opportunity_id());
  if (api::CheckMoney("value", won.value(), api::MoneyPresence::kOptional).ok()) {
    *in.mutable_value() = won.value();
  }
  const absl::Time won_time = won.has_won_time() ? util::FromProto(won.won_time()) : Now();
  sched::Day due = won.has_due_time() ? DayOf(util::FromProto(won.due_time()))
                                      : DayOf(won_time) + kDefaultDueDays;
  in.set_due_date(sched::FormatDay(std::clamp<sched::Day>(due, 0, *sched::ParseDay("2200-12-31"))));
  const double effort = won.estimated_effort_hours();
  in.set_effort_hours(std::isfinite(effort) && effort > 0 && effort <= kMaxEffortHours ? effort
                                                                                       : 0);
  common::v1::Actor actor;
  actor.set_id("svc:pipeline");
  actor.set_reason(absl::StrCat("opportunity ", won.opportunity_id(), " won (event ", e.id, ")"));
  ASSIGN_OR_RETURN(v1::Project p, NewProjectLocked(in, actor));
  Work work(txn);
  AddProjectLocked(work, std::move(p), actor);
  Stage(work);
  return absl::OkStatus();
}

absl::Status Production::ApplyFeasibilityRequested(const events::Event& e,
                                                   const pipeline::v1::FeasibilityRequested& req,
                                                   events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  std::optional<sched::Day> start;
  std::optional<sched::Day> end;
  if (req.has_desired_start_time()) start = DayOf(util::FromProto(req.desired_start_time()));
  if (req.has_desired_end_time()) end = DayOf(util::FromProto(req.desired_end_time()));
  double effort = req.estimated_effort_hours();
  if (!std::isfinite(effort) || effort < 0 || effort > kMaxEffortHours) effort = 0;
  v1::FeasibilityAnswered answer;
  answer.set_opportunity_id(req.opportunity_id());
  answer.set_gate_id(req.gate_id());
  absl::StatusOr<v1::CheckFeasibilityResponse> r =
      FeasibilityLocked(req.product_line(), effort, start, end);
  if (r.ok()) {
    answer.set_feasible(r->feasible());
    if (auto d = sched::ParseDay(r->earliest_completion_date())) {
      *answer.mutable_earliest_completion_time() = DayTime(*d);
    }
    answer.set_bottleneck_resource(
        r->bottleneck_resource_id().empty() ? r->bottleneck_skill() : r->bottleneck_resource_id());
    answer.set_explanation(r->explanation());
  } else if (absl::IsInvalidArgument(r.status())) {
    // An answer all the same: pipeline's gate must not wait for ever.
    answer.set_feasible(false);
    answer.set_explanation(std::string(r.status().message()).substr(0, 2000));
  } else {
    return r.status();
  }
  txn.Emit(c::FeasibilityAnswered::kTopic, req.opportunity_id(), c::FeasibilityAnswered::kType,
           answer);
  (void)e;
  return absl::OkStatus();
}

absl::Status Production::ApplySignOff(const events::Event& e,
                                      const review::v1::SignOffCompleted& done,
                                      events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckId("project_id", done.project_id()));
  RETURN_IF_ERROR(api::CheckId("phase_id", done.phase_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("review_id", done.review_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("expert_id", done.expert_id()));
  absl::StatusOr<v1::Project> found = ProjectByIdLocked(done.project_id());
  if (absl::IsNotFound(found.status())) {
    return absl::NotFoundError(absl::StrCat("sign-off for unknown project ", done.project_id()));
  }
  if (!found.ok()) return found.status();
  v1::Project p = *std::move(found);
  v1::Phase* ph = nullptr;
  for (v1::Phase& x : *p.mutable_phases()) {
    if (x.phase_id() == done.phase_id()) ph = &x;
  }
  if (ph == nullptr || !ph->key_milestone()) {
    return absl::NotFoundError(
        absl::StrCat("no key milestone ", done.phase_id(), " in project ", done.project_id()));
  }
  if (ph->sign_off() == v1::SIGN_OFF_STATE_APPROVED) return absl::OkStatus();
  if (!RecordSignOffOutcome(*ph, done)) return absl::OkStatus();
  p.set_etag(api::NextEtag(p.etag()));
  *p.mutable_update_time() = util::ToProto(Now());
  p.mutable_updated_by()->set_id(done.expert_id().empty() ? "svc:review" : done.expert_id());
  p.mutable_updated_by()->set_reason(
      absl::StrCat("sign-off of ", ph->name(), " (event ", e.id, ")"));
  Work work(txn);
  work.projects[p.project_id()] = std::move(p);
  Stage(work);
  return absl::OkStatus();
}

}  // namespace triad::production
