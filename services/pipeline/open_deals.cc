// Implements Pipeline's open-deal index: its in-memory entries, ranking by value per
// expert-hour, and stale-deal listing and scanning.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

void Pipeline::ApplyOpenDeal(const v1::Opportunity& opp) {
  std::unique_lock lock(read_mu_);
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    open_deals_.erase(opp.id());
    return;
  }
  OpenDeal d;
  d.owner = opp.owner_id();
  d.client = opp.client_id();
  d.stage = opp.stage();
  d.value = opp.value().amount_minor();
  d.currency = opp.value().currency();
  d.hours = opp.expert_effort_hours();
  d.tuple = funnel_.TupleId(OpportunityDims(opp));
  auto pb = PlaybookLocked(opp.product_line(), opp.playbook_version());
  if (pb.ok()) {
    int i = StageIndex(**pb, opp.stage());
    if (i >= 0) {
      d.probability = (*pb)->stages(i).win_probability();
      d.max_days = (*pb)->stages(i).max_days();
    }
    if (d.hours <= 0) d.hours = (*pb)->default_expert_hours();
  }
  if (d.hours <= 0) d.hours = 1;
  if (opp.stage_history_size() > 0) {
    d.entered = FromProto(opp.stage_history(opp.stage_history_size() - 1).enter_time());
  }
  d.reported = opp.stale_reported_entry() == opp.stage_history_size() - 1;
  open_deals_[opp.id()] = std::move(d);
}

absl::StatusOr<v1::RankOpenDealsResponse> Pipeline::RankOpenDeals(
    const v1::RankOpenDealsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  ASSIGN_OR_RETURN(const int page_size, api::PageSize(req.page_size()));
  size_t n = static_cast<size_t>(page_size);
  std::vector<char> match = funnel_.TupleMatches(req.filter());
  struct Scored {
    double score;
    const std::string* id;
    const OpenDeal* deal;
  };
  v1::RankOpenDealsResponse resp;
  std::shared_lock lock(read_mu_);
  std::vector<Scored> scored;
  scored.reserve(open_deals_.size());
  for (const auto& [id, d] : open_deals_) {
    if (d.tuple < 0 || static_cast<size_t>(d.tuple) >= match.size() || !match[d.tuple]) continue;
    scored.push_back({static_cast<double>(d.value) * d.probability / d.hours, &id, &d});
  }
  resp.set_open_deals_considered(static_cast<int64_t>(scored.size()));
  n = std::min(n, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const Scored& a, const Scored& b) {
                      if (a.score != b.score) return a.score > b.score;
                      return *a.id < *b.id;
                    });
  for (size_t i = 0; i < n; ++i) {
    const OpenDeal& d = *scored[i].deal;
    v1::RankedDeal* r = resp.add_deals();
    r->set_opportunity_id(*scored[i].id);
    r->set_owner_id(d.owner);
    r->set_client_id(d.client);
    r->set_stage(d.stage);
    r->set_value_minor(d.value);
    r->set_currency(d.currency);
    r->set_win_probability(d.probability);
    r->set_expected_value_minor(static_cast<double>(d.value) * d.probability);
    r->set_expert_hours(d.hours);
    r->set_expected_value_per_expert_hour(scored[i].score);
  }
  return resp;
}

namespace {
int DaysIn(absl::Time entered, absl::Time now) {
  return static_cast<int>(absl::ToInt64Hours(now - entered) / 24);
}
bool IsStale(int max_days, absl::Time entered, absl::Time now) {
  return max_days > 0 && now - entered > absl::Hours(int64_t{24} * max_days);
}
}  // namespace

absl::StatusOr<v1::ListStaleDealsResponse> Pipeline::ListStaleDeals(
    const v1::ListStaleDealsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), req.owner_id()));
  absl::Time now = options_.clock();
  v1::ListStaleDealsResponse resp;
  std::shared_lock lock(read_mu_);
  auto it =
      pager.after_key().empty() ? open_deals_.begin() : open_deals_.upper_bound(pager.after_key());
  for (; it != open_deals_.end(); ++it) {
    const OpenDeal& d = it->second;
    if (!req.owner_id().empty() && d.owner != req.owner_id()) continue;
    if (!IsStale(d.max_days, d.entered, now)) continue;
    if (!pager.Accept(it->first)) break;
    v1::StaleDeal* s = resp.add_deals();
    s->set_opportunity_id(it->first);
    s->set_owner_id(d.owner);
    s->set_stage(d.stage);
    *s->mutable_enter_time() = ToProto(d.entered);
    s->set_max_days(d.max_days);
    s->set_days_in_stage(DaysIn(d.entered, now));
    s->set_reported(d.reported);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ScanStaleDealsResponse> Pipeline::ScanStaleDeals(
    const v1::ScanStaleDealsRequest&) {
  std::lock_guard lock(mu_);
  absl::Time now = options_.clock();
  std::vector<std::string> due;
  {
    std::shared_lock rlock(read_mu_);
    for (const auto& [id, d] : open_deals_) {
      if (!d.reported && IsStale(d.max_days, d.entered, now)) due.push_back(id);
    }
  }
  v1::ScanStaleDealsResponse resp;
  for (const std::string& id : due) {
    ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(id));
    int entry = opp.stage_history_size() - 1;
    if (opp.state() != v1::OPPORTUNITY_STATE_OPEN || entry < 0 ||
        opp.stale_reported_entry() == entry) {
      continue;
    }
    ASSIGN_OR_RETURN(const v1::Playbook* pb,
                     PlaybookLocked(opp.product_line(), opp.playbook_version()));
    int index = StageIndex(*pb, opp.stage());
    if (index < 0) continue;
    int max_days = pb->stages(index).max_days();
    absl::Time entered = FromProto(opp.stage_history(entry).enter_time());
    if (!IsStale(max_days, entered, now)) continue;
    Work work;
    opp.set_stale_reported_entry(entry);
    AddHistory(opp, now, "stale",
               absl::StrCat("in ", opp.stage(), " for ", DaysIn(entered, now), " days (max ",
                            max_days, ")"),
               "svc:pipeline");
    v1::OpportunityStale ev;
    ev.set_opportunity_id(opp.id());
    ev.set_client_id(opp.client_id());
    ev.set_owner_id(opp.owner_id());
    ev.set_stage(opp.stage());
    *ev.mutable_enter_time() = ToProto(entered);
    ev.set_max_days(max_days);
    ev.set_days_in_stage(DaysIn(entered, now));
    *ev.mutable_detect_time() = ToProto(now);
    contracts::Emit<contracts::pipeline::OpportunityStale>(work.txn, opp.id(), ev);
    SaveOpportunity(work, opp, /*bump=*/false);
    RETURN_IF_ERROR(CommitLocked(work));
    v1::StaleDeal* s = resp.add_newly_reported();
    s->set_opportunity_id(opp.id());
    s->set_owner_id(opp.owner_id());
    s->set_stage(opp.stage());
    *s->mutable_enter_time() = ToProto(entered);
    s->set_max_days(max_days);
    s->set_days_in_stage(DaysIn(entered, now));
    s->set_reported(true);
  }
  return resp;
}

}  // namespace triad::pipeline
