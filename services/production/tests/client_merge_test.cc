// Tests of client_merge.cc: projects of a merged client move to the survivor, once per event;
// other clients' projects are untouched; a malformed event is refused naming the field.
#include <memory>
#include <string>

#include "common/contracts/clients.h"
#include "common/events/envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/production/production.h"
#include "services/production/tests/domain_fixture.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/test_env.h"

namespace triad::production {
namespace {

class ClientMergeTest : public DomainFixture {
 protected:
  std::string CreateProject(const std::string& client) {
    v1::CreateProjectRequest req;
    req.mutable_project()->set_client_id(client);
    req.mutable_project()->set_product_line(kArchitecturalDesign);
    req.mutable_project()->set_title("p");
    req.mutable_project()->set_due_date("2027-12-31");
    req.mutable_project()->set_effort_hours(100);
    req.mutable_actor()->set_id("u:planner");
    auto p = p_->CreateProject(req);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->project().project_id() : "";
  }
  v1::Project Get(const std::string& id) {
    v1::GetProjectRequest req;
    req.set_project_id(id);
    auto p = p_->GetProject(req);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : v1::Project();
  }
  static events::Event Merged(const std::string& survivor, const std::string& merged) {
    clients::v1::ClientsMerged m;
    m.mutable_survivor()->set_client_id(survivor);
    m.set_merged_client_id(merged);
    m.add_redirected_client_ids(merged);
    m.mutable_actor()->set_id("u:admin");
    events::Event e;
    e.id = events::NewEventId();
    e.source = "triad/clients";
    e.type = std::string(contracts::clients::ClientsMerged::kType);
    e.payload = m.SerializeAsString();
    return e;
  }
};

TEST_F(ClientMergeTest, ProjectsOfTheMergedClientMoveToTheSurvivorOnce) {
  const std::string loser = CreateProject("client-loser");
  const std::string other = CreateProject("client-other");
  const std::string etag = Get(loser).etag();
  events::Event e = Merged("client-survivor", "client-loser");
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  v1::Project moved = Get(loser);
  EXPECT_EQ(moved.client_id(), "client-survivor");
  EXPECT_NE(moved.etag(), etag);
  EXPECT_THAT(moved.updated_by().reason(), ::testing::HasSubstr("client-survivor"));
  EXPECT_EQ(Get(other).client_id(), "client-other");
  // A redelivery of the same event changes nothing.
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  EXPECT_EQ(Get(loser).etag(), moved.etag());
}

TEST_F(ClientMergeTest, AMalformedMergeIsRefusedNamingTheField) {
  absl::Status s = p_->HandleEvent(Merged("", "client-loser"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("survivor.client_id"));
}

}  // namespace
}  // namespace triad::production
