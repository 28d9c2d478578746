// Event origins: where the events of one ce_type may come from (the topic they are read from
// and the ce_source of their producer), taken from the event contracts (common/contracts), and
// the check the idempotent consumer runs on every event before it is applied. An event read
// from another topic, or carrying another producer's ce_source, is forged or misrouted: poison.
#ifndef TRIAD_COMMON_EVENTS_ORIGIN_H_
#define TRIAD_COMMON_EVENTS_ORIGIN_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triad::events {

// EventOrigin is where the events of one ce_type come from.
struct EventOrigin {
  // The topic they are published on.
  std::string topic;
  // The ce_source of their producer, e.g. "triad/pipeline".
  std::string source;
  // What reasons call the event: its payload message (triad.pipeline.v1.OpportunityWon) for a
  // contract, else the ce_type.
  std::string what;
};

// ContractOrigin returns the origin the contracts declare for ce_type `type`: the contract's
// topic and its producer's ce_source (contracts::SourceOf). NOT_FOUND when no contract declares
// the type.
absl::StatusOr<EventOrigin> ContractOrigin(std::string_view type);

// CheckOrigin returns OK when an event of ce_type `type` with ce_source `source`, read from
// `topic`, comes from `origin`; otherwise a permanent (poison) INVALID_ARGUMENT error whose
// message names the mismatch, e.g. "ce_source triad/x is not the producer of
// triad.pipeline.v1.OpportunityWon".
absl::Status CheckOrigin(const EventOrigin& origin, std::string_view type, std::string_view topic,
                         std::string_view source);

// ResolveOrigin returns the origin the consumer of `group` checks the events of a handled
// `type` against: `given` when set, else the contract's. A type without either is
// FAILED_PRECONDITION when `require_contract`, else accepted from anywhere (nullopt, with a
// warning in the log).
absl::StatusOr<std::optional<EventOrigin>> ResolveOrigin(std::string_view group,
                                                         std::string_view type,
                                                         std::optional<EventOrigin> given,
                                                         bool require_contract);

// CountOriginRejected counts one refused event of `type` in
// triad_consumer_origin_rejected_total{group,type}.
void CountOriginRejected(std::string_view group, std::string_view type);

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_ORIGIN_H_
