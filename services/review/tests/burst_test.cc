// Property tests of capacity: hundreds of review requests arriving as events (and concurrently
// by RPC), interleaved with verdicts, declines and capacity changes, never push an expert beyond
// capacity, and each expert's load always equals the hours of its open requests. The seed is
// random per run and printed (TRIAD_TEST_SEED reproduces a failure).
#include <random>
#include <thread>

#include "common/contracts/review.h"
#include "services/review/tests/test_support.h"

namespace triad::review {
namespace {

namespace cp = contracts::pipeline;

TEST_F(ReviewsTest, BurstOfEventsNeverExceedsCapacity) {
  std::mt19937_64 rng(::triad::testing::RandomTestSeed());
  for (int i = 0; i < 20; ++i) {
    AddExpert("e" + std::to_string(100 + i), 4 + static_cast<double>(rng() % 37));
  }
  int assigned = 0, queued = 0;
  for (int i = 0; i < 400; ++i) {
    pipeline::v1::ReviewRequested m;
    m.set_opportunity_id("opp-" + std::to_string(i));
    m.set_client_id("client-" + std::to_string(rng() % 30));
    m.set_domain("structural");
    m.set_gate_id("g");
    *m.mutable_due_time() = util::ToProto(clock_.Now() + absl::Hours(24 * (1 + rng() % 14)));
    ASSERT_TRUE(r_->HandleEvent(MakeEvent<cp::ReviewRequested>(m)).ok());
    // Now and then an open review is decided, declined, or an expert's capacity changes.
    if (rng() % 4 == 0) {
      v1::ListReviewRequestsRequest lr;
      lr.set_state(rng() % 2 ? v1::REVIEW_STATE_ASSIGNED : v1::REVIEW_STATE_ACCEPTED);
      lr.set_page_size(5);
      auto open = r_->ListReviewRequests(lr);
      ASSERT_TRUE(open.ok());
      if (open->reviews_size() > 0) {
        const v1::ReviewRequest& r = open->reviews(0);
        if (r.state() == v1::REVIEW_STATE_ASSIGNED && rng() % 3 == 0) {
          v1::DeclineReviewRequest d;
          d.set_review_id(r.review_id());
          *d.mutable_actor() = Actor(r.expert_id(), "busy");
          ASSERT_TRUE(r_->DeclineReview(d).ok());
        } else if (r.state() == v1::REVIEW_STATE_ASSIGNED) {
          ASSERT_TRUE(Accept(r.review_id()).ok());
        } else {
          ASSERT_TRUE(Verdict(r.review_id(), v1::VERDICT_APPROVED).ok());
        }
      }
    }
    if (rng() % 25 == 0) {
      std::string id = "e" + std::to_string(100 + rng() % 20);
      v1::Expert e = GetExpert(id);
      v1::UpdateExpertRequest up;
      up.mutable_expert()->set_expert_id(id);
      up.mutable_expert()->set_weekly_capacity_hours(4 + static_cast<double>(rng() % 37));
      up.mutable_update_mask()->add_paths("weekly_capacity_hours");
      up.set_etag(e.etag());
      *up.mutable_actor() = Actor("u:head", "rebalance");
      ASSERT_TRUE(r_->UpdateExpert(up).ok());
    }
    if (i % 50 == 49) CheckInvariants();
  }
  double max_ratio = CheckInvariants();
  v1::ListReviewRequestsRequest lr;
  lr.set_page_size(1000);
  auto all = r_->ListReviewRequests(lr);
  ASSERT_TRUE(all.ok());
  for (const v1::ReviewRequest& r : all->reviews()) {
    assigned += r.state() != v1::REVIEW_STATE_QUEUED;
    queued += r.state() == v1::REVIEW_STATE_QUEUED;
  }
  EXPECT_EQ(assigned + queued, 400);
  EXPECT_GT(queued, 0);  // 400 x 4 h is more than the experts' capacity: some must wait
  EXPECT_LE(max_ratio, 1.0);
  RecordProperty("max_load_ratio", std::to_string(max_ratio));
  std::printf("burst: %d assigned or decided, %d queued, max load ratio %.3f\n", assigned, queued,
              max_ratio);
}

TEST_F(ReviewsTest, ConcurrentRequestsNeverExceedCapacity) {
  for (int i = 0; i < 8; ++i) AddExpert("e" + std::to_string(i), 10);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 40; ++i) {
        v1::CreateReviewRequestRequest req = NewRequest(1 + (t + i) % 4);
        req.mutable_review()->set_opportunity_id("opp-" + std::to_string(t) + "-" +
                                                 std::to_string(i));
        EXPECT_TRUE(r_->CreateReviewRequest(req).ok());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  double max_ratio = CheckInvariants();
  EXPECT_LE(max_ratio, 1.0);
  EXPECT_GT(max_ratio, 0.5);  // 240 requests fill the 80 hours
}

}  // namespace
}  // namespace triad::review
