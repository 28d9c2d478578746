// Implements the consumed events of the Reviews domain: pipeline's review requests and won
// deals (the approving expert becomes the project's technical lead), production's milestone
// sign-off requests and the clients' merges (conflicts of interest and open requests follow
// the surviving client). Each is applied into the consumer's transaction, which dedupes it.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

using util::FromProto;
using util::ToProto;

namespace {

constexpr char kPipelineActor[] = "svc:pipeline";
constexpr char kProductionActor[] = "svc:production";
constexpr char kClientsActor[] = "svc:clients";

}  // namespace

void Reviews::RegisterHandlers(events::IdempotentConsumer& consumer) {
  consumer.OnMessage<pipeline::v1::ReviewRequested>(
      std::string(contracts::pipeline::ReviewRequested::kType),
      [this](const events::Event& e, const pipeline::v1::ReviewRequested& m,
             events::Transaction& txn) { return OnReviewRequested(e, m, txn); });
  consumer.OnMessage<pipeline::v1::OpportunityWon>(
      std::string(contracts::pipeline::OpportunityWon::kType),
      [this](const events::Event& e, const pipeline::v1::OpportunityWon& m,
             events::Transaction& txn) { return OnOpportunityWon(e, m, txn); });
  consumer.OnMessage<production::v1::SignOffRequested>(
      std::string(contracts::production::SignOffRequested::kType),
      [this](const events::Event& e, const production::v1::SignOffRequested& m,
             events::Transaction& txn) { return OnSignOffRequested(e, m, txn); });
  consumer.OnMessage<clients::v1::ClientsMerged>(
      std::string(contracts::clients::ClientsMerged::kType),
      [this](const events::Event& e, const clients::v1::ClientsMerged& m,
             events::Transaction& txn) { return OnClientsMerged(e, m, txn); });
  consumer.OnMessage<clients::v1::PersonOffboarded>(
      std::string(contracts::clients::PersonOffboarded::kType),
      [this](const events::Event& e, const clients::v1::PersonOffboarded& m,
             events::Transaction& txn) { return OnPersonOffboarded(e, m, txn); });
}

absl::Status Reviews::HandleEvent(const events::Event& e) {
  return events::ApplyOnce(
             *store_, outbox_, options_.consumer_group, e,
             [&](const events::Event& ev, events::Transaction& txn) -> absl::Status {
               namespace cp = contracts::pipeline;
               namespace cx = contracts::production;
               namespace cc = contracts::clients;
               auto decode = [&](google::protobuf::Message& m) {
                 return m.ParseFromString(ev.payload)
                            ? absl::OkStatus()
                            : absl::InvalidArgumentError("payload does not decode");
               };
               if (ev.type == cp::ReviewRequested::kType) {
                 pipeline::v1::ReviewRequested m;
                 RETURN_IF_ERROR(decode(m));
                 return OnReviewRequested(ev, m, txn);
               }
               if (ev.type == cp::OpportunityWon::kType) {
                 pipeline::v1::OpportunityWon m;
                 RETURN_IF_ERROR(decode(m));
                 return OnOpportunityWon(ev, m, txn);
               }
               if (ev.type == cx::SignOffRequested::kType) {
                 production::v1::SignOffRequested m;
                 RETURN_IF_ERROR(decode(m));
                 return OnSignOffRequested(ev, m, txn);
               }
               if (ev.type == cc::ClientsMerged::kType) {
                 clients::v1::ClientsMerged m;
                 RETURN_IF_ERROR(decode(m));
                 return OnClientsMerged(ev, m, txn);
               }
               if (ev.type == cc::PersonOffboarded::kType) {
                 clients::v1::PersonOffboarded m;
                 RETURN_IF_ERROR(decode(m));
                 return OnPersonOffboarded(ev, m, txn);
               }
               return absl::OkStatus();
             },
             &mu_)
      .status();
}

absl::Status Reviews::OnReviewRequested(const events::Event& e,
                                        const pipeline::v1::ReviewRequested& m,
                                        events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckUtf8(m, "review_requested"));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", m.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("domain", m.domain()));
  RETURN_IF_ERROR(api::CheckLength("domain", m.domain(), kMaxDomainLength));
  RETURN_IF_ERROR(api::CheckOptionalId("client_id", m.client_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("gate_id", m.gate_id()));
  RETURN_IF_ERROR(api::CheckText("requirements", m.requirements(), kMaxLongText));
  if (m.has_due_time()) RETURN_IF_ERROR(api::CheckTimestamp("due_time", m.due_time()));
  absl::Time now = options_.clock();
  v1::ReviewRequest r;
  r.set_kind(v1::REVIEW_KIND_OPPORTUNITY_GATE);
  r.set_opportunity_id(m.opportunity_id());
  r.set_gate_id(m.gate_id());
  // A gate asks again only after a verdict: an open request of the same gate is this one.
  if (open_by_origin_.count(absl::StrCat("g|", m.opportunity_id(), "|", m.gate_id())) > 0) {
    return absl::OkStatus();
  }
  r.set_review_id(util::NewId("rev"));
  r.set_domain(m.domain());
  r.set_min_proficiency(options_.event_min_proficiency);
  r.set_requirements(m.requirements());
  if (api::CheckMoney("value", m.value(), api::MoneyPresence::kOptional).ok()) {
    *r.mutable_deal_value() = m.value();
  }
  r.set_client_id(m.client_id());
  r.set_title(TruncateUtf8(
      absl::StrCat(m.domain(), " review of ", m.opportunity_id(), " (", m.stage(), ")"),
      kMaxTitleLength));
  *r.mutable_due_time() = m.has_due_time() ? m.due_time() : ToProto(now + options_.default_due);
  r.set_estimated_hours(options_.event_review_hours);
  r.set_cause_event_id(e.id);
  Work w(txn);
  RETURN_IF_ERROR(EnterLocked(w, r, kPipelineActor));
  FinishLocked(w);
  return absl::OkStatus();
}

absl::Status Reviews::OnOpportunityWon(const events::Event&, const pipeline::v1::OpportunityWon& m,
                                       events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckId("opportunity_id", m.opportunity_id()));
  ASSIGN_OR_RETURN(std::optional<std::string> approver, repo_->GetApprover(m.opportunity_id()));
  if (!approver.has_value()) return absl::OkStatus();  // no review approved this deal
  Work w(txn);
  w.leads[m.opportunity_id()] = *approver;
  FinishLocked(w);
  return absl::OkStatus();
}

absl::Status Reviews::OnSignOffRequested(const events::Event& e,
                                         const production::v1::SignOffRequested& m,
                                         events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckUtf8(m, "sign_off_requested"));
  RETURN_IF_ERROR(api::CheckId("project_id", m.project_id()));
  RETURN_IF_ERROR(api::CheckId("phase_id", m.phase_id()));
  RETURN_IF_ERROR(api::CheckId("domain", m.domain()));
  RETURN_IF_ERROR(api::CheckLength("domain", m.domain(), kMaxDomainLength));
  RETURN_IF_ERROR(api::CheckOptionalId("opportunity_id", m.opportunity_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("client_id", m.client_id()));
  RETURN_IF_ERROR(api::CheckText("phase_name", m.phase_name(), kMaxTitleLength));
  if (m.has_due_time()) RETURN_IF_ERROR(api::CheckTimestamp("due_time", m.due_time()));
  if (open_by_origin_.count(absl::StrCat("s|", m.project_id(), "|", m.phase_id())) > 0) {
    return absl::OkStatus();
  }
  absl::Time now = options_.clock();
  v1::ReviewRequest r;
  r.set_review_id(util::NewId("rev"));
  r.set_kind(v1::REVIEW_KIND_MILESTONE_SIGN_OFF);
  r.set_project_id(m.project_id());
  r.set_phase_id(m.phase_id());
  r.set_gate_id(m.phase_id());
  r.set_opportunity_id(m.opportunity_id());
  r.set_client_id(m.client_id());
  r.set_domain(m.domain());
  r.set_title(TruncateUtf8(absl::StrCat("Sign-off: ", m.phase_name()), kMaxTitleLength));
  *r.mutable_due_time() = m.has_due_time() ? m.due_time() : ToProto(now + options_.default_due);
  r.set_estimated_hours(options_.sign_off_hours);
  r.set_cause_event_id(e.id);
  Work w(txn);
  RETURN_IF_ERROR(EnterLocked(w, r, kProductionActor));
  FinishLocked(w);
  return absl::OkStatus();
}

absl::Status Reviews::OnClientsMerged(const events::Event&, const clients::v1::ClientsMerged& m,
                                      events::Transaction& txn) {
  const std::string& survivor = m.survivor().client_id();
  RETURN_IF_ERROR(api::CheckId("survivor.client_id", survivor));
  std::set<std::string> merged(m.redirected_client_ids().begin(), m.redirected_client_ids().end());
  if (!m.merged_client_id().empty()) merged.insert(m.merged_client_id());
  merged.erase(survivor);
  if (merged.empty()) return absl::OkStatus();
  Work w(txn);
  absl::Time now = options_.clock();
  // A conflict with a merged client is a conflict with the survivor.
  for (const auto& [id, base] : experts_) {
    bool affected = false, has_survivor = false;
    for (const v1::ConflictOfInterest& c : base.conflicts()) {
      affected = affected || merged.count(c.client_id()) > 0;
      has_survivor = has_survivor || c.client_id() == survivor;
    }
    if (!affected || has_survivor) continue;
    v1::Expert* e = MutableExpertLocked(w, id);
    v1::ConflictOfInterest* c = e->add_conflicts();
    c->set_client_id(survivor);
    c->set_reason("carried over from a merged client");
    AddAudit(e->mutable_history(), now, kClientsActor, "conflict_carried_over", survivor);
  }
  // Undecided requests follow the survivor; one assigned across a new conflict moves.
  std::vector<std::string> moved;
  for (const auto& [id, base] : reviews_) {
    if (base.state() == v1::REVIEW_STATE_DECIDED) continue;
    if (merged.count(base.client_id()) > 0) {
      v1::ReviewRequest* r = MutableReviewLocked(w, id);
      r->set_client_id(survivor);
      AddAudit(r->mutable_history(), now, kClientsActor, "client_merged", survivor);
    } else if (base.client_id() != survivor) {
      continue;
    }
    if (IsOpen(base)) moved.push_back(id);
  }
  for (const std::string& id : moved) {
    const v1::ReviewRequest* r = ReviewLocked(w, id);
    const v1::Expert* e = ExpertLocked(w, r->expert_id());
    if (e == nullptr) continue;
    for (const v1::ConflictOfInterest& c : e->conflicts()) {
      if (c.client_id() == survivor) {
        RETURN_IF_ERROR(AssignLocked(w, id, kClientsActor, "conflict after a client merge",
                                     r->expert_id(), true)
                            .status());
        break;
      }
    }
  }
  FinishLocked(w);
  return absl::OkStatus();
}

}  // namespace triad::review
