// SeedClients: N client records with their index entries and history, written through
// RocksClientsRepository exactly as ClientsDomain::WriteClient writes them (PutClient, then
// AddHistory sealing the entry into the client's audit chain): "registered" for every client
// and, for three in four, "verified" (status COLLECTED -> VERIFIED). One WriteBatch per client
// (AddHistory looks for the client's chain head in its batch, so batches stay small).
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scale/seed.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/clients/domain_internal.h"
#include "services/clients/repository.h"

namespace triad::bench {
namespace {

using clients::v1::Client;

const char* const kIndustries[] = {"design institute", "engineering", "equipment", "energy",
                                   "healthcare",       "education",   "logistics", "water"};

// WriteVersion does what ClientsDomain::WriteClient does for `after` (the next version, etag,
// update time, the record with its index entries unless !put, the sealed history entry); the
// seeder writes each client once, so there are no earlier index entries to move.
absl::Status WriteVersion(clients::RocksClientsRepository& repo, rocksdb::WriteBatch& batch,
                          Client& after, const char* action, const common::v1::Actor& actor,
                          std::vector<clients::v1::FieldChange> changes, absl::Time now,
                          bool put = true) {
  after.set_version(after.version() + 1);
  after.set_etag(absl::StrCat(after.version()));
  *after.mutable_update_time() = util::ToProto(now);
  if (put) RETURN_IF_ERROR(repo.PutClient(batch, /*before=*/nullptr, after));
  clients::v1::HistoryEntry h;
  h.set_client_id(after.client_id());
  h.set_action(action);
  *h.mutable_actor() = actor;
  *h.mutable_time() = util::ToProto(now);
  for (auto& ch : changes) *h.add_changes() = std::move(ch);
  h.set_version(after.version());
  return repo.AddHistory(batch, h);
}

}  // namespace

absl::StatusOr<SeedStats> SeedClients(const SeedSpec& spec) {
  ASSIGN_OR_RETURN(SeedStore s,
                   OpenSeedStore(spec.data_dir, clients::ColumnFamilies(), "triad/clients"));
  clients::RocksClientsRepository repo(s.store.get());
  std::mt19937_64 rng(spec.seed);
  IdSample sample(spec.n);
  // Clients were registered over the last three years, oldest first.
  const absl::Duration span = absl::Hours(24 * 365 * 3);
  for (int64_t i = 0; i < spec.n; ++i) {
    const absl::Time created = spec.now - span + span * (static_cast<double>(i) / spec.n);
    const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(created));
    Client c;
    c.set_client_id(absl::StrFormat("cl_%012x%016x", millis & 0xFFFFFFFFFFFFull, rng()));
    c.set_name(absl::StrCat("Client ", i, " ", kIndustries[i % 8], " works"));
    c.set_tax_id(absl::StrFormat("91%016d", i));
    c.set_phone(absl::StrFormat("+86 10 %08d", i));
    c.set_email(absl::StrCat("contact", i, "@client", i, ".example"));
    c.set_address(absl::StrCat(i % 997, " Industrial Road, ", RegionOf(i)));
    c.set_owner_id(OwnerOf(i));
    c.set_team_id(TeamOf(i));
    c.set_industry(kIndustries[(i / 3) % 8]);
    c.set_region(RegionOf(i));
    c.set_tier(static_cast<clients::v1::ClientTier>(1 + rng() % 4));
    c.add_tags(absl::StrCat("segment-", i % 50));
    if (i % 5 == 0) c.add_tags("key-account");
    c.set_notes("Met at the regional trade fair; interested in retrofits.");
    c.set_status(clients::v1::CLIENT_STATUS_COLLECTED);
    *c.mutable_create_time() = util::ToProto(created);
    common::v1::Actor actor;
    actor.set_id(c.owner_id());
    c.set_created_by(actor.id());
    rocksdb::WriteBatch batch;
    const bool verified = i % 4 != 0;
    RETURN_IF_ERROR(WriteVersion(repo, batch, c, "registered", actor, clients::Diff(Client(), c),
                                 created, /*put=*/!verified));
    if (verified) {
      Client after = c;
      after.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
      after.set_completeness_score(80);
      std::vector<clients::v1::FieldChange> changes = {
          clients::Change("status", "CLIENT_STATUS_COLLECTED", "CLIENT_STATUS_VERIFIED"),
          clients::Change("completeness_score", "0", "80")};
      // The record and its index entries are put once, as they stand after both versions:
      // what putting the first version and then moving it to the second leaves readable.
      RETURN_IF_ERROR(WriteVersion(repo, batch, after, "verified", actor, std::move(changes),
                                   created + absl::Hours(24)));
    }
    RETURN_IF_ERROR(s.store->Write(batch));
    sample.Offer(i, c.client_id());
  }
  RETURN_IF_ERROR(sample.Write(spec.ids_path));
  RETURN_IF_ERROR(FinishSeedStore(s));
  SeedStats stats;
  stats.records = spec.n;
  stats.note = "repository path (PutClient + AddHistory, as WriteClient)";
  return stats;
}

}  // namespace triad::bench
