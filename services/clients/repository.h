// ClientsRepository: the one storage interface of the clients service, and its RocksDB
// implementation on storage::Store.
//
// Column families:
//   clients       client id -> Client
//   client_index  (kind, value, client id) -> "" : owner, team, status, industry, region, tier,
//                 tag, search name, and the duplicate keys (normalised name, tax id, phone,
//                 e-mail domain). Merged records have no index entries. An owner entry holds
//                 a copy of its client instead of "" (rewritten with the client in the same
//                 batch), so an owner's list reads the index alone; entries written before
//                 the copies existed are "" and read through the clients family.
//   history       ("c", client, time, seq) and ("a", actor, time, seq) -> HistoryEntry (sealed
//                 into the client's audit chain, see history_chain.h); ("h", client) -> the
//                 chain's head
//   records       typed records keyed by the helpers below: contacts, touchpoints, cases and
//                 their indexes, follow-ups and their due index, handovers, repeat business,
//                 progress of CSV imports running under a request id.
#ifndef TRIAD_SERVICES_CLIENTS_REPOSITORY_H_
#define TRIAD_SERVICES_CLIENTS_REPOSITORY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/store.h"
#include "rocksdb/write_batch.h"
#include "services/clients/history_chain.h"
#include "triad/clients/v1/resources.pb.h"

namespace triad::clients {

inline constexpr char kCfClients[] = "clients";
inline constexpr char kCfClientIndex[] = "client_index";
inline constexpr char kCfHistory[] = "history";
inline constexpr char kCfRecords[] = "records";

// ColumnFamilies lists the service's own column families (the runtime adds outbox/inbox/requests).
std::vector<std::string> ColumnFamilies();

// ClientIndex names one secondary index of clients.
enum class ClientIndex {
  kOwner,
  kTeam,
  kStatus,
  kIndustry,
  kRegion,
  kTier,
  kTag,
  kSearchName,
  kDupName,
  kDupTaxId,
  kDupPhone,
  kDupEmailDomain,
};

// IndexScanFn receives an index key (in order) and the client id it points to; ClientScanFn
// receives a key and the client's stored encoding (a v1::Client, valid during the call);
// HistoryScanFn receives a key and its decoded value. Returning false stops a scan.
using IndexScanFn = std::function<bool(std::string_view key, std::string_view client_id)>;
using ClientScanFn = std::function<bool(std::string_view key, std::string_view record)>;
using HistoryScanFn = std::function<bool(std::string_view key, const v1::HistoryEntry& entry)>;

class ClientsRepository {
 public:
  virtual ~ClientsRepository() = default;

  // GetClient reads one client; NotFound when there is none.
  virtual absl::StatusOr<v1::Client> GetClient(std::string_view client_id) const = 0;

  // GetClients reads many clients in one batched lookup: one entry per id, in order, nullopt
  // where there is none.
  virtual absl::StatusOr<std::vector<std::optional<v1::Client>>> GetClients(
      const std::vector<std::string>& client_ids) const = 0;

  // PutClient writes `after` into `batch` and moves its index entries from those of `before`
  // (nullptr for a new record) to those of `after`.
  virtual absl::Status PutClient(rocksdb::WriteBatch& batch, const v1::Client* before,
                                 const v1::Client& after) = 0;

  // ScanClients visits every client in id order, after `after_key` when it is non-empty.
  virtual absl::Status ScanClients(std::string_view after_key, const ClientScanFn& fn) const = 0;

  // ScanIndex visits the clients whose `index` value equals `value` (or, with `prefix`, starts
  // with it), in key order after `after_key`.
  virtual absl::Status ScanIndex(ClientIndex index, std::string_view value, bool prefix,
                                 std::string_view after_key, const IndexScanFn& fn) const = 0;

  // ScanIndexedClients visits the clients that `index` names for `value` (or, with `prefix`,
  // for values starting with it) in index-key order after `after_key`, each with its index
  // key. The index is read `chunk` entries at a time; an owner entry's copy of its client is
  // used as is (visited while the index is read), the other entries' clients are read in one
  // batched lookup per chunk. An entry whose client is gone is skipped.
  virtual absl::Status ScanIndexedClients(ClientIndex index, std::string_view value, bool prefix,
                                          std::string_view after_key, size_t chunk,
                                          const ClientScanFn& fn) const = 0;

  // AddHistory seals a history entry into its client's audit chain (after the client's last
  // entry, also one earlier in `batch`) and writes it, findable by client and by actor.
  virtual absl::Status AddHistory(rocksdb::WriteBatch& batch, const v1::HistoryEntry& entry) = 0;

  // RewriteHistory replaces the stored by-client entry at `key` (a key ScanHistory gave) and
  // its by-actor copy with `entry` (used only to blank erased values; the chain is unchanged).
  virtual absl::Status RewriteHistory(rocksdb::WriteBatch& batch, std::string_view key,
                                      const v1::HistoryEntry& entry) = 0;

  // ScanHistory visits the history of one client (or, with `by_actor`, of one actor) oldest
  // first, after `after_key`.
  virtual absl::Status ScanHistory(bool by_actor, std::string_view id, std::string_view after_key,
                                   const HistoryScanFn& fn) const = 0;

  // GetRecord parses the record at `key` into `msg`; NotFound when absent.
  virtual absl::Status GetRecord(std::string_view key, google::protobuf::Message* msg) const = 0;

  // GetRecords parses the records at `keys` into `msgs` (one each, same order) in one batched
  // lookup; the answer tells which keys were present (the others' messages are untouched).
  virtual absl::StatusOr<std::vector<bool>> GetRecords(
      const std::vector<std::string>& keys,
      const std::vector<google::protobuf::Message*>& msgs) const = 0;

  // PutRecord writes a record (an empty message serialises to an index marker).
  virtual absl::Status PutRecord(rocksdb::WriteBatch& batch, std::string_view key,
                                 const google::protobuf::Message& msg) = 0;

  // PutMarker writes an index entry with an empty value.
  virtual absl::Status PutMarker(rocksdb::WriteBatch& batch, std::string_view key) = 0;

  // DeleteRecord deletes a record or marker.
  virtual absl::Status DeleteRecord(rocksdb::WriteBatch& batch, std::string_view key) = 0;

  // ScanRecords visits the records whose key starts with `prefix`, after `after_key`.
  virtual absl::Status ScanRecords(
      std::string_view prefix, std::string_view after_key,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;

  // ScanRecordRange visits the records with keys in [begin, end).
  virtual absl::Status ScanRecordRange(
      std::string_view begin, std::string_view end,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
};

// Record keys (in the "records" column family).
std::string ContactKey(std::string_view client_id, std::string_view contact_id);
std::string ContactPrefix(std::string_view client_id);
std::string TouchpointKey(std::string_view client_id, std::string_view touchpoint_id);
std::string TouchpointPrefix(std::string_view client_id);
std::string CaseKey(std::string_view case_id);
std::string CaseByClientKey(std::string_view client_id, std::string_view case_id);
std::string CaseByClientPrefix(std::string_view client_id);
std::string CaseSlaWatchKey(absl::Time due, std::string_view case_id);
std::string CaseSlaWatchPrefix();
std::string CaseBreachedKey(std::string_view case_id);
std::string CaseBreachedPrefix();
std::string FollowUpKey(std::string_view client_id, std::string_view follow_up_id);
std::string FollowUpPrefix(std::string_view client_id);
std::string FollowUpDueKey(absl::Time due, std::string_view client_id,
                           std::string_view follow_up_id);
std::string FollowUpDuePrefix();
std::string HandoverKey(std::string_view handover_id);
std::string HandoverRunningKey(std::string_view handover_id);
std::string HandoverRunningPrefix();
std::string RepeatBusinessKey(std::string_view client_id);
// CSV import progress under a request id: the job marker and one result per row.
std::string ImportJobKey(std::string_view request_id);
std::string ImportRowKey(std::string_view request_id, int64_t row);
std::string ImportRowPrefix(std::string_view request_id);
// Offboarding: the record, its running marker, its index by person, the inactive people, and
// the open cases by assignee (one marker per open assigned case).
std::string OffboardingKey(std::string_view offboarding_id);
std::string OffboardingPrefix();
std::string OffboardingRunningKey(std::string_view offboarding_id);
std::string OffboardingRunningPrefix();
std::string OffboardingByPersonKey(std::string_view person_id, std::string_view offboarding_id);
std::string OffboardingByPersonPrefix(std::string_view person_id);
std::string InactivePersonKey(std::string_view person_id);
std::string InactivePersonPrefix();
std::string CaseByAssigneeKey(std::string_view assignee_id, std::string_view case_id);
std::string CaseByAssigneePrefix(std::string_view assignee_id);
// The marker written once the case-by-assignee index covers every case.
std::string CaseAssigneeIndexMarkerKey();

// ChainHeadKey is the key of a client's chain head in the history column family.
std::string ChainHeadKey(std::string_view client_id);

// LastComponent reads the last component of a key made of string components only (the id it
// ends with); "" when the key has other components.
std::string LastComponent(std::string_view key);

// RocksClientsRepository is the RocksDB implementation.
class RocksClientsRepository : public ClientsRepository {
 public:
  // The store must have been opened with ColumnFamilies().
  explicit RocksClientsRepository(storage::Store* store);

  absl::StatusOr<v1::Client> GetClient(std::string_view client_id) const override;
  absl::StatusOr<std::vector<std::optional<v1::Client>>> GetClients(
      const std::vector<std::string>& client_ids) const override;
  absl::Status PutClient(rocksdb::WriteBatch& batch, const v1::Client* before,
                         const v1::Client& after) override;
  absl::Status ScanClients(std::string_view after_key, const ClientScanFn& fn) const override;
  absl::Status ScanIndex(ClientIndex index, std::string_view value, bool prefix,
                         std::string_view after_key, const IndexScanFn& fn) const override;
  absl::Status ScanIndexedClients(ClientIndex index, std::string_view value, bool prefix,
                                  std::string_view after_key, size_t chunk,
                                  const ClientScanFn& fn) const override;
  absl::Status AddHistory(rocksdb::WriteBatch& batch, const v1::HistoryEntry& entry) override;
  absl::Status RewriteHistory(rocksdb::WriteBatch& batch, std::string_view key,
                              const v1::HistoryEntry& entry) override;
  absl::Status ScanHistory(bool by_actor, std::string_view id, std::string_view after_key,
                           const HistoryScanFn& fn) const override;
  absl::Status GetRecord(std::string_view key, google::protobuf::Message* msg) const override;
  absl::StatusOr<std::vector<bool>> GetRecords(
      const std::vector<std::string>& keys,
      const std::vector<google::protobuf::Message*>& msgs) const override;
  absl::Status PutRecord(rocksdb::WriteBatch& batch, std::string_view key,
                         const google::protobuf::Message& msg) override;
  absl::Status PutMarker(rocksdb::WriteBatch& batch, std::string_view key) override;
  absl::Status DeleteRecord(rocksdb::WriteBatch& batch, std::string_view key) override;
  absl::Status ScanRecords(
      std::string_view prefix, std::string_view after_key,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const override;
  absl::Status ScanRecordRange(
      std::string_view begin, std::string_view end,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const override;

 private:
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Cf(const char* name) const;
  // HistoryHead is the head of a client's chain, counting an earlier put in `batch`. A client
  // at its first version (`first_version`) has no entries from before chaining to count.
  absl::StatusOr<ChainHead> HistoryHead(rocksdb::WriteBatch& batch, std::string_view client_id,
                                        bool first_version) const;
  // ScanIndexValues visits the entries of ScanIndex with their stored values.
  absl::Status ScanIndexValues(ClientIndex index, std::string_view value, bool prefix,
                               std::string_view after_key, const storage::ScanFn& fn) const;

  storage::Store* store_;
  std::atomic<uint64_t> history_seq_;
};

// IndexEntries lists the (index, value) pairs of a client (empty for a merged record).
std::vector<std::pair<ClientIndex, std::string>> IndexEntries(const v1::Client& client);

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_REPOSITORY_H_
