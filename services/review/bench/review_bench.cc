// Benchmarks of the review service: one assignment decision with 1,000 experts of the domain and
// 10,000 open reviews — the pure policy (Decide) and the whole CreateReviewRequest (validation,
// policy, audit, events, RocksDB commit).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/util/proto_time.h"
#include "services/review/policy.h"
#include "services/review/review.h"
#include "tests/testing/test_env.h"

namespace triad::review {
namespace {

constexpr int kExperts = 1'000;
constexpr int kOpenReviews = 10'000;
const absl::Time kNow = absl::FromUnixSeconds(int64_t{20000} * 86400);

// Env is one Reviews domain with kExperts experts of one domain and kOpenReviews open reviews.
struct Env {
  testing::TempDir dir;
  testing::ServiceStorage storage;
  std::unique_ptr<Reviews> reviews;
  int seq = 0;

  Env() {
    storage =
        std::move(*testing::OpenServiceStorage(dir.Sub("db"), ColumnFamilies(), "triad/review"));
    ReviewOptions o;
    o.clock = [] { return kNow; };
    reviews = std::move(*Reviews::Create(storage.store.get(), storage.outbox.get(), o));
    std::mt19937_64 rng(7);
    for (int i = 0; i < kExperts; ++i) {
      v1::CreateExpertRequest req;
      v1::Expert* e = req.mutable_expert();
      e->set_expert_id(absl::StrCat("x", 10000 + i));
      e->set_display_name("Expert");
      // 10,000 reviews of 1-4 h fill about half of the capacity.
      e->set_weekly_capacity_hours(30 + static_cast<double>(rng() % 20));
      v1::DomainSkill* d = e->add_domains();
      d->set_domain("structural");
      d->set_level(static_cast<v1::Proficiency>(1 + rng() % 4));
      if (rng() % 10 == 0) e->add_conflicts()->set_client_id(absl::StrCat("c", rng() % 500));
      req.mutable_actor()->set_id("u:bench");
      if (!reviews->CreateExpert(req).ok()) std::abort();
    }
    for (int i = 0; i < kOpenReviews; ++i) {
      if (!reviews->CreateReviewRequest(Request(1 + static_cast<double>(i % 4))).ok()) {
        std::abort();
      }
    }
  }

  v1::CreateReviewRequestRequest Request(double hours) {
    v1::CreateReviewRequestRequest req;
    v1::ReviewRequest* r = req.mutable_review();
    r->set_kind(v1::REVIEW_KIND_OPPORTUNITY_GATE);
    r->set_domain("structural");
    r->set_min_proficiency(v1::PROFICIENCY_SENIOR);
    r->set_client_id(absl::StrCat("c", ++seq % 500));
    r->set_opportunity_id(absl::StrCat("opp-", seq));
    r->set_estimated_hours(hours);
    *r->mutable_due_time() = util::ToProto(kNow + absl::Hours(24 * 14));
    req.mutable_actor()->set_id("u:bench");
    return req;
  }
};

Env& Shared() {
  static Env* env = new Env();
  return *env;
}

void BM_DecideOverThousandExperts(benchmark::State& state) {
  Env& env = Shared();
  v1::ListExpertsRequest lr;
  lr.set_page_size(1000);
  auto experts = env.reviews->ListExperts(lr);
  std::vector<const v1::Expert*> ptrs;
  for (const v1::Expert& e : experts->experts()) ptrs.push_back(&e);
  PolicyRequest p;
  p.domain = "structural";
  p.min_proficiency = v1::PROFICIENCY_SENIOR;
  p.client_id = "c42";
  p.hours = 2;
  p.now = kNow;
  p.due = kNow + absl::Hours(24 * 14);
  p.continuity = {"x10001", "x10500"};
  for (auto _ : state) {
    v1::Assignment a = Decide(p, ptrs);
    benchmark::DoNotOptimize(a);
  }
  state.counters["experts"] = static_cast<double>(ptrs.size());
}
BENCHMARK(BM_DecideOverThousandExperts)->Unit(benchmark::kMicrosecond);

void BM_CreateReviewRequestWithTenThousandOpen(benchmark::State& state) {
  Env& env = Shared();
  double max_ratio = 0;
  for (auto _ : state) {
    auto r = env.reviews->CreateReviewRequest(env.Request(1));
    if (!r.ok()) state.SkipWithError("create failed");
  }
  auto view = env.reviews->GetLoadView(v1::GetLoadViewRequest());
  if (view.ok()) max_ratio = view->max_load_ratio();
  state.counters["max_load_ratio"] = max_ratio;
}
BENCHMARK(BM_CreateReviewRequestWithTenThousandOpen)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(2000);

}  // namespace
}  // namespace triad::review

BENCHMARK_MAIN();
