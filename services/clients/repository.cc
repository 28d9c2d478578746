// Implements the RocksDB repository of the clients service and its key layout.
#include "services/clients/repository.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/clients/text_util.h"

namespace triad::clients {
namespace {

using storage::KeyBuilder;

const char* IndexTag(ClientIndex index) {
  switch (index) {
    case ClientIndex::kOwner:
      return "owner";
    case ClientIndex::kTeam:
      return "team";
    case ClientIndex::kStatus:
      return "status";
    case ClientIndex::kIndustry:
      return "industry";
    case ClientIndex::kRegion:
      return "region";
    case ClientIndex::kTier:
      return "tier";
    case ClientIndex::kTag:
      return "tag";
    case ClientIndex::kSearchName:
      return "name";
    case ClientIndex::kDupName:
      return "dup_name";
    case ClientIndex::kDupTaxId:
      return "dup_tax";
    case ClientIndex::kDupPhone:
      return "dup_phone";
    case ClientIndex::kDupEmailDomain:
      return "dup_email";
  }
  return "unknown";
}

// ClientRecordKey is the key of a client's record in the clients family.
std::string ClientRecordKey(std::string_view client_id) {
  return KeyBuilder().Str(client_id).Build();
}

std::string IndexKey(ClientIndex index, std::string_view value, std::string_view client_id) {
  return KeyBuilder().Str(IndexTag(index)).Str(value).Str(client_id).Build();
}

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

}  // namespace

std::vector<std::string> ColumnFamilies() {
  return {kCfClients, kCfClientIndex, kCfHistory, kCfRecords};
}

std::vector<std::pair<ClientIndex, std::string>> IndexEntries(const v1::Client& c) {
  std::vector<std::pair<ClientIndex, std::string>> out;
  if (c.status() == v1::CLIENT_STATUS_MERGED) return out;
  auto add = [&](ClientIndex index, std::string value) {
    if (!value.empty()) out.emplace_back(index, std::move(value));
  };
  add(ClientIndex::kOwner, c.owner_id());
  add(ClientIndex::kTeam, c.team_id());
  add(ClientIndex::kStatus, absl::StrCat(static_cast<int>(c.status())));
  add(ClientIndex::kIndustry, c.industry());
  add(ClientIndex::kRegion, c.region());
  add(ClientIndex::kTier, absl::StrCat(static_cast<int>(c.tier())));
  std::set<std::string> tags(c.tags().begin(), c.tags().end());
  for (const std::string& t : tags) add(ClientIndex::kTag, t);
  add(ClientIndex::kSearchName, NormalizeSearch(c.name()));
  add(ClientIndex::kDupName, NormalizeName(c.name()));
  add(ClientIndex::kDupTaxId, NormalizeTaxId(c.tax_id()));
  add(ClientIndex::kDupPhone, NormalizePhone(c.phone()));
  add(ClientIndex::kDupEmailDomain, EmailDomain(c.email()));
  return out;
}

std::string ContactKey(std::string_view client_id, std::string_view contact_id) {
  return KeyBuilder().Str("contact").Str(client_id).Str(contact_id).Build();
}
std::string ContactPrefix(std::string_view client_id) {
  return KeyBuilder().Str("contact").Str(client_id).Build();
}
std::string TouchpointKey(std::string_view client_id, std::string_view touchpoint_id) {
  return KeyBuilder().Str("touch").Str(client_id).Str(touchpoint_id).Build();
}
std::string TouchpointPrefix(std::string_view client_id) {
  return KeyBuilder().Str("touch").Str(client_id).Build();
}
std::string CaseKey(std::string_view case_id) {
  return KeyBuilder().Str("case").Str(case_id).Build();
}
std::string CaseByClientKey(std::string_view client_id, std::string_view case_id) {
  return KeyBuilder().Str("case_by_client").Str(client_id).Str(case_id).Build();
}
std::string CaseByClientPrefix(std::string_view client_id) {
  return KeyBuilder().Str("case_by_client").Str(client_id).Build();
}
std::string CaseSlaWatchKey(absl::Time due, std::string_view case_id) {
  return KeyBuilder().Str("case_sla").I64(Micros(due)).Str(case_id).Build();
}
std::string CaseSlaWatchPrefix() { return KeyBuilder().Str("case_sla").Build(); }
std::string CaseBreachedKey(std::string_view case_id) {
  return KeyBuilder().Str("case_breached").Str(case_id).Build();
}
std::string CaseBreachedPrefix() { return KeyBuilder().Str("case_breached").Build(); }
std::string FollowUpKey(std::string_view client_id, std::string_view follow_up_id) {
  return KeyBuilder().Str("fu").Str(client_id).Str(follow_up_id).Build();
}
std::string FollowUpPrefix(std::string_view client_id) {
  return KeyBuilder().Str("fu").Str(client_id).Build();
}
std::string FollowUpDueKey(absl::Time due, std::string_view client_id,
                           std::string_view follow_up_id) {
  return KeyBuilder().Str("fu_due").I64(Micros(due)).Str(client_id).Str(follow_up_id).Build();
}
std::string FollowUpDuePrefix() { return KeyBuilder().Str("fu_due").Build(); }
std::string HandoverKey(std::string_view handover_id) {
  return KeyBuilder().Str("handover").Str(handover_id).Build();
}
std::string HandoverRunningKey(std::string_view handover_id) {
  return KeyBuilder().Str("handover_running").Str(handover_id).Build();
}
std::string HandoverRunningPrefix() { return KeyBuilder().Str("handover_running").Build(); }
std::string RepeatBusinessKey(std::string_view client_id) {
  return KeyBuilder().Str("repeat").Str(client_id).Build();
}

std::string ImportJobKey(std::string_view request_id) {
  return KeyBuilder().Str("import_job").Str(request_id).Build();
}
std::string ImportRowKey(std::string_view request_id, int64_t row) {
  return KeyBuilder().Str("import_row").Str(request_id).I64(row).Build();
}
std::string ImportRowPrefix(std::string_view request_id) {
  return KeyBuilder().Str("import_row").Str(request_id).Build();
}

std::string OffboardingKey(std::string_view offboarding_id) {
  return KeyBuilder().Str("offboarding").Str(offboarding_id).Build();
}
std::string OffboardingPrefix() { return KeyBuilder().Str("offboarding").Build(); }
std::string OffboardingRunningKey(std::string_view offboarding_id) {
  return KeyBuilder().Str("offboarding_running").Str(offboarding_id).Build();
}
std::string OffboardingRunningPrefix() { return KeyBuilder().Str("offboarding_running").Build(); }
std::string OffboardingByPersonKey(std::string_view person_id, std::string_view offboarding_id) {
  return KeyBuilder().Str("offboarding_by_person").Str(person_id).Str(offboarding_id).Build();
}
std::string OffboardingByPersonPrefix(std::string_view person_id) {
  return KeyBuilder().Str("offboarding_by_person").Str(person_id).Build();
}
std::string InactivePersonKey(std::string_view person_id) {
  return KeyBuilder().Str("inactive_person").Str(person_id).Build();
}
std::string InactivePersonPrefix() { return KeyBuilder().Str("inactive_person").Build(); }
std::string CaseByAssigneeKey(std::string_view assignee_id, std::string_view case_id) {
  return KeyBuilder().Str("case_by_assignee").Str(assignee_id).Str(case_id).Build();
}
std::string CaseByAssigneePrefix(std::string_view assignee_id) {
  return KeyBuilder().Str("case_by_assignee").Str(assignee_id).Build();
}
std::string CaseAssigneeIndexMarkerKey() { return KeyBuilder().Str("case_by_assignee_v1").Build(); }

std::string LastComponent(std::string_view key) {
  storage::KeyReader reader(key);
  std::string last;
  while (!reader.done()) {
    absl::StatusOr<std::string> s = reader.Str();
    if (!s.ok()) return "";
    last = *std::move(s);
  }
  return last;
}

RocksClientsRepository::RocksClientsRepository(storage::Store* store)
    : store_(store), history_seq_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))) {}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RocksClientsRepository::Cf(const char* name) const {
  rocksdb::ColumnFamilyHandle* cf = store_->Cf(name);
  if (cf == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("store has no column family ", name));
  }
  return cf;
}

absl::StatusOr<v1::Client> RocksClientsRepository::GetClient(std::string_view client_id) const {
  ASSIGN_OR_RETURN(std::string value, store_->Get(kCfClients, ClientRecordKey(client_id)));
  v1::Client client;
  if (!client.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("client ", std::string(client_id), " does not decode"));
  }
  return client;
}

absl::StatusOr<std::vector<std::optional<v1::Client>>> RocksClientsRepository::GetClients(
    const std::vector<std::string>& client_ids) const {
  std::vector<std::string> keys;
  keys.reserve(client_ids.size());
  for (const std::string& id : client_ids) keys.push_back(ClientRecordKey(id));
  ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                   store_->MultiGet(kCfClients, keys));
  std::vector<std::optional<v1::Client>> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].has_value()) continue;
    if (!out[i].emplace().ParseFromString(*values[i])) {
      return absl::DataLossError(absl::StrCat("client ", client_ids[i], " does not decode"));
    }
  }
  return out;
}

absl::Status RocksClientsRepository::PutClient(rocksdb::WriteBatch& batch, const v1::Client* before,
                                               const v1::Client& after) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * clients, Cf(kCfClients));
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * index, Cf(kCfClientIndex));
  std::set<std::string> old_keys;
  if (before != nullptr) {
    for (const auto& [kind, value] : IndexEntries(*before)) {
      old_keys.insert(IndexKey(kind, value, before->client_id()));
    }
  }
  std::set<std::string> new_keys;
  std::string owner_key;  // The entry that carries a copy of the client.
  for (const auto& [kind, value] : IndexEntries(after)) {
    std::string key = IndexKey(kind, value, after.client_id());
    if (kind == ClientIndex::kOwner) owner_key = key;
    new_keys.insert(std::move(key));
  }
  const std::string record = after.SerializeAsString();
  for (const std::string& k : old_keys) {
    if (!new_keys.count(k)) RETURN_IF_ERROR(storage::ToStatus(batch.Delete(index, k)));
  }
  for (const std::string& k : new_keys) {
    if (k == owner_key) {
      // Rewritten with every change, in the same batch as the record, so it never differs.
      RETURN_IF_ERROR(storage::ToStatus(batch.Put(index, k, record)));
    } else if (!old_keys.count(k)) {
      RETURN_IF_ERROR(storage::ToStatus(batch.Put(index, k, "")));
    }
  }
  return storage::ToStatus(batch.Put(clients, ClientRecordKey(after.client_id()), record));
}

absl::Status RocksClientsRepository::ScanClients(std::string_view after_key,
                                                 const ClientScanFn& fn) const {
  return store_->ScanPrefix(kCfClients, "", fn, after_key);
}

absl::Status RocksClientsRepository::ScanIndexValues(ClientIndex index, std::string_view value,
                                                     bool prefix, std::string_view after_key,
                                                     const storage::ScanFn& fn) const {
  KeyBuilder kb;
  kb.Str(IndexTag(index));
  if (prefix) {
    kb.StrPrefix(value);
  } else {
    kb.Str(value);
  }
  return store_->ScanPrefix(kCfClientIndex, kb.Build(), fn, after_key);
}

absl::Status RocksClientsRepository::ScanIndex(ClientIndex index, std::string_view value,
                                               bool prefix, std::string_view after_key,
                                               const IndexScanFn& fn) const {
  return ScanIndexValues(
      index, value, prefix, after_key,
      [&](std::string_view key, std::string_view) { return fn(key, LastComponent(key)); });
}

absl::Status RocksClientsRepository::ScanIndexedClients(ClientIndex index, std::string_view value,
                                                        bool prefix, std::string_view after_key,
                                                        size_t chunk,
                                                        const ClientScanFn& fn) const {
  chunk = std::max<size_t>(chunk, 1);
  // Entries with a copy are visited as the index is read, until the first entry without one;
  // from there on the chunk's entries wait for its batched lookup, to keep the order.
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> records;
  std::vector<std::string> missing;  // Record keys of entries without a copy.
  std::vector<size_t> missing_at;
  std::string after(after_key);
  std::string last;  // The last entry visited as read.
  while (true) {
    keys.clear();
    records.clear();
    missing.clear();
    missing_at.clear();
    size_t seen = 0;
    bool stopped = false;
    // take visits an entry with a copy at once, or keeps it for the batched lookup.
    auto take = [&](std::string_view key, std::string_view copy) {
      ++seen;
      if (missing.empty() && !copy.empty()) {
        if (!fn(key, copy)) {
          stopped = true;
          return false;
        }
        last.assign(key);
        return seen < chunk;
      }
      keys.emplace_back(key);
      if (copy.empty()) {
        missing.push_back(ClientRecordKey(LastComponent(key)));
        missing_at.push_back(records.size());
        records.emplace_back();
      } else {
        records.emplace_back(std::in_place, copy);
      }
      return seen < chunk;
    };
    RETURN_IF_ERROR(ScanIndexValues(index, value, prefix, after, take));

    if (stopped || seen == 0) return absl::OkStatus();
    if (!missing.empty()) {
      ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> read,
                       store_->MultiGet(kCfClients, missing));
      for (size_t i = 0; i < read.size(); ++i) records[missing_at[i]] = std::move(read[i]);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      // An entry whose record is gone (deleted between the two reads) is skipped.
      if (records[i].has_value() && !fn(keys[i], *records[i])) return absl::OkStatus();
    }
    if (seen < chunk) return absl::OkStatus();
    after = keys.empty() ? last : keys.back();
  }
}

namespace {

// PendingPut finds the last value a batch puts at `key` of column family `cf_id`.
class PendingPut : public rocksdb::WriteBatch::Handler {
 public:
  PendingPut(uint32_t cf_id, std::string_view key) : cf_id_(cf_id), key_(key) {}
  rocksdb::Status PutCF(uint32_t cf_id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    if (cf_id == cf_id_ && std::string_view(key.data(), key.size()) == key_)
      value_ = value.ToString();
    return rocksdb::Status::OK();
  }
  // The batch's other records are of no interest (the defaults refuse column families).
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  const std::optional<std::string>& value() const { return value_; }

 private:
  uint32_t cf_id_;
  std::string_view key_;
  std::optional<std::string> value_;
};

std::string HistoryKey(std::string_view kind, std::string_view id, int64_t micros, uint64_t seq) {
  return KeyBuilder().Str(kind).Str(id).I64(micros).U64(seq).Build();
}

}  // namespace

std::string ChainHeadKey(std::string_view client_id) {
  return KeyBuilder().Str("h").Str(client_id).Build();
}

absl::StatusOr<ChainHead> RocksClientsRepository::HistoryHead(rocksdb::WriteBatch& batch,
                                                              std::string_view client_id,
                                                              bool first_version) const {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Cf(kCfHistory));
  const std::string key = ChainHeadKey(client_id);
  // An entry of the same client earlier in this batch is the head.
  PendingPut pending(cf->GetID(), key);
  RETURN_IF_ERROR(storage::ToStatus(batch.Iterate(&pending)));
  if (pending.value()) return DecodeChainHead(*pending.value());
  absl::StatusOr<std::string> stored = store_->Get(kCfHistory, key);
  if (stored.ok()) return DecodeChainHead(*stored);
  if (!absl::IsNotFound(stored.status())) return stored.status();
  ChainHead head;
  // A new client's first entry starts its chain: only a client written before chaining existed
  // (so at a later version now) can have unchained entries, and a scan for them costs an
  // iterator per create.
  if (first_version) return head;
  // No chain yet: entries written before chaining (if any) come first, unchained.
  RETURN_IF_ERROR(store_->ScanPrefix(kCfHistory, KeyBuilder().Str("c").Str(client_id).Build(),
                                     [&](std::string_view, std::string_view) {
                                       ++head.seq;
                                       return true;
                                     }));
  return head;
}

absl::Status RocksClientsRepository::AddHistory(rocksdb::WriteBatch& batch,
                                                const v1::HistoryEntry& entry) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Cf(kCfHistory));
  ASSIGN_OR_RETURN(ChainHead head, HistoryHead(batch, entry.client_id(), entry.version() == 1));
  v1::HistoryEntry sealed = entry;
  SealHistoryEntry(sealed, head.seq + 1, head.hash);
  int64_t micros = absl::ToUnixMicros(util::FromProto(entry.time()));
  uint64_t seq = history_seq_.fetch_add(1);
  std::string value = sealed.SerializeAsString();
  RETURN_IF_ERROR(
      storage::ToStatus(batch.Put(cf, HistoryKey("c", entry.client_id(), micros, seq), value)));
  if (!entry.actor().id().empty()) {
    RETURN_IF_ERROR(
        storage::ToStatus(batch.Put(cf, HistoryKey("a", entry.actor().id(), micros, seq), value)));
  }
  return storage::ToStatus(batch.Put(cf, ChainHeadKey(entry.client_id()),
                                     EncodeChainHead({sealed.chain_seq(), sealed.entry_hash()})));
}

absl::Status RocksClientsRepository::RewriteHistory(rocksdb::WriteBatch& batch,
                                                    std::string_view key,
                                                    const v1::HistoryEntry& entry) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Cf(kCfHistory));
  storage::KeyReader reader(key);
  absl::StatusOr<std::string> kind = reader.Str();
  absl::StatusOr<std::string> id = kind.ok() ? reader.Str() : kind;
  absl::StatusOr<int64_t> micros = id.ok() ? reader.I64() : id.status();
  absl::StatusOr<uint64_t> seq = micros.ok() ? reader.U64() : micros.status();
  if (!seq.ok() || *kind != "c") {
    return absl::InvalidArgumentError("not a client history key");
  }
  const std::string value = entry.SerializeAsString();
  RETURN_IF_ERROR(storage::ToStatus(batch.Put(cf, std::string(key), value)));
  if (entry.actor().id().empty()) return absl::OkStatus();
  return storage::ToStatus(
      batch.Put(cf, HistoryKey("a", entry.actor().id(), *micros, *seq), value));
}

absl::Status RocksClientsRepository::ScanHistory(bool by_actor, std::string_view id,
                                                 std::string_view after_key,
                                                 const HistoryScanFn& fn) const {
  absl::Status inner;
  RETURN_IF_ERROR(store_->ScanPrefix(
      kCfHistory, KeyBuilder().Str(by_actor ? "a" : "c").Str(id).Build(),
      [&](std::string_view key, std::string_view value) {
        v1::HistoryEntry e;
        if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("history entry does not decode");
          return false;
        }
        return fn(key, e);
      },
      after_key));
  return inner;
}

absl::Status RocksClientsRepository::GetRecord(std::string_view key,
                                               google::protobuf::Message* msg) const {
  ASSIGN_OR_RETURN(std::string value, store_->Get(kCfRecords, key));
  if (!msg->ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat(msg->GetTypeName(), " record does not decode"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<bool>> RocksClientsRepository::GetRecords(
    const std::vector<std::string>& keys,
    const std::vector<google::protobuf::Message*>& msgs) const {
  if (keys.size() != msgs.size()) {
    return absl::InternalError("GetRecords: one message per key is required");
  }
  ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                   store_->MultiGet(kCfRecords, keys));
  std::vector<bool> found(values.size(), false);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].has_value()) continue;
    if (!msgs[i]->ParseFromString(*values[i])) {
      return absl::DataLossError(absl::StrCat(msgs[i]->GetTypeName(), " record does not decode"));
    }
    found[i] = true;
  }
  return found;
}

absl::Status RocksClientsRepository::PutRecord(rocksdb::WriteBatch& batch, std::string_view key,
                                               const google::protobuf::Message& msg) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Cf(kCfRecords));
  return storage::ToStatus(
      batch.Put(cf, rocksdb::Slice(key.data(), key.size()), msg.SerializeAsString()));
}

absl::Status RocksClientsRepository::PutMarker(rocksdb::WriteBatch& batch, std::string_view key) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Cf(kCfRecords));
  return storage::ToStatus(batch.Put(cf, rocksdb::Slice(key.data(), key.size()), ""));
}

absl::Status RocksClientsRepository::DeleteRecord(rocksdb::WriteBatch& batch,
                                                  std::string_view key) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Cf(kCfRecords));
  return storage::ToStatus(batch.Delete(cf, rocksdb::Slice(key.data(), key.size())));
}

absl::Status RocksClientsRepository::ScanRecords(
    std::string_view prefix, std::string_view after_key,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  return store_->ScanPrefix(kCfRecords, prefix, fn, after_key);
}

absl::Status RocksClientsRepository::ScanRecordRange(
    std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  return store_->ScanRange(kCfRecords, begin, end, fn);
}

}  // namespace triad::clients
