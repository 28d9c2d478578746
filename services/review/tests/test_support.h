// Shared fixture of the review domain tests: a Reviews domain on a real RocksDB in a TempDir
// (outbox relay not started) with the test kit's fake clock and outbox reader, and builders of
// experts, requests and consumed events.
#ifndef TRIAD_SERVICES_REVIEW_TESTS_TEST_SUPPORT_H_
#define TRIAD_SERVICES_REVIEW_TESTS_TEST_SUPPORT_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "services/review/review.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"

namespace triad::review {

class ReviewsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // Open (re)opens the domain on the test's database.
  void Open() {
    r_.reset();
    outbox_.reset();
    store_.reset();
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/review");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    ReviewOptions o;
    o.clock = clock_.AsFunction();
    auto r = Reviews::Create(store_.get(), outbox_.get(), o);
    ASSERT_TRUE(r.ok()) << r.status();
    r_ = std::move(*r);
  }

  common::v1::Actor Actor(const std::string& id, const std::string& reason = "") {
    common::v1::Actor a;
    a.set_id(id);
    a.set_reason(reason);
    return a;
  }

  v1::Expert AddExpert(const std::string& id, double capacity,
                       const std::string& domain = "structural",
                       v1::Proficiency level = v1::PROFICIENCY_SENIOR) {
    v1::CreateExpertRequest req;
    req.mutable_expert()->set_expert_id(id);
    req.mutable_expert()->set_display_name("Expert " + id);
    req.mutable_expert()->set_weekly_capacity_hours(capacity);
    v1::DomainSkill* d = req.mutable_expert()->add_domains();
    d->set_domain(domain);
    d->set_level(level);
    *req.mutable_actor() = Actor("u:head");
    auto e = r_->CreateExpert(req);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : v1::Expert();
  }

  v1::CreateReviewRequestRequest NewRequest(double hours, const std::string& client = "client-1",
                                            const std::string& domain = "structural") {
    v1::CreateReviewRequestRequest req;
    v1::ReviewRequest* r = req.mutable_review();
    r->set_kind(v1::REVIEW_KIND_OPPORTUNITY_GATE);
    r->set_domain(domain);
    r->set_client_id(client);
    r->set_opportunity_id("opp-" + std::to_string(++seq_));
    r->set_gate_id("concept.expert_review");
    r->set_title("Roof structure");
    r->set_estimated_hours(hours);
    *r->mutable_due_time() = util::ToProto(clock_.Now() + absl::Hours(72));
    *req.mutable_actor() = Actor("u:sales");
    return req;
  }

  v1::ReviewRequest Create(double hours, const std::string& client = "client-1") {
    auto r = r_->CreateReviewRequest(NewRequest(hours, client));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ReviewRequest();
  }

  v1::ReviewRequest Get(const std::string& id) {
    v1::GetReviewRequestRequest req;
    req.set_review_id(id);
    auto r = r_->GetReviewRequest(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ReviewRequest();
  }

  v1::Expert GetExpert(const std::string& id) {
    v1::GetExpertRequest req;
    req.set_expert_id(id);
    auto e = r_->GetExpert(req);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : v1::Expert();
  }

  absl::StatusOr<v1::ReviewRequest> Accept(const std::string& id) {
    v1::AcceptReviewRequest req;
    req.set_review_id(id);
    *req.mutable_actor() = Actor(Get(id).expert_id());
    return r_->AcceptReview(req);
  }

  absl::StatusOr<v1::ReviewRequest> Verdict(const std::string& id, v1::Verdict verdict,
                                            double effort = 80) {
    v1::RecordVerdictRequest req;
    req.set_review_id(id);
    req.set_verdict(verdict);
    req.set_judgement("Sound load path; the cantilever needs a second look.");
    req.set_solution_summary("Steel frame with braced core");
    req.set_estimated_effort_hours(effort);
    req.add_risks("supplier lead time");
    *req.mutable_actor() = Actor(Get(id).expert_id());
    return r_->RecordVerdict(req);
  }

  template <typename Contract>
  events::Event MakeEvent(const google::protobuf::Message& m, std::string id = "") {
    events::Event e;
    e.id = id.empty() ? events::NewEventId() : id;
    e.type = std::string(Contract::kType);
    e.source = "triad/test";
    e.topic = std::string(Contract::kTopic);
    e.payload = m.SerializeAsString();
    return e;
  }

  template <typename Msg>
  std::vector<Msg> Emitted(std::string_view type) {
    return ::triad::testing::DecodeOutbox<Msg>(*store_, type);
  }

  // CheckInvariants asserts that no expert is beyond capacity and that each expert's load is
  // the sum of the open requests assigned to it. Returns the highest load ratio.
  double CheckInvariants() {
    std::map<std::string, double> hours;
    std::map<std::string, int> open;
    v1::ListReviewRequestsRequest lr;
    lr.set_page_size(1000);
    std::string token;
    do {
      lr.set_page_token(token);
      auto page = r_->ListReviewRequests(lr);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return 0;
      for (const v1::ReviewRequest& r : page->reviews()) {
        if (r.state() == v1::REVIEW_STATE_ASSIGNED || r.state() == v1::REVIEW_STATE_ACCEPTED ||
            r.state() == v1::REVIEW_STATE_IN_REVIEW) {
          hours[r.expert_id()] += r.estimated_hours();
          open[r.expert_id()]++;
        }
      }
      token = page->next_page_token();
    } while (!token.empty());
    double max_ratio = 0;
    v1::ListExpertsRequest le;
    le.set_page_size(1000);
    auto experts = r_->ListExperts(le);
    EXPECT_TRUE(experts.ok());
    for (const v1::Expert& e : experts->experts()) {
      EXPECT_LE(e.load_hours(), e.weekly_capacity_hours() + 1e-9) << e.expert_id();
      EXPECT_NEAR(e.load_hours(), hours[e.expert_id()], 1e-6) << e.expert_id();
      EXPECT_EQ(e.open_reviews(), open[e.expert_id()]) << e.expert_id();
      max_ratio = std::max(max_ratio, e.load_hours() / e.weekly_capacity_hours());
    }
    return max_ratio;
  }

  ::triad::testing::TempDir dir_;
  ::triad::testing::FakeClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Reviews> r_;
  std::atomic<int> seq_{0};
};

}  // namespace triad::review

#endif  // TRIAD_SERVICES_REVIEW_TESTS_TEST_SUPPORT_H_
