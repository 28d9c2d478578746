// Helpers shared by the .cc files that implement Pipeline (playbook versions, signals, leads,
// opportunities, stage flow, gates, client replica, open deals, funnel report, consumed events):
// event types, the index key layout and small opportunity helpers. Private to the domain:
// nothing outside services/pipeline/*.cc includes it.
#ifndef TRIAD_SERVICES_PIPELINE_PIPELINE_INTERNAL_H_
#define TRIAD_SERVICES_PIPELINE_PIPELINE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/api/validation.h"
#include "common/util/proto_time.h"
#include "services/pipeline/repository.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"

namespace triad::pipeline {

// Shorthands of the domain's implementation files (this header is internal to them).
using api::InvalidField;
using util::FromProto;
using util::ToProto;

// The service name in event types.

// Marker written once the list indexes cover every record (see BackfillListIndexes).
inline constexpr char kListIndexMarker[] = "~lists-v1";

// Index keys (Kind::kIndex): opportunities of a client, open deals, clients with a won deal,
// merge redirects.
std::string ClientOppKey(std::string_view client, std::string_view opp);
std::string ClientOppPrefix(std::string_view client);
std::string OpenKey(std::string_view opp);
std::string WonClientKey(std::string_view client);
std::string RedirectKey(std::string_view client);

// List indexes (Kind::kList): the key ends with the record id, after the prefix.
std::string OwnerOppPrefix(std::string_view owner);
std::string LineOppPrefix(std::string_view line);
std::string StageOppPrefix(std::string_view stage);
std::string StateOppPrefix(int state);
std::string OwnerLeadPrefix(std::string_view owner);
std::string StateLeadPrefix(int state);
std::string RegionSignalPrefix(std::string_view region);
// WithId appends a record id to a list-index prefix.
std::string WithId(const std::string& prefix, std::string_view id);

// IndexEntries lists the index entries of a record (sorted).
using IndexEntries = std::vector<std::pair<Kind, std::string>>;
IndexEntries OppIndexEntries(const v1::Opportunity& opp);
IndexEntries LeadIndexEntries(const v1::Lead& lead);

// IdAfter reads the record id that follows `prefix` in an index key ("" when malformed).
std::string IdAfter(std::string_view key, size_t prefix_size);

// RepeatDim is the funnel dimension value of a (non-)repeat client.
int RepeatDim(bool repeat);

// Weighted is a value weighted by a win probability, rounded.
int64_t Weighted(int64_t value, double probability);

// AddHistory appends a history entry to an opportunity, sealed into its audit chain.
v1::HistoryEntry* AddHistory(v1::Opportunity& opp, absl::Time now, std::string kind,
                             std::string detail, std::string_view actor);

// AwaitsAnswer is true when the gate of an open deal was requested and is not open yet
// (REQUESTED or HELD): only then does a verdict or answer change it.
bool AwaitsAnswer(const v1::Opportunity& opp, std::string_view gate_id);

// MaxReachedIndex is the index of the furthest stage an opportunity has entered (-1: none).
int MaxReachedIndex(const v1::Playbook& pb, const v1::Opportunity& opp);

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_PIPELINE_INTERNAL_H_
