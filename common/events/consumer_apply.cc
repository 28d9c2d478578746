// Implements the consumer's apply step (ApplyOnce: dedupe record, effect and stored offset in
// one batch) and the classification of its errors (poison or transient).
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/events/consumer.h"
#include "common/storage/key_codec.h"

namespace triad::events {
namespace {

constexpr char kPoisonPayload[] = "triad.dev/poison";

}  // namespace

absl::Status PermanentError(absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kPoisonPayload, absl::Cord("1"));
  return status;
}

bool IsPermanentError(const absl::Status& s) {
  if (s.ok()) return false;
  if (s.GetPayload(kPoisonPayload).has_value()) return true;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

std::string InboxKey(std::string_view group_id, std::string_view source,
                     std::string_view event_id) {
  return storage::KeyBuilder().Str(group_id).Str(source).Str(event_id).Build();
}

std::string DerivedIdSeed(std::string_view group_id, const Event& event) {
  return absl::StrCat(std::string(group_id), "\n", event.source, "\n", event.id);
}

absl::StatusOr<ApplyOutcome> ApplyOnce(storage::Store& store, Outbox* outbox,
                                       std::string_view group_id, const Event& event,
                                       const Handler& handler, util::SharedMutex* apply_mutex,
                                       const ConsumedPosition* position) {
  const std::string inbox_key = InboxKey(group_id, event.source, event.id);
  std::unique_lock<util::SharedMutex> lock;
  if (apply_mutex != nullptr) lock = std::unique_lock<util::SharedMutex>(*apply_mutex);
  absl::StatusOr<bool> seen = store.Exists(IdempotentConsumer::kInboxColumnFamily, inbox_key);
  if (!seen.ok()) return seen.status();
  if (*seen) return ApplyOutcome::kDuplicate;
  Transaction txn;
  txn.DeriveIdsFrom(DerivedIdSeed(group_id, event));
  absl::Status s = handler(event, txn);
  if (!s.ok()) return s;
  s = store.PutExpiring(txn.batch(), IdempotentConsumer::kInboxColumnFamily, inbox_key, "");
  if (!s.ok()) return s;
  if (position != nullptr) {
    s = PutStoredOffset(store, txn.batch(), group_id, position->topic, position->partition,
                        position->offset + 1);
    if (!s.ok()) return s;
  }
  if (outbox != nullptr) {
    s = outbox->Commit(txn);
  } else if (!txn.events().empty()) {
    s = absl::FailedPreconditionError("consumer has no outbox but the handler emitted events");
  } else {
    s = store.Write(txn.batch());
  }
  if (!s.ok()) return s;
  return ApplyOutcome::kApplied;
}

}  // namespace triad::events
