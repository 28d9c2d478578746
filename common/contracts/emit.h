// Emit<E>: emits the event declared by contract E (its topic, ce_type and payload message)
// into a transaction. Producers use it instead of spelling topics and types, and a payload of
// the wrong message type does not compile.
#ifndef TRIAD_COMMON_CONTRACTS_EMIT_H_
#define TRIAD_COMMON_CONTRACTS_EMIT_H_

#include <string_view>

#include "common/events/outbox.h"

namespace triad::contracts {

// Emit queues `payload` as event E of aggregate `key` (the message key: one aggregate's
// events stay in order) in `txn`.
template <typename E>
void Emit(events::Transaction& txn, std::string_view key, const typename E::Message& payload,
          std::string_view subject = {}) {
  txn.Emit(E::kTopic, key, E::kType, payload, subject);
}

}  // namespace triad::contracts

#endif  // TRIAD_COMMON_CONTRACTS_EMIT_H_
