// production_scheduler_plan: runs the production service's finite-capacity scheduler
// (services/production/scheduler.h, the service's rule) on one instance read as JSON from stdin
// and prints the plan as JSON on stdout, for bench/production_cpsat/cpsat_gap.py.
//
// Instance: {"today": day, "horizon_days": n,
//            "resources": [{"id", "skills": [..], "weekly_hours", "off_days": [day..]}],
//            "projects": [{"id", "due": day, "value", "phases": [{"id", "skill",
//            "effort_hours"}]}]}
// Plan: {"seconds": wall time of Schedule, "projects": [{"id", "end", "phases":
//        [{"id", "resource", "start", "end", "allocation": [[day, hours], ..]}]}]}
// Days are days since 1970-01-01 (sched::Day).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "nlohmann/json.hpp"
#include "services/production/scheduler.h"

namespace sched = triad::production::sched;
using nlohmann::json;

int main() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json in = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    std::fprintf(stderr, "production_scheduler_plan: stdin is not a JSON object\n");
    return 2;
  }
  sched::Problem p;
  p.today = in.value("today", 0);
  p.horizon_days = in.value("horizon_days", 3650);
  for (const json& r : in.value("resources", json::array())) {
    sched::ResourceIn res;
    res.id = r.value("id", "");
    for (const json& s : r.value("skills", json::array()))
      res.skills.push_back(s.get<std::string>());
    res.weekly_hours = r.value("weekly_hours", 40.0);
    for (const json& d : r.value("off_days", json::array())) res.off_days.push_back(d.get<int>());
    p.resources.push_back(std::move(res));
  }
  for (const json& pj : in.value("projects", json::array())) {
    sched::ProjectIn pr;
    pr.id = pj.value("id", "");
    pr.due = pj.value("due", 0);
    pr.value = pj.value("value", 1.0);
    pr.release = p.today;
    for (const json& ph : pj.value("phases", json::array())) {
      sched::PhaseIn phase;
      phase.id = ph.value("id", "");
      phase.skill = ph.value("skill", "");
      phase.effort_hours = ph.value("effort_hours", 0.0);
      pr.phases.push_back(std::move(phase));
    }
    p.projects.push_back(std::move(pr));
  }
  const auto t0 = std::chrono::steady_clock::now();
  const sched::Result result = sched::Schedule(p);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json out;
  out["seconds"] = seconds;
  out["projects"] = json::array();
  for (size_t i = 0; i < p.projects.size(); ++i) {
    const sched::ProjectOut& po = result.projects[i];
    json pj;
    pj["id"] = p.projects[i].id;
    pj["end"] = po.end;
    pj["phases"] = json::array();
    for (size_t k = 0; k < po.phases.size(); ++k) {
      const sched::PhaseOut& ph = po.phases[k];
      json alloc = json::array();
      for (const auto& [day, hours] : ph.allocation) alloc.push_back({day, hours});
      pj["phases"].push_back({{"id", p.projects[i].phases[k].id},
                              {"resource", ph.resource},
                              {"start", ph.start},
                              {"end", ph.end},
                              {"unschedulable", ph.unschedulable},
                              {"allocation", alloc}});
    }
    out["projects"].push_back(pj);
  }
  std::cout << out.dump() << "\n";
  return 0;
}
