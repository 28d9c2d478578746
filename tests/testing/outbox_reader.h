// Reading the events a domain wrote to the outbox column family (committed, not yet relayed),
// for tests that run without Kafka.
#ifndef TRIAD_TESTS_TESTING_OUTBOX_READER_H_
#define TRIAD_TESTS_TESTING_OUTBOX_READER_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/storage/store.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::testing {

// ReadOutbox lists the outbox records in commit order. A record that does not decode (or a
// failing scan) fails the current test.
std::vector<common::v1::OutboxRecord> ReadOutbox(const storage::Store& store);

// OutboxSequences lists the sequence numbers of the outbox rows, ascending. A key that does not
// decode (or a failing scan) fails the current test.
std::vector<uint64_t> OutboxSequences(const storage::Store& store);

// ReadOutboxOfType lists the outbox records of one ce_type, in commit order.
std::vector<common::v1::OutboxRecord> ReadOutboxOfType(const storage::Store& store,
                                                       std::string_view ce_type);

// DecodeOutbox parses the payloads of the records of one ce_type as Msg.
template <typename Msg>
std::vector<Msg> DecodeOutbox(const storage::Store& store, std::string_view ce_type) {
  std::vector<Msg> out;
  for (const common::v1::OutboxRecord& r : ReadOutboxOfType(store, ce_type)) {
    out.emplace_back();
    out.back().ParseFromString(r.payload());
  }
  return out;
}

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_OUTBOX_READER_H_
