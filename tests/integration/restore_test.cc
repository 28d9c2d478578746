// The restore test, on the real broker with the clients service in-process (its runtime, its
// domain, the AdminService as RunService registers it) and the triad-store binary: the service
// takes writes and consumes pipeline events; backup A (AdminService.CreateBackup); more writes
// and more consumed events; stop; `triad-store restore` A; restart. The service reads its
// consumed topic again from the offsets stored in A, re-applies exactly the events it had
// lost, ends with the same consumed state as before the restore, and the events it emits while
// re-applying carry the ce_ids it emitted the first time (downstream consumers skip them). The
// gRPC write acknowledged after A is lost, as documented.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/consumer_offsets.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/server/admin_service.h"
#include "common/server/runtime.h"
#include "common/util/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "services/clients/domain.h"
#include "services/clients/grpc_service.h"
#include "services/clients/repository.h"
#include "services/clients/tests/test_support.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/test_env.h"
#include "triad/admin/v1/admin_service.grpc.pb.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"

namespace triad::clients {
namespace {

using triad::testing::CallRpc;
using triad::testing::PollUntil;
using triad::testing::TestKafkaConfig;
using triad::testing::UniqueName;

constexpr char kUpdatedType[] = "triad.clients.client.updated.v1";

// Service is the clients service in-process on the real broker, as RunService wires it.
struct Service {
  Service(const std::string& data_dir, const std::string& group) {
    server::RuntimeOptions o;
    o.service = "clients";
    o.column_families = ColumnFamilies();
    o.topics = {kClientTopic, kCaseTopic, kFollowUpTopic};
    o.data_dir = data_dir;
    o.kafka = TestKafkaConfig();
    o.server.grpc_port = 0;
    o.server.admin_port = -1;
    o.consumer_group = group;
    o.topic_partitions = 3;
    auto rt = server::ServiceRuntime::Create(o);
    EXPECT_TRUE(rt.ok()) << rt.status();
    runtime = std::move(*rt);
    repo = std::make_unique<RocksClientsRepository>(&runtime->store());
    domain = std::make_unique<ClientsDomain>(&runtime->store(), &runtime->outbox(), repo.get());
    grpc = std::make_unique<ClientsGrpcService>(domain.get());
    runtime->host().AddService(grpc.get(), "triad.clients.v1.ClientsService");
    events::ConsumerOptions co;
    co.topics = {kOpportunityTopic};
    co.apply_mutex = &domain->mutex();
    consumer = &runtime->AddConsumer(co);
    domain->RegisterHandlers(*consumer);
    admin_service = server::AddAdminService(*runtime);
    EXPECT_TRUE(runtime->Start().ok());
    EXPECT_TRUE(PollUntil([&] { return runtime->Connected(); }, absl::Seconds(90)))
        << runtime->Failed();
    auto channel =
        grpc::CreateChannel(runtime->host().grpc_address(), grpc::InsecureChannelCredentials());
    clients = v1::ClientsService::NewStub(channel);
    admin_stub = admin::v1::AdminService::NewStub(channel);
  }
  ~Service() { runtime->Shutdown(); }

  // DealsWon is the number of won deals the service recorded for a client (-1 if unknown).
  int64_t DealsWon(const std::string& client_id) {
    auto c = domain->GetClient(client_id);
    return c.ok() ? c->repeat_business().deals_won() : -1;
  }

  std::unique_ptr<server::ServiceRuntime> runtime;
  std::unique_ptr<RocksClientsRepository> repo;
  std::unique_ptr<ClientsDomain> domain;
  std::unique_ptr<ClientsGrpcService> grpc;
  std::unique_ptr<server::AdminGrpcService> admin_service;
  events::IdempotentConsumer* consumer = nullptr;
  std::unique_ptr<v1::ClientsService::Stub> clients;
  std::unique_ptr<admin::v1::AdminService::Stub> admin_stub;
};

// Downstream reads the service's client topic from its current end, as a consumer of the
// clients' events would, collecting the ce_ids of ClientUpdated events for the test's clients.
class Downstream {
 public:
  Downstream() {
    auto conf = events::MakeConf(TestKafkaConfig(), {{"group.id", UniqueName("downstream-")},
                                                     {"enable.auto.commit", "false"}});
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    EXPECT_NE(consumer_, nullptr) << err;
    auto partitions = events::PartitionCount(TestKafkaConfig(), kClientTopic);
    EXPECT_TRUE(partitions.ok()) << partitions.status();
    std::vector<RdKafka::TopicPartition*> assignment;
    for (int p = 0; p < *partitions; ++p) {
      int64_t low = 0, high = 0;
      EXPECT_TRUE(PollUntil(
          [&] {
            return consumer_->query_watermark_offsets(kClientTopic, p, &low, &high, 5000) ==
                   RdKafka::ERR_NO_ERROR;
          },
          absl::Seconds(30), absl::Milliseconds(100)));
      assignment.push_back(RdKafka::TopicPartition::create(kClientTopic, p, high));
    }
    EXPECT_EQ(consumer_->assign(assignment), RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(assignment);
  }
  ~Downstream() { consumer_->close(); }

  // CaughtUp is true when `store` has stored, for `group`, offsets at the end of every
  // partition of the opportunity topic (everything there was handled).
  bool CaughtUp(const storage::Store& store, const std::string& group) {
    auto offsets = events::ReadStoredOffsets(store);
    auto partitions = events::PartitionCount(TestKafkaConfig(), kOpportunityTopic);
    if (!offsets.ok() || !partitions.ok()) return false;
    std::map<int32_t, int64_t> stored;
    for (const auto& o : *offsets) {
      if (o.group == group && o.topic == kOpportunityTopic) stored[o.partition] = o.next_offset;
    }
    for (int32_t p = 0; p < *partitions; ++p) {
      int64_t low = 0, high = 0;
      if (consumer_->query_watermark_offsets(kOpportunityTopic, p, &low, &high, 5000) !=
          RdKafka::ERR_NO_ERROR) {
        return false;
      }
      if (high > 0 && stored[p] < high) return false;
    }
    return true;
  }

  // Poll reads what arrived; ce_ids of ClientUpdated events of `clients`, with their counts.
  void Poll(const std::set<std::string>& clients, absl::Duration for_at_most) {
    const absl::Time until = absl::Now() + for_at_most;
    while (absl::Now() < until) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        if (m->err() == RdKafka::ERR__TIMED_OUT) return;
        continue;
      }
      if (m->key() == nullptr || !clients.contains(*m->key())) continue;
      auto e = events::FromMessage(*m);
      if (e.ok() && e->type == kUpdatedType) ++updated[e->id];
    }
  }

  std::map<std::string, int> updated;

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

// Won publishes an OpportunityWon for `client_id` as pipeline's relay would.
void Won(RdKafka::Producer& producer, const std::string& client_id, int64_t amount) {
  pipeline::v1::OpportunityWon won;
  won.set_opportunity_id(UniqueName("opp-"));
  won.set_client_id(client_id);
  won.mutable_value()->set_amount_minor(amount);
  won.mutable_value()->set_currency("CNY");
  *won.mutable_won_time() = util::ToProto(absl::Now());
  events::Event ev;
  ev.id = events::NewEventId();
  ev.type = std::string(kOpportunityWonType);
  ev.source = "triad/pipeline";
  ev.time = absl::Now();
  ev.topic = kOpportunityTopic;
  ev.key = won.opportunity_id();
  ev.payload = won.SerializeAsString();
  RdKafka::Headers* headers = events::ToHeaders(ev);
  RdKafka::ErrorCode rc =
      producer.produce(ev.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                       const_cast<char*>(ev.payload.data()), ev.payload.size(), ev.key.data(),
                       ev.key.size(), 0, headers, nullptr);
  if (rc != RdKafka::ERR_NO_ERROR) delete headers;
  ASSERT_EQ(rc, RdKafka::ERR_NO_ERROR);
}

TEST(RestoreTest, ARestoredServiceReappliesWhatItLostAndReemitsTheSameIds) {
  triad::testing::TempDir dir;
  const std::string data_dir = dir.Sub("clients-data");
  const std::string group = UniqueName("triad-clients-restore-");
  auto conf = events::MakeConf(TestKafkaConfig(), {{"acks", "all"}});
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), err));
  ASSERT_NE(producer, nullptr) << err;

  std::vector<std::string> ids;
  std::set<std::string> id_set;
  std::map<std::string, int64_t> deals_before_restore;
  std::string lost_client_id;
  admin::v1::Backup a;
  int64_t before_a = 0, after_a = 0;
  std::map<std::string, int> updated_before_a, updated_after_a;
  {
    Service svc(data_dir, group);
    Downstream downstream;
    for (int i = 0; i < 4; ++i) {
      v1::Client c;
      auto req = testing::NewClientRequest(UniqueName("Restore Client "), "u:restore-owner");
      ASSERT_TRUE(CallRpc(*svc.clients, &v1::ClientsService::Stub::CreateClient, req, &c).ok());
      ids.push_back(c.client_id());
      id_set.insert(c.client_id());
    }
    auto deals_total = [&] {
      int64_t n = 0;
      for (const auto& id : ids) n += std::max<int64_t>(0, svc.DealsWon(id));
      return n;
    };
    // History of the topic (earlier runs) is read first.
    ASSERT_TRUE(PollUntil([&] { return downstream.CaughtUp(svc.runtime->store(), group); },
                          absl::Seconds(60)));
    const int64_t history = svc.consumer->Stats().applied;
    auto wait_updates = [&](size_t n) {
      return PollUntil(
          [&] {
            downstream.Poll(id_set, absl::Milliseconds(200));
            return downstream.updated.size() >= n;
          },
          absl::Seconds(60));
    };
    // Consumed before A: two deals won per client.
    for (int round = 0; round < 2; ++round) {
      for (const auto& id : ids) Won(*producer, id, 1000);
    }
    ASSERT_EQ(producer->flush(15000), RdKafka::ERR_NO_ERROR);
    ASSERT_TRUE(PollUntil([&] { return deals_total() == 8; }, absl::Seconds(60))) << deals_total();
    ASSERT_TRUE(wait_updates(8)) << downstream.updated.size();
    ASSERT_TRUE(PollUntil([&] { return downstream.CaughtUp(svc.runtime->store(), group); },
                          absl::Seconds(60)));
    before_a = svc.consumer->Stats().applied;
    EXPECT_EQ(before_a - history, 8);
    updated_before_a = downstream.updated;

    // Backup A, through the AdminService.
    admin::v1::CreateBackupRequest req;
    req.set_request_id(UniqueName("backup-a-"));
    grpc::Status s = CallRpc(*svc.admin_stub, &admin::v1::AdminService::Stub::CreateBackup, req, &a,
                             absl::Seconds(60));
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(a.service(), "clients");
    int64_t stored = 0;
    for (const auto& [key, next] : a.consumer_offsets()) {
      EXPECT_EQ(key.rfind(std::string(kOpportunityTopic) + "/", 0), 0u) << key;
      stored += next;
    }
    EXPECT_GE(stored, 8) << "A holds the offsets past the 8 consumed events";

    // After A: a gRPC write (lost by the restore) and three more deals per client.
    v1::Client lost;
    auto lost_req = testing::NewClientRequest(UniqueName("Lost Client "), "u:restore-owner");
    ASSERT_TRUE(
        CallRpc(*svc.clients, &v1::ClientsService::Stub::CreateClient, lost_req, &lost).ok());
    lost_client_id = lost.client_id();
    for (int round = 0; round < 3; ++round) {
      for (const auto& id : ids) Won(*producer, id, 500);
    }
    ASSERT_EQ(producer->flush(15000), RdKafka::ERR_NO_ERROR);
    ASSERT_TRUE(PollUntil([&] { return deals_total() == 20; }, absl::Seconds(60))) << deals_total();
    ASSERT_TRUE(wait_updates(20)) << downstream.updated.size();
    ASSERT_TRUE(PollUntil([&] { return downstream.CaughtUp(svc.runtime->store(), group); },
                          absl::Seconds(60)));
    after_a = svc.consumer->Stats().applied - before_a;
    for (const auto& id : ids) deals_before_restore[id] = svc.DealsWon(id);
    for (const auto& [ce_id, n] : downstream.updated) {
      if (!updated_before_a.contains(ce_id)) updated_after_a[ce_id] = n;
    }
  }  // stopped
  EXPECT_EQ(after_a, 12);
  ASSERT_EQ(updated_after_a.size(), 12u);

  // Restore A with the offline tool, over the stopped service's data directory.
  const std::string cmd =
      absl::StrCat(TRIAD_STORE_TOOL, " restore --backup_dir '", data_dir, "-backups' --backup_id ",
                   a.backup_id(), " --data_dir '", data_dir, "' --force");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  bool moved_aside = false;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    moved_aside |= e.path().filename().string().rfind("clients-data.replaced-", 0) == 0;
  }
  EXPECT_TRUE(moved_aside) << "the old data directory is kept";

  // Restart: the service catches up from A's offsets.
  Downstream downstream;
  Service svc(data_dir, group);
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const auto& id : ids) {
          if (svc.DealsWon(id) != deals_before_restore[id]) return false;
        }
        return true;
      },
      absl::Seconds(90)))
      << "the consumed state was not rebuilt";
  // The lost write is gone: acknowledged after A, it is not in A.
  grpc::ClientContext ctx;
  v1::GetClientRequest get;
  get.set_client_id(lost_client_id);
  v1::Client got;
  EXPECT_EQ(svc.clients->GetClient(&ctx, get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  // The events re-applied emitted the ce_ids they had emitted the first time: each of the
  // twelve events after A arrives downstream again with its first ce_id.
  auto all_reemitted = [&] {
    for (const auto& [ce_id, n] : updated_after_a) {
      if (!downstream.updated.contains(ce_id)) return false;
    }
    return true;
  };
  ASSERT_TRUE(PollUntil(
      [&] {
        downstream.Poll(id_set, absl::Milliseconds(200));
        return all_reemitted();
      },
      absl::Seconds(60)))
      << downstream.updated.size() << " ClientUpdated events seen after the restart";
  // A marker consumed after the catch-up: everything before it on its partition was read.
  Won(*producer, ids[0], 1);
  ASSERT_EQ(producer->flush(15000), RdKafka::ERR_NO_ERROR);
  ASSERT_TRUE(PollUntil([&] { return svc.DealsWon(ids[0]) == deals_before_restore[ids[0]] + 1; },
                        absl::Seconds(60)));
  std::set<std::string> new_ids;
  ASSERT_TRUE(PollUntil(
      [&] {
        downstream.Poll(id_set, absl::Milliseconds(200));
        new_ids.clear();
        for (const auto& [ce_id, n] : downstream.updated) {
          if (!updated_after_a.contains(ce_id) && !updated_before_a.contains(ce_id)) {
            new_ids.insert(ce_id);
          }
        }
        return !new_ids.empty();
      },
      absl::Seconds(60)))
      << "the marker's event did not arrive";
  EXPECT_EQ(new_ids.size(), 1u) << "only the marker's event is new: nothing was applied twice "
                                   "under a new ce_id";
  EXPECT_EQ(svc.consumer->Stats().applied, 13) << "the 12 lost events and the marker";
  EXPECT_EQ(svc.consumer->Stats().duplicates, 0);
}

}  // namespace
}  // namespace triad::clients
