// Implements Pipeline::GetFunnelReport from the funnel aggregates and the playbooks' targets.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

absl::StatusOr<v1::FunnelReport> Pipeline::GetFunnelReport(
    const v1::GetFunnelReportRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  if (!req.has_start_time()) return InvalidField("start_time", "required");
  if (!req.has_end_time()) return InvalidField("end_time", "required");
  RETURN_IF_ERROR(api::CheckTimestamp("start_time", req.start_time()));
  RETURN_IF_ERROR(api::CheckTimestamp("end_time", req.end_time()));
  absl::Time start = FromProto(req.start_time());
  absl::Time end = FromProto(req.end_time());
  if (end <= start) return InvalidField("end_time", "must be after start_time");
  const v1::FunnelFilter& f = req.filter();
  if (!clients::v1::ClientTier_IsValid(f.client_tier())) {
    return InvalidField("filter.client_tier", "not a ClientTier");
  }
  if (!v1::ClientKind_IsValid(f.client_kind())) {
    return InvalidField("filter.client_kind", "not a ClientKind");
  }
  int64_t from_day = DayOf(start);
  int64_t to_day = DayOf(end);
  if (absl::FromUnixSeconds(to_day * 86400) < end) ++to_day;  // a partial last day counts
  Totals totals = funnel_.Query(from_day, to_day, f);

  // Step order and targets come from the filtered product line's latest playbook, or from
  // every playbook (targets only where all agree).
  // Stages: those of the latest versions in order, then those only older versions have (deals
  // keep the version they started on, so their stages must still be reported).
  std::vector<const v1::Playbook*> books;
  std::vector<const v1::Playbook*> older;
  {
    std::shared_lock lock(read_mu_);
    for (const auto& [line, versions] : playbooks_) {
      if (!f.product_line().empty() && line != f.product_line()) continue;
      if (versions.empty()) continue;
      books.push_back(&versions.rbegin()->second);
      for (auto it = std::next(versions.rbegin()); it != versions.rend(); ++it) {
        older.push_back(&it->second);
      }
    }
  }
  // Playbook versions are never removed, so the pointers stay valid without the lock.
  std::vector<std::string> stage_ids;
  for (const auto* list : {&books, &older}) {
    for (const v1::Playbook* pb : *list) {
      for (const v1::Stage& s : pb->stages()) {
        if (std::find(stage_ids.begin(), stage_ids.end(), s.id()) == stage_ids.end()) {
          stage_ids.push_back(s.id());
        }
      }
    }
  }
  v1::FunnelReport report;
  *report.mutable_start_time() = req.start_time();
  *report.mutable_end_time() = req.end_time();
  auto period = [&](const std::string& step) {
    auto it = totals.period.find(step);
    return it == totals.period.end() ? Counter{} : it->second;
  };
  std::vector<std::string> steps = {"signal", "lead", "qualified_lead", "opportunity"};
  for (const std::string& s : stage_ids) steps.push_back("stage:" + s);
  steps.push_back("won");
  steps.push_back("lost");
  // Values are never summed across currencies: each is reported per currency, and the single
  // value field is set only when one currency is involved.
  bool mixed = false;
  auto values = [&](const std::map<std::string, std::map<std::string, Counter>>& by_currency,
                    const std::string& step, bool extra,
                    google::protobuf::RepeatedPtrField<v1::CurrencyValue>* out) -> int64_t {
    auto it = by_currency.find(step);
    if (it == by_currency.end()) return 0;
    int64_t single = 0;
    int n = 0;
    for (const auto& [currency, c] : it->second) {
      int64_t v = extra ? c.extra : c.value;
      if (v == 0 || currency.empty()) continue;
      v1::CurrencyValue* cv = out->Add();
      cv->set_currency(currency);
      cv->set_value_minor(v);
      single = v;
      ++n;
    }
    if (n > 1) mixed = true;
    return n == 1 ? single : 0;
  };
  for (const std::string& step : steps) {
    Counter c = period(step);
    v1::FunnelStep* out = report.add_steps();
    out->set_step(step);
    out->set_count(c.count);
    out->set_value_minor(values(totals.period_by_currency, step, false, out->mutable_values()));
  }
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"signal", "lead"}, {"lead", "opportunity"}, {"opportunity", "won"}};
  for (const v1::Playbook* pb : books) {
    for (const v1::FunnelTarget& t : pb->targets()) {
      std::pair<std::string, std::string> p{t.from_step(), t.to_step()};
      if (std::find(pairs.begin(), pairs.end(), p) == pairs.end()) pairs.push_back(p);
    }
  }
  for (const auto& [from, to] : pairs) {
    double target = -1;
    for (const v1::Playbook* pb : books) {
      double t = 0;
      for (const v1::FunnelTarget& ft : pb->targets()) {
        if (ft.from_step() == from && ft.to_step() == to) t = ft.target_ratio();
      }
      if (target < 0) {
        target = t;
      } else if (target != t) {
        target = 0;  // the playbooks disagree: no single target
      }
    }
    if (target < 0) target = 0;
    Counter a = period(from), b = period(to);
    v1::FunnelRatio* r = report.add_ratios();
    r->set_from_step(from);
    r->set_to_step(to);
    r->set_actual_ratio(b.count > 0 ? static_cast<double>(a.count) / b.count : 0);
    r->set_target_ratio(target);
    r->set_gap(target > 0 && b.count > 0 ? r->actual_ratio() - target : 0);
  }
  report.set_won_count(period("won").count);
  report.set_lost_count(period("lost").count);
  int64_t closed = report.won_count() + report.lost_count();
  report.set_win_rate(closed > 0 ? static_cast<double>(report.won_count()) / closed : 0);
  for (const std::string& s : stage_ids) {
    Counter c = period("exit:" + s);
    v1::StageTime* t = report.add_stage_times();
    t->set_stage(s);
    t->set_exits(c.count);
    t->set_average_days(c.count > 0 ? static_cast<double>(c.extra) / c.count / 86400.0 : 0);
  }
  std::map<std::string, int64_t> weighted;
  for (const std::string& s : stage_ids) {
    const std::string step = "open:" + s;
    auto it = totals.open.find(step);
    Counter c = it == totals.open.end() ? Counter{} : it->second;
    v1::WeightedStage* w = report.add_weighted();
    w->set_stage(s);
    w->set_open_count(c.count);
    w->set_open_value_minor(values(totals.open_by_currency, step, false, w->mutable_open_values()));
    w->set_weighted_value_minor(
        values(totals.open_by_currency, step, true, w->mutable_weighted_values()));
    for (const v1::CurrencyValue& cv : w->weighted_values()) {
      weighted[cv.currency()] += cv.value_minor();
    }
  }
  for (const auto& [currency, v] : weighted) {
    v1::CurrencyValue* cv = report.add_weighted_pipeline();
    cv->set_currency(currency);
    cv->set_value_minor(v);
  }
  if (weighted.size() > 1) mixed = true;
  report.set_weighted_pipeline_minor(weighted.size() == 1 ? weighted.begin()->second : 0);
  report.set_mixed_currencies(mixed);
  return report;
}

}  // namespace triad::pipeline
