// Tests of ImportClientsCsv: per-row reports, and resuming or retrying an import.
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

TEST_F(DomainTest, CsvImportReportsEachRow) {
  Create("Existing Design Co., Ltd.", "u:li");
  v1::ImportClientsCsvRequest req;
  req.set_csv(
      "name,owner_id,tax_id,tier,tags\n"
      "New Client,u:wang,T-1,key,hospital;north\n"
      "EXISTING DESIGN,u:wang,,,\n"
      ",u:wang,,,\n"
      "Bad Tier,u:wang,,platinum,\n"
      "\"Quoted, Inc.\",,,small,\n");
  req.set_default_owner_id("u:default");
  *req.mutable_actor() = MakeActor("u:importer");
  auto r = d().ImportClientsCsv(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows_size(), 5);
  EXPECT_EQ(r->rows(0).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(r->rows(1).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_EQ(r->rows(1).duplicate_of_size(), 1);
  EXPECT_EQ(r->rows(2).outcome(), v1::IMPORT_OUTCOME_INVALID);
  EXPECT_THAT(r->rows(2).error(), HasSubstr("name"));
  EXPECT_EQ(r->rows(3).outcome(), v1::IMPORT_OUTCOME_INVALID);
  EXPECT_THAT(r->rows(3).error(), HasSubstr("tier"));
  EXPECT_EQ(r->rows(4).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(r->created(), 2);
  auto created = d().GetClient(r->rows(0).client_id());
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->tier(), v1::CLIENT_TIER_KEY);
  EXPECT_EQ(created->tags_size(), 2);
  EXPECT_EQ(d().GetClient(r->rows(4).client_id())->owner_id(), "u:default");
  // Invalid rows left nothing behind: 1 existing + 2 created.
  v1::ListClientsRequest all;
  EXPECT_EQ(d().ListClients(all)->clients_size(), 3);
  v1::ImportClientsCsvRequest bad;
  bad.set_csv("owner_id\nu:x\n");
  *bad.mutable_actor() = MakeActor("u:importer");
  EXPECT_THAT(d().ImportClientsCsv(bad).status().message(), HasSubstr("name"));
}

TEST(ImportResumeTest, CrashInTheMiddleThenRetryReturnsTheSameReport) {
  triad::testing::TempDir dir;
  const std::string csv =
      "name,owner_id\n"
      "Alpha Works,u:a\n"             // created
      "Existing Design,u:a\n"         // duplicate of a client from before
      ",u:a\n"                        // invalid
      "Beta Works,u:a\n"              // created (after the crash)
      "Gamma Works,u:a\n"             // created
      "ALPHA WORKS Co., Ltd.,u:a\n";  // a duplicate of row 1 within the same file
  v1::ImportClientsCsvRequest req;
  req.set_request_id("imp-1");
  req.set_csv(csv);
  *req.mutable_actor() = MakeActor("u:importer");
  std::string existing_id, alpha_id;
  {
    DomainOptions o;
    o.import_stop_after_rows = 3;  // the process dies after three rows
    DomainEnv env(dir.Sub("db"), o);
    existing_id =
        env.domain->CreateClient(NewClientRequest("Existing Design Co., Ltd.", "u:x"))->client_id();
    auto first = env.domain->ImportClientsCsv(req);
    EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
    v1::ListClientsRequest all;
    auto listed = env.domain->ListClients(all);
    ASSERT_EQ(listed->clients_size(), 2);  // Existing + Alpha
    for (const auto& c : listed->clients()) {
      if (c.client_id() != existing_id) alpha_id = c.client_id();
    }
    // The request id is bound to its CSV while the import is unfinished.
    v1::ImportClientsCsvRequest other = req;
    other.set_csv("name,owner_id\nOther,u:a\n");
    EXPECT_THAT(std::string(env.domain->ImportClientsCsv(other).status().message()),
                ::testing::StartsWith("request_id:"));
    ASSERT_TRUE(env.store->Close().ok());
  }
  DomainEnv env(dir.Sub("db"));
  auto report = env.domain->ImportClientsCsv(req);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 6);
  EXPECT_EQ(report->rows(0).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(report->rows(0).client_id(), alpha_id);  // not re-created, not "duplicate of itself"
  EXPECT_EQ(report->rows(1).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_THAT(report->rows(1).duplicate_of(), ::testing::ElementsAre(existing_id));
  EXPECT_EQ(report->rows(2).outcome(), v1::IMPORT_OUTCOME_INVALID);
  EXPECT_EQ(report->rows(3).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(report->rows(4).outcome(), v1::IMPORT_OUTCOME_CREATED);
  EXPECT_EQ(report->rows(5).outcome(), v1::IMPORT_OUTCOME_DUPLICATE);
  EXPECT_THAT(report->rows(5).duplicate_of(), ::testing::ElementsAre(alpha_id));
  EXPECT_EQ(report->created(), 3);
  EXPECT_EQ(report->duplicates(), 2);
  EXPECT_EQ(report->invalid(), 1);
  v1::ListClientsRequest all;
  EXPECT_EQ(env.domain->ListClients(all)->clients_size(), 4);
  EXPECT_EQ(env.EventsOfType("triad.clients.client.registered.v1").size(), 4u);
  // Another retry gets the stored report; the per-row progress is gone.
  auto again = env.domain->ImportClientsCsv(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), report->SerializeAsString());
  int progress = 0;
  ASSERT_TRUE(env.repo
                  ->ScanRecords(ImportRowPrefix("imp-1"), "",
                                [&](std::string_view, std::string_view) {
                                  ++progress;
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(progress, 0);
  v1::ImportJob job;
  EXPECT_TRUE(absl::IsNotFound(env.repo->GetRecord(ImportJobKey("imp-1"), &job)));
}

TEST(ImportResumeTest, ConcurrentRetriesCreateEachRowOnce) {
  triad::testing::TempDir dir;
  DomainEnv env(dir.Sub("db"));
  std::string csv = "name,owner_id\n";
  for (int i = 0; i < 60; ++i) absl::StrAppend(&csv, "Company ", i, " Works,u:a\n");
  v1::ImportClientsCsvRequest req;
  req.set_request_id("imp-2");
  req.set_csv(csv);
  *req.mutable_actor() = MakeActor("u:importer");
  std::vector<v1::ImportClientsCsvResponse> reports(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto r = env.domain->ImportClientsCsv(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (r.ok()) reports[t] = *r;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : reports) {
    EXPECT_EQ(r.created(), 60);
    EXPECT_EQ(r.duplicates(), 0);
  }
  v1::ListClientsRequest all;
  all.set_page_size(1000);
  EXPECT_EQ(env.domain->ListClients(all)->clients_size(), 60);
}

TEST(ImportLimitsTest, ARequestHoldsAtMostMaxCsvRowsAndSaysHowToImportMore) {
  EXPECT_EQ(DomainOptions{}.max_csv_rows, kMaxCsvRows);
  EXPECT_EQ(kMaxCsvRows, 10000);
  EXPECT_EQ(DomainOptions{}.max_csv_bytes, api::kMaxCsvBytes);
  triad::testing::TempDir dir;
  DomainOptions o;
  o.max_csv_rows = 3;
  DomainEnv env(dir.Sub("db"), o);
  std::string csv = "name,owner_id\n";
  for (int i = 0; i < 3; ++i) absl::StrAppend(&csv, "Company ", i, " Works,u:a\n");
  v1::ImportClientsCsvRequest req;
  req.set_request_id("imp-limit-1");
  req.set_csv(csv);
  *req.mutable_actor() = MakeActor("u:importer");
  auto ok = env.domain->ImportClientsCsv(req);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->created(), 3);
  // One row more is refused as a whole, before any row is imported.
  absl::StrAppend(&csv, "Company 3 Works,u:a\n");
  req.set_request_id("imp-limit-2");
  req.set_csv(csv);
  auto over = env.domain->ImportClientsCsv(req);
  EXPECT_TRUE(absl::IsInvalidArgument(over.status()));
  EXPECT_THAT(std::string(over.status().message()),
              ::testing::StartsWith("csv: at most 3 rows (got 4); send a bigger file in chunks"));
  v1::ListClientsRequest all;
  EXPECT_EQ(env.domain->ListClients(all)->clients_size(), 3);
}

TEST(ImportLimitsTest, ACsvOverMaxCsvBytesIsRefused) {
  triad::testing::TempDir dir;
  DomainOptions o;
  o.max_csv_bytes = 64;
  DomainEnv env(dir.Sub("db"), o);
  v1::ImportClientsCsvRequest req;
  req.set_csv("name,owner_id\n" + std::string(64, 'x') + ",u:a\n");
  *req.mutable_actor() = MakeActor("u:importer");
  EXPECT_THAT(std::string(env.domain->ImportClientsCsv(req).status().message()),
              ::testing::StartsWith("csv: at most 64 bytes (got 83)"));
}

}  // namespace
}  // namespace triad::clients
