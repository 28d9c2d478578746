// Unit tests of ServiceRuntime::Create's checks of the event batching settings (no Kafka: an
// out-of-range value is refused before anything is opened).
#include <memory>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/runtime.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::server {
namespace {

RuntimeOptions Options(const testing::TempDir& dir) {
  RuntimeOptions o;
  o.service = "runtime-options-test";
  o.data_dir = dir.path() + "/data";
  return o;
}

void ExpectRefused(const RuntimeOptions& options, const std::string& flag) {
  absl::StatusOr<std::unique_ptr<ServiceRuntime>> rt = ServiceRuntime::Create(options);
  ASSERT_FALSE(rt.ok()) << flag << " out of range was accepted";
  EXPECT_EQ(rt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rt.status().message().find(flag), std::string::npos) << rt.status();
}

TEST(RuntimeOptionsTest, RefusesEventBatchingOutOfRange) {
  testing::TempDir dir;
  RuntimeOptions o = Options(dir);
  o.outbox_linger = absl::Milliseconds(-1);
  ExpectRefused(o, "--outbox_linger");
  o = Options(dir);
  o.outbox_linger = absl::Seconds(2);
  ExpectRefused(o, "--outbox_linger");
  o = Options(dir);
  o.consumer_fetch_wait = absl::ZeroDuration();
  ExpectRefused(o, "--consumer_fetch_wait");
  o = Options(dir);
  o.consumer_fetch_wait = absl::Seconds(6);
  ExpectRefused(o, "--consumer_fetch_wait");
  o = Options(dir);
  o.consumer_fetch_min_bytes = 0;
  ExpectRefused(o, "--consumer_fetch_min_bytes");
}

TEST(RuntimeOptionsTest, RefusesABackgroundNiceOutOfRange) {
  testing::TempDir dir;
  RuntimeOptions o = Options(dir);
  o.background_nice = -1;
  ExpectRefused(o, "--background_nice");
  o = Options(dir);
  o.background_nice = 20;
  ExpectRefused(o, "--background_nice");
  for (int edge : {0, 19}) {
    testing::TempDir d;
    RuntimeOptions ok = Options(d);
    ok.background_nice = edge;
    absl::StatusOr<std::unique_ptr<ServiceRuntime>> rt = ServiceRuntime::Create(ok);
    EXPECT_TRUE(rt.ok()) << edge << ": " << rt.status();
  }
}

TEST(RuntimeOptionsTest, AcceptsTheDefaultsAndTheEdgesOfTheRanges) {
  for (auto [linger, wait, min_bytes] :
       {std::tuple{absl::Milliseconds(2), absl::Milliseconds(20), 1},
        std::tuple{absl::Milliseconds(5), absl::Milliseconds(10), 64 << 10},
        std::tuple{absl::ZeroDuration(), absl::Milliseconds(1), 1},
        std::tuple{absl::Seconds(1), absl::Seconds(5), 64 << 20}}) {
    testing::TempDir dir;
    RuntimeOptions o = Options(dir);
    o.outbox_linger = linger;
    o.consumer_fetch_wait = wait;
    o.consumer_fetch_min_bytes = min_bytes;
    absl::StatusOr<std::unique_ptr<ServiceRuntime>> rt = ServiceRuntime::Create(o);
    EXPECT_TRUE(rt.ok()) << rt.status();
  }
}

}  // namespace
}  // namespace triad::server
