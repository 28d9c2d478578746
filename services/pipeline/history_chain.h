// The tamper-evident chain of an opportunity's history (common/audit/chain.h applied to
// Opportunity.history): every entry is sealed as it is appended, and the history of every
// opportunity in a pipeline store can be verified offline.
//
// The history's entries hold system text and ids (kinds, stage and owner moves, the actor's
// reason), no personal values of clients, so the chain covers the values themselves. Entries
// stored before chaining (no hash) may only precede the chained ones.
#ifndef TRIAD_SERVICES_PIPELINE_HISTORY_CHAIN_H_
#define TRIAD_SERVICES_PIPELINE_HISTORY_CHAIN_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/audit/chain.h"
#include "common/storage/store.h"
#include "triad/pipeline/v1/resources.pb.h"

namespace triad::pipeline {

// SealLastHistoryEntry sets the chain_seq and entry_hash of the opportunity's newest history
// entry from the entry before it.
void SealLastHistoryEntry(v1::Opportunity& opp);

// VerifyOpportunityHistory walks the history chain of every opportunity in `store` (the
// pipeline service's store, opened offline) and reports one line per opportunity
// ("opportunity <id>: ok (...)" or "opportunity <id>: BROKEN at seq N: why"). Returns the
// number of broken chains.
absl::StatusOr<int> VerifyOpportunityHistory(const storage::Store& store,
                                             const std::function<void(const std::string&)>& line);

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_HISTORY_CHAIN_H_
