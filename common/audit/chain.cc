// Implements the audit chain: salts, value digests, canonical bytes, entry hashes, verification.
#include "common/audit/chain.h"

#include <openssl/rand.h>

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/util/digest.h"

namespace triad::audit {
namespace {

std::string Sha256Hex(std::string_view data) { return absl::BytesToHexString(util::Sha256(data)); }

void AppendPart(std::string& out, std::string_view part) {
  absl::StrAppend(&out, part.size(), ":");
  out.append(part.data(), part.size());
}

}  // namespace

std::string NewSalt() { return NewSalts(1).front(); }

std::vector<std::string> NewSalts(size_t n) {
  constexpr size_t kSaltBytes = 16;
  std::vector<std::string> salts;
  if (n == 0) return salts;
  salts.reserve(n);
  std::string raw(n * kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
    // The CSPRNG failed (it does not on Linux): fall back to digests of the time, the address
    // and the index, still unique per salt; a salt only has to be unguessable after the value
    // is erased.
    for (size_t i = 0; i < n; ++i) {
      std::string seed = absl::StrCat(reinterpret_cast<uintptr_t>(raw.data()), "|",
                                      absl::ToUnixNanos(absl::Now()), "|", i);
      salts.push_back(Sha256Hex(seed).substr(0, 2 * kSaltBytes));
    }
    return salts;
  }
  for (size_t i = 0; i < n; ++i) {
    salts.push_back(
        absl::BytesToHexString(absl::string_view(raw.data() + i * kSaltBytes, kSaltBytes)));
  }
  return salts;
}

std::string ValueDigest(std::string_view salt, std::string_view value) {
  if (salt.empty() && value.empty()) return "";
  std::string data;
  AppendPart(data, salt);
  AppendPart(data, value);
  return Sha256Hex(data);
}

Canonical& Canonical::Add(std::string_view part) {
  AppendPart(bytes_, part);
  return *this;
}

Canonical& Canonical::AddInt(int64_t value) { return Add(absl::StrCat(value)); }

std::string EntryHash(std::string_view prev_hash, std::string_view canonical) {
  std::string data;
  AppendPart(data, prev_hash);
  data.append(canonical.data(), canonical.size());
  return Sha256Hex(data);
}

std::string ChainReport::Summary() const {
  if (!ok) return absl::StrCat("BROKEN at seq ", broken_seq, ": ", reason);
  if (unchained > 0) {
    return absl::StrCat("ok (", chained, " entries, unchained before seq ", unchained + 1, ")");
  }
  return absl::StrCat("ok (", chained, " entries)");
}

ChainReport VerifyChain(const std::vector<ChainedEntry>& entries, int64_t head_seq,
                        std::string_view head_hash) {
  ChainReport r;
  auto fail = [&](int64_t seq, std::string why) {
    r.ok = false;
    r.broken_seq = seq;
    r.reason = std::move(why);
    return r;
  };
  std::string prev;
  int64_t expected = 0;  // the seq the next chained entry must carry; 0 before the first
  int64_t position = 0;  // 1-based position of the entry in the stored order
  for (const ChainedEntry& e : entries) {
    ++position;
    if (e.stored_hash.empty()) {
      if (expected != 0) return fail(position, "an unchained entry follows the chain");
      ++r.unchained;
      continue;
    }
    if (expected == 0) {
      expected = r.unchained + 1;
      if (e.seq != expected && e.seq > 0) {
        return fail(expected, absl::StrCat("the chain starts at seq ", e.seq, " after ",
                                           r.unchained, " unchained entries (entries removed)"));
      }
    }
    if (e.seq != expected) {
      return fail(expected, absl::StrCat("entry seq ", e.seq, " found where seq ", expected,
                                         " belongs (an entry is missing or moved)"));
    }
    if (!e.defect.empty()) return fail(e.seq, e.defect);
    if (EntryHash(prev, e.canonical) != e.stored_hash) {
      return fail(e.seq, "the entry's hash does not match its contents and predecessor");
    }
    prev = e.stored_hash;
    ++expected;
    ++r.chained;
  }
  if (head_seq >= 0) {
    const int64_t last = expected == 0 ? 0 : expected - 1;
    if (head_seq != last || head_hash != prev) {
      return fail(head_seq, absl::StrCat("the chain head names seq ", head_seq,
                                         " but the entries end at seq ", last,
                                         " (entries were removed or added)"));
    }
  }
  return r;
}

}  // namespace triad::audit
