// Implements the outbox reader of the tests.
#include "tests/testing/outbox_reader.h"

#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "gtest/gtest.h"

namespace triad::testing {

std::vector<common::v1::OutboxRecord> ReadOutbox(const storage::Store& store) {
  std::vector<common::v1::OutboxRecord> out;
  absl::Status s = store.ScanPrefix(events::Outbox::kColumnFamily, "",
                                    [&](std::string_view, std::string_view v) {
                                      common::v1::OutboxRecord r;
                                      if (!r.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
                                        ADD_FAILURE() << "an outbox record does not decode";
                                        return false;
                                      }
                                      out.push_back(std::move(r));
                                      return true;
                                    });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::vector<uint64_t> OutboxSequences(const storage::Store& store) {
  std::vector<uint64_t> out;
  absl::Status s = store.ScanPrefix(
      events::Outbox::kColumnFamily, "", [&](std::string_view k, std::string_view) {
        absl::StatusOr<uint64_t> seq = events::outbox_internal::SeqOfKey(k);
        if (!seq.ok()) {
          ADD_FAILURE() << "an outbox key does not decode";
          return false;
        }
        out.push_back(*seq);
        return true;
      });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::vector<common::v1::OutboxRecord> ReadOutboxOfType(const storage::Store& store,
                                                       std::string_view ce_type) {
  std::vector<common::v1::OutboxRecord> out;
  for (common::v1::OutboxRecord& r : ReadOutbox(store)) {
    if (r.ce_type() == ce_type) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace triad::testing
