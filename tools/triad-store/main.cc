// triad-store: the offline tool for a service's backups (taken online by
// AdminService.CreateBackup into the service's --backup_dir).
//
//   triad-store list    --backup_dir D
//       Lists the backups, oldest first: id, time, size, files, service, store sequence,
//       outbox rows pending and the consumers' stored offsets ("topic/partition" -> next).
//   triad-store verify  --backup_dir D [--backup_id N]
//       Checks every file of backup N (default: every backup) against its size and checksum.
//   triad-store restore --backup_dir D [--backup_id N] --data_dir X [--force]
//       Restores backup N (default: the newest) as the service's store in X. Refuses while X
//       is open (a running service holds its RocksDB LOCK) and refuses a non-empty X unless
//       --force, which moves the old X aside to X.replaced-<UTC time> (never deletes it). The
//       backup is restored into X.restoring and renamed into place.
//   triad-store verify-audit --data_dir X
//       Walks every audit chain in the store at X offline (the service stopped, or a backup
//       restored into a temporary directory): the clients' field-level history (one chain per
//       client) and the pipeline's opportunity history (one per opportunity). Prints one line
//       per chain, "ok (N entries[, unchained before seq M])" or "BROKEN at seq S: why", then a
//       summary; exits 1 when a chain is broken.
//
// After a restore, start the service on X: it publishes the outbox rows of the backup again
// (same ce_ids: consumers skip them) and reads its consumed topics again from the offsets
// stored in the backup, so it re-applies the events it had applied after the backup.
// Acknowledged gRPC writes made after the backup are lost. Exit status: 0 done, 1 failed,
// 2 bad usage.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/server/backups.h"
#include "common/storage/backup.h"
#include "common/storage/store.h"
#include "common/util/proto_time.h"
#include "services/clients/history_chain.h"
#include "services/pipeline/history_chain.h"

ABSL_FLAG(std::string, backup_dir, "", "The service's backup directory (required).");
ABSL_FLAG(uint32_t, backup_id, 0,
          "The backup (0: every backup for verify, the newest for restore).");
ABSL_FLAG(
    std::string, data_dir, "",
    "restore: the service's data directory to restore into; verify-audit: the store to check.");
ABSL_FLAG(bool, force, false, "restore: move a non-empty --data_dir aside instead of refusing.");

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "triad-store: %s\n", s.ToString().c_str());
  return 1;
}

std::string Describe(const triad::storage::BackupRecord& r) {
  absl::StatusOr<triad::admin::v1::Backup> b = triad::server::BackupFromRecord(r);
  std::string line = absl::StrCat(
      r.id, "\t", absl::FormatTime(absl::RFC3339_sec, r.create_time, absl::UTCTimeZone()), "\t",
      r.size_bytes, " bytes\t", r.file_count, " files");
  if (!b.ok()) return absl::StrCat(line, "\t(metadata does not decode)");
  std::vector<std::string> offsets;
  for (const auto& [key, next] : b->consumer_offsets())
    offsets.push_back(absl::StrCat(key, "=", next));
  std::sort(offsets.begin(), offsets.end());
  return absl::StrCat(line, "\tservice=", b->service(), "\tsequence=", b->sequence(),
                      "\toutbox_pending=", b->outbox_pending(),
                      "\toffsets=", offsets.empty() ? "-" : absl::StrJoin(offsets, ","));
}

int List(const std::string& backup_dir) {
  auto dir = triad::storage::BackupDir::OpenReadOnly(backup_dir);
  if (!dir.ok()) return Fail(dir.status());
  auto records = (*dir)->List();
  if (!records.ok()) return Fail(records.status());
  for (const auto& r : *records) std::printf("%s\n", Describe(r).c_str());
  if (records->empty()) std::fprintf(stderr, "triad-store: no backups in %s\n", backup_dir.c_str());
  return 0;
}

int Verify(const std::string& backup_dir, uint32_t id) {
  auto dir = triad::storage::BackupDir::OpenReadOnly(backup_dir);
  if (!dir.ok()) return Fail(dir.status());
  std::vector<uint32_t> ids;
  if (id != 0) {
    ids.push_back(id);
  } else {
    auto records = (*dir)->List();
    if (!records.ok()) return Fail(records.status());
    for (const auto& r : *records) ids.push_back(r.id);
  }
  int failed = 0;
  for (uint32_t i : ids) {
    absl::Status s = (*dir)->Verify(i);
    std::printf("%u\t%s\n", i, s.ok() ? "ok" : s.ToString().c_str());
    failed += s.ok() ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

int Restore(const std::string& backup_dir, uint32_t id, const std::string& data_dir, bool force) {
  auto done = triad::storage::RestoreBackup(backup_dir, id, data_dir, force);
  if (!done.ok()) return Fail(done.status());
  if (!done->moved_aside.empty()) {
    std::printf("moved the old %s aside to %s\n", data_dir.c_str(), done->moved_aside.c_str());
  }
  std::printf("restored backup %u into %s\n", done->backup_id, data_dir.c_str());
  return 0;
}

int VerifyAudit(const std::string& data_dir) {
  triad::storage::StoreOptions options;
  options.path = data_dir;
  options.frozen_copy = true;  // never creates a database, compacts nothing
  options.block_cache_bytes = 8 << 20;
  auto store = triad::storage::Store::Open(options);
  if (!store.ok()) return Fail(store.status());
  int broken = 0;
  int chains = 0;
  bool any = false;
  auto line = [&](const std::string& text) {
    ++chains;
    std::printf("%s\n", text.c_str());
  };
  if ((*store)->Cf("history") != nullptr) {
    any = true;
    auto n = triad::clients::VerifyClientHistory(**store, line);
    if (!n.ok()) return Fail(n.status());
    broken += *n;
  }
  if ((*store)->Cf("opportunities") != nullptr) {
    any = true;
    auto n = triad::pipeline::VerifyOpportunityHistory(**store, line);
    if (!n.ok()) return Fail(n.status());
    broken += *n;
  }
  if (!any) {
    std::fprintf(stderr, "triad-store: %s holds no audit history (neither clients nor pipeline)\n",
                 data_dir.c_str());
    return 1;
  }
  std::printf("%s: %d checked, %d broken\n", broken == 0 ? "OK" : "BROKEN", chains, broken);
  return broken == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "triad-store list|verify|restore --backup_dir D [--backup_id N] [--data_dir X --force] | "
      "verify-audit --data_dir X "
      "(see tools/triad-store/README.md)");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr, "%s\n", absl::ProgramUsageMessage().data());
    return 2;
  }
  const std::string command = args[1];
  if (command == "verify-audit") {
    if (absl::GetFlag(FLAGS_data_dir).empty()) {
      std::fprintf(stderr, "triad-store: verify-audit needs --data_dir\n");
      return 2;
    }
    return VerifyAudit(absl::GetFlag(FLAGS_data_dir));
  }
  const std::string backup_dir = absl::GetFlag(FLAGS_backup_dir);
  if (backup_dir.empty()) {
    std::fprintf(stderr, "triad-store: --backup_dir is required\n");
    return 2;
  }
  if (command == "list") return List(backup_dir);
  if (command == "verify") return Verify(backup_dir, absl::GetFlag(FLAGS_backup_id));
  if (command == "restore") {
    if (absl::GetFlag(FLAGS_data_dir).empty()) {
      std::fprintf(stderr, "triad-store: restore needs --data_dir\n");
      return 2;
    }
    return Restore(backup_dir, absl::GetFlag(FLAGS_backup_id), absl::GetFlag(FLAGS_data_dir),
                   absl::GetFlag(FLAGS_force));
  }
  std::fprintf(stderr, "triad-store: unknown command %s\n", command.c_str());
  return 2;
}
