// Tests of offboarding.cc: an offboarded person's resource is deactivated and its unstarted
// phases go to the successor resource (kept plans) or are re-planned; once per event; the id
// can never be a resource again.
#include <map>
#include <memory>

#include "common/contracts/clients.h"
#include "common/contracts/production.h"
#include "common/events/envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/production/production.h"
#include "services/production/tests/domain_fixture.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

using ::testing::HasSubstr;

class OffboardingTest : public DomainFixture {
 protected:
  static common::v1::Actor Actor() {
    common::v1::Actor a;
    a.set_id("u:planner");
    a.set_reason("test");
    return a;
  }
  absl::Status AddResource(const std::string& id, const std::string& skill) {
    v1::CreateResourceRequest req;
    req.mutable_resource()->set_resource_id(id);
    req.mutable_resource()->set_display_name("Resource " + id);
    req.mutable_resource()->add_skills(skill);
    req.mutable_resource()->set_weekly_capacity_hours(40);
    *req.mutable_actor() = Actor();
    return p_->CreateResource(req).status();
  }
  void CreateProject(double hours) {
    v1::CreateProjectRequest req;
    req.mutable_project()->set_client_id("client-2");
    req.mutable_project()->set_product_line(kArchitecturalDesign);
    req.mutable_project()->set_title("p");
    req.mutable_project()->set_due_date("2027-12-31");
    req.mutable_project()->set_effort_hours(hours);
    *req.mutable_actor() = Actor();
    ASSERT_TRUE(p_->CreateProject(req).ok());
  }
  // PhasesOn counts the unfinished phases planned on each resource.
  std::map<std::string, int> PhasesOn() {
    std::map<std::string, int> out;
    auto listed = p_->ListProjects({});
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (!listed.ok()) return out;
    for (const v1::Project& p : listed->projects()) {
      for (const v1::Phase& ph : p.phases()) {
        if (ph.state() != v1::PHASE_STATE_COMPLETED) ++out[ph.resource_id()];
      }
    }
    return out;
  }
  events::Event Offboarded(const std::string& person, const std::string& successor) {
    clients::v1::PersonOffboarded m;
    m.set_offboarding_id("ob-1");
    m.set_person_id(person);
    m.set_successor_id(successor);
    m.mutable_actor()->set_id("u:boss");
    m.mutable_actor()->set_reason("leaves");
    events::Event e;
    e.id = events::NewEventId();
    e.source = "triad/clients";
    e.type = std::string(contracts::clients::PersonOffboarded::kType);
    e.payload = m.SerializeAsString();
    return e;
  }
  std::vector<v1::PersonOffboardingProgressed> Reports() {
    return ::triad::testing::DecodeOutbox<v1::PersonOffboardingProgressed>(
        *store_, contracts::production::PersonOffboardingProgressed::kType);
  }
};

TEST_F(OffboardingTest, UnstartedPhasesGoToTheSuccessorResourceOnce) {
  ASSERT_TRUE(AddResource("arch-1", "architectural-design").ok());
  ASSERT_TRUE(AddResource("draft-1", "drafting").ok());
  CreateProject(100);
  CreateProject(100);
  ASSERT_TRUE(AddResource("arch-2", "architectural-design").ok());
  ASSERT_TRUE(AddResource("arch-3", "architectural-design").ok());
  const int held = PhasesOn()["arch-1"];
  ASSERT_GT(held, 0);
  events::Event e = Offboarded("arch-1", "arch-3");
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  std::map<std::string, int> on = PhasesOn();
  EXPECT_EQ(on["arch-1"], 0);
  EXPECT_GE(on["arch-3"], held);  // the successor took them (its capacity was free)
  v1::GetResourceRequest get;
  get.set_resource_id("arch-1");
  EXPECT_EQ(p_->GetResource(get)->state(), v1::RESOURCE_STATE_INACTIVE);
  auto reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].done());
  EXPECT_EQ(reports[0].moved().at("phases"), held);
  EXPECT_EQ(reports[0].moved().at("to_successor"), held);
  EXPECT_EQ(reports[0].remaining(), 0);
  EXPECT_EQ(p_->ListInactiveHoldings({})->holdings_size(), 0);
  // Redelivered: once.
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  EXPECT_EQ(Reports().size(), 1u);
  // Never a resource again.
  absl::Status s = AddResource("arch-1", "drafting");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("resource.resource_id"));
}

TEST_F(OffboardingTest, WithoutASuccessorResourceTheSchedulerReplans) {
  ASSERT_TRUE(AddResource("arch-1", "architectural-design").ok());
  ASSERT_TRUE(AddResource("draft-1", "drafting").ok());
  CreateProject(100);
  ASSERT_TRUE(AddResource("arch-2", "architectural-design").ok());
  const int held = PhasesOn()["arch-1"];
  ASSERT_GT(held, 0);
  ASSERT_TRUE(p_->HandleEvent(Offboarded("arch-1", "u:not-a-resource")).ok());
  EXPECT_EQ(PhasesOn()["arch-1"], 0);
  EXPECT_GE(PhasesOn()["arch-2"], held);
  auto reports = Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].moved().at("phases"), held);
  EXPECT_EQ(reports[0].moved().at("to_successor"), 0);
}

}  // namespace
}  // namespace triad::production
