// Tests of contacts and touchpoints.
#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/tests/test_support.h"
#include "services/clients/text_util.h"

namespace triad::clients {
namespace {

using testing::DomainEnv;
using testing::DomainTest;
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

TEST_F(DomainTest, TouchpointsNeedParticipantsAndKnownContacts) {
  v1::Client c = Create("Acme", "u:li");
  v1::CreateTouchpointRequest tr;
  tr.mutable_touchpoint()->set_client_id(c.client_id());
  tr.mutable_touchpoint()->set_kind(v1::TOUCHPOINT_KIND_MEETING);
  *tr.mutable_actor() = MakeActor("u:li");
  EXPECT_THAT(d().CreateTouchpoint(tr).status().message(), HasSubstr("participant_ids"));
  tr.mutable_touchpoint()->add_participant_ids("u:li");
  tr.mutable_touchpoint()->add_contact_ids("ct_unknown");
  EXPECT_THAT(d().CreateTouchpoint(tr).status().message(), HasSubstr("contact_ids"));
  tr.mutable_touchpoint()->clear_contact_ids();
  tr.set_request_id("tp-1");
  auto t1 = d().CreateTouchpoint(tr);
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(d().CreateTouchpoint(tr)->touchpoint_id(), t1->touchpoint_id());
}

}  // namespace
}  // namespace triad::clients
