// Robustness of the production domain: randomized requests for every RPC (the test kit's
// Fuzzer; the seed is printed, TRIAD_TEST_SEED reruns one) and random or garbage consumed
// events never crash, fail only with client-error codes, and leave no work planned on an
// inactive resource.
#include <functional>
#include <memory>
#include <set>

#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/review.h"
#include "gtest/gtest.h"
#include "services/production/grpc_service.h"
#include "services/production/production.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fuzzer.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

using ::triad::testing::Fuzzer;

Fuzzer NewFuzzer(uint64_t seed) {
  Fuzzer f(seed);
  f.tame_percent = 75;
  f.tame_pools["product_line"] = {kArchitecturalDesign, kSpecialisedEquipment};
  f.tame_pools["skill"] = {"architectural-design", "drafting", "equipment-design",
                           "manufacturing",        "testing",  "installation"};
  f.aliases["skills"] = "skill";
  f.aliases["required_skill"] = "skill";
  f.tame_pools["date"] = {"2026-03-02", "2026-03-20", "2026-04-30", "2026-09-01", "2027-01-15"};
  for (const char* d :
       {"due_date", "start_date", "end_date", "non_working_dates", "desired_start_date",
        "desired_end_date", "from_date", "planned_start_date", "planned_end_date"}) {
    f.aliases[d] = "date";
  }
  f.tame_pools["currency"] = {"CNY", "USD"};
  f.harvest = {{"resource_id", "resource_id"},
               {"project_id", "project_id"},
               {"phase_id", "phase_id"},
               {"etag", "etag"}};
  f.mask_paths = {"display_name", "skills", "weekly_capacity_hours", "calendar", "cost_rate",
                  "state",        "bogus"};
  f.valid_mask_paths = 5;
  return f;
}

TEST(ProductionRobustnessTest, RandomRequestsAndEventsNeverCrashOrPlanOnInactiveResources) {
  const uint64_t seed = ::triad::testing::RandomTestSeed();
  ::triad::testing::TempDir dir;
  ::triad::testing::FakeClock clock;
  auto storage =
      ::triad::testing::OpenServiceStorage(dir.Sub("db"), ColumnFamilies(), "triad/production");
  ASSERT_TRUE(storage.ok()) << storage.status();
  ProductionOptions o;
  o.clock = clock.AsFunction();
  o.horizon_days = 400;
  auto created = Production::Create(storage->store.get(), storage->outbox.get(), o);
  ASSERT_TRUE(created.ok()) << created.status();
  Production& p = **created;
  Fuzzer f = NewFuzzer(seed);

  struct Rpc {
    const char* name;
    std::function<absl::Status(Fuzzer&)> call;
  };
  std::vector<Rpc> rpcs;
#define TRIAD_FUZZ_RPC(Method, Request, Response)                   \
  rpcs.push_back({#Method, [&](Fuzzer& fz) {                        \
                    v1::Request req;                                \
                    fz.Fill(&req);                                  \
                    absl::StatusOr<v1::Response> r = p.Method(req); \
                    if (r.ok()) fz.Learn(*r);                       \
                    return r.status();                              \
                  }});
  TRIAD_PRODUCTION_RPCS(TRIAD_FUZZ_RPC)
#undef TRIAD_FUZZ_RPC
  const std::set<absl::StatusCode> allowed = {
      absl::StatusCode::kOk,       absl::StatusCode::kInvalidArgument,
      absl::StatusCode::kNotFound, absl::StatusCode::kAlreadyExists,
      absl::StatusCode::kAborted,  absl::StatusCode::kFailedPrecondition};
  const std::vector<std::string> types = {
      std::string(contracts::pipeline::OpportunityWon::kType),
      std::string(contracts::pipeline::FeasibilityRequested::kType),
      std::string(contracts::review::SignOffCompleted::kType),
      std::string(contracts::clients::PersonOffboarded::kType)};
  for (int i = 0; i < 600; ++i) {
    if (f.Coin(15)) {
      events::Event e;
      e.id = f.Coin(90) ? events::NewEventId() : "";
      e.source = "triad/fuzz";
      e.type = f.OneOf(types);
      if (f.Coin(20)) {
        e.payload = f.Bytes(64);
      } else if (e.type == types[0]) {
        pipeline::v1::OpportunityWon m;
        f.Fill(&m, 80);
        e.payload = m.SerializeAsString();
      } else if (e.type == types[1]) {
        pipeline::v1::FeasibilityRequested m;
        f.Fill(&m, 80);
        e.payload = m.SerializeAsString();
      } else {
        review::v1::SignOffCompleted m;
        f.Fill(&m, 80);
        e.payload = m.SerializeAsString();
      }
      absl::Status s = p.HandleEvent(e);
      EXPECT_TRUE(s.ok() || events::IsPermanentError(s)) << e.type << ": " << s;
    } else {
      const Rpc& rpc = rpcs[static_cast<size_t>(f.Pick(static_cast<int>(rpcs.size())))];
      absl::Status s = rpc.call(f);
      EXPECT_TRUE(allowed.count(s.code())) << rpc.name << ": " << s;
    }
    if (f.Coin(3)) clock.Advance(absl::Hours(24 * f.Int(1, 5)));
    if (HasFailure()) FAIL() << "step " << i << " of seed " << seed;
  }
  // Nothing stays planned on an inactive resource.
  std::set<std::string> inactive;
  v1::ListResourcesRequest lr;
  lr.set_page_size(1000);
  absl::StatusOr<v1::ListResourcesResponse> resources = p.ListResources(lr);
  ASSERT_TRUE(resources.ok()) << resources.status();
  for (const v1::Resource& r : resources->resources()) {
    if (r.state() == v1::RESOURCE_STATE_INACTIVE) inactive.insert(r.resource_id());
  }
  v1::ListProjectsRequest lp;
  lp.set_page_size(1000);
  absl::StatusOr<v1::ListProjectsResponse> projects = p.ListProjects(lp);
  ASSERT_TRUE(projects.ok()) << projects.status();
  for (const v1::Project& pr : projects->projects()) {
    if (pr.state() != v1::PROJECT_STATE_ACTIVE) continue;
    for (const v1::Phase& ph : pr.phases()) {
      if (ph.state() == v1::PHASE_STATE_COMPLETED) continue;
      EXPECT_EQ(inactive.count(ph.resource_id()), 0u)
          << pr.project_id() << "/" << ph.phase_id() << " on inactive " << ph.resource_id()
          << " (seed " << seed << ")";
    }
  }
}

}  // namespace
}  // namespace triad::production
