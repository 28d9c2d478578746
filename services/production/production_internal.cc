// Implements the production domain's shared helpers.
#include "services/production/production_internal.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"

namespace triad::production {

namespace {
v1::PhaseTemplate Phase(std::string name, double share, std::string skill, bool key,
                        std::string domain = {}) {
  v1::PhaseTemplate t;
  t.set_name(std::move(name));
  t.set_effort_share(share);
  t.set_required_skill(std::move(skill));
  t.set_key_milestone(key);
  t.set_sign_off_domain(std::move(domain));
  return t;
}
}  // namespace

std::vector<v1::PhaseTemplateSet> DefaultTemplates() {
  v1::PhaseTemplateSet arch;
  arch.set_product_line(kArchitecturalDesign);
  arch.set_version(1);
  arch.set_default_effort_hours(600);
  *arch.add_phases() = Phase("scheme design", 0.25, "architectural-design", true, "architecture");
  *arch.add_phases() =
      Phase("preliminary design", 0.35, "architectural-design", true, "architecture");
  *arch.add_phases() = Phase("construction drawings", 0.40, "drafting", false);
  v1::PhaseTemplateSet eq;
  eq.set_product_line(kSpecialisedEquipment);
  eq.set_version(1);
  eq.set_default_effort_hours(1200);
  *eq.add_phases() = Phase("design", 0.25, "equipment-design", true, "equipment");
  *eq.add_phases() = Phase("manufacture", 0.40, "manufacturing", false);
  *eq.add_phases() = Phase("test", 0.15, "testing", true, "equipment");
  *eq.add_phases() = Phase("install and commission", 0.20, "installation", false);
  return {arch, eq};
}

std::string OpportunityKey(std::string_view opportunity_id) {
  return absl::StrCat("opp/", std::string(opportunity_id));
}

std::string ActiveKey(std::string_view project_id) {
  return absl::StrCat("active/", std::string(project_id));
}

std::string ActiveIndexedKey() { return "indexed/active"; }

void PutProject(Repository& repo, rocksdb::WriteBatch& batch, const v1::Project& p) {
  repo.PutProto(batch, Kind::kProject, p.project_id(), p);
  if (p.state() == v1::PROJECT_STATE_ACTIVE) {
    repo.PutRaw(batch, Kind::kIndex, ActiveKey(p.project_id()), "");
  } else {
    repo.Delete(batch, Kind::kIndex, ActiveKey(p.project_id()));
  }
}

void DeleteProject(Repository& repo, rocksdb::WriteBatch& batch, std::string_view project_id) {
  repo.Delete(batch, Kind::kProject, project_id);
  repo.Delete(batch, Kind::kIndex, ActiveKey(project_id));
}

sched::ProjectIn ToSchedulerProject(const v1::Project& p, sched::Day today) {
  sched::ProjectIn in;
  in.id = p.project_id();
  in.due = sched::ParseDay(p.due_date()).value_or(today);
  in.value = static_cast<double>(p.value().amount_minor()) / 100.0;
  in.tentative = p.tentative();
  in.release = today;
  for (const v1::Phase& ph : p.phases()) {
    if (ph.state() == v1::PHASE_STATE_COMPLETED) {
      if (ph.has_complete_time()) {
        double secs =
            absl::ToDoubleSeconds(util::FromProto(ph.complete_time()) - absl::UnixEpoch());
        in.release = std::max(in.release, static_cast<sched::Day>(std::floor(secs / 86400)) + 1);
      }
      continue;
    }
    sched::PhaseIn x;
    x.id = ph.phase_id();
    x.skill = ph.required_skill();
    x.effort_hours = ph.effort_hours() * (1 - std::clamp(ph.progress_percent(), 0.0, 100.0) / 100);
    x.previous_resource = ph.resource_id();
    x.previous_start = sched::ParseDay(ph.planned_start_date()).value_or(-1);
    bool current = false;
    auto read = [&](const google::protobuf::RepeatedPtrField<v1::DayAllocation>& in) {
      sched::Allocation alloc;
      for (const v1::DayAllocation& a : in) {
        auto d = sched::ParseDay(a.date());
        if (!d) continue;
        alloc.emplace_back(*d, a.hours());
        current = current || *d >= today;
      }
      return alloc;
    };
    sched::Allocation alloc = read(ph.allocations());
    const double left = 1 - std::clamp(ph.progress_percent(), 0.0, 100.0) / 100;
    for (const v1::PhaseAssignment& extra : ph.additional_assignments()) {
      sched::PartIn part;
      part.skill = extra.required_skill();
      part.effort_hours = extra.effort_hours() * left;
      part.previous_resource = extra.resource_id();
      part.previous_allocation = read(extra.allocations());
      x.parts.push_back(std::move(part));
    }
    // A started or pinned phase keeps its plan while it still lies ahead; a started phase
    // whose plan has run out is planned again for its remaining effort.
    if ((ph.state() == v1::PHASE_STATE_STARTED || ph.pinned()) && current) {
      x.fixed = true;
      x.fixed_resource = ph.resource_id();
      x.fixed_allocation = std::move(alloc);
      for (sched::PartIn& part : x.parts) {
        part.fixed_resource = part.previous_resource;
        part.fixed_allocation = std::move(part.previous_allocation);
        part.previous_allocation.clear();
      }
    } else {
      x.previous_allocation = std::move(alloc);
    }
    in.phases.push_back(std::move(x));
  }
  return in;
}

int OpenPhases(const v1::Project& p) {
  int open = 0;
  for (const v1::Phase& ph : p.phases()) {
    if (ph.state() != v1::PHASE_STATE_COMPLETED) ++open;
  }
  return open;
}

void ApplyPlan(const sched::PhaseOut& out, v1::Phase& phase) {
  phase.set_resource_id(out.resource);
  phase.set_planned_start_date(out.start >= 0 ? sched::FormatDay(out.start) : "");
  phase.set_planned_end_date(out.end >= 0 ? sched::FormatDay(out.end) : "");
  phase.set_unschedulable_reason(out.unschedulable);
  phase.clear_allocations();
  for (const auto& [d, h] : out.allocation) {
    v1::DayAllocation* a = phase.add_allocations();
    a->set_date(sched::FormatDay(d));
    a->set_hours(h);
  }
  for (int k = 0; k < phase.additional_assignments_size(); ++k) {
    v1::PhaseAssignment& extra = *phase.mutable_additional_assignments(k);
    extra.clear_allocations();
    if (static_cast<size_t>(k) >= out.parts.size() || !out.unschedulable.empty()) {
      extra.clear_resource_id();
      extra.clear_planned_start_date();
      extra.clear_planned_end_date();
      continue;
    }
    const sched::PartOut& part = out.parts[k];
    extra.set_resource_id(part.resource);
    extra.set_planned_start_date(part.start >= 0 ? sched::FormatDay(part.start) : "");
    extra.set_planned_end_date(part.end >= 0 ? sched::FormatDay(part.end) : "");
    for (const auto& [d, h] : part.allocation) {
      v1::DayAllocation* a = extra.add_allocations();
      a->set_date(sched::FormatDay(d));
      a->set_hours(h);
    }
  }
}

bool SamePlan(const v1::Project& a, const v1::Project& b) {
  if (a.planned_end_date() != b.planned_end_date() || a.phases_size() != b.phases_size()) {
    return false;
  }
  for (int k = 0; k < a.phases_size(); ++k) {
    const v1::Phase& x = a.phases(k);
    const v1::Phase& y = b.phases(k);
    if (x.resource_id() != y.resource_id() || x.planned_start_date() != y.planned_start_date() ||
        x.planned_end_date() != y.planned_end_date() ||
        x.unschedulable_reason() != y.unschedulable_reason() ||
        x.additional_assignments_size() != y.additional_assignments_size()) {
      return false;
    }
    for (int j = 0; j < x.additional_assignments_size(); ++j) {
      const v1::PhaseAssignment& u = x.additional_assignments(j);
      const v1::PhaseAssignment& v = y.additional_assignments(j);
      if (u.resource_id() != v.resource_id() || u.planned_start_date() != v.planned_start_date() ||
          u.planned_end_date() != v.planned_end_date()) {
        return false;
      }
    }
  }
  return true;
}

bool SameAllocations(const v1::Project& a, const v1::Project& b) {
  using Days = google::protobuf::RepeatedPtrField<v1::DayAllocation>;
  auto same = [](const Days& x, const Days& y) {
    if (x.size() != y.size()) return false;
    for (int i = 0; i < x.size(); ++i) {
      if (x[i].date() != y[i].date() || x[i].hours() != y[i].hours()) return false;
    }
    return true;
  };
  if (a.phases_size() != b.phases_size()) return false;
  for (int k = 0; k < a.phases_size(); ++k) {
    const v1::Phase& x = a.phases(k);
    const v1::Phase& y = b.phases(k);
    if (!same(x.allocations(), y.allocations()) ||
        x.additional_assignments_size() != y.additional_assignments_size()) {
      return false;
    }
    for (int j = 0; j < x.additional_assignments_size(); ++j) {
      if (!same(x.additional_assignments(j).allocations(),
                y.additional_assignments(j).allocations())) {
        return false;
      }
    }
  }
  return true;
}

namespace {

// SameDay is true when `stored` is what ApplyPlan stores for `day`.
bool SameDay(const std::string& stored, sched::Day day) {
  return day >= 0 ? stored == sched::FormatDay(day) : stored.empty();
}

// SameHours is true when `stored` is what ApplyPlan stores for `allocation`.
bool SameHours(const google::protobuf::RepeatedPtrField<v1::DayAllocation>& stored,
               const sched::Allocation& allocation) {
  if (static_cast<size_t>(stored.size()) != allocation.size()) return false;
  for (size_t i = 0; i < allocation.size(); ++i) {
    const v1::DayAllocation& a = stored[static_cast<int>(i)];
    if (a.hours() != allocation[i].second || sched::ParseDay(a.date()) != allocation[i].first) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool PlanUnchanged(const v1::Project& p, const std::vector<int>& phase_index,
                   const sched::ProjectOut& out) {
  if (!SameDay(p.planned_end_date(), out.end) || phase_index.size() != out.phases.size()) {
    return false;
  }
  for (size_t k = 0; k < phase_index.size(); ++k) {
    if (phase_index[k] < 0 || phase_index[k] >= p.phases_size()) return false;
    const v1::Phase& ph = p.phases(phase_index[k]);
    const sched::PhaseOut& po = out.phases[k];
    if (ph.resource_id() != po.resource || !SameDay(ph.planned_start_date(), po.start) ||
        !SameDay(ph.planned_end_date(), po.end) || ph.unschedulable_reason() != po.unschedulable ||
        !SameHours(ph.allocations(), po.allocation)) {
      return false;
    }
    for (int j = 0; j < ph.additional_assignments_size(); ++j) {
      const v1::PhaseAssignment& extra = ph.additional_assignments(j);
      if (static_cast<size_t>(j) >= po.parts.size() || !po.unschedulable.empty()) {
        if (!extra.resource_id().empty() || !extra.planned_start_date().empty() ||
            !extra.planned_end_date().empty() || !extra.allocations().empty()) {
          return false;
        }
        continue;
      }
      const sched::PartOut& part = po.parts[j];
      if (extra.resource_id() != part.resource ||
          !SameDay(extra.planned_start_date(), part.start) ||
          !SameDay(extra.planned_end_date(), part.end) ||
          !SameHours(extra.allocations(), part.allocation)) {
        return false;
      }
    }
  }
  return true;
}

std::string RiskReason(const v1::Project& p, const sched::ProjectOut& out) {
  for (const v1::Phase& ph : p.phases()) {
    if (!ph.unschedulable_reason().empty()) {
      return absl::StrCat("phase ", ph.name(), " cannot be planned: ", ph.unschedulable_reason());
    }
  }
  return absl::StrCat("planned end ", p.planned_end_date(), " is after the due date ", p.due_date(),
                      "; bottleneck: skill ", out.bottleneck_skill,
                      out.bottleneck_resource.empty() ? "" : " on resource ",
                      out.bottleneck_resource);
}

google::protobuf::Timestamp DayTime(sched::Day day) {
  return util::ToProto(absl::UnixEpoch() + absl::Hours(24) * day);
}

void FillPlans(const v1::Project& p, google::protobuf::RepeatedPtrField<v1::PhasePlan>* out) {
  for (const v1::Phase& ph : p.phases()) {
    v1::PhasePlan* plan = out->Add();
    plan->set_phase_id(ph.phase_id());
    plan->set_name(ph.name());
    plan->set_key_milestone(ph.key_milestone());
    if (auto d = sched::ParseDay(ph.planned_start_date()))
      *plan->mutable_planned_start_time() = DayTime(*d);
    if (auto d = sched::ParseDay(ph.planned_end_date()))
      *plan->mutable_planned_end_time() = DayTime(*d);
    if (!ph.resource_id().empty()) plan->add_resource_ids(ph.resource_id());
    for (const v1::PhaseAssignment& extra : ph.additional_assignments()) {
      if (!extra.resource_id().empty()) plan->add_resource_ids(extra.resource_id());
    }
  }
}

absl::Status CheckDate(std::string_view path, std::string_view value) {
  if (!sched::ParseDay(value).has_value()) {
    return api::InvalidField(path, "must be a date YYYY-MM-DD between 1970 and 2200");
  }
  return absl::OkStatus();
}

absl::Status CheckTemplate(const v1::PhaseTemplateSet& t) {
  RETURN_IF_ERROR(api::CheckId("template.product_line", t.product_line()));
  if (t.phases_size() < 1 || t.phases_size() > kMaxPhases) {
    return api::InvalidField(
        "template.phases",
        absl::StrCat("must list 1 to ", kMaxPhases, " phases (got ", t.phases_size(), ")"));
  }
  if (!(t.default_effort_hours() > 0 && t.default_effort_hours() <= kMaxEffortHours)) {
    return api::InvalidField("template.default_effort_hours", "must be in (0, 1000000]");
  }
  double sum = 0;
  std::set<std::string> names;
  for (int i = 0; i < t.phases_size(); ++i) {
    const v1::PhaseTemplate& ph = t.phases(i);
    const std::string path = absl::StrCat("template.phases[", i, "]");
    RETURN_IF_ERROR(api::CheckRequired(path + ".name", ph.name()));
    RETURN_IF_ERROR(api::CheckText(path + ".name", ph.name(), kMaxNameLength));
    if (!names.insert(ph.name()).second) return api::InvalidField(path + ".name", "is repeated");
    RETURN_IF_ERROR(api::CheckId(path + ".required_skill", ph.required_skill()));
    if (!(ph.effort_share() > 0 && ph.effort_share() <= 1)) {
      return api::InvalidField(path + ".effort_share", "must be in (0, 1]");
    }
    if (ph.key_milestone())
      RETURN_IF_ERROR(api::CheckId(path + ".sign_off_domain", ph.sign_off_domain()));
    RETURN_IF_ERROR(api::CheckCount(path + ".additional_requirements",
                                    ph.additional_requirements_size(), kMaxAdditionalRequirements));
    for (int j = 0; j < ph.additional_requirements_size(); ++j) {
      const v1::PhaseRequirement& req = ph.additional_requirements(j);
      const std::string at = absl::StrCat(path, ".additional_requirements[", j, "]");
      RETURN_IF_ERROR(api::CheckId(at + ".skill", req.skill()));
      if (!(req.effort_share() > 0 && req.effort_share() <= 1)) {
        return api::InvalidField(at + ".effort_share", "must be in (0, 1]");
      }
    }
    sum += ph.effort_share();
  }
  if (std::abs(sum - 1) > 1e-6) {
    return api::InvalidField("template.phases", "effort shares must sum to 1");
  }
  return absl::OkStatus();
}

}  // namespace triad::production
