// SeedPipeline: N opportunities through the pipeline domain's own write path
// (Pipeline::CreateOpportunity, then Pipeline::LoseOpportunity for all but the open set), so the
// records, their list indexes, history and funnel aggregates are exactly what the service
// writes. The clock moves over the past year while seeding (the funnel spans 365 days). The
// client replica holds N/10 clients (applied as consumed client events, Pipeline::OnClient).
// The open set (the most recent min(N/10, 5,000) deals) stays OPEN; the rest is lost.
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/scale/seed.h"
#include "common/events/envelope.h"
#include "common/status/status_macros.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/playbook.h"
#include "services/pipeline/repository.h"

namespace triad::bench {

absl::StatusOr<SeedStats> SeedPipeline(const SeedSpec& spec) {
  ASSIGN_OR_RETURN(SeedStore s,
                   OpenSeedStore(spec.data_dir, pipeline::ColumnFamilies(), "triad/pipeline"));
  const absl::Duration span = absl::Hours(24 * 365);
  absl::Time now = spec.now - span;
  pipeline::PipelineOptions po;
  po.clock = [&now] { return now; };
  ASSIGN_OR_RETURN(std::unique_ptr<pipeline::Pipeline> p,
                   pipeline::Pipeline::Create(s.store.get(), s.outbox.get(), po));
  std::mt19937_64 rng(spec.seed);
  const int64_t n_clients = std::max<int64_t>(spec.n / 10, 1);
  for (int64_t c = 0; c < n_clients; ++c) {
    clients::v1::ClientSummary sum;
    sum.set_client_id(absl::StrCat("cl-", c));
    sum.set_name(absl::StrCat("Client ", c));
    sum.set_owner_id(OwnerOf(c));
    sum.set_team_id(TeamOf(c));
    sum.set_region(RegionOf(c));
    sum.set_tier(static_cast<clients::v1::ClientTier>(1 + c % 4));
    sum.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
    sum.set_version(1);
    events::Event e;
    e.id = absl::StrCat("seed-client-", c);
    RETURN_IF_ERROR(p->OnClient(e, sum));
  }
  const int64_t open = std::min<int64_t>(std::max<int64_t>(spec.n / 10, 1), 5000);
  IdSample sample(spec.n);
  const char* lines[2] = {pipeline::kArchitecturalDesign, pipeline::kSpecialisedEquipment};
  for (int64_t i = 0; i < spec.n; ++i) {
    now = spec.now - span + span * (static_cast<double>(i) / spec.n);
    const int64_t client = static_cast<int64_t>(rng() % n_clients);
    pipeline::v1::CreateOpportunityRequest req;
    req.set_request_id(absl::StrCat("seed-opp-", i));
    req.set_client_id(absl::StrCat("cl-", client));
    req.set_owner_id(OwnerOf(i));
    req.set_team_id(TeamOf(i));
    req.set_title(absl::StrCat("Deal ", i, " retrofit"));
    req.set_product_line(lines[i % 2]);
    req.mutable_value()->set_currency("CNY");
    req.mutable_value()->set_amount_minor(100 *
                                          (100'000 + static_cast<int64_t>(rng() % 5'000'000)));
    req.mutable_actor()->set_id(OwnerOf(i));
    ASSIGN_OR_RETURN(pipeline::v1::Opportunity opp, p->CreateOpportunity(req));
    sample.Offer(i, opp.id());
    if (i >= spec.n - open) continue;
    now += absl::Hours(24 * (1 + rng() % 20));
    pipeline::v1::LoseOpportunityRequest lose;
    lose.set_opportunity_id(opp.id());
    lose.set_etag(opp.etag());
    lose.set_reason(static_cast<pipeline::v1::LossReason>(1 + rng() % 6));
    lose.mutable_actor()->set_id(OwnerOf(i));
    RETURN_IF_ERROR(p->LoseOpportunity(lose).status());
  }
  p.reset();
  RETURN_IF_ERROR(sample.Write(spec.ids_path));
  RETURN_IF_ERROR(FinishSeedStore(s));
  SeedStats stats;
  stats.records = spec.n;
  stats.open = open;
  stats.extra = n_clients;
  stats.note = "domain path (CreateOpportunity, LoseOpportunity)";
  return stats;
}

}  // namespace triad::bench
