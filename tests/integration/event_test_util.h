// Helpers for the event runtime's integration tests: stores with the runtime's column families,
// a raw producer for hand-made (or broken) messages, and a ledger-keeping consumer handler.
#ifndef TRIAD_TESTS_INTEGRATION_EVENT_TEST_UTIL_H_
#define TRIAD_TESTS_INTEGRATION_EVENT_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/key_codec.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "tests/testing/test_env.h"
#include "triad/testing/v1/test_events.pb.h"

namespace triad::events::testutil {

inline constexpr char kTickType[] = "triad.test.tick.ticked.v1";

// OpenEventStore opens a store with state, ledger, outbox and inbox column families.
inline std::unique_ptr<storage::Store> OpenEventStore(const std::string& path) {
  storage::StoreOptions o;
  o.path = path;
  o.column_families = {"state", "ledger", Outbox::kColumnFamily,
                       IdempotentConsumer::kInboxColumnFamily};
  auto store = storage::Store::Open(o);
  EXPECT_TRUE(store.ok()) << store.status();
  return std::move(*store);
}

// CountKeys counts the keys of a column family.
inline int64_t CountKeys(storage::Store& store, const char* cf) {
  int64_t n = 0;
  (void)store.ScanPrefix(cf, "", [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

// LedgerCounts returns seq -> number of times applied.
inline std::map<int64_t, int> LedgerCounts(storage::Store& store) {
  std::map<int64_t, int> out;
  (void)store.ScanPrefix("ledger", "", [&](std::string_view k, std::string_view v) {
    storage::KeyReader r(k);
    out[static_cast<int64_t>(*r.U64())] = std::stoi(std::string(v));
    return true;
  });
  return out;
}

// LedgerHandler counts each applied Ticked in the "ledger" column family (read-modify-write, so
// a double application shows as 2).
inline std::function<absl::Status(const Event&, const triad::testing::v1::Ticked&, Transaction&)>
LedgerHandler(storage::Store* store) {
  return [store](const Event&, const triad::testing::v1::Ticked& tick, Transaction& txn) {
    std::string key = storage::KeyBuilder().U64(static_cast<uint64_t>(tick.seq())).Build();
    int applied = 0;
    absl::StatusOr<std::string> prev = store->Get("ledger", key);
    if (prev.ok()) applied = std::stoi(*prev);
    txn.batch().Put(store->Cf("ledger"), key, std::to_string(applied + 1));
    return absl::OkStatus();
  };
}

// RawProducer sends hand-made messages (with or without CloudEvents headers).
class RawProducer {
 public:
  RawProducer() {
    auto conf = MakeConf(triad::testing::TestKafkaConfig(), {{"enable.idempotence", "true"}});
    std::string err;
    producer_.reset(RdKafka::Producer::create(conf->get(), err));
  }

  // Send produces one message; `event` (may be null) supplies the headers. Waits for delivery.
  bool Send(const std::string& topic, const std::string& key, const std::string& payload,
            const Event* event) {
    RdKafka::Headers* headers = event != nullptr ? ToHeaders(*event) : nullptr;
    RdKafka::ErrorCode err =
        producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                           const_cast<char*>(payload.data()), payload.size(), key.data(),
                           key.size(), 0, headers, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;
      return false;
    }
    return producer_->flush(10000) == RdKafka::ERR_NO_ERROR;
  }

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

// ReadMessage is a consumed message copied out of librdkafka (a consumer cannot be destroyed
// while its messages are alive).
struct ReadMessage {
  std::string key;
  std::string payload;
  std::map<std::string, std::string> headers;
};

// ReadAll reads every message of `topic` from the beginning (all partitions) until `want`
// messages arrived or `timeout` passed.
inline std::vector<ReadMessage> ReadAll(const std::string& topic, size_t want,
                                        absl::Duration timeout) {
  auto conf = MakeConf(triad::testing::TestKafkaConfig(),
                       {{"group.id", triad::testing::UniqueName("reader-")},
                        {"auto.offset.reset", "earliest"},
                        {"enable.auto.commit", "false"}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), err));
  c->subscribe({topic});
  std::vector<ReadMessage> out;
  absl::Time deadline = absl::Now() + timeout;
  while (out.size() < want && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    ReadMessage r;
    if (m->key() != nullptr) r.key = *m->key();
    if (m->payload() != nullptr) r.payload.assign(static_cast<const char*>(m->payload()), m->len());
    if (RdKafka::Headers* h = m->headers(); h != nullptr) {
      for (const auto& hdr : h->get_all()) {
        r.headers[hdr.key()] =
            hdr.value() == nullptr
                ? std::string()
                : std::string(static_cast<const char*>(hdr.value()), hdr.value_size());
      }
    }
    out.push_back(std::move(r));
  }
  c->close();
  return out;
}

}  // namespace triad::events::testutil

#endif  // TRIAD_TESTS_INTEGRATION_EVENT_TEST_UTIL_H_
