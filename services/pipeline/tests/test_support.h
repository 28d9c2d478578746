// Shared fixture of the pipeline domain tests: a Pipeline on a real RocksDB in a TempDir (outbox
// relay not started) with the test kit's fake clock and outbox reader, and builders of clients,
// opportunities and answer events.
#ifndef TRIAD_SERVICES_PIPELINE_TESTS_TEST_SUPPORT_H_
#define TRIAD_SERVICES_PIPELINE_TESTS_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "services/pipeline/pipeline.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::pipeline {

// Day is a fixed time d days after the tests' day 0 (01:00 UTC).
inline absl::Time Day(int d) { return absl::FromUnixSeconds(int64_t{20000 + d} * 86400 + 3600); }

// PipelineEnvTest is the base of the domain fixtures: a Pipeline on a real RocksDB in a TempDir
// (outbox relay not started) on the fake clock, reopened by Open(), and client summaries.
class PipelineEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // Open (re)opens the store and the domain on it.
  void Open() {
    p_.reset();
    outbox_.reset();
    store_.reset();
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/pipeline");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    PipelineOptions po;
    po.clock = clock_.AsFunction();
    po.offboarding_chunk_size = offboarding_chunk_size_;
    auto p = Pipeline::Create(store_.get(), outbox_.get(), po);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
  }

  // Client is a verified client summary as the clients service would send it.
  clients::v1::ClientSummary Client(const std::string& id, const std::string& owner = "u:wang",
                                    int64_t version = 1) {
    clients::v1::ClientSummary c;
    c.set_client_id(id);
    c.set_name("Client " + id);
    c.set_owner_id(owner);
    c.set_team_id("team-east");
    c.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
    c.set_region("east");
    c.set_tier(clients::v1::CLIENT_TIER_KEY);
    c.set_version(version);
    return c;
  }

  testing::TempDir dir_;
  // Opportunities and leads moved per offboarding event (PipelineOptions).
  int offboarding_chunk_size_ = 500;
  ::triad::testing::FakeClock clock_{Day(0)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Pipeline> p_;
};

// PipelineTest is the fixture of the domain tests.
class PipelineTest : public PipelineEnvTest {
 protected:
  events::Event NewEvent() {
    events::Event e;
    e.id = events::NewEventId();
    return e;
  }

  void RegisterClient(const std::string& id, const std::string& owner = "u:wang") {
    ASSERT_TRUE(p_->OnClient(NewEvent(), Client(id, owner)).ok());
  }

  // Events of `type` in the outbox (the relay is not started in unit tests).
  std::vector<common::v1::OutboxRecord> Emitted(const std::string& type) {
    return ::triad::testing::ReadOutboxOfType(*store_, type);
  }

  int OutboxSize() { return static_cast<int>(::triad::testing::ReadOutbox(*store_).size()); }

  v1::Opportunity CreateOpp(const std::string& client, const std::string& line,
                            int64_t value = 1'000'000'00, const std::string& owner = "u:wang") {
    v1::CreateOpportunityRequest req;
    req.set_request_id(events::NewEventId());
    req.set_client_id(client);
    req.set_owner_id(owner);
    req.set_title("Hospital extension");
    req.mutable_value()->set_amount_minor(value);
    req.mutable_value()->set_currency("CNY");
    *req.mutable_expected_close_time() = util::ToProto(clock_.Now() + absl::Hours(24 * 90));
    req.set_product_line(line);
    auto opp = p_->CreateOpportunity(req);
    EXPECT_TRUE(opp.ok()) << opp.status();
    return opp.ok() ? *opp : v1::Opportunity();
  }

  absl::StatusOr<v1::Opportunity> Advance(const std::string& id, const std::string& stage,
                                          const std::string& reason = "") {
    v1::AdvanceStageRequest req;
    req.set_opportunity_id(id);
    req.set_target_stage(stage);
    req.set_reason(reason);
    req.mutable_actor()->set_id("u:wang");
    return p_->AdvanceStage(req);
  }

  void Tick(const std::string& id, const std::string& checkpoint) {
    v1::CompleteChecklistItemRequest req;
    req.set_opportunity_id(id);
    req.set_checkpoint_id(checkpoint);
    auto r = p_->CompleteChecklistItem(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  void SetField(const std::string& id, const std::string& key, const std::string& value) {
    auto cur = p_->GetOpportunity(Get(id));
    ASSERT_TRUE(cur.ok());
    v1::UpdateOpportunityRequest req;
    req.mutable_opportunity()->set_id(id);
    (*req.mutable_opportunity()->mutable_fields())[key] = value;
    req.mutable_update_mask()->add_paths("fields");
    req.set_etag(cur->etag());
    auto r = p_->UpdateOpportunity(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  static v1::GetOpportunityRequest Get(const std::string& id) {
    v1::GetOpportunityRequest r;
    r.set_opportunity_id(id);
    return r;
  }

  // Drives an architectural-design deal into the concept stage.
  v1::Opportunity ToConcept(const std::string& client) {
    v1::Opportunity opp = CreateOpp(client, kArchitecturalDesign);
    Tick(opp.id(), "qualification.decision_maker");
    EXPECT_TRUE(Advance(opp.id(), "needs_analysis").ok());
    SetField(opp.id(), "site_area_m2", "12000");
    Tick(opp.id(), "needs.site_visit");
    Tick(opp.id(), "needs.brief_confirmed");
    auto r = Advance(opp.id(), "concept");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : opp;
  }

  absl::Status Verdict(const events::Event& e, const std::string& opp, review::v1::Verdict v,
                       double hours, const std::string& gate = "concept.expert_review") {
    review::v1::ReviewVerdictRecorded m;
    m.set_review_id("rev-1");
    m.set_opportunity_id(opp);
    m.set_gate_id(gate);
    m.set_domain("architecture");
    m.set_expert_id("x:zhao");
    m.set_verdict(v);
    m.set_estimated_effort_hours(hours);
    return p_->OnReviewVerdict(e, m);
  }

  absl::Status Feasibility(const std::string& opp, bool feasible) {
    production::v1::FeasibilityAnswered a;
    a.set_opportunity_id(opp);
    a.set_gate_id("concept.feasibility");
    a.set_feasible(feasible);
    *a.mutable_earliest_completion_time() = util::ToProto(clock_.Now() + absl::Hours(24 * 200));
    a.set_bottleneck_resource("team:structural");
    return p_->OnFeasibilityAnswered(NewEvent(), a);
  }
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_TESTS_TEST_SUPPORT_H_
