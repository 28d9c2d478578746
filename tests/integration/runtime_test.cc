// Integration test of ServiceRuntime on the real broker: it creates the service's topics (with
// .dlq), relays committed events, runs consumers and periodic tasks, serves health, and shuts
// down in order (periodic tasks and consumers stop before the store closes).
#include "common/server/runtime.h"

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "tests/integration/event_test_util.h"
#include "triad/testing/v1/health_service.grpc.pb.h"

namespace triad::server {
namespace {

using triad::testing::PollUntil;
using triad::testing::TempDir;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;
using triad::testing::v1::Ticked;

TEST(ServiceRuntimeTest, RunsTopicsRelayConsumersTasksAndShutsDownInOrder) {
  TempDir dir;
  const std::string aggregate = UniqueName("agg");
  const std::string topic = "triad.rtest." + aggregate;
  RuntimeOptions options;
  options.service = "rtest";
  options.column_families = {"state", "ledger"};
  options.topics = {topic};
  options.data_dir = dir.path();
  options.kafka = TestKafkaConfig();
  options.server.admin_port = -1;
  options.topic_partitions = 2;
  options.consumer_group = UniqueName("rtest-g-");
  auto created = ServiceRuntime::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  ServiceRuntime& rt = **created;
  EXPECT_EQ(rt.consumer_group(), options.consumer_group);
  for (const char* cf : {"state", "ledger", "outbox", "inbox", "requests"}) {
    EXPECT_NE(rt.store().Cf(cf), nullptr) << cf;
  }

  // The service consumes its own topic: the relay and the consumer both run.
  events::IdempotentConsumer& consumer = rt.AddConsumer({.topics = {topic}});
  consumer.OnMessage<Ticked>(
      events::testutil::kTickType, events::testutil::LedgerHandler(&rt.store()),
      events::EventOrigin{.topic = topic, .source = "triad/rtest", .what = "Ticked"});
  std::atomic<int> task_runs{0};
  std::atomic<int> task_write_failures{0};
  rt.AddPeriodicTask("write a heartbeat", absl::Milliseconds(20), [&] {
    ++task_runs;
    rocksdb::WriteBatch batch;
    batch.Put(rt.store().Cf("state"), "heartbeat", std::to_string(task_runs.load()));
    if (!rt.store().Write(batch).ok()) ++task_write_failures;
  });
  ASSERT_TRUE(rt.Start().ok());
  ASSERT_TRUE(PollUntil([&] { return rt.Connected(); }, absl::Seconds(60))) << rt.Failed();
  EXPECT_TRUE(events::PartitionCount(TestKafkaConfig(), events::DlqTopic(topic)).ok());

  for (int i = 1; i <= 50; ++i) {
    events::Transaction txn;
    Ticked t;
    t.set_key("k");
    t.set_seq(i);
    txn.Emit(topic, "k", events::testutil::kTickType, t);
    ASSERT_TRUE(rt.outbox().Commit(txn).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return consumer.Stats().applied == 50; }, absl::Seconds(60)));
  ASSERT_TRUE(PollUntil([&] { return task_runs.load() >= 3; }, absl::Seconds(10)));

  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(rt.host().grpc_address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp).ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }

  rt.Shutdown();  // joins the task threads before closing the store
  EXPECT_EQ(task_write_failures.load(), 0) << "a periodic task ran after the store closed";
  EXPECT_EQ(rt.outbox().Depth(), 0);
  EXPECT_FALSE(rt.store().Get("state", "heartbeat").ok());  // closed
}

}  // namespace
}  // namespace triad::server
