// Tests of common/api/replay: stored responses, request fingerprints, legacy records.
#include <memory>

#include "common/api/replay.h"
#include "common/util/idempotency.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"
#include "triad/clients/v1/resources.pb.h"

namespace triad::api {
namespace {

using clients::v1::Client;
using ::testing::HasSubstr;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.path = dir_.path();
    o.column_families = {util::kRequestsColumnFamily};
    store_ = std::move(*storage::Store::Open(o));
  }
  static Client Named(const std::string& name) {
    Client c;
    c.set_name(name);
    return c;
  }
  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(ReplayTest, RecordedResponseIsReplayedForTheSameRequest) {
  Client request = Named("req");
  Replay<Client> first(*store_, "Create", "r1", request);
  ASSERT_FALSE(first.Prior()->has_value());
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(first.Record(batch, Named("resp")).ok());
  ASSERT_TRUE(store_->Write(batch).ok());

  Replay<Client> retry(*store_, "Create", "r1", request);
  absl::StatusOr<std::optional<Client>> prior = retry.Prior();
  ASSERT_TRUE(prior.ok()) << prior.status();
  ASSERT_TRUE(prior->has_value());
  EXPECT_EQ((*prior)->name(), "resp");
  // Another method with the same id is a different request.
  EXPECT_FALSE(Replay<Client>(*store_, "Update", "r1", request).Prior()->has_value());
}

TEST_F(ReplayTest, SameRequestIdWithADifferentBodyIsRefused) {
  Replay<Client> first(*store_, "Create", "r1", Named("a"));
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(first.Record(batch, Named("resp")).ok());
  ASSERT_TRUE(store_->Write(batch).ok());
  absl::Status s = Replay<Client>(*store_, "Create", "r1", Named("b")).Prior().status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("request_id"));
}

TEST_F(ReplayTest, EmptyRequestIdNeverReplaysNorRecords) {
  Replay<Client> r(*store_, "Create", "", Named("a"));
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(r.Record(batch, Named("resp")).ok());
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_FALSE(r.Prior()->has_value());
}

TEST_F(ReplayTest, OversizedRequestIdIsInvalid) {
  absl::Status s =
      Replay<Client>(*store_, "Create", std::string(201, 'r'), Named("a")).Prior().status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("request_id"));
}

TEST_F(ReplayTest, LegacyBareResponsesStillReplay) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(
      util::RecordRequest(*store_, batch, "Create", "old", Named("legacy").SerializeAsString())
          .ok());
  ASSERT_TRUE(store_->Write(batch).ok());
  auto prior = Replay<Client>(*store_, "Create", "old", Named("anything")).Prior();
  ASSERT_TRUE(prior.ok() && prior->has_value());
  EXPECT_EQ((*prior)->name(), "legacy");
}

}  // namespace
}  // namespace triad::api
