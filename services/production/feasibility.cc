// Implements Production's read-only views of the schedule: feasibility of a hypothetical
// project on the capacity the current schedule leaves (nothing is booked), and utilisation per
// resource, skill and week with the over-allocated rows.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {

absl::StatusOr<v1::CheckFeasibilityResponse> Production::FeasibilityLocked(
    std::string_view line, double effort_hours, std::optional<sched::Day> start,
    std::optional<sched::Day> end) const {
  RETURN_IF_ERROR(api::CheckId("product_line", line));
  auto t = templates_.find(std::string(line));
  if (t == templates_.end() || t->second.empty()) {
    return api::InvalidField("product_line",
                             absl::StrCat("no phase template for ", std::string(line)));
  }
  const v1::PhaseTemplateSet& tpl = t->second.rbegin()->second;
  const double effort = effort_hours > 0 ? effort_hours : tpl.default_effort_hours();
  sched::ProjectIn in;
  in.id = "feasibility";
  in.release = std::max(Today(), start.value_or(Today()));
  in.due = end.value_or(in.release + 36500);
  for (int k = 0; k < tpl.phases_size(); ++k) {
    sched::PhaseIn ph;
    ph.id = absl::StrCat("ph", k + 1);
    ph.skill = tpl.phases(k).required_skill();
    ph.effort_hours = effort * tpl.phases(k).effort_share();
    for (const v1::PhaseRequirement& req : tpl.phases(k).additional_requirements()) {
      ph.parts.push_back(sched::PartIn{req.skill(), ph.effort_hours * req.effort_share()});
    }
    in.phases.push_back(std::move(ph));
  }
  sched::ProjectOut out = scheduler_ ? scheduler_->Probe(in) : sched::ProjectOut{};
  v1::CheckFeasibilityResponse resp;
  resp.set_bottleneck_skill(out.bottleneck_skill);
  resp.set_bottleneck_resource_id(out.bottleneck_resource);
  if (out.end < 0) {
    resp.set_feasible(false);
    std::string why = "cannot be planned";
    for (const sched::PhaseOut& p : out.phases) {
      if (!p.unschedulable.empty()) why = p.unschedulable;
    }
    resp.set_explanation(why);
    return resp;
  }
  resp.set_earliest_completion_date(sched::FormatDay(out.end));
  resp.set_feasible(!end.has_value() || out.end <= *end);
  resp.set_explanation(absl::StrCat(
      effort, " h of ", std::string(line), " can be completed by ", sched::FormatDay(out.end),
      " after the current load; bottleneck: skill ", out.bottleneck_skill,
      out.bottleneck_resource.empty() ? "" : " on resource ", out.bottleneck_resource,
      end.has_value() ? absl::StrCat("; wanted by ", sched::FormatDay(*end)) : ""));
  return resp;
}

absl::StatusOr<v1::CheckFeasibilityResponse> Production::CheckFeasibility(
    const v1::CheckFeasibilityRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  if (!std::isfinite(req.effort_hours()) || req.effort_hours() < 0 ||
      req.effort_hours() > kMaxEffortHours) {
    return api::InvalidField("effort_hours", "must be in [0, 1000000] (0: the default)");
  }
  std::optional<sched::Day> start;
  std::optional<sched::Day> end;
  if (!req.desired_start_date().empty()) {
    RETURN_IF_ERROR(CheckDate("desired_start_date", req.desired_start_date()));
    start = sched::ParseDay(req.desired_start_date());
  }
  if (!req.desired_end_date().empty()) {
    RETURN_IF_ERROR(CheckDate("desired_end_date", req.desired_end_date()));
    end = sched::ParseDay(req.desired_end_date());
  }
  std::shared_lock lock(mu_);
  return FeasibilityLocked(req.product_line(), req.effort_hours(), start, end);
}

absl::StatusOr<v1::GetUtilisationResponse> Production::GetUtilisation(
    const v1::GetUtilisationRequest& req) const {
  sched::Day from = Today();
  if (!req.from_date().empty()) {
    RETURN_IF_ERROR(CheckDate("from_date", req.from_date()));
    from = *sched::ParseDay(req.from_date());
  }
  from -= sched::Weekday(from);
  const int weeks = req.weeks() == 0 ? 4 : req.weeks();
  if (weeks < 1 || weeks > 52) return api::InvalidField("weeks", "must be in [1, 52]");
  ASSIGN_OR_RETURN(
      api::Pager pager,
      api::Pager::Start(req.page_size(), req.page_token(),
                        api::FilterFingerprint({sched::FormatDay(from), absl::StrCat(weeks),
                                                req.over_allocated_only() ? "over" : ""})));
  std::shared_ptr<const UtilisationRows> rows;
  {
    std::shared_lock lock(mu_);
    const std::string key = absl::StrCat(from, "/", weeks);
    std::lock_guard cache_lock(utilisation_mu_);
    if (utilisation_rows_ == nullptr || utilisation_generation_ != generation_ ||
        utilisation_key_ != key) {
      utilisation_rows_ = UtilisationRowsLocked(from, weeks);
      utilisation_generation_ = generation_;
      utilisation_key_ = key;
    }
    rows = utilisation_rows_;
  }
  v1::GetUtilisationResponse resp;
  auto it = rows->begin();
  if (!pager.after_key().empty()) {
    it =
        std::upper_bound(rows->begin(), rows->end(), pager.after_key(),
                         [](std::string_view after, const auto& row) { return after < row.first; });
  }
  for (; it != rows->end(); ++it) {
    if (req.over_allocated_only() && !it->second.over_allocated()) continue;
    if (!pager.Accept(it->first)) break;
    *resp.add_rows() = it->second;
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

std::shared_ptr<const Production::UtilisationRows> Production::UtilisationRowsLocked(
    sched::Day from, int weeks) const {
  // Allocated hours per (resource, skill, week) from the plans; capacity per (resource, week).
  std::map<std::tuple<std::string, std::string, int>, double> allocated;
  std::map<std::pair<std::string, int>, double> total;
  const sched::Day until = from + 7 * weeks;
  // ISO dates order as strings: allocations outside [from, until) are skipped unparsed, and
  // each assignment's hours are summed per week before they reach the maps.
  const std::string from_text = sched::FormatDay(from), until_text = sched::FormatDay(until);
  std::vector<double> weekly(static_cast<size_t>(weeks));
  auto add = [&](const std::string& resource, const std::string& skill,
                 const google::protobuf::RepeatedPtrField<v1::DayAllocation>& allocations) {
    std::fill(weekly.begin(), weekly.end(), 0.0);
    bool any = false;
    for (const v1::DayAllocation& a : allocations) {
      if (a.date() < from_text || a.date() >= until_text) continue;
      auto d = sched::ParseDay(a.date());
      if (!d) continue;
      weekly[static_cast<size_t>((*d - from) / 7)] += a.hours();
      any = true;
    }
    if (!any) return;
    for (int w = 0; w < weeks; ++w) {
      if (weekly[static_cast<size_t>(w)] == 0) continue;
      allocated[{resource, skill, w}] += weekly[static_cast<size_t>(w)];
      total[{resource, w}] += weekly[static_cast<size_t>(w)];
    }
  };
  for (const auto& [id, p] : projects_) {
    if (p.state() != v1::PROJECT_STATE_ACTIVE) continue;
    for (const v1::Phase& ph : p.phases()) {
      if (ph.state() == v1::PHASE_STATE_COMPLETED) continue;
      add(ph.resource_id(), ph.required_skill(), ph.allocations());
      for (const v1::PhaseAssignment& extra : ph.additional_assignments()) {
        add(extra.resource_id(), extra.required_skill(), extra.allocations());
      }
    }
  }
  std::map<std::string, int> index;
  if (scheduler_) {
    for (int i = 0; i < scheduler_->ResourceCount(); ++i) index[scheduler_->ResourceId(i)] = i;
  }
  std::vector<std::string> week_starts;
  for (int w = 0; w < weeks; ++w) week_starts.push_back(sched::FormatDay(from + 7 * w));
  auto rows = std::make_shared<UtilisationRows>();
  for (const auto& [rid, r] : resources_) {
    auto idx = index.find(rid);
    for (int w = 0; w < weeks; ++w) {
      double cap = 0;
      for (int d = 0; d < 7 && idx != index.end(); ++d) {
        cap += scheduler_->CapacityHours(idx->second, from + 7 * w + d);
      }
      auto t = total.find({rid, w});
      const double sum = t == total.end() ? 0 : t->second;
      for (const std::string& skill : r.skills()) {
        v1::UtilisationRow row;
        row.set_resource_id(rid);
        row.set_skill(skill);
        row.set_week_start_date(week_starts[static_cast<size_t>(w)]);
        auto a = allocated.find({rid, skill, w});
        row.set_allocated_hours(a == allocated.end() ? 0 : a->second);
        row.set_capacity_hours(cap);
        row.set_over_allocated(sum > cap + 1e-6);
        storage::KeyBuilder k;
        k.Str(rid).U64(static_cast<uint64_t>(w)).Str(skill);
        rows->emplace_back(k.Build(), std::move(row));
      }
    }
  }
  std::sort(rows->begin(), rows->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return rows;
}

}  // namespace triad::production
