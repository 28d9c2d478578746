// Implements production's part of offboarding a person (clients' PersonOffboarded): the person is
// marked inactive (CreateResource refuses the id), their resource is deactivated, and the
// unstarted phases planned on them go to the successor when the successor is an active resource
// with the phase's skill (their plan is kept on the successor where the successor has the
// capacity, else the scheduler re-plans preferring the successor); otherwise (no successor
// resource, or a team: production has no team notion) the scheduler re-plans them on every
// active resource with the skill. Started phases are re-planned by the scheduler for their
// remaining effort. One reschedule moves everything, so one event does it all; the effect is
// reported with production's PersonOffboardingProgressed. ListInactiveHoldings lists the
// unstarted phases still planned on inactive resources.
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/production.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {
namespace {

// InactiveKey (Kind::kIndex) marks an offboarded person; the value is the offboarding id.
std::string InactiveKey(std::string_view person) {
  return absl::StrCat("inactive/", std::string(person));
}

std::string HoldingKey(std::string_view person, std::string_view item) {
  return storage::KeyBuilder().Str(person).Str("phase").Str(item).Build();
}

bool HasSkill(const v1::Resource& r, const std::string& skill) {
  return std::find(r.skills().begin(), r.skills().end(), skill) != r.skills().end();
}

}  // namespace

absl::Status Production::CheckPersonActiveLocked(std::string_view field,
                                                 std::string_view person) const {
  if (person.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> v = repo_->GetRaw(Kind::kIndex, InactiveKey(person));
  if (absl::IsNotFound(v.status())) return absl::OkStatus();
  RETURN_IF_ERROR(v.status());
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(field), ": person ", std::string(person), " is inactive (offboarded)"));
}

absl::Status Production::ApplyPersonOffboarded(const events::Event& e,
                                               const clients::v1::PersonOffboarded& m,
                                               events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckUtf8(m));
  RETURN_IF_ERROR(api::CheckId("offboarding_id", m.offboarding_id()));
  RETURN_IF_ERROR(api::CheckId("person_id", m.person_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("successor_id", m.successor_id()));
  const std::string person = m.person_id();
  const absl::Time now = Now();
  common::v1::Actor actor = m.actor();
  if (actor.id().empty()) actor.set_id("svc:clients");
  actor.set_reason(absl::StrCat("offboarding ", m.offboarding_id(), " (event ", e.id, ")"));
  Work work(txn);
  repo_->PutRaw(txn.batch(), Kind::kIndex, InactiveKey(person), m.offboarding_id());
  if (auto it = resources_.find(person);
      it != resources_.end() && it->second.state() == v1::RESOURCE_STATE_ACTIVE) {
    v1::Resource r = it->second;
    r.set_state(v1::RESOURCE_STATE_INACTIVE);
    r.set_etag(api::NextEtag(r.etag()));
    *r.mutable_update_time() = util::ToProto(now);
    *r.mutable_updated_by() = actor;
    work.resources[person] = std::move(r);
  }
  const v1::Resource* successor = nullptr;
  if (auto it = resources_.find(m.successor_id());
      !m.successor_id().empty() && it != resources_.end() &&
      it->second.state() == v1::RESOURCE_STATE_ACTIVE) {
    successor = &it->second;
  }
  // The phases the person held: (project, phase index), and which go to the successor.
  std::vector<std::pair<std::string, int>> held;
  for (const auto& [id, stored] : projects_) {
    if (stored.state() != v1::PROJECT_STATE_ACTIVE) continue;
    v1::Project p = stored;
    bool changed = false;
    for (int k = 0; k < p.phases_size(); ++k) {
      v1::Phase& ph = *p.mutable_phases(k);
      if (ph.resource_id() != person || ph.state() == v1::PHASE_STATE_COMPLETED) continue;
      held.emplace_back(id, k);
      if (ph.state() == v1::PHASE_STATE_PLANNED && successor != nullptr &&
          HasSkill(*successor, ph.required_skill())) {
        ph.set_resource_id(successor->resource_id());
        changed = true;
      }
    }
    if (changed) {
      p.set_etag(api::NextEtag(p.etag()));
      *p.mutable_update_time() = util::ToProto(now);
      *p.mutable_updated_by() = actor;
      work.projects[id] = std::move(p);
    }
  }
  if (!held.empty() || !work.resources.empty()) {
    RescheduleLocked(work, absl::StrCat("resource ", person, " offboarded"), actor);
  }
  v1::PersonOffboardingProgressed report;
  auto& moved = *report.mutable_moved();
  moved["phases"] += 0;
  moved["to_successor"] += 0;
  moved["unschedulable"] += 0;
  int64_t remaining = 0;
  for (const auto& [id, k] : held) {
    const v1::Project* p = FindProject(&work, id);
    if (p == nullptr || k >= p->phases_size()) continue;
    const v1::Phase& ph = p->phases(k);
    if (ph.resource_id() == person) {
      ++remaining;
    } else if (ph.resource_id().empty()) {
      ++moved["unschedulable"];  // nobody active has the skill: the project is at risk
      ++moved["phases"];
    } else {
      ++moved["phases"];
      if (successor != nullptr && ph.resource_id() == successor->resource_id()) {
        ++moved["to_successor"];
      }
    }
  }
  report.set_offboarding_id(m.offboarding_id());
  report.set_person_id(person);
  report.set_remaining(remaining);
  report.set_done(remaining == 0);
  *report.mutable_report_time() = util::ToProto(now);
  Stage(work);
  contracts::Emit<contracts::production::PersonOffboardingProgressed>(txn, person, report);
  return absl::OkStatus();
}

absl::StatusOr<v1::ListInactiveHoldingsResponse> Production::ListInactiveHoldings(
    const v1::ListInactiveHoldingsRequest& req) const {
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({"inactive-holdings"})));
  std::shared_lock lock(mu_);
  // Every unstarted phase planned on a resource that is not active (offboarded people are
  // deactivated as resources).
  std::map<std::string, std::pair<std::string, std::string>> items;  // key -> (person, item)
  for (const auto& [id, p] : projects_) {
    if (p.state() != v1::PROJECT_STATE_ACTIVE) continue;
    for (const v1::Phase& ph : p.phases()) {
      if (ph.state() != v1::PHASE_STATE_PLANNED || ph.resource_id().empty()) continue;
      auto r = resources_.find(ph.resource_id());
      const bool inactive =
          (r != resources_.end() && r->second.state() != v1::RESOURCE_STATE_ACTIVE) ||
          !CheckPersonActiveLocked("", ph.resource_id()).ok();
      if (!inactive) continue;
      const std::string item = absl::StrCat(id, "/", ph.phase_id());
      items[HoldingKey(ph.resource_id(), item)] = {ph.resource_id(), item};
    }
  }
  v1::ListInactiveHoldingsResponse resp;
  for (auto it = items.upper_bound(pager.after_key()); it != items.end(); ++it) {
    if (!pager.Accept(it->first)) break;
    v1::InactiveHolding* h = resp.add_holdings();
    h->set_person_id(it->second.first);
    h->set_kind("phase");
    h->set_item_id(it->second.second);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::production
