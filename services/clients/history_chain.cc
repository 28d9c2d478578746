// Implements the clients' history chain: sealing, erasing values, verifying offline.
#include "services/clients/history_chain.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "services/clients/repository.h"

namespace triad::clients {
namespace {

std::string Canonical(const v1::HistoryEntry& e) {
  audit::Canonical c;
  c.Add("clients.history.v1")
      .AddInt(e.chain_seq())
      .Add(e.client_id())
      .Add(e.action())
      .Add(e.actor().id())
      .Add(e.actor().reason())
      .AddInt(e.time().seconds())
      .AddInt(e.time().nanos())
      .AddInt(e.version())
      .Add(e.handover_id())
      .AddInt(e.changes_size());
  for (const v1::FieldChange& ch : e.changes()) {
    c.Add(ch.field()).Add(ch.old_value_digest()).Add(ch.new_value_digest());
  }
  return c.bytes();
}

// NeedsDigest says whether a recorded value still lacks its salt and digest ("" has none).
bool NeedsDigest(const std::string& value, const std::string& digest) {
  return digest.empty() && !value.empty();
}

// Digest fills a value's salt (the next of `salts`) and digest unless it needs none.
void Digest(const std::string& value, std::string* salt, std::string* digest,
            std::vector<std::string>::iterator& salts) {
  if (!NeedsDigest(value, *digest)) return;
  *salt = std::move(*salts++);
  *digest = audit::ValueDigest(*salt, value);
}

// CheckValue says what is wrong with a stored value and its digest ("" when it matches).
std::string CheckValue(const v1::FieldChange& ch, std::string_view which, const std::string& value,
                       const std::string& salt, const std::string& digest) {
  if (value.empty() && salt.empty()) {
    if (digest.empty() || ch.erased()) return "";
    return absl::StrCat(std::string(which), " value of ", ch.field(),
                        " is blank but not marked erased (it was removed)");
  }
  if (audit::ValueDigest(salt, value) != digest) {
    return absl::StrCat(std::string(which), " value of ", ch.field(), " does not match its digest");
  }
  return "";
}

}  // namespace

std::string EncodeChainHead(const ChainHead& head) {
  return absl::StrCat(head.seq, " ", head.hash);
}

absl::StatusOr<ChainHead> DecodeChainHead(std::string_view value) {
  const size_t space = value.find(' ');
  ChainHead h;
  if (space == std::string_view::npos ||
      !absl::SimpleAtoi(std::string(value.substr(0, space)), &h.seq) || h.seq < 0) {
    return absl::DataLossError("history chain head does not decode");
  }
  h.hash = std::string(value.substr(space + 1));
  return h;
}

void SealHistoryEntry(v1::HistoryEntry& entry, int64_t seq, std::string_view prev_hash) {
  size_t wanted = 0;
  for (const v1::FieldChange& ch : entry.changes()) {
    wanted += NeedsDigest(ch.old_value(), ch.old_value_digest()) +
              NeedsDigest(ch.new_value(), ch.new_value_digest());
  }
  std::vector<std::string> salts = audit::NewSalts(wanted);
  auto next = salts.begin();
  for (v1::FieldChange& ch : *entry.mutable_changes()) {
    Digest(ch.old_value(), ch.mutable_old_value_salt(), ch.mutable_old_value_digest(), next);
    Digest(ch.new_value(), ch.mutable_new_value_salt(), ch.mutable_new_value_digest(), next);
  }
  entry.set_chain_seq(seq);
  entry.set_entry_hash(audit::EntryHash(prev_hash, Canonical(entry)));
}

bool ErasePersonalValues(v1::HistoryEntry& entry,
                         const std::function<bool(std::string_view)>& fields) {
  bool changed = false;
  for (v1::FieldChange& ch : *entry.mutable_changes()) {
    if (!fields(ch.field())) continue;
    if (ch.old_value().empty() && ch.new_value().empty() && ch.old_value_salt().empty() &&
        ch.new_value_salt().empty()) {
      continue;
    }
    if (entry.entry_hash().empty()) {
      // A legacy entry has no digests to keep: blanking it is all erasure can do.
      ch.clear_old_value_digest();
      ch.clear_new_value_digest();
    }
    ch.clear_old_value();
    ch.clear_new_value();
    ch.clear_old_value_salt();
    ch.clear_new_value_salt();
    ch.set_erased(true);
    changed = true;
  }
  return changed;
}

void StripForApi(v1::HistoryEntry& entry) {
  for (v1::FieldChange& ch : *entry.mutable_changes()) {
    ch.clear_old_value_salt();
    ch.clear_new_value_salt();
  }
}

audit::ChainedEntry ToChained(const v1::HistoryEntry& entry) {
  audit::ChainedEntry c;
  c.seq = entry.chain_seq();
  c.stored_hash = entry.entry_hash();
  c.canonical = Canonical(entry);
  if (c.stored_hash.empty()) return c;
  for (const v1::FieldChange& ch : entry.changes()) {
    std::string d =
        CheckValue(ch, "old", ch.old_value(), ch.old_value_salt(), ch.old_value_digest());
    if (d.empty()) {
      d = CheckValue(ch, "new", ch.new_value(), ch.new_value_salt(), ch.new_value_digest());
    }
    if (!d.empty()) {
      c.defect = std::move(d);
      break;
    }
  }
  return c;
}

absl::StatusOr<int> VerifyClientHistory(const storage::Store& store, const AuditLineFn& line) {
  if (store.Cf(kCfHistory) == nullptr) {
    return absl::FailedPreconditionError("the store has no history column family");
  }
  struct Stored {
    v1::HistoryEntry entry;
    std::string bytes;
  };
  std::map<std::string, std::vector<Stored>> by_client;
  std::map<std::string, ChainHead> heads;
  std::vector<std::pair<std::string, Stored>> actor_copies;  // (actor key, entry)
  int broken = 0;
  absl::Status inner;
  RETURN_IF_ERROR(
      store.ScanPrefix(kCfHistory, "", [&](std::string_view key, std::string_view value) {
        storage::KeyReader reader(key);
        absl::StatusOr<std::string> kind = reader.Str();
        absl::StatusOr<std::string> id = kind.ok() ? reader.Str() : kind;
        if (!kind.ok() || !id.ok()) {
          line(absl::StrCat("history key does not decode (", key.size(), " bytes)"));
          ++broken;
          return true;
        }
        if (*kind == "h") {
          absl::StatusOr<ChainHead> h = DecodeChainHead(value);
          if (!h.ok()) {
            line(absl::StrCat("client ", *id, ": BROKEN: its chain head does not decode"));
            ++broken;
          } else {
            heads[*id] = *std::move(h);
          }
          return true;
        }
        Stored s;
        s.bytes = std::string(value);
        if (!s.entry.ParseFromString(s.bytes)) {
          line(absl::StrCat(*kind == "c" ? "client " : "actor ", *id,
                            ": BROKEN: a history entry does not decode"));
          ++broken;
          return true;
        }
        if (*kind == "c") {
          by_client[*id].push_back(std::move(s));
        } else if (*kind == "a") {
          actor_copies.emplace_back(*id, std::move(s));
        }
        return true;
      }));
  RETURN_IF_ERROR(inner);
  std::map<std::pair<std::string, int64_t>, const Stored*> chained;
  for (auto& [client, entries] : by_client) {
    // Chain order: legacy entries (seq 0) first in key order, then by seq.
    std::stable_sort(entries.begin(), entries.end(), [](const Stored& a, const Stored& b) {
      return a.entry.chain_seq() < b.entry.chain_seq();
    });
    std::vector<audit::ChainedEntry> chain;
    for (const Stored& s : entries) {
      if (s.entry.client_id() != client) {
        audit::ChainedEntry bad = ToChained(s.entry);
        bad.defect = "the entry names another client";
        chain.push_back(std::move(bad));
        continue;
      }
      chain.push_back(ToChained(s.entry));
      if (s.entry.chain_seq() > 0) chained[{client, s.entry.chain_seq()}] = &s;
    }
    auto head = heads.find(client);
    audit::ChainReport r = head == heads.end()
                               ? audit::VerifyChain(chain)
                               : audit::VerifyChain(chain, head->second.seq, head->second.hash);
    if (r.ok && head == heads.end() && r.chained > 0) {
      r.ok = false;
      r.broken_seq = r.unchained + r.chained;
      r.reason = "the chain has no head record (it was removed)";
    }
    if (!r.ok) ++broken;
    line(absl::StrCat("client ", client, ": ", r.Summary()));
  }
  for (const auto& [client, head] : heads) {
    if (!by_client.count(client) && head.seq > 0) {
      ++broken;
      line(absl::StrCat("client ", client, ": BROKEN at seq 1: the chain head names seq ", head.seq,
                        " but no entry is left"));
    }
  }
  for (const auto& [actor, s] : actor_copies) {
    if (s.entry.chain_seq() == 0) continue;
    auto it = chained.find({s.entry.client_id(), s.entry.chain_seq()});
    if (it == chained.end() || it->second->bytes != s.bytes) {
      ++broken;
      line(absl::StrCat("actor ", actor, ": BROKEN: its copy of client ", s.entry.client_id(),
                        " seq ", s.entry.chain_seq(), " differs from the client's chain"));
    }
  }
  return broken;
}

}  // namespace triad::clients
