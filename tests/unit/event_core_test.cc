// Unit tests of the event core's hardening (no Kafka): time-ordered and derived event ids,
// Kafka's default partitioner, locked client properties, the event size limit at commit,
// permanent/transient error classification, replayed consumed events emitting the same ids,
// and dedupe records that expire so disk use stays flat.
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/consumer.h"
#include "common/events/envelope.h"
#include "common/events/kafka.h"
#include "common/events/outbox.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"
#include "triad/testing/v1/test_events.pb.h"

namespace triad::events {
namespace {

using triad::testing::TempDir;

TEST(EventIdTest, NewIdsAreUuidV7TimeOrderedAndUniqueAcrossManyShortLivedThreads) {
  // The sync gRPC server keeps creating threads; ids must never depend on a per-thread seed.
  std::vector<std::vector<std::string>> per_thread(64);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < per_thread.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) per_thread[t].push_back(NewEventId());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& ids : per_thread) {
    for (const std::string& id : ids) {
      ASSERT_EQ(id.size(), 36u) << id;
      EXPECT_EQ(id[14], '7') << id;                                          // version 7
      EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // variant 10
      all.insert(id);
    }
  }
  EXPECT_EQ(all.size(), 64u * 500u);
  // The first 48 bits are the creation time in milliseconds: later ids sort after.
  const std::string before = NewEventId();
  absl::SleepFor(absl::Milliseconds(3));
  const std::string after = NewEventId();
  EXPECT_LT(before.substr(0, 13), after.substr(0, 13));
}

TEST(EventIdTest, DerivedIdsAreDeterministicUuidV8) {
  const std::string a = DerivedEventId("group\ntriad/clients\nid-1", 0);
  EXPECT_EQ(a, DerivedEventId("group\ntriad/clients\nid-1", 0));
  EXPECT_NE(a, DerivedEventId("group\ntriad/clients\nid-1", 1));
  EXPECT_NE(a, DerivedEventId("group\ntriad/clients\nid-2", 0));
  EXPECT_EQ(a[14], '8');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

TEST(PartitionerTest, MatchesKafkasJavaDefaultPartitioner) {
  // Expected values printed by org.apache.kafka.common.utils.Utils.murmur2 / toPositive % 6
  // from kafka-clients 4.1.1 (the Java producer's and Kafka Streams' default for keyed records).
  struct Case {
    std::string key;
    int32_t murmur2;
    int32_t partition_of_6;
  };
  const Case cases[] = {{"k", -1567496736, 2},     {"cli_1", 699499900, 4},
                        {"opp_42", 1241788401, 3}, {"21", -973932308, 0},
                        {"foobar", -790332482, 0}, {"a-little-bit-long-string", -985981536, 2},
                        {"", 275646681, 3},        {"\xe5\xae\xa2\xe6\x88\xb7", 1463422313, 5}};
  for (const Case& c : cases) {
    EXPECT_EQ(Murmur2(c.key), c.murmur2) << c.key;
    EXPECT_EQ(KafkaDefaultPartition(c.key, 6), c.partition_of_6) << c.key;
  }
}

TEST(KafkaConfigTest, PropertiesCannotSilentlyOverrideDeliveryGuarantees) {
  KafkaConfig config;
  config.properties["acks"] = "1";
  auto conf = MakeConf(config, {}, {{"acks", "all"}, {"enable.idempotence", "true"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(conf.status()));
  EXPECT_NE(conf.status().message().find("acks"), std::string::npos);
  config.properties["acks"] = "all";  // the same value is fine
  config.properties["client.id"] = "x";
  EXPECT_TRUE(MakeConf(config, {}, {{"acks", "all"}}).ok());
}

TEST(ErrorClassTest, OnlyPoisonIsPermanent) {
  EXPECT_TRUE(IsPermanentError(absl::InvalidArgumentError("bad payload")));
  EXPECT_TRUE(IsPermanentError(absl::FailedPreconditionError("archived")));
  EXPECT_TRUE(IsPermanentError(PermanentError(absl::InternalError("handler says never"))));
  EXPECT_FALSE(IsPermanentError(absl::UnavailableError("rocksdb: IO error: No space left")));
  EXPECT_FALSE(IsPermanentError(absl::InternalError("bug or disk")));
  EXPECT_FALSE(IsPermanentError(absl::DataLossError("corruption")));
  EXPECT_FALSE(IsPermanentError(absl::OkStatus()));
}

std::unique_ptr<storage::Store> OpenStore(const std::string& path,
                                          std::function<absl::Time()> clock = nullptr) {
  storage::StoreOptions o;
  o.path = path;
  o.column_families = {"state", Outbox::kColumnFamily, IdempotentConsumer::kInboxColumnFamily};
  o.retention[IdempotentConsumer::kInboxColumnFamily] = absl::Hours(48);
  if (clock) o.clock = std::move(clock);
  auto s = storage::Store::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

TEST(OutboxLimitTest, AnOversizedEventIsRefusedAndNothingIsWritten) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto outbox = Outbox::Create(store.get(), {.source = "triad/test"});
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  Transaction txn;
  txn.batch().Put(store->Cf("state"), "k", "v");
  triad::testing::v1::Ticked tick;
  tick.set_key(std::string(2 << 20, 'x'));  // a 2 MB free-text field
  txn.Emit("triad.test.tick", "k", "triad.test.tick.ticked.v1", tick);
  absl::Status s = (*outbox)->Commit(txn);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("limit"), std::string::npos) << s;
  EXPECT_FALSE(store->Get("state", "k").ok());  // nothing half-written
  EXPECT_EQ((*outbox)->Depth(), 0);
}

TEST(ApplyOnceTest, AReplayedEventEmitsTheSameIdsAndIsAppliedOnce) {
  Event consumed{.id = NewEventId(), .type = "triad.test.tick.ticked.v1", .source = "triad/x"};
  auto emit = [](const Event&, Transaction& txn) {
    triad::testing::v1::Ticked t;
    t.set_key("k");
    txn.Emit("triad.test.out", "k", "triad.test.out.emitted.v1", t);
    txn.Emit("triad.test.out", "k", "triad.test.out.emitted.v1", t);
    return absl::OkStatus();
  };
  auto ids_after_apply = [&](const std::string& path) {
    auto store = OpenStore(path);
    auto outbox = std::move(*Outbox::Create(store.get(), {.source = "triad/test"}));
    auto first = ApplyOnce(*store, outbox.get(), "g", consumed, emit, nullptr);
    EXPECT_TRUE(first.ok() && *first == ApplyOutcome::kApplied);
    auto again = ApplyOnce(*store, outbox.get(), "g", consumed, emit, nullptr);
    EXPECT_TRUE(again.ok() && *again == ApplyOutcome::kDuplicate);
    EXPECT_EQ(outbox->Depth(), 2);  // the duplicate emitted nothing
    std::vector<std::string> ids;
    (void)store->ScanPrefix(Outbox::kColumnFamily, "", [&](std::string_view, std::string_view v) {
      triad::common::v1::OutboxRecord r;
      r.ParseFromArray(v.data(), static_cast<int>(v.size()));
      ids.push_back(r.ce_id());
      return true;
    });
    return ids;
  };
  // Applying the same consumed event on a store that lost its state (a power loss before
  // the WAL reached disk) emits the same ids: downstream dedupes the re-emitted events.
  TempDir a, b;
  const std::vector<std::string> first = ids_after_apply(a.path());
  ASSERT_EQ(first.size(), 2u);
  EXPECT_NE(first[0], first[1]);
  EXPECT_EQ(ids_after_apply(b.path()), first);
  // The same id from another source is another event.
  Event other = consumed;
  other.source = "triad/y";
  TempDir c;
  auto store = OpenStore(c.path());
  auto outbox = std::move(*Outbox::Create(store.get(), {.source = "triad/test"}));
  ASSERT_EQ(*ApplyOnce(*store, outbox.get(), "g", consumed, emit, nullptr), ApplyOutcome::kApplied);
  ASSERT_EQ(*ApplyOnce(*store, outbox.get(), "g", other, emit, nullptr), ApplyOutcome::kApplied);
}

TEST(DedupeRetentionTest, ExpiredRecordsAreCompactedAwayAndDiskUseStaysFlat) {
  TempDir dir;
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto store = OpenStore(dir.path(), [&now] { return now; });
  std::vector<uint64_t> sizes;
  for (int day = 0; day < 12; ++day) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 20000; ++i) {
      ASSERT_TRUE(store
                      ->PutExpiring(batch, IdempotentConsumer::kInboxColumnFamily,
                                    InboxKey("g", "triad/x", absl::StrCat(day, "-", i)), "")
                      .ok());
    }
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->CompactExpired().ok());
    sizes.push_back(store->LiveSstBytes(IdempotentConsumer::kInboxColumnFamily));
    now += absl::Hours(24);
  }
  std::string sizes_text;
  for (uint64_t s : sizes) absl::StrAppend(&sizes_text, s, " ");
  // With a 48 h retention at most three days of records are live after each compaction:
  // the size after day 12 is no larger than after day 3 (plus slack for file boundaries).
  EXPECT_GT(sizes[2], 0u);
  EXPECT_LE(sizes.back(), sizes[2] * 5 / 4) << sizes_text;
  EXPECT_FALSE(
      store->Exists(IdempotentConsumer::kInboxColumnFamily, InboxKey("g", "triad/x", "0-1"))
          .value());
  EXPECT_TRUE(
      store->Exists(IdempotentConsumer::kInboxColumnFamily, InboxKey("g", "triad/x", "11-1"))
          .value());
}

}  // namespace
}  // namespace triad::events
