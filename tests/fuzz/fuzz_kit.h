// The shared kit of the libFuzzer targets (tests/fuzz): a service's domain on a RocksDB store in
// a temporary directory, driven either by requests or by consumed Kafka records.
//
// RequestFuzzer: the first input byte picks a method of the service's gRPC services (its API and
// its admin API), the rest is parsed as that method's request. The request passes the guard's
// check (api::CheckRequest); a refused request must be INVALID_ARGUMENT or RESOURCE_EXHAUSTED.
// An accepted one is served by the service's real gRPC adapter and domain through an in-process
// channel (no port, no authentication: the `--auth_mode=disabled` principal) and must not end
// in UNKNOWN or INTERNAL.
//
// EventFuzzer: the input is a Kafka record (see ParseRecord: the consumed event type it targets,
// headers, key, payload). It is decoded as the consumer decodes it (events::FromMessage), checked
// against the event contracts (common/contracts: a declared type the service consumes, from its
// contract's topic and producer: events::CheckOrigin) and
// applied by the service's handler exactly once (events::ApplyOnce). On a healthy store every
// failure must be poison (events::IsPermanentError), else the consumer would retry the message for
// ever; a second delivery of an applied record must succeed (skipped as a duplicate).
//
// A violated rule aborts (a libFuzzer crash). TRIAD_FUZZ_WRITE_SEEDS=<dir> makes a target write
// its seed inputs (the service's sample requests or events) into <dir> and exit.
#ifndef TRIAD_TESTS_FUZZ_FUZZ_KIT_H_
#define TRIAD_TESTS_FUZZ_FUZZ_KIT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/contracts/contract.h"
#include "common/events/consumer.h"
#include "common/events/envelope.h"
#include "common/util/locks.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "tests/testing/test_env.h"

namespace triad::fuzz {

// FuzzStore is a service's storage (with the runtime's column families) in a temporary
// directory removed at exit (one per process).
struct FuzzStore {
  // Open opens it with the service's own column families; aborts on failure.
  static FuzzStore Open(const std::vector<std::string>& column_families, const std::string& source);
  testing::ServiceStorage storage;
};

// Check aborts with `what` when `ok` is false (the fuzzer reports a crash).
void Check(bool ok, std::string_view what);

class RequestFuzzer {
 public:
  // Serves `services` (not owned; each with its full proto name) on an in-process server.
  explicit RequestFuzzer(std::vector<std::pair<grpc::Service*, std::string>> services);
  ~RequestFuzzer();

  // Run executes one input: method = data[0] mod the number of methods, request = data[1..].
  void Run(const uint8_t* data, size_t size);

  // Seed renders the input that calls method `full_method` ("pkg.Service/Method") with `request`.
  std::string Seed(std::string_view full_method, const google::protobuf::Message& request) const;

 private:
  std::vector<const google::protobuf::MethodDescriptor*> methods_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// ParsedRecord is an input of the event fuzzer.
struct ParsedRecord {
  int selector = 0;
  bool raw = false;  // no default headers
  std::vector<std::pair<std::string, std::string>> headers;
  std::string key;
  std::string payload;
};

// ParseRecord reads the event fuzzer's input format: byte 0 picks the consumed event type
// (mod the number the service consumes); byte 1: bit 7 = raw (the harness adds no default
// headers), bits 0..3 = the number of headers that follow, each as <u8 name length><name>
// <u16 little-endian value length><value>; then <u8 key length><key>; the rest is the payload.
// Missing bytes read as empty. By default the harness first adds ce_specversion, ce_type (the
// picked type), ce_source (the producer's), ce_id (a hash of the input) and ce_time; the
// input's headers override them.
ParsedRecord ParseRecord(const uint8_t* data, size_t size);

// RenderRecord is the inverse of ParseRecord (for seeds).
std::string RenderRecord(const ParsedRecord& record);

class EventFuzzer {
 public:
  // Apply applies one decoded event exactly once (ApplyOnce around the service's handler).
  using Apply = std::function<absl::Status(const events::Event&)>;

  // `service` is the consuming service; its consumed types come from the contracts.
  EventFuzzer(contracts::Service service, Apply apply);

  // Run executes one input (see ParseRecord).
  void Run(const uint8_t* data, size_t size);

  // Seed renders the record of consumed type `type` with `payload` and default headers.
  std::string Seed(std::string_view type, const google::protobuf::Message& payload) const;

  // types lists the consumed ce_types, in selector order.
  const std::vector<std::string>& types() const { return types_; }

 private:
  std::vector<std::string> types_;
  std::vector<std::string> sources_;
  Apply apply_;
};

// ApplyWith returns an EventFuzzer::Apply running `handler` through events::ApplyOnce on
// `store`/`outbox` under `mutex` (what the service's consumer does).
EventFuzzer::Apply ApplyWith(storage::Store* store, events::Outbox* outbox,
                             util::SharedMutex* mutex, events::Handler handler);

// MaybeWriteSeeds writes `seeds` (file name -> input) into $TRIAD_FUZZ_WRITE_SEEDS and exits,
// when that variable is set.
void MaybeWriteSeeds(const std::vector<std::pair<std::string, std::string>>& seeds);

// FillSample sets every field of `message` to a plausible value (ids "u:fuzz", dates, amounts
// in CNY, the first enum value, timestamps, nested messages a few levels deep): a seed that
// reaches past the first checks of most domain calls.
void FillSample(google::protobuf::Message& message);

// MethodSeeds returns one seed per method of the named services: a FillSample request.
std::vector<std::pair<std::string, std::string>> MethodSeeds(const RequestFuzzer& fuzzer,
                                                             const std::vector<std::string>& names);

// EventSeeds returns one seed per consumed event type: a FillSample payload.
std::vector<std::pair<std::string, std::string>> EventSeeds(const EventFuzzer& fuzzer);

}  // namespace triad::fuzz

#endif  // TRIAD_TESTS_FUZZ_FUZZ_KIT_H_
