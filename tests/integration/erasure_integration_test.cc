// Integration test of the right to erasure on the real Kafka broker and real RocksDB stores:
// clients and pipeline run in this process, each on its own runtime, store and consumer group,
// as their binaries would. A client who is a natural person is registered (pipeline's replica
// takes the name from the event), then ClientsDomain::ErasePersonalData runs: the
// ClientPersonalDataErased event reaches pipeline, whose replica no longer holds the name, and
// the clients' history chain still verifies.
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_join.h"
#include "common/server/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/domain.h"
#include "services/clients/history_chain.h"
#include "services/clients/repository.h"
#include "services/pipeline/pipeline.h"
#include "tests/testing/test_env.h"

namespace triad {
namespace {

namespace cv1 = ::triad::clients::v1;

std::unique_ptr<server::ServiceRuntime> Runtime(const std::string& service,
                                                std::vector<std::string> cfs,
                                                std::vector<std::string> topics,
                                                const std::string& dir, const std::string& group) {
  server::RuntimeOptions o;
  o.service = service;
  o.column_families = std::move(cfs);
  o.topics = std::move(topics);
  o.data_dir = dir;
  o.kafka = testing::TestKafkaConfig();
  o.server.service_name = service;
  o.server.admin_port = -1;
  o.consumer_group = group;
  auto rt = server::ServiceRuntime::Create(o);
  EXPECT_TRUE(rt.ok()) << rt.status();
  return rt.ok() ? std::move(*rt) : nullptr;
}

common::v1::Actor Actor(const std::string& id, const std::string& reason = "") {
  common::v1::Actor a;
  a.set_id(id);
  a.set_reason(reason);
  return a;
}

// ReplicaName reads the name pipeline's replica holds for a client ("" when it has none).
std::string ReplicaName(const storage::Store& store, const std::string& client_id) {
  absl::StatusOr<std::string> raw = store.Get("clients", client_id);
  if (!raw.ok()) return "";
  cv1::ClientSummary c;
  return c.ParseFromString(*raw) ? c.name() : "";
}

TEST(ErasureIntegrationTest, AnErasedPersonsNameLeavesPipelinesReplica) {
  testing::TempDir dir;
  const std::string clients_group = testing::UniqueName("clients-er-");
  const std::string pipeline_group = testing::UniqueName("pipeline-er-");
  auto clients_rt = Runtime(
      "clients", clients::ColumnFamilies(),
      {clients::kClientTopic, clients::kCaseTopic, clients::kFollowUpTopic, clients::kPersonTopic},
      dir.Sub("clients"), clients_group);
  ASSERT_NE(clients_rt, nullptr);
  auto pipeline_rt = Runtime("pipeline", pipeline::ColumnFamilies(), pipeline::Pipeline::Topics(),
                             dir.Sub("pipeline"), pipeline_group);
  ASSERT_NE(pipeline_rt, nullptr);
  clients::RocksClientsRepository repo(&clients_rt->store());
  clients::ClientsDomain cd(&clients_rt->store(), &clients_rt->outbox(), &repo, {});
  pipeline::PipelineOptions po;
  po.consumer_group = pipeline_group;
  auto pl = pipeline::Pipeline::Create(&pipeline_rt->store(), &pipeline_rt->outbox(), po);
  ASSERT_TRUE(pl.ok()) << pl.status();
  pipeline::Pipeline& p = **pl;
  {
    events::ConsumerOptions c;
    c.group_id = pipeline_group;
    c.topics = pipeline::Pipeline::ConsumedTopics();
    c.apply_mutex = &p.mutex();
    p.RegisterHandlers(pipeline_rt->AddConsumer(c));
  }
  // Runtimes stop (the consumer calls into the domain) before the domains go.
  absl::Cleanup stop = [&] {
    pipeline_rt->Shutdown();
    clients_rt->Shutdown();
  };
  ASSERT_TRUE(clients_rt->Start().ok());
  ASSERT_TRUE(pipeline_rt->Start().ok());
  ASSERT_TRUE(testing::PollUntil(
      [&] { return clients_rt->Connected() && pipeline_rt->Connected(); }, absl::Seconds(120)));

  const std::string name = testing::UniqueName("Zhang Wei sole trader ");
  cv1::CreateClientRequest req;
  req.mutable_client()->set_name(name);
  req.mutable_client()->set_owner_id("u:li");
  req.mutable_client()->set_phone("13811112222");
  req.set_force(true);
  *req.mutable_actor() = Actor("u:steward");
  auto client = cd.CreateClient(req);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string id = client->client_id();
  ASSERT_TRUE(testing::PollUntil([&] { return ReplicaName(pipeline_rt->store(), id) == name; },
                                 absl::Seconds(120)))
      << "pipeline never replicated the client";

  cv1::ErasePersonalDataRequest erase;
  erase.set_client_id(id);
  erase.set_client_is_person(true);
  erase.set_request_id(testing::UniqueName("erase-"));
  *erase.mutable_actor() = Actor("u:dpo", "erasure request");
  auto erased = cd.ErasePersonalData(erase);
  ASSERT_TRUE(erased.ok()) << erased.status();

  EXPECT_TRUE(testing::PollUntil(
      [&] { return ReplicaName(pipeline_rt->store(), id) == "[erased]"; }, absl::Seconds(120)))
      << "pipeline's replica still holds: " << ReplicaName(pipeline_rt->store(), id);
  // The clients' own record and history chain.
  auto got = cd.GetClient(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name(), "[erased]");
  EXPECT_EQ(got->phone(), "");
  std::vector<std::string> lines;
  auto broken = clients::VerifyClientHistory(clients_rt->store(),
                                             [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(broken.ok());
  EXPECT_EQ(*broken, 0) << absl::StrJoin(lines, "\n");
}

}  // namespace
}  // namespace triad
