// Integration tests of the clients service on the real Kafka broker: events it emits arrive
// with CloudEvents headers; consumed pipeline/production events are applied; a redelivered
// event (same ce_id) is applied once.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/contracts/registry.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/server/runtime.h"
#include "common/util/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "services/clients/domain.h"
#include "services/clients/grpc_service.h"
#include "services/clients/repository.h"
#include "services/clients/tests/test_support.h"
#include "tests/testing/test_env.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"

namespace triad::clients {
namespace {

using testing::MakeActor;
using testing::NewClientRequest;
using triad::testing::PollUntil;

// TopicWatcher reads a topic from its current end (offsets fixed before the test acts).
class TopicWatcher {
 public:
  explicit TopicWatcher(const std::string& topic) : topic_(topic) {
    auto conf = events::MakeConf(triad::testing::TestKafkaConfig(),
                                 {{"group.id", triad::testing::UniqueName("clients-it-watch-")},
                                  {"enable.auto.commit", "false"}});
    EXPECT_TRUE(conf.ok());
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    EXPECT_NE(consumer_, nullptr) << err;
    auto partitions = events::PartitionCount(triad::testing::TestKafkaConfig(), topic);
    EXPECT_TRUE(partitions.ok()) << partitions.status();
    std::vector<RdKafka::TopicPartition*> assignment;
    for (int p = 0; p < *partitions; ++p) {
      int64_t low = 0, high = 0;
      // A topic created moments ago (by a service starting in parallel) may still be electing
      // its leaders: ask again until the broker answers.
      RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
      EXPECT_TRUE(PollUntil(
          [&] {
            err = consumer_->query_watermark_offsets(topic, p, &low, &high, 5000);
            return err == RdKafka::ERR_NO_ERROR;
          },
          absl::Seconds(30), absl::Milliseconds(100)))
          << RdKafka::err2str(err);
      assignment.push_back(RdKafka::TopicPartition::create(topic, p, high));
    }
    EXPECT_EQ(consumer_->assign(assignment), RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(assignment);
  }
  ~TopicWatcher() { consumer_->close(); }

  // WaitFor polls until an event with `key` and `type` arrives (or the deadline passes).
  std::optional<events::Event> WaitFor(const std::string& key, const std::string& type,
                                       absl::Duration timeout = absl::Seconds(30)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(200));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (m->key() == nullptr || *m->key() != key) continue;
      absl::StatusOr<events::Event> e = events::FromMessage(*m);
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok() && e->type == type) return *e;
    }
    return std::nullopt;
  }

 private:
  std::string topic_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

// Produce sends one CloudEvent with a plain producer (as another service's relay would).
void Produce(const events::Event& ev) {
  auto conf = events::MakeConf(triad::testing::TestKafkaConfig(), {{"acks", "all"}});
  ASSERT_TRUE(conf.ok());
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), err));
  ASSERT_NE(producer, nullptr) << err;
  RdKafka::Headers* headers = events::ToHeaders(ev);
  RdKafka::ErrorCode rc =
      producer->produce(ev.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                        const_cast<char*>(ev.payload.data()), ev.payload.size(), ev.key.data(),
                        ev.key.size(), 0, headers, nullptr);
  if (rc != RdKafka::ERR_NO_ERROR) delete headers;
  ASSERT_EQ(rc, RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(producer->flush(15000), RdKafka::ERR_NO_ERROR);
}

events::Event MakeEvent(const std::string& topic, std::string_view type, const std::string& key,
                        const google::protobuf::Message& msg) {
  events::Event ev;
  ev.id = events::NewEventId();
  ev.type = type;
  // The producer's ce_source: the consumer applies an event only from its contract's producer.
  const contracts::EventContract* contract = contracts::FindEvent(type);
  ev.source = contract != nullptr ? contracts::SourceOf(contract->producer) : "triad/unknown";
  ev.time = absl::Now();
  ev.topic = topic;
  ev.key = key;
  ev.payload = msg.SerializeAsString();
  return ev;
}

class ClientsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::RuntimeOptions o;
    o.service = "clients";
    o.column_families = ColumnFamilies();
    o.topics = {kClientTopic, kCaseTopic, kFollowUpTopic};
    o.data_dir = dir_.Sub("db");
    o.kafka = triad::testing::TestKafkaConfig();
    o.server.grpc_port = 0;
    o.server.admin_port = -1;
    o.consumer_group = triad::testing::UniqueName("triad-clients-it-rt-");
    auto rt = server::ServiceRuntime::Create(o);
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = std::move(*rt);
    repo_ = std::make_unique<RocksClientsRepository>(&runtime_->store());
    domain_ = std::make_unique<ClientsDomain>(&runtime_->store(), &runtime_->outbox(), repo_.get());
    service_ = std::make_unique<ClientsGrpcService>(domain_.get());
    runtime_->host().AddService(service_.get(), "triad.clients.v1.ClientsService");
    events::ConsumerOptions co;
    co.group_id = triad::testing::UniqueName("triad-clients-it-");
    co.topics = {kOpportunityTopic, kProjectTopic};
    co.apply_mutex = &domain_->mutex();
    consumer_ = &runtime_->AddConsumer(co);
    domain_->RegisterHandlers(*consumer_);
    absl::Status s = runtime_->Start();
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(PollUntil([&] { return runtime_->Connected(); }, absl::Seconds(60)))
        << runtime_->Failed();
    stub_ = v1::ClientsService::NewStub(
        grpc::CreateChannel(runtime_->host().grpc_address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    // Stop consumers and the relay before the domain they call goes away.
    if (runtime_) runtime_->Shutdown();
  }

  v1::Client CreateViaGrpc(const std::string& name, const std::string& owner) {
    grpc::ClientContext ctx;
    v1::Client c;
    grpc::Status s = stub_->CreateClient(&ctx, NewClientRequest(name, owner), &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c;
  }

  triad::testing::TempDir dir_;
  std::unique_ptr<server::ServiceRuntime> runtime_;
  std::unique_ptr<RocksClientsRepository> repo_;
  std::unique_ptr<ClientsDomain> domain_;
  std::unique_ptr<ClientsGrpcService> service_;
  events::IdempotentConsumer* consumer_ = nullptr;
  std::unique_ptr<v1::ClientsService::Stub> stub_;
};

TEST_F(ClientsIntegrationTest, EmittedEventsArriveWithCloudEventsHeaders) {
  TopicWatcher watcher(kClientTopic);
  const std::string name = triad::testing::UniqueName("Integration Client ");
  v1::Client c = CreateViaGrpc(name, "u:it-owner");
  ASSERT_FALSE(c.client_id().empty());
  auto ev = watcher.WaitFor(c.client_id(), "triad.clients.client.registered.v1");
  ASSERT_TRUE(ev.has_value()) << "registered event not seen";
  EXPECT_FALSE(ev->id.empty());
  EXPECT_EQ(ev->source, "triad/clients");
  EXPECT_EQ(ev->content_type, "application/x-protobuf");
  EXPECT_GT(ev->time, absl::Now() - absl::Minutes(5));
  v1::ClientRegistered reg;
  ASSERT_TRUE(reg.ParseFromString(ev->payload));
  EXPECT_EQ(reg.client().name(), name);
  EXPECT_EQ(reg.client().owner_id(), "u:it-owner");

  // An owner change (via a handover) arrives too, with the handover id.
  grpc::ClientContext ctx;
  v1::HandOverPortfolioRequest hr;
  hr.set_from_owner_id("u:it-owner");
  hr.set_to_owner_id(triad::testing::UniqueName("u:it-new-"));
  *hr.mutable_actor() = MakeActor("u:boss", "integration handover");
  v1::Handover h;
  ASSERT_TRUE(stub_->HandOverPortfolio(&ctx, hr, &h).ok());
  auto oc = watcher.WaitFor(c.client_id(), "triad.clients.client.owner_changed.v1");
  ASSERT_TRUE(oc.has_value());
  v1::ClientOwnerChanged changed;
  ASSERT_TRUE(changed.ParseFromString(oc->payload));
  EXPECT_EQ(changed.handover_id(), h.handover_id());
  EXPECT_EQ(changed.new_owner_id(), hr.to_owner_id());
}

TEST_F(ClientsIntegrationTest, ConsumedEventsAreAppliedAndRedeliveryOnce) {
  v1::Client c = CreateViaGrpc(triad::testing::UniqueName("Repeat Client "), "u:it-owner2");
  ASSERT_FALSE(c.client_id().empty());
  pipeline::v1::OpportunityWon won;
  won.set_opportunity_id(triad::testing::UniqueName("opp-"));
  won.set_client_id(c.client_id());
  won.mutable_value()->set_amount_minor(12300000);
  won.mutable_value()->set_currency("CNY");
  *won.mutable_won_time() = util::ToProto(absl::Now());
  events::Event ev = MakeEvent(kOpportunityTopic, kOpportunityWonType, won.opportunity_id(), won);
  Produce(ev);
  auto deals_won = [&] {
    auto got = domain_->GetClient(c.client_id());
    return got.ok() ? got->repeat_business().deals_won() : -1;
  };
  ASSERT_TRUE(PollUntil([&] { return deals_won() == 1; }, absl::Seconds(60)))
      << "OpportunityWon not applied";
  // Redeliver the same event (same ce_id), then a new event after it on the same key: once the
  // later one is applied, the redelivered one has been seen and must have been skipped.
  Produce(ev);
  production::v1::ProjectCompleted done;
  done.set_project_id(triad::testing::UniqueName("prj-"));
  done.set_opportunity_id(won.opportunity_id());
  done.set_client_id(c.client_id());
  *done.mutable_complete_time() = util::ToProto(absl::Now());
  Produce(MakeEvent(kProjectTopic, kProjectCompletedType, done.project_id(), done));
  pipeline::v1::OpportunityLost lost;
  lost.set_opportunity_id(won.opportunity_id());  // same key as `ev`: ordered after it
  lost.set_client_id(c.client_id());
  Produce(MakeEvent(kOpportunityTopic, kOpportunityLostType, lost.opportunity_id(), lost));
  ASSERT_TRUE(PollUntil(
      [&] {
        auto got = domain_->GetClient(c.client_id());
        return got.ok() && got->repeat_business().deals_lost() == 1 &&
               got->repeat_business().has_last_delivery_time();
      },
      absl::Seconds(60)))
      << "ProjectCompleted / OpportunityLost not applied";
  EXPECT_EQ(deals_won(), 1);
  EXPECT_GE(consumer_->Stats().duplicates, 1);
  auto got = domain_->GetClient(c.client_id());
  ASSERT_EQ(got->repeat_business().lifetime_value_size(), 1);
  EXPECT_EQ(got->repeat_business().lifetime_value(0).amount_minor(), 12300000);
  // The completed project scheduled a post-delivery follow-up.
  auto plan = domain_->GetFollowUpPlan(c.client_id());
  ASSERT_TRUE(plan.ok());
  bool post_delivery = false;
  for (const auto& f : plan->pending()) {
    post_delivery |=
        f.kind() == v1::FOLLOW_UP_KIND_POST_DELIVERY && f.project_id() == done.project_id();
  }
  EXPECT_TRUE(post_delivery);
}

}  // namespace
}  // namespace triad::clients
