// The tamper-evident audit chain shared by every service that keeps a history: salted digests
// of the values an entry records (so a value can be erased later without breaking the chain),
// the canonical bytes of an entry, the entry hash
// SHA-256(previous entry's hash || canonical bytes), and a verifier that walks one chain.
//
// A chain is the ordered entries of one audited record (a client, an opportunity). Its first
// chained entry has an empty previous hash. Entries written before chaining existed carry no
// hash: they may only come before the first chained entry (the chain then starts there and the
// verifier reports "unchained before seq N").
#ifndef TRIAD_COMMON_AUDIT_CHAIN_H_
#define TRIAD_COMMON_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace triad::audit {

// NewSalt returns a fresh random salt (16 bytes from the system's CSPRNG, hex encoded).
std::string NewSalt();

// NewSalts returns `n` fresh salts like NewSalt's, drawn from the CSPRNG in one call (a history
// entry salts every value it records; one draw per entry instead of one per value).
std::vector<std::string> NewSalts(size_t n);

// ValueDigest returns the hex SHA-256 of the salt and the value (length-prefixed, so no two
// (salt, value) pairs share their bytes). An empty value with an empty salt digests to "":
// nothing was recorded, so nothing needs to be erasable.
std::string ValueDigest(std::string_view salt, std::string_view value);

// Canonical builds the canonical bytes of an entry: each part length-prefixed, in the order
// added, so the bytes are unambiguous and independent of any serialisation library.
class Canonical {
 public:
  // Add appends a text or bytes part.
  Canonical& Add(std::string_view part);
  // AddInt appends an integer part (as decimal text).
  Canonical& AddInt(int64_t value);
  // bytes returns the canonical bytes built so far.
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// EntryHash returns the hex SHA-256 of the previous entry's hash (hex, "" for the first
// entry) and the entry's canonical bytes.
std::string EntryHash(std::string_view prev_hash, std::string_view canonical);

// ChainedEntry is what the verifier needs of one stored entry, in chain order.
struct ChainedEntry {
  // The entry's position in its chain, 1-based (0 for an unchained legacy entry).
  int64_t seq = 0;
  // The hash stored with the entry ("" for a legacy entry).
  std::string stored_hash;
  // The canonical bytes recomputed from the stored entry.
  std::string canonical;
  // Any inconsistency found while recomputing (e.g. a value that no longer matches its
  // digest); empty when none.
  std::string defect;
};

// ChainReport is the verdict on one chain.
struct ChainReport {
  bool ok = true;
  // The chained entries verified.
  int64_t chained = 0;
  // The legacy (unchained) entries before the first chained one.
  int64_t unchained = 0;
  // When !ok: the seq of the first broken entry and why.
  int64_t broken_seq = 0;
  std::string reason;
  // Text for a report line: "ok (N entries)", "ok (N entries, unchained before seq M)" or
  // "BROKEN at seq S: reason".
  std::string Summary() const;
};

// VerifyChain walks `entries` (in chain order) and checks every chained entry: seqs run on
// without a gap from the first chained entry, each hash is EntryHash of the previous entry's
// hash and the recomputed canonical bytes, no legacy entry follows a chained one, and, when
// `head_seq` / `head_hash` are given (the chain head stored beside the entries), the last
// entry is the head (so a truncated chain is caught).
ChainReport VerifyChain(const std::vector<ChainedEntry>& entries, int64_t head_seq = -1,
                        std::string_view head_hash = {});

}  // namespace triad::audit

#endif  // TRIAD_COMMON_AUDIT_CHAIN_H_
