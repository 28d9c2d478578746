// Tests of the review service's storage interface (ReviewRepository on a real RocksDB): records
// round-trip through batches, solution versions (the latest by default), index postings, and a
// record that does not decode is DATA_LOSS.
#include "services/review/repository.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::review {
namespace {

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), RepositoryColumnFamilies(), "t");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    repo_ = NewRocksReviewRepository(store_.get());
  }

  ::triad::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ReviewRepository> repo_;
};

TEST_F(RepositoryTest, RecordsRoundTripThroughTheBatch) {
  rocksdb::WriteBatch batch;
  v1::Expert e;
  e.set_expert_id("e1");
  e.set_weekly_capacity_hours(40);
  repo_->PutExpert(batch, e);
  v1::ReviewRequest r;
  r.set_review_id("r1");
  r.set_domain("structural");
  repo_->PutReview(batch, r);
  repo_->PutLead(batch, "opp-1", "e1");
  // Nothing is visible before the batch is written.
  int seen = 0;
  ASSERT_TRUE(repo_->ScanExperts([&](v1::Expert) { ++seen; }).ok());
  EXPECT_EQ(seen, 0);
  ASSERT_TRUE(store_->Write(batch).ok());
  std::vector<std::string> experts, reviews;
  std::map<std::string, std::string> leads;
  ASSERT_TRUE(repo_->ScanExperts([&](v1::Expert x) { experts.push_back(x.expert_id()); }).ok());
  ASSERT_TRUE(repo_->ScanReviews([&](v1::ReviewRequest x) { reviews.push_back(x.domain()); }).ok());
  ASSERT_TRUE(repo_->ScanLeads([&](std::string o, std::string x) { leads[o] = x; }).ok());
  EXPECT_EQ(experts, std::vector<std::string>{"e1"});
  EXPECT_EQ(reviews, std::vector<std::string>{"structural"});
  EXPECT_EQ(leads["opp-1"], "e1");
}

TEST_F(RepositoryTest, SolutionVersionsAndPostings) {
  rocksdb::WriteBatch batch;
  for (int v = 1; v <= 12; ++v) {  // 12 sorts after 2 only with a numeric key
    v1::Solution s;
    s.set_solution_id("sol-1");
    s.set_version(v);
    s.set_title("v" + std::to_string(v));
    repo_->PutSolution(batch, s);
  }
  repo_->PutIndexEntry(batch, "a1");
  repo_->PutIndexEntry(batch, "a2");
  repo_->PutIndexEntry(batch, "b1");
  ASSERT_TRUE(store_->Write(batch).ok());
  auto latest = repo_->GetSolution("sol-1", 0);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->version(), 12);
  EXPECT_EQ(repo_->GetSolution("sol-1", 2)->title(), "v2");
  EXPECT_EQ(repo_->GetSolution("sol-1", 13).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->GetSolution("sol-2", 0).status().code(), absl::StatusCode::kNotFound);
  std::vector<std::string> keys;
  ASSERT_TRUE(repo_
                  ->ScanIndexReverse("a",
                                     [&](std::string_view k, std::string_view) {
                                       keys.emplace_back(k);
                                       return true;
                                     })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a2", "a1"}));
  rocksdb::WriteBatch del;
  repo_->DeleteIndexEntry(del, "a2");
  ASSERT_TRUE(store_->Write(del).ok());
  auto it = repo_->NewIndexIterator();
  it->Seek("a");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), "a1");
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), "b1");
}

TEST_F(RepositoryTest, ARecordThatDoesNotDecodeIsDataLoss) {
  rocksdb::WriteBatch batch;
  batch.Put(store_->Cf(kExpertsCf), "e1", "\xff\xff\xff");
  ASSERT_TRUE(store_->Write(batch).ok());
  absl::Status s = repo_->ScanExperts([](v1::Expert) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

}  // namespace
}  // namespace triad::review
