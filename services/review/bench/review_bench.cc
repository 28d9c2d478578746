// Benchmarks of the review service: one assignment decision with 1,000 experts of the domain and
// 10,000 open reviews — the pure policy (Decide) and the whole CreateReviewRequest (validation,
// policy, audit, events, RocksDB commit); knowledge-base search over 100,000 documents by
// domain, tag and words, and similar past solutions; review requests consumed one by one while
// 1,000 experts are full and the queue is long (every new request queues and escalates), and
// the event-flow benchmark's review case in one process (20 experts, a growing queue).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/contracts/pipeline.h"
#include "common/events/envelope.h"
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

// ConsumeEnv is a Reviews domain that consumes ReviewRequested events of new opportunities:
// `experts` experts of one domain with `capacity` hours a week each at `level`, every consumed
// request asking for `hours` hours.
struct ConsumeEnv {
  struct Shape {
    int experts;
    double capacity;
    v1::Proficiency level;
    double hours;
    int clients;
    std::string expert_prefix;
    std::string requirements;
    int due_days;
  };
  Shape shape;
  testing::TempDir dir;
  testing::ServiceStorage storage;
  std::unique_ptr<Reviews> reviews;
  int seq = 0;

  explicit ConsumeEnv(Shape s) : shape(std::move(s)) {
    storage =
        std::move(*testing::OpenServiceStorage(dir.Sub("db"), ColumnFamilies(), "triad/review"));
    ReviewOptions o;
    o.clock = [] { return kNow; };
    o.event_review_hours = shape.hours;
    reviews = std::move(*Reviews::Create(storage.store.get(), storage.outbox.get(), o));
    for (int i = 0; i < shape.experts; ++i) {
      v1::CreateExpertRequest req;
      v1::Expert* e = req.mutable_expert();
      e->set_expert_id(absl::StrCat(shape.expert_prefix, i));
      e->set_display_name(absl::StrCat("Expert ", i));
      e->set_weekly_capacity_hours(shape.capacity);
      v1::DomainSkill* d = e->add_domains();
      d->set_domain("structural");
      d->set_level(shape.level);
      req.mutable_actor()->set_id("u:bench");
      if (!reviews->CreateExpert(req).ok()) std::abort();
    }
  }

  // Apply consumes one ReviewRequested event of a new opportunity.
  absl::Status Apply() {
    pipeline::v1::ReviewRequested m;
    m.set_opportunity_id(absl::StrCat("opp-", ++seq));
    m.set_client_id(absl::StrCat("c", seq % shape.clients));
    m.set_domain("structural");
    m.set_requirements(shape.requirements);
    m.mutable_value()->set_amount_minor(100000000);
    m.mutable_value()->set_currency("CNY");
    m.set_gate_id("concept.expert_review");
    m.set_stage("concept");
    m.set_product_line("architectural-design");
    m.set_owner_id("u:bench");
    *m.mutable_due_time() = util::ToProto(kNow + absl::Hours(24 * shape.due_days));
    events::Event e;
    e.id = events::NewEventId();
    e.type = std::string(contracts::pipeline::ReviewRequested::kType);
    e.source = "triad/bench";
    e.topic = std::string(contracts::pipeline::ReviewRequested::kTopic);
    e.payload = m.SerializeAsString();
    return reviews->HandleEvent(e);
  }
};

// QueueEnv: 1,000 experts cannot take the 8 h a consumed review request asks for (3 h a week
// each), so every request queues and escalates; kQueued requests wait already.
constexpr int kQueued = 5'000;

void BM_ApplyReviewRequestedWithLongQueue(benchmark::State& state) {
  static ConsumeEnv* env = [] {
    auto* e = new ConsumeEnv({.experts = kExperts,
                              .capacity = 3,
                              .level = v1::PROFICIENCY_PRINCIPAL,
                              .hours = 8,
                              .clients = 500,
                              .expert_prefix = "x",
                              .requirements = "Check the long-span roof",
                              .due_days = 14});
    for (int i = 0; i < kQueued; ++i) {
      if (!e->Apply().ok()) std::abort();
    }
    return e;
  }();
  for (auto _ : state) {
    if (!env->Apply().ok()) state.SkipWithError("apply failed");
  }
  state.SetItemsProcessed(state.iterations());  // items_per_second: requests applied per second
  auto view = env->reviews->GetLoadView(v1::GetLoadViewRequest());
  state.counters["experts"] = kExperts;
  state.counters["queue_length"] = view.ok() ? view->queue().length() : -1;
}
BENCHMARK(BM_ApplyReviewRequestedWithLongQueue)->Unit(benchmark::kMicrosecond)->Iterations(2000);

// BM_ApplyReviewRequestedTwentyExperts is the event-flow benchmark's review case in one
// process: 20 experts of one domain with 40 h a week each, requests of 4 h (the service's
// default for a consumed request) for 100 clients; after the first 1,000 (200 assigned, the
// rest queued) every request queues and escalates. Counters: the RocksDB entries written and
// the mean bytes of a stored request per applied event.
void BM_ApplyReviewRequestedTwentyExperts(benchmark::State& state) {
  static ConsumeEnv* env = new ConsumeEnv({.experts = 20,
                                           .capacity = 40,
                                           .level = v1::PROFICIENCY_SENIOR,
                                           .hours = 4,
                                           .clients = 100,
                                           .expert_prefix = "u:flow.expert.",
                                           .requirements = "hospital design concept",
                                           .due_days = 60});
  while (env->seq < 1000) {
    if (!env->Apply().ok()) std::abort();
  }
  const uint64_t seq_before = env->storage.store->db()->GetLatestSequenceNumber();
  for (auto _ : state) {
    if (!env->Apply().ok()) state.SkipWithError("apply failed");
  }
  state.SetItemsProcessed(state.iterations());
  const uint64_t seq_after = env->storage.store->db()->GetLatestSequenceNumber();
  state.counters["entries_per_event"] =
      static_cast<double>(seq_after - seq_before) / static_cast<double>(state.iterations());
  int64_t reviews = 0;
  int64_t bytes = 0;
  absl::Status scanned =
      env->storage.store->ScanPrefix("reviews", "", [&](std::string_view, std::string_view v) {
        ++reviews;
        bytes += static_cast<int64_t>(v.size());
        return true;
      });
  state.counters["stored_request_bytes"] =
      scanned.ok() && reviews > 0 ? static_cast<double>(bytes) / static_cast<double>(reviews) : -1;
  auto view = env->reviews->GetLoadView(v1::GetLoadViewRequest());
  state.counters["queue_length"] = view.ok() ? view->queue().length() : -1;
}
BENCHMARK(BM_ApplyReviewRequestedTwentyExperts)->Unit(benchmark::kMicrosecond)->Iterations(5000);

constexpr int kDocuments = 100'000;
constexpr int kVocabulary = 5'000;

// KbEnv is a Reviews domain whose knowledge base holds kDocuments published solutions: 50
// domains, 200 tags (3 per document), 20 words per document from a skewed vocabulary.
struct KbEnv {
  testing::TempDir dir;
  testing::ServiceStorage storage;
  std::unique_ptr<Reviews> reviews;
  std::string review_id;

  KbEnv() {
    storage =
        std::move(*testing::OpenServiceStorage(dir.Sub("db"), ColumnFamilies(), "triad/review"));
    ReviewOptions o;
    o.clock = [] { return kNow; };
    reviews = std::move(*Reviews::Create(storage.store.get(), storage.outbox.get(), o));
    std::mt19937_64 rng(11);
    // Word i is drawn with a probability falling with i (a few very common words, a long tail).
    auto word = [&] {
      double u = std::uniform_real_distribution<double>(0, 1)(rng);
      return absl::StrCat("w", static_cast<int>(kVocabulary * u * u * u));
    };
    for (int i = 0; i < kDocuments; ++i) {
      v1::CreateSolutionRequest req;
      v1::Solution* s = req.mutable_solution();
      s->set_title(absl::StrCat("Solution ", i, " ", word(), " ", word()));
      s->set_domain(absl::StrCat("d", rng() % 50));
      for (int t = 0; t < 3; ++t) s->add_tags(absl::StrCat("t", rng() % 200));
      std::string body;
      for (int w = 0; w < 18; ++w) absl::StrAppend(&body, word(), " ");
      s->set_body(body);
      req.set_publish(true);
      req.mutable_actor()->set_id("u:bench");
      if (!reviews->CreateSolution(req).ok()) std::abort();
    }
    v1::CreateExpertRequest ce;
    ce.mutable_expert()->set_expert_id("x1");
    ce.mutable_expert()->set_display_name("Expert");
    ce.mutable_expert()->set_weekly_capacity_hours(40);
    ce.mutable_expert()->add_domains()->set_domain("d7");
    ce.mutable_expert()->mutable_domains(0)->set_level(v1::PROFICIENCY_SENIOR);
    ce.mutable_actor()->set_id("u:bench");
    if (!reviews->CreateExpert(ce).ok()) std::abort();
    v1::CreateReviewRequestRequest rr;
    v1::ReviewRequest* r = rr.mutable_review();
    r->set_kind(v1::REVIEW_KIND_OPPORTUNITY_GATE);
    r->set_domain("d7");
    r->add_tags("t3");
    r->add_tags("t42");
    r->set_estimated_hours(2);
    *r->mutable_due_time() = util::ToProto(kNow + absl::Hours(24 * 14));
    rr.mutable_actor()->set_id("u:bench");
    review_id = reviews->CreateReviewRequest(rr)->review_id();
  }
};

KbEnv& SharedKb() {
  static KbEnv* env = new KbEnv();
  return *env;
}

// BM_Search runs one search; the argument picks the criteria.
void BM_SearchSolutions(benchmark::State& state) {
  KbEnv& env = SharedKb();
  v1::SearchSolutionsRequest req;
  switch (state.range(0)) {
    case 0:  // a domain and a tag (about 2,000 and 1,500 postings)
      req.set_domain("d7");
      req.set_tag("t42");
      break;
    case 1:  // two common words
      req.set_words("w0 w1");
      break;
    case 2:  // a domain, a common and a rare word
      req.set_domain("d7");
      req.set_words("w1 w4000");
      break;
    default:  // one domain, first page of 50
      req.set_domain("d7");
      break;
  }
  int64_t found = 0;
  for (auto _ : state) {
    auto resp = env.reviews->SearchSolutions(req);
    if (!resp.ok()) state.SkipWithError("search failed");
    found = resp->solutions_size();
  }
  state.counters["found"] = static_cast<double>(found);
  state.counters["documents"] = kDocuments;
}
BENCHMARK(BM_SearchSolutions)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMicrosecond);

void BM_SimilarSolutions(benchmark::State& state) {
  KbEnv& env = SharedKb();
  v1::SimilarSolutionsRequest req;
  req.set_review_id(env.review_id);
  for (auto _ : state) {
    auto resp = env.reviews->SimilarSolutions(req);
    if (!resp.ok()) state.SkipWithError("similar failed");
  }
}
BENCHMARK(BM_SimilarSolutions)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace triad::review

BENCHMARK_MAIN();
