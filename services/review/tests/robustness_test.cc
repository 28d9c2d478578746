// Robustness: randomized requests (the test kit's Fuzzer; the seed is printed and
// TRIAD_TEST_SEED reruns one) for every RPC and random consumed events of every handled type
// never crash the service, never answer INTERNAL, UNKNOWN or DATA_LOSS, keep every expert
// within capacity with a load equal to its open work, and leave a store that reopens.
#include <memory>

#include "common/contracts/clients.h"
#include "services/review/grpc_service.h"
#include "services/review/tests/test_support.h"
#include "tests/testing/fuzzer.h"

namespace triad::review {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;
using ::triad::testing::Fuzzer;

Fuzzer NewFuzzer(uint64_t seed) {
  Fuzzer f(seed);
  f.harvest = {{"expert_id", "expert_id"},
               {"domain", "domain"},
               {"review_id", "review_id"},
               {"solution_id", "solution_id"},
               {"etag", "etag"}};
  f.aliases = {{"id", "actor_id"}, {"client_id", "client_id"}};
  f.pools["domain"] = {"structural", "hvac"};
  f.pools["client_id"] = {"client-1", "client-2"};
  f.pools["actor_id"] = {"u:head", "a", "b"};
  f.pools["expert_id"] = {"a", "b"};
  f.mask_paths = {"display_name",  "domains",   "weekly_capacity_hours",
                  "leave_windows", "conflicts", "title",
                  "tags",          "body",      "bogus"};
  f.valid_mask_paths = 8;
  return f;
}

// Tame nudges a plausible request past the checks that random values rarely pass (ranges,
// enums, the assigned expert as actor), so the fuzzing reaches the write paths too.
void Tame(Fuzzer& f, Reviews& reviews, absl::Time now, const std::string& rpc, Message* m) {
  auto assigned_to = [&](const std::string& review_id) {
    v1::GetReviewRequestRequest g;
    g.set_review_id(review_id);
    auto r = reviews.GetReviewRequest(g);
    return r.ok() ? r->expert_id() : std::string("a");
  };
  if (const auto* field = m->GetDescriptor()->FindFieldByName("actor")) {
    auto* actor = static_cast<common::v1::Actor*>(m->GetReflection()->MutableMessage(m, field));
    if (actor->id().empty()) actor->set_id("u:head");
  }
  if (rpc == "CreateExpert") {
    auto* req = static_cast<v1::CreateExpertRequest*>(m);
    req->mutable_expert()->set_weekly_capacity_hours(1 + f.Pick(60));
    for (v1::DomainSkill& d : *req->mutable_expert()->mutable_domains()) {
      d.set_level(static_cast<v1::Proficiency>(1 + f.Pick(4)));
    }
    req->mutable_expert()->clear_leave_windows();
    req->mutable_expert()->set_display_name("Expert");
    req->mutable_actor()->set_id("u:head");
  } else if (rpc == "CreateReviewRequest") {
    auto* req = static_cast<v1::CreateReviewRequestRequest*>(m);
    v1::ReviewRequest* r = req->mutable_review();
    r->set_kind(f.Coin(80) ? v1::REVIEW_KIND_OPPORTUNITY_GATE : v1::REVIEW_KIND_MILESTONE_SIGN_OFF);
    r->set_domain(f.Coin(50) ? "structural" : "hvac");
    r->set_estimated_hours(1 + f.Pick(8));
    r->set_min_proficiency(static_cast<v1::Proficiency>(f.Pick(5)));
    r->clear_deal_value();
    *r->mutable_due_time() = util::ToProto(now + absl::Hours(24 + f.Pick(24 * 20)));
    req->mutable_actor()->set_id("u:sales");
  } else if (rpc == "AcceptReview" || rpc == "DeclineReview" || rpc == "StartReview" ||
             rpc == "RecordVerdict") {
    const Descriptor* d = m->GetDescriptor();
    const auto* refl = m->GetReflection();
    std::string id = refl->GetString(*m, d->FindFieldByName("review_id"));
    refl->SetString(m, d->FindFieldByName("etag"), "");
    auto* actor =
        static_cast<common::v1::Actor*>(refl->MutableMessage(m, d->FindFieldByName("actor")));
    actor->set_id(assigned_to(id));
    actor->set_reason("fuzz");
    if (rpc == "RecordVerdict") {
      auto* req = static_cast<v1::RecordVerdictRequest*>(m);
      req->set_verdict(static_cast<v1::Verdict>(1 + f.Pick(3)));
      req->set_judgement("judged");
      req->set_estimated_effort_hours(f.Pick(200));
    }
  }
}

TEST_F(ReviewsTest, RandomRequestsAndEventsNeverBreakTheService) {
  AddExpert("a", 40);
  AddExpert("b", 20, "hvac");
  for (int i = 0; i < 4; ++i) Create(4);

  struct Rpc {
    std::string name;
    const Descriptor* request;
    std::function<absl::Status(Fuzzer&, Message*)> call;
  };
  std::vector<Rpc> rpcs;
#define TRIAD_REVIEW_FUZZ(Method, Request, Response)                               \
  rpcs.push_back({#Method, v1::Request::descriptor(), [&](Fuzzer& f, Message* m) { \
                    auto r = r_->Method(*static_cast<v1::Request*>(m));            \
                    if (r.ok()) f.Learn(*r);                                       \
                    return r.status();                                             \
                  }});
  TRIAD_REVIEW_RPCS(TRIAD_REVIEW_FUZZ)
#undef TRIAD_REVIEW_FUZZ
  const auto* service =
      v1::GetExpertRequest::descriptor()->file()->FindServiceByName("ReviewService");
  ASSERT_NE(service, nullptr);
  ASSERT_EQ(static_cast<int>(rpcs.size()), service->method_count());

  const std::vector<std::pair<std::string, const Descriptor*>> events = {
      {std::string(contracts::pipeline::ReviewRequested::kType),
       pipeline::v1::ReviewRequested::descriptor()},
      {std::string(contracts::pipeline::OpportunityWon::kType),
       pipeline::v1::OpportunityWon::descriptor()},
      {std::string(contracts::production::SignOffRequested::kType),
       production::v1::SignOffRequested::descriptor()},
      {std::string(contracts::clients::ClientsMerged::kType),
       clients::v1::ClientsMerged::descriptor()},
  };
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  std::map<std::string, int> ok_calls;
  const uint64_t first_seed = ::triad::testing::TestSeed(1);
  for (uint64_t seed = first_seed; seed < first_seed + 2; ++seed) {
    Fuzzer f = NewFuzzer(seed);
    for (int i = 0; i < 400; ++i) {
      f.tame_percent = f.Coin(60) ? 100 : 0;
      if (f.Coin(15)) {
        const auto& [type, desc] = events[static_cast<size_t>(f.Pick(events.size()))];
        std::unique_ptr<Message> m(factory->GetPrototype(desc)->New());
        f.Fill(m.get(), f.tame_percent == 100 ? 80 : 50);
        events::Event e;
        e.id = events::NewEventId();
        e.type = type;
        e.source = "triad/fuzz";
        e.payload = f.Coin(10) ? f.Bytes(40) : m->SerializeAsString();
        absl::Status st = r_->HandleEvent(e);
        EXPECT_TRUE(st.ok() || events::IsPermanentError(st)) << type << ": " << st;
        continue;
      }
      const Rpc& rpc = rpcs[static_cast<size_t>(f.Pick(rpcs.size()))];
      std::unique_ptr<Message> req(factory->GetPrototype(rpc.request)->New());
      f.Fill(req.get(), f.tame_percent == 100 ? 70 : 40);
      if (f.tame_percent == 100 && f.Coin(80)) Tame(f, *r_, clock_.Now(), rpc.name, req.get());
      if (f.Coin(10)) clock_.Advance(absl::Hours(f.Pick(24 * 10)));
      absl::Status st = rpc.call(f, req.get());
      if (st.ok()) ++ok_calls[rpc.name];
      if (getenv("TRIAD_FUZZ_VERBOSE") != nullptr && !st.ok()) {
        std::fprintf(stderr, "%s -> %s\n", rpc.name.c_str(), st.ToString().substr(0, 150).c_str());
      }
      EXPECT_NE(st.code(), absl::StatusCode::kInternal) << rpc.name << ": " << st;
      EXPECT_NE(st.code(), absl::StatusCode::kUnknown) << rpc.name << ": " << st;
      EXPECT_NE(st.code(), absl::StatusCode::kDataLoss) << rpc.name << ": " << st;
    }
    CheckInvariants();
  }
  for (const auto& [name, n] : ok_calls) std::printf("fuzz: %s ok %d\n", name.c_str(), n);
  // The random requests reached past validation for the reads at least.
  EXPECT_GT(ok_calls["GetLoadView"] + ok_calls["ListExperts"] + ok_calls["ListReviewRequests"], 0);
  // Everything written reads back.
  Open();
  CheckInvariants();
}

}  // namespace
}  // namespace triad::review
