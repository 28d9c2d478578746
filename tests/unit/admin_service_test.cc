// Unit tests of the AdminService (no Kafka; real RocksDB, in-process gRPC): CreateBackup with
// its metadata and request_id replay, one backup at a time (ABORTED, the same request_id waits),
// writes and listing going on during a backup, keep_last, paged ListBackups, DeleteBackup, the
// quarantine RPCs, the backup metrics, and INVALID_ARGUMENT naming the field.
#include "common/server/admin_service.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/events/consumer.h"
#include "common/events/consumer_offsets.h"
#include "common/server/metrics.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::server {
namespace {

using admin::v1::Backup;
using triad::testing::CallRpc;
using triad::testing::PollUntil;
using triad::testing::TempDir;

// Latch holds a backup at the moment its store is frozen until it is opened.
class Latch {
 public:
  void Hold() {
    std::unique_lock<std::mutex> lock(mu_);
    ++held_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitHeld(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] { return held_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int held_ = 0;
  bool open_ = false;
};

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = triad::testing::OpenServiceStorage(dir_.Sub("db"), {"state"}, "triad/test");
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(*storage);
    ASSERT_TRUE(storage_.store->EnsureColumnFamily(events::kOffsetsColumnFamily).ok());
    BackupsOptions o{
        .service = "test", .backup_dir = dir_.Sub("backups"), .consumer_group = "triad-test"};
    o.on_frozen = [this] {
      if (hold_) latch_.Hold();
    };
    backups_ = std::make_unique<Backups>(storage_.store.get(), o);
    admin_ = std::make_unique<Admin>(storage_.store.get(), storage_.outbox.get(), backups_.get());
  }

  void TearDown() override { backups_->Stop(); }

  void Put(const std::string& key) {
    rocksdb::WriteBatch batch;
    batch.Put(storage_.store->Cf("state"), key, "v");
    ASSERT_TRUE(storage_.store->Write(batch).ok());
  }

  absl::StatusOr<Backup> Create(const std::string& request_id, uint32_t keep_last = 0) {
    admin::v1::CreateBackupRequest req;
    req.set_request_id(request_id);
    req.set_keep_last(keep_last);
    return admin_->CreateBackup(req, absl::Now() + absl::Seconds(60));
  }

  TempDir dir_;
  triad::testing::ServiceStorage storage_;
  std::unique_ptr<Backups> backups_;
  std::unique_ptr<Admin> admin_;
  std::atomic<bool> hold_{false};
  Latch latch_;
};

TEST_F(AdminTest, CreateBackupRecordsItsMetadataAndReplaysItsRequestId) {
  Put("a");
  // Offsets the consumers stored, and two outbox rows not yet published.
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(events::PutStoredOffset(*storage_.store, batch, "triad-test",
                                      "triad.pipeline.opportunity", 2, 17)
                  .ok());
  ASSERT_TRUE(
      events::PutStoredOffset(*storage_.store, batch, "other-group", "triad.x.y", 0, 5).ok());
  ASSERT_TRUE(storage_.store->Write(batch).ok());
  for (int i = 0; i < 2; ++i) {
    events::Transaction txn;
    common::v1::OutboxRecord payload;
    txn.Emit("triad.test.thing", "k", "triad.test.thing.made.v1", payload);
    ASSERT_TRUE(storage_.outbox->Commit(txn).ok());
  }
  const uint64_t sequence = storage_.store->db()->GetLatestSequenceNumber();

  auto first = Create("req-1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_GT(first->backup_id(), 0u);
  EXPECT_EQ(first->service(), "test");
  EXPECT_EQ(first->request_id(), "req-1");
  EXPECT_GE(first->sequence(), sequence);
  EXPECT_EQ(first->outbox_pending(), 2u);
  EXPECT_GT(first->size_bytes(), 0u);
  EXPECT_GT(first->file_count(), 0u);
  EXPECT_GT(util::FromProto(first->create_time()), absl::Now() - absl::Minutes(5));
  ASSERT_EQ(first->consumer_offsets().size(), 2u);
  EXPECT_EQ(first->consumer_offsets().at("triad.pipeline.opportunity/2"), 17);
  EXPECT_EQ(first->consumer_offsets().at("other-group:triad.x.y/0"), 5);

  // A retry gets the first backup; no second backup is taken.
  auto again = Create("req-1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->backup_id(), first->backup_id());
  EXPECT_EQ(backups_->List()->size(), 1u);
  // The same id on another request is refused, naming the field.
  auto reused = Create("req-1", /*keep_last=*/3);
  EXPECT_TRUE(absl::IsInvalidArgument(reused.status()));
  EXPECT_NE(reused.status().message().find("request_id"), std::string::npos);
  auto too_long = Create(std::string(129, 'r'));
  EXPECT_TRUE(absl::IsInvalidArgument(too_long.status()));
  EXPECT_NE(too_long.status().message().find("request_id"), std::string::npos);
}

TEST_F(AdminTest, OneBackupAtATimeWhileWritesAndListsGoOn) {
  Put("a");
  ASSERT_TRUE(Create("first").ok());
  hold_ = true;
  absl::StatusOr<Backup> held;
  std::thread caller([&] { held = Create("held"); });
  ASSERT_TRUE(latch_.WaitHeld(absl::Seconds(30)));

  // The service keeps serving: writes succeed, listing answers at once.
  for (int i = 0; i < 100; ++i) Put(absl::StrCat("during-", i));
  auto list = backups_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  // Another backup or a deletion is refused; the same request_id waits for the running one.
  auto other = Create("other");
  EXPECT_TRUE(absl::IsAborted(other.status())) << other.status();
  admin::v1::DeleteBackupRequest del;
  del.set_backup_id(list->front().backup_id());
  EXPECT_TRUE(absl::IsAborted(admin_->DeleteBackup(del).status()));
  // A caller whose deadline passes first is told to come back with the same request_id.
  admin::v1::CreateBackupRequest req;
  req.set_request_id("held");
  auto late = admin_->CreateBackup(req, absl::Now() + absl::Milliseconds(300));
  EXPECT_TRUE(absl::IsDeadlineExceeded(late.status())) << late.status();
  absl::StatusOr<Backup> joined;
  std::thread joiner([&] { joined = Create("held"); });

  latch_.Open();
  caller.join();
  joiner.join();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(joined->backup_id(), held->backup_id());
  EXPECT_EQ(backups_->List()->size(), 2u);
  hold_ = false;
  EXPECT_TRUE(Create("other").ok());
}

TEST_F(AdminTest, KeepLastPagedListAndDelete) {
  std::vector<uint32_t> ids;
  for (int i = 0; i < 5; ++i) {
    Put(absl::StrCat("k", i));
    auto b = Create(absl::StrCat("r", i), /*keep_last=*/i == 4 ? 3 : 0);
    ASSERT_TRUE(b.ok()) << b.status();
    ids.push_back(b->backup_id());
  }
  // keep_last 3: the two oldest are gone. The list is newest first, in pages.
  std::vector<uint32_t> seen;
  std::string token;
  int pages = 0;
  do {
    admin::v1::ListBackupsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    auto page = admin_->ListBackups(req);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->backups_size(), 2);
    for (const Backup& b : page->backups()) seen.push_back(b.backup_id());
    token = page->next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<uint32_t>{ids[4], ids[3], ids[2]}));
  EXPECT_EQ(pages, 2);

  admin::v1::ListBackupsRequest bad;
  bad.set_page_size(-1);
  auto s = admin_->ListBackups(bad).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("page_size"), std::string::npos);
  bad.set_page_size(1);
  bad.set_page_token("garbage");
  s = admin_->ListBackups(bad).status();
  EXPECT_NE(s.message().find("page_token"), std::string::npos) << s;

  admin::v1::DeleteBackupRequest del;
  s = admin_->DeleteBackup(del).status();
  EXPECT_NE(s.message().find("backup_id"), std::string::npos) << s;
  del.set_backup_id(ids[0]);  // purged already
  EXPECT_TRUE(absl::IsNotFound(admin_->DeleteBackup(del).status()));
  del.set_backup_id(ids[3]);
  del.set_request_id("del-1");
  ASSERT_TRUE(admin_->DeleteBackup(del).ok());
  EXPECT_TRUE(admin_->DeleteBackup(del).ok()) << "a retry of a deletion that succeeded";
  del.set_request_id("");
  EXPECT_TRUE(absl::IsNotFound(admin_->DeleteBackup(del).status()));
  auto rest = backups_->List();
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].backup_id(), ids[4]);
  EXPECT_EQ((*rest)[1].backup_id(), ids[2]);
}

TEST_F(AdminTest, QuarantinedEventsArePagedAndRequeued) {
  // Three events the relay quarantined (written as the relay writes them).
  rocksdb::WriteBatch batch;
  for (uint64_t seq : {11, 12, 13}) {
    common::v1::QuarantinedRecord q;
    q.mutable_record()->set_topic("triad.test.thing");
    q.mutable_record()->set_key(absl::StrCat("k", seq));
    q.mutable_record()->set_ce_id(absl::StrCat("id-", seq));
    q.mutable_record()->set_ce_type("triad.test.thing.made.v1");
    q.mutable_record()->set_payload(std::string(seq, 'p'));
    q.set_error("Broker: Message size too large");
    *q.mutable_quarantine_time() = util::ToProto(absl::Now());
    batch.Put(storage_.store->Cf(events::Outbox::kQuarantineColumnFamily),
              storage::KeyBuilder().U64(seq).Build(), q.SerializeAsString());
  }
  ASSERT_TRUE(storage_.store->Write(batch).ok());

  admin::v1::ListQuarantinedEventsRequest req;
  req.set_page_size(2);
  auto page = admin_->ListQuarantinedEvents(req);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events_size(), 2);
  EXPECT_EQ(page->events(0).sequence(), 11u);
  EXPECT_EQ(page->events(0).ce_id(), "id-11");
  EXPECT_EQ(page->events(0).payload_bytes(), 11u);
  EXPECT_EQ(page->events(0).error(), "Broker: Message size too large");
  ASSERT_FALSE(page->next_page_token().empty());
  req.set_page_token(page->next_page_token());
  auto next = admin_->ListQuarantinedEvents(req);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->events_size(), 1);
  EXPECT_EQ(next->events(0).sequence(), 13u);
  EXPECT_TRUE(next->next_page_token().empty());

  const int64_t depth = storage_.outbox->Depth();
  admin::v1::RequeueQuarantinedEventRequest rq;
  auto s = admin_->RequeueQuarantinedEvent(rq).status();
  EXPECT_NE(s.message().find("sequence"), std::string::npos) << s;
  rq.set_sequence(12);
  rq.set_request_id("requeue-12");
  ASSERT_TRUE(admin_->RequeueQuarantinedEvent(rq).ok());
  EXPECT_EQ(storage_.outbox->Depth(), depth + 1);
  EXPECT_TRUE(admin_->RequeueQuarantinedEvent(rq).ok()) << "a retry of a requeue";
  EXPECT_EQ(storage_.outbox->Depth(), depth + 1);
  rq.set_request_id("");
  EXPECT_TRUE(absl::IsNotFound(admin_->RequeueQuarantinedEvent(rq).status()));
  req.set_page_size(0);
  req.set_page_token("");
  auto left = admin_->ListQuarantinedEvents(req);
  ASSERT_EQ(left->events_size(), 2);
  EXPECT_EQ(left->events(1).sequence(), 13u);
}

// Reads the value of a metric with no labels from the process registry (-1 when absent).
double MetricValue(const std::string& name) {
  for (const auto& family : metrics::Registry().Collect()) {
    if (family.name != name || family.metric.empty()) continue;
    const auto& m = family.metric[0];
    switch (family.type) {
      case prometheus::MetricType::Gauge:
        return m.gauge.value;
      case prometheus::MetricType::Counter:
        return m.counter.value;
      case prometheus::MetricType::Histogram:
        return static_cast<double>(m.histogram.sample_count);
      default:
        return -1;
    }
  }
  return -1;
}

TEST_F(AdminTest, ServedOverGrpcWithMetrics) {
  AdminGrpcService service(storage_.store.get(), storage_.outbox.get(), backups_.get());
  triad::testing::GrpcHarness harness(&service, "triad.admin.v1.AdminService");
  ASSERT_TRUE(harness.Start().ok());
  auto stub = admin::v1::AdminService::NewStub(harness.channel());
  const double successes = MetricValue("triad_backup_duration_seconds");
  Put("a");
  admin::v1::CreateBackupRequest req;
  req.set_request_id("grpc-1");
  Backup b;
  grpc::Status s =
      CallRpc(*stub, &admin::v1::AdminService::Stub::CreateBackup, req, &b, absl::Seconds(60));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(b.backup_id(), 0u);
  EXPECT_EQ(MetricValue("triad_backup_duration_seconds"), successes + 1);
  EXPECT_GE(MetricValue("triad_backup_last_success_timestamp_seconds"),
            static_cast<double>(absl::ToUnixSeconds(absl::Now() - absl::Minutes(1))));
  EXPECT_GE(MetricValue("triad_backup_failures_total"), 0);

  admin::v1::ListBackupsResponse list;
  s = CallRpc(*stub, &admin::v1::AdminService::Stub::ListBackups, admin::v1::ListBackupsRequest(),
              &list);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(list.backups_size(), 1);
  EXPECT_EQ(list.backups(0).backup_id(), b.backup_id());
  admin::v1::DeleteBackupResponse deleted;
  s = CallRpc(*stub, &admin::v1::AdminService::Stub::DeleteBackup, admin::v1::DeleteBackupRequest(),
              &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("backup_id"), std::string::npos);
}

TEST(BackupsTest, NoBackupDirectoryIsCreatedByListingAndAFailureIsCounted) {
  TempDir dir;
  auto storage = triad::testing::OpenServiceStorage(dir.Sub("db"), {"state"}, "triad/test");
  ASSERT_TRUE(storage.ok());
  Backups backups(storage->store.get(), {.service = "t", .backup_dir = dir.Sub("b")});
  auto list = backups.List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("b")));
  const double failures = MetricValue("triad_backup_failures_total");
  ASSERT_TRUE(storage->store->Close().ok());  // a closed store cannot be backed up
  auto job = backups.Start("x", 0);
  ASSERT_TRUE(job.ok()) << job.status();
  auto result = (*job)->Wait(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok());
  EXPECT_EQ(MetricValue("triad_backup_failures_total"), failures + 1);
  backups.Stop();
  EXPECT_TRUE(absl::IsUnavailable(backups.Start("y", 0).status()));
}

}  // namespace
}  // namespace triad::server
