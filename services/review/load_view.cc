// Implements the load view of the Reviews domain: load against capacity per expert (and by the
// week the work is due), the spread within each domain, and the queue with its waiting times.
#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

using util::FromProto;

absl::StatusOr<v1::GetLoadViewResponse> Reviews::GetLoadView(
    const v1::GetLoadViewRequest& req) const {
  if (req.weeks() < 0 || req.weeks() > 26) {
    return api::InvalidField("weeks", "must be between 0 and 26");
  }
  RETURN_IF_ERROR(api::CheckText("domain", req.domain(), kMaxDomainLength));
  int weeks = req.weeks() == 0 ? 4 : req.weeks();
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({req.domain(), absl::StrCat(weeks)})));
  std::shared_lock lock(mu_);
  absl::Time now = options_.clock();
  v1::GetLoadViewResponse resp;
  std::map<std::string, v1::DomainLoad> domains;
  double max_ratio = 0;
  bool page_done = false;
  for (const auto& [id, e] : experts_) {
    if (!req.domain().empty() && ProficiencyIn(e, req.domain()) == v1::PROFICIENCY_UNSPECIFIED) {
      continue;
    }
    max_ratio = std::max(max_ratio, LoadRatio(e));
    for (const v1::DomainSkill& d : e.domains()) {
      if (!req.domain().empty() && d.domain() != req.domain()) continue;
      v1::DomainLoad& dl = domains[d.domain()];
      if (dl.experts() == 0) {
        dl.set_domain(d.domain());
        dl.set_min_load_ratio(std::numeric_limits<double>::max());
      }
      if (!e.active()) continue;
      dl.set_experts(dl.experts() + 1);
      dl.set_capacity_hours(dl.capacity_hours() + e.weekly_capacity_hours());
      dl.set_load_hours(dl.load_hours() + e.load_hours());
      dl.set_min_load_ratio(std::min(dl.min_load_ratio(), LoadRatio(e)));
      dl.set_max_load_ratio(std::max(dl.max_load_ratio(), LoadRatio(e)));
    }
    // Only the page's experts get a row (and their open work summed by week).
    if (page_done || (!pager.after_key().empty() && id <= pager.after_key())) continue;
    if (!pager.Accept(id)) {
      page_done = true;
      continue;
    }
    v1::ExpertLoad* l = resp.add_experts();
    l->set_expert_id(id);
    l->set_capacity_hours(e.weekly_capacity_hours());
    l->set_load_hours(e.load_hours());
    l->set_load_ratio(LoadRatio(e));
    l->set_open_reviews(e.open_reviews());
    l->set_active(e.active());
    l->set_on_leave(OnLeave(e, now, now));
    l->mutable_weekly_load_hours()->Resize(weeks, 0.0);
    if (auto it = open_work_.find(id); it != open_work_.end()) {
      std::vector<double> weekly = it->second.WeeklyHours(now, weeks);
      std::copy(weekly.begin(), weekly.end(), l->mutable_weekly_load_hours()->mutable_data());
    }
  }
  double total_wait = 0, oldest = 0;
  int queued = 0;
  for (const std::string& id : queue_) {
    const v1::ReviewRequest& r = reviews_.at(id);
    if (!req.domain().empty() && r.domain() != req.domain()) continue;
    double wait = absl::ToDoubleHours(now - FromProto(r.queued_time()));
    total_wait += wait;
    oldest = std::max(oldest, wait);
    ++queued;
    v1::DomainLoad& dl = domains[r.domain()];
    dl.set_domain(r.domain());
    dl.set_queued(dl.queued() + 1);
  }
  for (auto& [name, dl] : domains) {
    if (dl.experts() == 0) dl.set_min_load_ratio(0);
    *resp.add_domains() = dl;
  }
  resp.mutable_queue()->set_length(queued);
  resp.mutable_queue()->set_oldest_wait_hours(oldest);
  resp.mutable_queue()->set_mean_wait_hours(queued > 0 ? total_wait / queued : 0);
  resp.set_max_load_ratio(max_ratio);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::review
