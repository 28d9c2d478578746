// Implements the assignment policy (see policy.h).
#include "services/review/policy.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/util/proto_time.h"

namespace triad::review {

using util::FromProto;

PolicyRequest PolicyRequestOf(const v1::ReviewRequest& r, absl::Time now) {
  PolicyRequest p;
  p.domain = r.domain();
  p.min_proficiency = r.min_proficiency();
  p.acceptable_domains.assign(r.acceptable_domains().begin(), r.acceptable_domains().end());
  p.client_id = r.client_id();
  p.hours = r.estimated_hours();
  p.now = now;
  p.due = r.has_due_time() ? FromProto(r.due_time()) : now;
  if (p.due < now) p.due = now;
  p.excluded.insert(r.declined_by().begin(), r.declined_by().end());
  return p;
}

bool OnLeave(const v1::Expert& e, absl::Time from, absl::Time to) {
  for (const v1::LeaveWindow& w : e.leave_windows()) {
    absl::Time s = FromProto(w.start_time());
    absl::Time t = FromProto(w.end_time());
    if (s <= to && from < t) return true;
  }
  return false;
}

double EffectiveCapacity(const v1::Expert& e, absl::Time now) {
  for (const v1::LeaveWindow& w : e.leave_windows()) {
    absl::Time s = FromProto(w.start_time());
    absl::Time t = FromProto(w.end_time());
    if (t <= now && now - t < kRampTime && t - s >= kRampLeave) {
      return e.weekly_capacity_hours() * kRampShare;
    }
  }
  return e.weekly_capacity_hours();
}

double FreeHours(const v1::Expert& e, absl::Time now) {
  return EffectiveCapacity(e, now) - e.load_hours();
}

double LoadRatioAt(const v1::Expert& e, absl::Time now) {
  double cap = EffectiveCapacity(e, now);
  return cap > 0 ? e.load_hours() / cap : 0;
}

double LoadRatio(const v1::Expert& e) {
  return e.weekly_capacity_hours() > 0 ? e.load_hours() / e.weekly_capacity_hours() : 0;
}

v1::Proficiency ProficiencyIn(const v1::Expert& e, const std::string& domain) {
  for (const v1::DomainSkill& d : e.domains()) {
    if (d.domain() == domain) return d.level();
  }
  return v1::PROFICIENCY_UNSPECIFIED;
}

std::string PassOverReason(const v1::Expert& e, const PolicyRequest& r) {
  if (!e.active()) return "inactive";
  for (const v1::ConflictOfInterest& c : e.conflicts()) {
    if (!r.client_id.empty() && c.client_id() == r.client_id) return "conflict of interest";
  }
  if (r.excluded.count(e.expert_id()) > 0) return "declined or relieved";
  if (OnLeave(e, r.now, r.due)) return "on leave before the due time";
  // A small tolerance keeps float sums from refusing an exact fit.
  if (FreeHours(e, r.now) + 1e-9 < r.hours) {
    double cap = EffectiveCapacity(e, r.now);
    return absl::StrCat("over capacity (", e.load_hours(), " + ", r.hours, " > ", cap, " h",
                        cap < e.weekly_capacity_hours() ? ", halved while back from leave" : "",
                        ")");
  }
  return "";
}

namespace {

struct Scored {
  const v1::Expert* e;
  const std::string* passed;  // "" when eligible under the rule
};

// RuleFits says whether the expert's domain skills match `rule` for the request.
bool RuleFits(v1::AssignmentRule rule, const v1::Expert& e, const PolicyRequest& r) {
  v1::Proficiency level = ProficiencyIn(e, r.domain);
  switch (rule) {
    case v1::ASSIGNMENT_RULE_STRICT:
      return level != v1::PROFICIENCY_UNSPECIFIED && level >= r.min_proficiency;
    case v1::ASSIGNMENT_RULE_LOWER_PROFICIENCY:
      return level != v1::PROFICIENCY_UNSPECIFIED;
    case v1::ASSIGNMENT_RULE_NEIGHBOUR_DOMAIN:
      for (const std::string& d : r.acceptable_domains) {
        if (ProficiencyIn(e, d) != v1::PROFICIENCY_UNSPECIFIED) return true;
      }
      return false;
    default:
      return false;
  }
}

bool Better(const v1::Expert* a, const v1::Expert* b, absl::Time now) {
  return std::make_tuple(LoadRatioAt(*a, now), a->open_reviews(), a->expert_id()) <
         std::make_tuple(LoadRatioAt(*b, now), b->open_reviews(), b->expert_id());
}

void Record(v1::Assignment& out, const v1::Expert& e, bool chosen, const std::string& passed,
            absl::Time now) {
  out.set_candidates_total(out.candidates_total() + 1);
  if (out.candidates_size() >= kMaxRecordedCandidates && !chosen) return;
  v1::Candidate* c = out.add_candidates();
  c->set_expert_id(e.expert_id());
  c->set_load_hours(e.load_hours());
  c->set_capacity_hours(EffectiveCapacity(e, now));
  c->set_load_ratio(LoadRatioAt(e, now));
  c->set_chosen(chosen);
  c->set_passed_over(passed);
}

}  // namespace

v1::Assignment Decide(const PolicyRequest& r, const std::vector<const v1::Expert*>& experts) {
  static constexpr v1::AssignmentRule kRules[] = {v1::ASSIGNMENT_RULE_STRICT,
                                                  v1::ASSIGNMENT_RULE_LOWER_PROFICIENCY,
                                                  v1::ASSIGNMENT_RULE_NEIGHBOUR_DOMAIN};
  std::vector<std::string> relaxed_notes;
  // Each expert's reason to be passed over depends on the expert and the request alone: it is
  // formatted once, whichever rules consider the expert and whether nobody fits.
  std::vector<std::optional<std::string>> reasons(experts.size());
  auto reason_of = [&](size_t i) -> const std::string& {
    if (!reasons[i].has_value()) reasons[i] = PassOverReason(*experts[i], r);
    return *reasons[i];
  };
  for (v1::AssignmentRule rule : kRules) {
    if (rule == v1::ASSIGNMENT_RULE_LOWER_PROFICIENCY &&
        r.min_proficiency <= v1::PROFICIENCY_JUNIOR) {
      continue;  // nothing lower to relax to
    }
    if (rule == v1::ASSIGNMENT_RULE_NEIGHBOUR_DOMAIN && r.acceptable_domains.empty()) continue;
    std::vector<Scored> considered;
    const v1::Expert* best = nullptr;
    const v1::Expert* best_continuity = nullptr;
    for (size_t i = 0; i < experts.size(); ++i) {
      const v1::Expert* e = experts[i];
      if (!RuleFits(rule, *e, r)) continue;
      // Experts already considered by a stricter rule were passed over there.
      if (rule == v1::ASSIGNMENT_RULE_LOWER_PROFICIENCY &&
          RuleFits(v1::ASSIGNMENT_RULE_STRICT, *e, r)) {
        continue;
      }
      if (rule == v1::ASSIGNMENT_RULE_NEIGHBOUR_DOMAIN &&
          ProficiencyIn(*e, r.domain) != v1::PROFICIENCY_UNSPECIFIED) {
        continue;
      }
      const std::string& passed = reason_of(i);
      considered.push_back({e, &passed});
      if (!passed.empty()) continue;
      if (best == nullptr || Better(e, best, r.now)) best = e;
      if (r.continuity.count(e->expert_id()) > 0 &&
          (best_continuity == nullptr || Better(e, best_continuity, r.now))) {
        best_continuity = e;
      }
    }
    if (best == nullptr) {
      std::string note = absl::StrCat(v1::AssignmentRule_Name(rule), ": ", considered.size(),
                                      " considered, none fits");
      // The first few reasons say why (all of them are in the candidates).
      for (size_t i = 0; i < considered.size() && i < 3; ++i) {
        absl::StrAppend(&note, i == 0 ? " (" : ", ", considered[i].e->expert_id(), ": ",
                        *considered[i].passed);
      }
      if (!considered.empty()) absl::StrAppend(&note, considered.size() > 3 ? ", ...)" : ")");
      relaxed_notes.push_back(note);
      continue;
    }
    const v1::Expert* chosen = best_continuity != nullptr ? best_continuity : best;
    v1::Assignment out;
    out.set_expert_id(chosen->expert_id());
    out.set_rule(rule);
    out.set_continuity(best_continuity != nullptr);
    // The chosen one first, so it is recorded whatever the number of candidates.
    Record(out, *chosen, true, "", r.now);
    for (const Scored& s : considered) {
      if (s.e == chosen) continue;
      std::string why = *s.passed;
      if (why.empty()) {
        why = best_continuity != nullptr ? "no continuity with the client" : "higher load ratio";
      }
      Record(out, *s.e, false, why, r.now);
    }
    std::string reason = absl::StrCat("rule ", v1::AssignmentRule_Name(rule));
    if (rule != v1::ASSIGNMENT_RULE_STRICT) {
      absl::StrAppend(&reason, " (relaxed after: ", relaxed_notes.empty() ? "" : relaxed_notes[0]);
      for (size_t i = 1; i < relaxed_notes.size(); ++i)
        absl::StrAppend(&reason, "; ", relaxed_notes[i]);
      absl::StrAppend(&reason, ")");
    }
    absl::StrAppend(&reason,
                    out.continuity() ? "; continuity with the client" : "; lowest load ratio", " (",
                    LoadRatioAt(*chosen, r.now), ")");
    out.set_reason(reason);
    return out;
  }
  v1::Assignment none;
  std::string why = "nobody fits:";
  for (const std::string& n : relaxed_notes) absl::StrAppend(&why, " ", n, ";");
  none.set_reason(why);
  for (size_t i = 0; i < experts.size(); ++i) {
    const v1::Expert* e = experts[i];
    if (ProficiencyIn(*e, r.domain) == v1::PROFICIENCY_UNSPECIFIED) continue;
    const std::string& passed = reason_of(i);
    Record(none, *e, false, passed.empty() ? "below the required proficiency" : passed, r.now);
  }
  return none;
}

}  // namespace triad::review
