// Tests of the shared test kit (tests/testing): the fuzzer's determinism and seed override, the
// fake clock, and the field-path check of error messages.
#include <cstdlib>

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fuzzer.h"
#include "tests/testing/test_env.h"
#include "triad/clients/v1/clients_service.pb.h"

namespace triad::testing {
namespace {

TEST(FuzzerTest, TheSameSeedFillsTheSameRequest) {
  auto fill = [](uint64_t seed) {
    Fuzzer f(seed);
    f.pools["client_id"] = {"cl_1", "cl_2"};
    clients::v1::UpdateClientRequest req;
    f.mask_paths = {"name", "bogus"};
    f.valid_mask_paths = 1;
    for (int i = 0; i < 20; ++i) f.Fill(&req, 80);
    return req.SerializeAsString();
  };
  EXPECT_EQ(fill(42), fill(42));
  EXPECT_NE(fill(42), fill(43));
}

TEST(FuzzerTest, TameValuesComeFromTamePoolsAndLearnHarvestsIds) {
  Fuzzer f(1);
  f.tame_percent = 100;
  f.pools["currency"] = {"bad"};
  f.tame_pools["currency"] = {"CNY"};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f.Str("currency"), "CNY");
  f.harvest["client_id"] = "client_id";
  clients::v1::ListClientsResponse resp;
  resp.add_clients()->set_client_id("cl_9");
  resp.set_next_page_token("tok");
  f.Learn(resp);
  EXPECT_EQ(f.pools["client_id"], std::vector<std::string>{"cl_9"});
  EXPECT_EQ(f.pools["page_token"], std::vector<std::string>{"tok"});
}

TEST(FuzzerTest, SeedComesFromTheEnvironmentWhenSet) {
  unsetenv("TRIAD_TEST_SEED");
  EXPECT_EQ(TestSeed(5), 5u);
  setenv("TRIAD_TEST_SEED", "77", 1);
  EXPECT_EQ(TestSeed(5), 77u);
  unsetenv("TRIAD_TEST_SEED");
}

TEST(FuzzerTest, NamesRequestFieldResolvesThePath) {
  const auto* d = clients::v1::CreateClientRequest::descriptor();
  EXPECT_TRUE(NamesRequestField("client.name: required", d));
  EXPECT_TRUE(NamesRequestField("client.tags[3]: empty tag", d));
  EXPECT_FALSE(NamesRequestField("client.nope: required", d));
  EXPECT_FALSE(NamesRequestField("no colon here", d));
}

TEST(FakeClockTest, SetsAndAdvances) {
  FakeClock clock(absl::FromUnixSeconds(100));
  auto now = clock.AsFunction();
  EXPECT_EQ(now(), absl::FromUnixSeconds(100));
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(now(), absl::FromUnixSeconds(105));
  clock.Set(absl::FromUnixSeconds(1));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1));
}

}  // namespace
}  // namespace triad::testing
