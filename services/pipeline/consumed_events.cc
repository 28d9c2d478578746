// Implements Pipeline's consumed-event entry points: the inbox check, decoding each handled
// ce_type and registering the handlers on the consumer.

#include "absl/strings/str_cat.h"
#include "common/contracts/clients.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

absl::Status Pipeline::Standalone(const events::Event& event,
                                  const std::function<absl::Status(events::Transaction&)>& fn) {
  return events::ApplyOnce(
             *store_, outbox_, options_.consumer_group, event,
             [&](const events::Event&, events::Transaction& txn) { return fn(txn); }, &mu_)
      .status();
}

namespace {
namespace cc = ::triad::contracts::clients;
constexpr std::string_view kClientRegistered = cc::ClientRegistered::kType;
constexpr std::string_view kClientUpdated = cc::ClientUpdated::kType;
constexpr std::string_view kClientVerified = cc::ClientVerified::kType;
constexpr std::string_view kClientArchived = cc::ClientArchived::kType;
constexpr std::string_view kClientRestored = cc::ClientRestored::kType;
constexpr std::string_view kClientOwnerChanged = cc::ClientOwnerChanged::kType;
constexpr std::string_view kClientsMerged = cc::ClientsMerged::kType;
constexpr std::string_view kVerdictRecorded = contracts::review::ReviewVerdictRecorded::kType;
constexpr std::string_view kFeasibilityAnswered = contracts::production::FeasibilityAnswered::kType;
constexpr std::string_view kPersonOffboarded = cc::PersonOffboarded::kType;
constexpr std::string_view kClientErased = cc::ClientPersonalDataErased::kType;

// Decode parses the payload as `Msg` (INVALID_ARGUMENT, i.e. dead-lettered, when it does not).
template <typename Msg>
absl::StatusOr<Msg> Decode(const events::Event& e) {
  Msg msg;
  if (!msg.ParseFromString(e.payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload of ", e.type, " does not decode as ", msg.GetTypeName()));
  }
  return msg;
}
}  // namespace

std::vector<std::string> Pipeline::HandledTypes() {
  std::vector<std::string> types;
  for (std::string_view t : {kClientRegistered, kClientUpdated, kClientVerified, kClientArchived,
                             kClientRestored, kClientOwnerChanged, kClientsMerged, kVerdictRecorded,
                             kFeasibilityAnswered, kPersonOffboarded, kClientErased}) {
    types.emplace_back(t);
  }
  return types;
}

absl::Status Pipeline::HandleEvent(const events::Event& e) {
  return Standalone(e, [&](events::Transaction& txn) { return HandleEventIn(e, txn); });
}

absl::Status Pipeline::HandleEventIn(const events::Event& e, events::Transaction& txn) {
  namespace cv1 = clients::v1;
  if (e.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  const std::string& t = e.type;
  // The lifecycle events carry the summary only; the replica keeps the newest version.
  if (t == kClientRegistered) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientRegistered>(e));
    return ApplyClient(e, m.client(), {}, {}, {}, txn);
  }
  if (t == kClientUpdated) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientUpdated>(e));
    return ApplyClient(e, m.client(), {}, {}, {}, txn);
  }
  if (t == kClientVerified) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientVerified>(e));
    return ApplyClient(e, m.client(), {}, {}, {}, txn);
  }
  if (t == kClientArchived) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientArchived>(e));
    return ApplyClient(e, m.client(), {}, {}, {}, txn);
  }
  if (t == kClientRestored) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientRestored>(e));
    return ApplyClient(e, m.client(), {}, {}, {}, txn);
  }
  if (t == kClientOwnerChanged) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientOwnerChanged>(e));
    return ApplyClient(e, m.client(), m.previous_owner_id(), m.new_owner_id(), {}, txn);
  }
  if (t == kClientsMerged) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientsMerged>(e));
    if (m.merged_client_id().empty()) {
      return absl::InvalidArgumentError("merged event without merged_client_id");
    }
    return ApplyClient(e, m.survivor(), {}, {}, m.merged_client_id(), txn);
  }
  if (t == kClientErased) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientPersonalDataErased>(e));
    return ApplyClientErased(e, m, txn);
  }
  if (t == kVerdictRecorded) {
    ASSIGN_OR_RETURN(auto m, Decode<review::v1::ReviewVerdictRecorded>(e));
    return ApplyReviewVerdict(e, m, txn);
  }
  if (t == kFeasibilityAnswered) {
    ASSIGN_OR_RETURN(auto m, Decode<production::v1::FeasibilityAnswered>(e));
    return ApplyFeasibilityAnswered(e, m, txn);
  }
  if (t == kPersonOffboarded) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::PersonOffboarded>(e));
    return ApplyPersonOffboarded(e, m, txn);
  }
  return absl::OkStatus();  // not a type this service handles
}

void Pipeline::RegisterHandlers(events::IdempotentConsumer& consumer) {
  for (const std::string& type : HandledTypes()) {
    consumer.On(type, [this](const events::Event& e, events::Transaction& txn) {
      return HandleEventIn(e, txn);
    });
  }
}

}  // namespace triad::pipeline
