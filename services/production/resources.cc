// Implements Production's resource RPCs: create, get, list, update (mask + etag) and
// deactivate, each write rescheduling the open projects in the same commit.
#include <set>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {
namespace {

// CheckResourceFields validates the writable fields of a resource.
absl::Status CheckResourceFields(const v1::Resource& r) {
  RETURN_IF_ERROR(api::CheckRequired("resource.display_name", r.display_name()));
  RETURN_IF_ERROR(api::CheckText("resource.display_name", r.display_name(), kMaxNameLength));
  if (r.skills_size() < 1 || r.skills_size() > kMaxSkills) {
    return api::InvalidField("resource.skills", "must list 1 to 20 skills");
  }
  std::set<std::string> seen;
  for (int i = 0; i < r.skills_size(); ++i) {
    RETURN_IF_ERROR(api::CheckId(absl::StrCat("resource.skills[", i, "]"), r.skills(i)));
    if (!seen.insert(r.skills(i)).second) {
      return api::InvalidField(absl::StrCat("resource.skills[", i, "]"), "is repeated");
    }
  }
  if (!(r.weekly_capacity_hours() > 0 && r.weekly_capacity_hours() <= 168)) {
    return api::InvalidField("resource.weekly_capacity_hours", "must be in (0, 168]");
  }
  const v1::WorkingCalendar& cal = r.calendar();
  RETURN_IF_ERROR(api::CheckCount("resource.calendar.non_working_dates",
                                  cal.non_working_dates_size(), kMaxNonWorkingDates));
  for (int i = 0; i < cal.non_working_dates_size(); ++i) {
    RETURN_IF_ERROR(CheckDate(absl::StrCat("resource.calendar.non_working_dates[", i, "]"),
                              cal.non_working_dates(i)));
  }
  RETURN_IF_ERROR(api::CheckCount("resource.calendar.leave", cal.leave_size(), kMaxLeaveRanges));
  for (int i = 0; i < cal.leave_size(); ++i) {
    const std::string path = absl::StrCat("resource.calendar.leave[", i, "]");
    RETURN_IF_ERROR(CheckDate(path + ".start_date", cal.leave(i).start_date()));
    RETURN_IF_ERROR(CheckDate(path + ".end_date", cal.leave(i).end_date()));
    auto a = *sched::ParseDay(cal.leave(i).start_date());
    auto b = *sched::ParseDay(cal.leave(i).end_date());
    if (b < a || b - a > 366) {
      return api::InvalidField(path, "must end on or after its start, within a year");
    }
  }
  return api::CheckMoney("resource.cost_rate", r.cost_rate(), api::MoneyPresence::kOptional);
}

constexpr std::string_view kResourceMask[] = {"display_name", "skills", "weekly_capacity_hours",
                                              "calendar", "cost_rate"};

}  // namespace

absl::StatusOr<v1::Resource> Production::CreateResource(const v1::CreateResourceRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(CheckResourceFields(req.resource()));
  RETURN_IF_ERROR(api::CheckOptionalId("resource.resource_id", req.resource().resource_id()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Resource> replay(*store_, "CreateResource", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Resource> prior, replay.Prior());
  if (prior) return *prior;
  v1::Resource r = req.resource();
  if (r.resource_id().empty()) r.set_resource_id(util::NewId("res"));
  RETURN_IF_ERROR(CheckPersonActiveLocked("resource.resource_id", r.resource_id()));
  if (resources_.count(r.resource_id())) {
    return absl::AlreadyExistsError(absl::StrCat("resource ", r.resource_id(), " exists"));
  }
  const absl::Time now = Now();
  r.set_state(v1::RESOURCE_STATE_ACTIVE);
  r.set_etag(api::NextEtag(""));
  *r.mutable_create_time() = util::ToProto(now);
  *r.mutable_update_time() = util::ToProto(now);
  *r.mutable_updated_by() = req.actor();
  Work work;
  work.resources[r.resource_id()] = r;
  RescheduleLocked(work, absl::StrCat("resource ", r.resource_id(), " added"), req.actor());
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), r));
  RETURN_IF_ERROR(CommitLocked(work));
  return r;
}

absl::StatusOr<v1::Resource> Production::GetResource(const v1::GetResourceRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("resource_id", req.resource_id()));
  std::shared_lock lock(mu_);
  auto it = resources_.find(req.resource_id());
  if (it == resources_.end()) {
    return absl::NotFoundError(absl::StrCat("resource ", req.resource_id(), " not found"));
  }
  return it->second;
}

absl::StatusOr<v1::ListResourcesResponse> Production::ListResources(
    const v1::ListResourcesRequest& req) const {
  RETURN_IF_ERROR(api::CheckOptionalId("skill", req.skill()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({"skill", req.skill()})));
  std::shared_lock lock(mu_);
  v1::ListResourcesResponse resp;
  for (auto it = resources_.upper_bound(pager.after_key()); it != resources_.end(); ++it) {
    const v1::Resource& r = it->second;
    if (!req.skill().empty() &&
        std::find(r.skills().begin(), r.skills().end(), req.skill()) == r.skills().end()) {
      continue;
    }
    if (!pager.Accept(it->first)) break;
    *resp.add_resources() = r;
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::Resource> Production::UpdateResource(const v1::UpdateResourceRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckId("resource.resource_id", req.resource().resource_id()));
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kResourceMask));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Resource> replay(*store_, "UpdateResource", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Resource> prior, replay.Prior());
  if (prior) return *prior;
  auto it = resources_.find(req.resource().resource_id());
  if (it == resources_.end()) {
    return absl::NotFoundError(
        absl::StrCat("resource ", req.resource().resource_id(), " not found"));
  }
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(it->second.etag()), api::GivenEtag(req.etag()),
                                 "resource", api::EtagPolicy::kRequired));
  v1::Resource r = it->second;
  RETURN_IF_ERROR(api::ApplyUpdateMask(req.update_mask(), kResourceMask, req.resource(), r));
  RETURN_IF_ERROR(CheckResourceFields(r));
  r.set_etag(api::NextEtag(r.etag()));
  *r.mutable_update_time() = util::ToProto(Now());
  *r.mutable_updated_by() = req.actor();
  Work work;
  work.resources[r.resource_id()] = r;
  RescheduleLocked(work, absl::StrCat("resource ", r.resource_id(), " changed"), req.actor());
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), r));
  RETURN_IF_ERROR(CommitLocked(work));
  return r;
}

absl::StatusOr<v1::DeactivateResourceResponse> Production::DeactivateResource(
    const v1::DeactivateResourceRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(api::CheckId("resource_id", req.resource_id()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::DeactivateResourceResponse> replay(*store_, "DeactivateResource",
                                                           req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::DeactivateResourceResponse> prior, replay.Prior());
  if (prior) return *prior;
  auto it = resources_.find(req.resource_id());
  if (it == resources_.end()) {
    return absl::NotFoundError(absl::StrCat("resource ", req.resource_id(), " not found"));
  }
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(it->second.etag()), api::GivenEtag(req.etag()),
                                 "resource", api::EtagPolicy::kRequired));
  if (it->second.state() == v1::RESOURCE_STATE_INACTIVE) {
    return absl::FailedPreconditionError(
        absl::StrCat("resource ", req.resource_id(), " is already inactive"));
  }
  v1::Resource r = it->second;
  r.set_state(v1::RESOURCE_STATE_INACTIVE);
  r.set_etag(api::NextEtag(r.etag()));
  *r.mutable_update_time() = util::ToProto(Now());
  *r.mutable_updated_by() = req.actor();
  Work work;
  work.resources[r.resource_id()] = r;
  v1::DeactivateResourceResponse resp;
  *resp.mutable_report() = RescheduleLocked(
      work, absl::StrCat("resource ", r.resource_id(), " deactivated"), req.actor());
  *resp.mutable_resource() = r;
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), resp));
  RETURN_IF_ERROR(CommitLocked(work));
  return resp;
}

}  // namespace triad::production
