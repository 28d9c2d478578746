// The tamper-evident chain of the clients' field-level history (common/audit/chain.h applied to
// v1::HistoryEntry): sealing an entry before it is stored, erasing personal values from a
// stored entry without breaking its chain, and verifying every client's chain offline.
//
// Each client's history is one chain, ordered by HistoryEntry.chain_seq. The canonical bytes
// of an entry are its client id, action, actor id and reason, time, version, handover id and,
// per change, the field name and the salted digests of the old and new value. The head of each
// chain (its last seq and hash) is stored beside it ("h", client) in the history column family,
// so removing the newest entries is caught too.
#ifndef TRIAD_SERVICES_CLIENTS_HISTORY_CHAIN_H_
#define TRIAD_SERVICES_CLIENTS_HISTORY_CHAIN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/audit/chain.h"
#include "common/storage/store.h"
#include "triad/clients/v1/resources.pb.h"

namespace triad::clients {

// ChainHead is the last entry of a client's chain (seq 0 and "" for a chain not begun).
struct ChainHead {
  int64_t seq = 0;
  std::string hash;
};

// EncodeChainHead / DecodeChainHead convert the stored head record ("<seq> <hash>").
std::string EncodeChainHead(const ChainHead& head);
absl::StatusOr<ChainHead> DecodeChainHead(std::string_view value);

// SealHistoryEntry salts and digests every value of `entry` (keeping a digest already set),
// then sets its chain_seq to `seq` and its entry_hash from `prev_hash`.
void SealHistoryEntry(v1::HistoryEntry& entry, int64_t seq, std::string_view prev_hash);

// ErasePersonalValues blanks the values (and their salts) of the changes to `fields` in a
// stored entry, keeping their digests and marking them erased; true when anything changed.
bool ErasePersonalValues(v1::HistoryEntry& entry,
                         const std::function<bool(std::string_view)>& fields);

// StripForApi removes what the API does not return (the salts) from an entry.
void StripForApi(v1::HistoryEntry& entry);

// ToChained recomputes what the verifier needs of a stored entry: its canonical bytes, and a
// defect when a value still present no longer matches its digest.
audit::ChainedEntry ToChained(const v1::HistoryEntry& entry);

// AuditLineFn receives one report line per chain (and per problem found).
using AuditLineFn = std::function<void(const std::string& line)>;

// VerifyClientHistory walks every client's history chain in `store` (the clients service's
// store, opened offline) and reports one line per client ("client <id>: ok (...)" or
// "client <id>: BROKEN at seq N: why"). It also checks that every by-actor copy of an entry
// equals its by-client entry. Returns the number of broken chains (or an error when the store
// cannot be read).
absl::StatusOr<int> VerifyClientHistory(const storage::Store& store, const AuditLineFn& line);

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_HISTORY_CHAIN_H_
