// Tests `triad-store verify-audit` (tools/triad-store) on a clients store: history written
// through the domain verifies; after one stored entry is changed directly in RocksDB (the
// service stopped) the tool names the client and seq and exits 1.
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/tests/test_support.h"

namespace triad::clients {
namespace {

using testing::DomainEnv;
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

struct ToolRun {
  int exit_code = -1;
  std::string output;
};

ToolRun RunVerifyAudit(const std::string& data_dir) {
  const std::string cmd =
      absl::StrCat(TRIAD_STORE_TOOL, " verify-audit --data_dir '", data_dir, "' 2>&1");
  ToolRun run;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) run.output.append(buf, n);
  const int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(AuditToolTest, FindsAnEntryChangedInTheStore) {
  ::triad::testing::TempDir dir;
  const std::string path = dir.Sub("db");
  std::string client_id;
  {
    DomainEnv env(path);
    v1::CreateClientRequest req = NewClientRequest("Acme", "u:li");
    req.mutable_client()->set_phone("13800138000");
    auto c = env.domain->CreateClient(req);
    ASSERT_TRUE(c.ok()) << c.status();
    client_id = c->client_id();
    std::string etag = c->etag();
    for (const char* phone : {"13900139000", "13700137000"}) {
      v1::UpdateClientRequest up;
      up.mutable_client()->set_client_id(client_id);
      up.mutable_client()->set_phone(phone);
      up.mutable_update_mask()->add_paths("phone");
      up.set_etag(etag);
      *up.mutable_actor() = MakeActor("u:zhang", "new number");
      auto r = env.domain->UpdateClient(up);
      ASSERT_TRUE(r.ok()) << r.status();
      etag = r->etag();
    }
  }  // the "service" stops: the store is closed

  ToolRun ok = RunVerifyAudit(path);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("client " + client_id + ": ok (3 entries)"));
  EXPECT_THAT(ok.output, HasSubstr("OK: 1 checked, 0 broken"));

  {
    // Tamper with seq 2 directly in RocksDB: the recorded new phone number is replaced.
    auto storage = ::triad::testing::OpenServiceStorage(path, ColumnFamilies(), "triad/clients");
    RocksClientsRepository repo(storage->store.get());
    std::string key;
    v1::HistoryEntry entry;
    ASSERT_TRUE(repo.ScanHistory(false, client_id, "",
                                 [&](std::string_view k, const v1::HistoryEntry& e) {
                                   if (e.chain_seq() != 2) return true;
                                   key = std::string(k);
                                   entry = e;
                                   return false;
                                 })
                    .ok());
    ASSERT_FALSE(key.empty());
    entry.mutable_changes(0)->set_new_value("13500135000");
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put(storage->store->Cf(kCfHistory), key, entry.SerializeAsString()).ok());
    ASSERT_TRUE(storage->store->Write(b).ok());
  }

  ToolRun broken = RunVerifyAudit(path);
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_THAT(broken.output, HasSubstr("client " + client_id + ": BROKEN at seq 2"));
  // Only the by-client entry was changed: its by-actor copy no longer matches it either.
  EXPECT_THAT(broken.output, HasSubstr("actor u:zhang: BROKEN: its copy of client " + client_id));
  EXPECT_THAT(broken.output, HasSubstr("BROKEN: 2 checked, 2 broken"));
}

TEST(AuditToolTest, RefusesADirectoryWithoutAStore) {
  ::triad::testing::TempDir dir;
  ToolRun run = RunVerifyAudit(dir.Sub("nothing-here"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
}

}  // namespace
}  // namespace triad::clients
