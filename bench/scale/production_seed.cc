// SeedProduction: 300 resources (six skills of the default templates, 40 h/week) through the
// Production domain (CreateResource); N projects, most of them COMPLETED (a firm's delivered
// history) and an active set of min(N/10, 2,000) that the scheduler plans. The active set is
// bounded by capacity, not by history: 300 people at 40 h/week carry about 2,000 projects of
// 150-250 h within the scheduling horizon, and the service plans only active projects.
//
// Eight projects per product line go through CreateProject (template phases, first plan); the
// N records are copies of them with their own ids, opportunity, client, title, due date and
// effort, written through Repository::PutProto with the opportunity index entry in
// WriteBatches of 10,000 (completed: every phase COMPLETED at 100 %; active: planned phases).
// Production::Create then runs once on the seeded store: its start-up reschedule plans the
// active set on the resources and stores the plans, as the service does at start.
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scale/seed.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"
#include "services/production/repository.h"

namespace triad::bench {
namespace {

constexpr int kResources = 300;
constexpr int kPrototypesPerLine = 8;
const char* const kSkills[] = {"architectural-design", "drafting", "equipment-design",
                               "manufacturing",        "testing",  "installation"};

common::v1::Actor Actor(const std::string& id) {
  common::v1::Actor a;
  a.set_id(id);
  return a;
}

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

}  // namespace

absl::StatusOr<SeedStats> SeedProduction(const SeedSpec& spec) {
  ASSIGN_OR_RETURN(SeedStore s,
                   OpenSeedStore(spec.data_dir, production::ColumnFamilies(), "triad/production"));
  production::ProductionOptions po;
  po.clock = [&spec] { return spec.now; };
  std::vector<production::v1::Project> prototypes;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<production::Production> p,
                     production::Production::Create(s.store.get(), s.outbox.get(), po));
    for (int i = 0; i < kResources; ++i) {
      production::v1::CreateResourceRequest req;
      req.mutable_resource()->set_resource_id(absl::StrFormat("res-%03d", i));
      req.mutable_resource()->set_display_name(absl::StrCat("Resource ", i));
      req.mutable_resource()->add_skills(kSkills[i % 6]);
      req.mutable_resource()->set_weekly_capacity_hours(40);
      req.set_request_id(absl::StrCat("seed-resource-", i));
      *req.mutable_actor() = Actor("u:production-head");
      RETURN_IF_ERROR(p->CreateResource(req).status());
    }
    for (int k = 0; k < 2 * kPrototypesPerLine; ++k) {
      production::v1::CreateProjectRequest req;
      req.mutable_project()->set_client_id(absl::StrCat("cl-", k));
      req.mutable_project()->set_product_line(k % 2 == 0 ? production::kArchitecturalDesign
                                                         : production::kSpecialisedEquipment);
      req.mutable_project()->set_title(absl::StrCat("Prototype ", k));
      req.mutable_project()->set_due_date(Day(spec.now + absl::Hours(24 * (120 + 10 * k))));
      req.mutable_project()->set_effort_hours(150 + 10 * k);
      req.mutable_project()->mutable_value()->set_amount_minor(120'000'000);
      req.mutable_project()->mutable_value()->set_currency("CNY");
      req.set_request_id(absl::StrCat("seed-prototype-", k));
      *req.mutable_actor() = Actor("u:production-head");
      ASSIGN_OR_RETURN(production::v1::CreateProjectResponse resp, p->CreateProject(req));
      prototypes.push_back(resp.project());
    }
  }
  // The N projects: the history first (completed), then the active set.
  std::unique_ptr<production::Repository> repo = production::NewRocksRepository(s.store.get());
  std::mt19937_64 rng(spec.seed);
  const int64_t active = std::min<int64_t>(std::max<int64_t>(spec.n / 10, 1), 2000);
  const absl::Duration span = absl::Hours(24 * 365 * 3);
  IdSample sample(spec.n);
  // The prototypes are removed: the N copies are the records.
  rocksdb::WriteBatch batch;
  for (const production::v1::Project& p : prototypes) {
    production::DeleteProject(*repo, batch, p.project_id());
    if (!p.opportunity_id().empty()) {
      repo->Delete(batch, production::Kind::kIndex, production::OpportunityKey(p.opportunity_id()));
    }
  }
  for (int64_t i = 0; i < spec.n; ++i) {
    const bool done = i < spec.n - active;
    const absl::Time created = done ? spec.now - span + span * (static_cast<double>(i) / spec.n)
                                    : spec.now - absl::Hours(24 * 30) + absl::Seconds(i % 86400);
    production::v1::Project c = prototypes[i % prototypes.size()];
    const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(created));
    c.set_project_id(absl::StrFormat("pj_%012x%016x", millis & 0xFFFFFFFFFFFFull, rng()));
    c.set_opportunity_id(absl::StrFormat("opp_seed_%09d", i));
    c.set_client_id(absl::StrCat("cl-", i % 100'000));
    c.set_title(absl::StrCat("Project ", i));
    c.set_effort_hours(150 + static_cast<double>(rng() % 100));
    *c.mutable_create_time() = util::ToProto(created);
    *c.mutable_update_time() = util::ToProto(created);
    if (done) {
      c.set_due_date(Day(created + absl::Hours(24 * 120)));
      c.set_state(production::v1::PROJECT_STATE_COMPLETED);
      c.set_at_risk(false);
      c.clear_risk_reason();
      absl::Time t = created;
      for (production::v1::Phase& ph : *c.mutable_phases()) {
        ph.set_state(production::v1::PHASE_STATE_COMPLETED);
        ph.set_progress_percent(100);
        *ph.mutable_start_time() = util::ToProto(t);
        t += absl::Hours(24 * 20);
        *ph.mutable_complete_time() = util::ToProto(t);
      }
      c.set_planned_end_date(Day(t));
    } else {
      c.set_due_date(Day(spec.now + absl::Hours(24 * (60 + static_cast<int64_t>(rng() % 400)))));
    }
    production::PutProject(*repo, batch, c);
    repo->PutRaw(batch, production::Kind::kIndex, production::OpportunityKey(c.opportunity_id()),
                 c.project_id());
    sample.Offer(i, c.project_id());
    if (batch.Count() >= 10'000) {
      RETURN_IF_ERROR(s.store->Write(batch));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(s.store->Write(batch));
  {
    // The start-up reschedule of the service, once, so the seeded store holds the plans.
    ASSIGN_OR_RETURN(std::unique_ptr<production::Production> p,
                     production::Production::Create(s.store.get(), s.outbox.get(), po));
  }
  RETURN_IF_ERROR(sample.Write(spec.ids_path));
  RETURN_IF_ERROR(FinishSeedStore(s));
  SeedStats stats;
  stats.records = spec.n;
  stats.open = active;
  stats.extra = kResources;
  stats.note =
      "resources, prototypes: domain path; projects: repository copies; plans: start-up reschedule";
  return stats;
}

}  // namespace triad::bench
