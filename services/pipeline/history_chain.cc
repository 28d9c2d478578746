// Implements the opportunities' history chain: sealing on append, verifying offline.
#include "services/pipeline/history_chain.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace triad::pipeline {
namespace {

constexpr char kOpportunitiesCf[] = "opportunities";

std::string Canonical(std::string_view opportunity_id, const v1::HistoryEntry& e) {
  audit::Canonical c;
  c.Add("pipeline.opportunity.history.v1")
      .Add(opportunity_id)
      .AddInt(e.chain_seq())
      .AddInt(e.time().seconds())
      .AddInt(e.time().nanos())
      .Add(e.kind())
      .Add(e.detail())
      .Add(e.actor_id());
  return c.bytes();
}

}  // namespace

void SealLastHistoryEntry(v1::Opportunity& opp) {
  const int n = opp.history_size();
  if (n == 0) return;
  std::string prev;
  if (n >= 2) prev = opp.history(n - 2).entry_hash();
  v1::HistoryEntry* e = opp.mutable_history(n - 1);
  // After entries stored before chaining, the chain starts here (prev = "").
  e->set_chain_seq(n);
  e->set_entry_hash(audit::EntryHash(prev, Canonical(opp.id(), *e)));
}

absl::StatusOr<int> VerifyOpportunityHistory(const storage::Store& store,
                                             const std::function<void(const std::string&)>& line) {
  if (store.Cf(kOpportunitiesCf) == nullptr) {
    return absl::FailedPreconditionError("the store has no opportunities column family");
  }
  int broken = 0;
  RETURN_IF_ERROR(
      store.ScanPrefix(kOpportunitiesCf, "", [&](std::string_view key, std::string_view value) {
        v1::Opportunity opp;
        if (!opp.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          ++broken;
          line(absl::StrCat("opportunity record of ", key.size(),
                            " key bytes: BROKEN: does not decode"));
          return true;
        }
        std::vector<audit::ChainedEntry> chain;
        for (const v1::HistoryEntry& e : opp.history()) {
          audit::ChainedEntry c;
          c.seq = e.chain_seq();
          c.stored_hash = e.entry_hash();
          c.canonical = Canonical(opp.id(), e);
          chain.push_back(std::move(c));
        }
        audit::ChainReport r = audit::VerifyChain(chain);
        if (!r.ok) ++broken;
        line(absl::StrCat("opportunity ", opp.id(), ": ", r.Summary()));
        return true;
      }));
  return broken;
}

}  // namespace triad::pipeline
