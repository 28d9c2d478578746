// Implements the event origins from the contracts registry and the origin check.
#include "common/events/origin.h"

#include "absl/strings/str_cat.h"
#include "common/config/logging.h"
#include "common/contracts/registry.h"
#include "common/events/consumer.h"
#include "common/server/metrics.h"
#include "prometheus/counter.h"

namespace triad::events {
namespace {

prometheus::Family<prometheus::Counter>& OriginRejectedFamily() {
  static auto& family = prometheus::BuildCounter()
                            .Name("triad_consumer_origin_rejected_total")
                            .Help(
                                "Events refused (and dead-lettered) because their topic or "
                                "ce_source is not the one their contract declares: forged or "
                                "misrouted events, by group and ce_type.")
                            .Register(metrics::Registry());
  return family;
}

}  // namespace

absl::StatusOr<EventOrigin> ContractOrigin(std::string_view type) {
  const contracts::EventContract* contract = contracts::FindEvent(type);
  if (contract == nullptr) {
    return absl::NotFoundError(absl::StrCat("no contract declares ce_type ", std::string(type)));
  }
  return EventOrigin{.topic = std::string(contract->topic),
                     .source = contracts::SourceOf(contract->producer),
                     .what = contract->message};
}

absl::Status CheckOrigin(const EventOrigin& origin, std::string_view type, std::string_view topic,
                         std::string_view source) {
  if (source != origin.source) {
    return PermanentError(absl::InvalidArgumentError(
        absl::StrCat("ce_source ", std::string(source), " is not the producer of ", origin.what,
                     " (ce_type ", std::string(type), " comes from ", origin.source, ")")));
  }
  if (topic != origin.topic) {
    return PermanentError(absl::InvalidArgumentError(
        absl::StrCat("topic ", std::string(topic), " does not carry ", origin.what, " (ce_type ",
                     std::string(type), " is published on ", origin.topic, ")")));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<EventOrigin>> ResolveOrigin(std::string_view group,
                                                         std::string_view type,
                                                         std::optional<EventOrigin> given,
                                                         bool require_contract) {
  if (given.has_value()) return given;
  absl::StatusOr<EventOrigin> origin = ContractOrigin(type);
  if (origin.ok()) return std::optional<EventOrigin>(*std::move(origin));
  if (require_contract) {
    return absl::FailedPreconditionError(
        absl::StrCat("consumer ", std::string(group), ": ", origin.status().message(),
                     "; declare it in common/contracts or register it with its origin"));
  }
  logging::Warn("consumer: a handled ce_type has no contract; its origin is not checked",
                {{"group", std::string(group)}, {"type", std::string(type)}});
  return std::optional<EventOrigin>();
}

void CountOriginRejected(std::string_view group, std::string_view type) {
  // Only handled types get here: a bounded label set.
  OriginRejectedFamily()
      .Add({{"group", std::string(group)}, {"type", std::string(type)}})
      .Increment();
}

}  // namespace triad::events
