// SeedReview: 1,000 experts (10 domains, 40 h/week) and 1,000 knowledge-base solutions through
// the Reviews domain (CreateExpert, CreateSolution with publish); the open set of review
// requests (min(N/10, 3,000), 8 h each) through CreateReviewRequest, so the policy assigns them
// by load and capacity; and the closed rest (decided, the bulk of a firm's history) as copies of
// one request the domain took through accept, start and an APPROVED verdict, each with its own
// ids, client, opportunity, expert and times, written through ReviewRepository::PutReview in
// WriteBatches of 10,000 with their approver and continuity index entries (the domain's path
// would take four calls per closed request).
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scale/seed.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/review/repository.h"
#include "services/review/review.h"

namespace triad::bench {
namespace {

constexpr int kExperts = 1000;
constexpr int kDomains = 10;
constexpr int kSolutions = 1000;

std::string DomainOf(int64_t i) { return absl::StrCat("domain-", i % kDomains); }
std::string ExpertOf(int64_t i) { return absl::StrFormat("ex-%04d", i % kExperts); }

common::v1::Actor Actor(const std::string& id) {
  common::v1::Actor a;
  a.set_id(id);
  return a;
}

review::v1::CreateReviewRequestRequest NewRequest(int64_t i, absl::Time now) {
  review::v1::CreateReviewRequestRequest req;
  review::v1::ReviewRequest* r = req.mutable_review();
  r->set_kind(review::v1::REVIEW_KIND_OPPORTUNITY_GATE);
  r->set_domain(DomainOf(i));
  r->set_client_id(absl::StrCat("cl-", i % 100'000));
  r->set_opportunity_id(absl::StrCat("opp-seed-", i));
  r->set_gate_id("concept.expert_review");
  r->set_title(absl::StrCat("Concept review ", i));
  r->set_requirements("Load path, materials and the supplier's lead time.");
  r->set_estimated_hours(8);
  *r->mutable_due_time() = util::ToProto(now + absl::Hours(24 * 14));
  r->add_tags(absl::StrCat("segment-", i % 50));
  req.set_request_id(absl::StrCat("seed-review-", i));
  *req.mutable_actor() = Actor(OwnerOf(i));
  return req;
}

}  // namespace

absl::StatusOr<SeedStats> SeedReview(const SeedSpec& spec) {
  ASSIGN_OR_RETURN(SeedStore s,
                   OpenSeedStore(spec.data_dir, review::ColumnFamilies(), "triad/review"));
  absl::Time now = spec.now - absl::Hours(24 * 30);
  review::ReviewOptions ro;
  ro.clock = [&now] { return now; };
  ASSIGN_OR_RETURN(std::unique_ptr<review::Reviews> r,
                   review::Reviews::Create(s.store.get(), s.outbox.get(), ro));
  for (int e = 0; e < kExperts; ++e) {
    review::v1::CreateExpertRequest req;
    req.mutable_expert()->set_expert_id(ExpertOf(e));
    req.mutable_expert()->set_display_name(absl::StrCat("Expert ", e));
    req.mutable_expert()->set_weekly_capacity_hours(40);
    review::v1::DomainSkill* d = req.mutable_expert()->add_domains();
    d->set_domain(DomainOf(e));
    d->set_level(review::v1::PROFICIENCY_SENIOR);
    req.set_request_id(absl::StrCat("seed-expert-", e));
    *req.mutable_actor() = Actor("u:product-head");
    RETURN_IF_ERROR(r->CreateExpert(req).status());
  }
  for (int k = 0; k < kSolutions; ++k) {
    review::v1::CreateSolutionRequest req;
    review::v1::Solution* sol = req.mutable_solution();
    sol->set_title(absl::StrCat("Braced steel frame variant ", k));
    sol->set_domain(DomainOf(k));
    sol->add_tags(absl::StrCat("segment-", k % 50));
    sol->set_summary("Steel frame with a braced core for long spans.");
    sol->set_body("Frame, bracing and foundations sized for seismic zone 8; see the drawings.");
    req.set_publish(true);
    req.set_request_id(absl::StrCat("seed-solution-", k));
    *req.mutable_actor() = Actor(ExpertOf(k));
    RETURN_IF_ERROR(r->CreateSolution(req).status());
  }
  // The prototype of a decided request, taken through the domain.
  ASSIGN_OR_RETURN(review::v1::ReviewRequest proto,
                   r->CreateReviewRequest(NewRequest(int64_t{2'000'000'000}, now)));
  {
    review::v1::AcceptReviewRequest a;
    a.set_review_id(proto.review_id());
    *a.mutable_actor() = Actor(proto.expert_id());
    ASSIGN_OR_RETURN(proto, r->AcceptReview(a));
    review::v1::StartReviewRequest st;
    st.set_review_id(proto.review_id());
    *st.mutable_actor() = Actor(proto.expert_id());
    ASSIGN_OR_RETURN(proto, r->StartReview(st));
    review::v1::RecordVerdictRequest v;
    v.set_review_id(proto.review_id());
    v.set_verdict(review::v1::VERDICT_APPROVED);
    v.set_judgement("Sound load path; the cantilever needs a second look.");
    v.set_solution_summary("Steel frame with braced core");
    v.set_estimated_effort_hours(80);
    v.add_risks("supplier lead time");
    *v.mutable_actor() = Actor(proto.expert_id());
    ASSIGN_OR_RETURN(proto, r->RecordVerdict(v));
  }
  // The open set, assigned by the policy (the most recent requests).
  const int64_t open = std::min<int64_t>(std::max<int64_t>(spec.n / 10, 1), 3000);
  IdSample sample(spec.n);
  std::vector<std::string> open_ids;
  for (int64_t i = spec.n - open; i < spec.n; ++i) {
    now = spec.now - absl::Hours(24 * 7) + absl::Seconds(i - (spec.n - open));
    ASSIGN_OR_RETURN(review::v1::ReviewRequest rr, r->CreateReviewRequest(NewRequest(i, now)));
    open_ids.push_back(rr.review_id());
  }
  r.reset();
  // The closed history: copies of the prototype over the past three years.
  std::unique_ptr<review::ReviewRepository> repo = review::NewRocksReviewRepository(s.store.get());
  std::mt19937_64 rng(spec.seed);
  const absl::Duration span = absl::Hours(24 * 365 * 3);
  const int64_t closed = spec.n - open;
  rocksdb::WriteBatch batch;
  for (int64_t i = 0; i < closed; ++i) {
    const absl::Time created = spec.now - span + span * (static_cast<double>(i) / spec.n);
    review::v1::ReviewRequest c = proto;
    const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(created));
    c.set_review_id(absl::StrFormat("rv_%012x%016x", millis & 0xFFFFFFFFFFFFull, rng()));
    c.set_opportunity_id(absl::StrFormat("opp_%012x%016x", millis & 0xFFFFFFFFFFFFull, rng()));
    c.set_client_id(absl::StrCat("cl-", i % 100'000));
    c.set_domain(DomainOf(i));
    c.set_expert_id(ExpertOf(i));
    for (review::v1::Assignment& a : *c.mutable_assignments()) a.set_expert_id(c.expert_id());
    c.mutable_verdict()->set_expert_id(c.expert_id());
    c.set_title(absl::StrCat("Concept review ", i));
    c.clear_solution_id();
    *c.mutable_create_time() = util::ToProto(created);
    *c.mutable_update_time() = util::ToProto(created + absl::Hours(72));
    *c.mutable_due_time() = util::ToProto(created + absl::Hours(24 * 14));
    repo->PutReview(batch, c);
    repo->PutDecided(batch, c);  // its approver and continuity entries, as FinishLocked writes
    sample.Offer(i, c.review_id());
    if (batch.Count() >= 10'000) {
      RETURN_IF_ERROR(s.store->Write(batch));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(s.store->Write(batch));
  for (size_t k = 0; k < open_ids.size(); ++k) sample.Offer(closed + k, open_ids[k]);
  RETURN_IF_ERROR(sample.Write(spec.ids_path));
  RETURN_IF_ERROR(FinishSeedStore(s));
  SeedStats stats;
  stats.records = spec.n + 1;
  stats.open = open;
  stats.extra = kExperts + kSolutions;
  stats.note = "experts, solutions, open set: domain path; closed: repository copies";
  return stats;
}

}  // namespace triad::bench
