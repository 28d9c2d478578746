// libFuzzer targets of the review service: review_request_fuzz (requests of its API through the
// guard's check, the gRPC adapter and the domain) and, built with TRIAD_FUZZ_EVENTS,
// review_event_fuzz (Kafka records of the events review consumes through decoding, the contract
// check and the handlers). See fuzz_kit.h.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "services/review/grpc_service.h"
#include "services/review/repository.h"
#include "services/review/review.h"
#include "tests/fuzz/fuzz_kit.h"

namespace triad::fuzz {
namespace {

// MakeDomain creates the domain on the fuzz store; aborts on failure.
std::unique_ptr<review::Reviews> MakeDomain(FuzzStore& fs) {
  auto d = review::Reviews::Create(fs.storage.store.get(), fs.storage.outbox.get(),
                                   review::ReviewOptions{});
  Check(d.ok(), d.status().ToString());
  return std::move(*d);
}

// Env is the service under fuzzing, built once per process.
struct Env {
  FuzzStore fs = FuzzStore::Open(review::ColumnFamilies(), "triad/review");
  std::unique_ptr<review::Reviews> domain = MakeDomain(fs);
#ifdef TRIAD_FUZZ_EVENTS
  EventFuzzer fuzzer{contracts::Service::kReview,
                     [this](const events::Event& e) { return domain->HandleEvent(e); }};
  std::vector<std::pair<std::string, std::string>> Seeds() { return EventSeeds(fuzzer); }
#else
  review::ReviewGrpcService service{domain.get()};

  RequestFuzzer fuzzer{{{&service, "triad.review.v1.ReviewService"}}};
  std::vector<std::pair<std::string, std::string>> Seeds() {
    return MethodSeeds(fuzzer, {"triad.review.v1.ReviewService"});
  }
#endif
};

Env& TheEnv() {
  static Env* env = new Env();
  return *env;
}

}  // namespace
}  // namespace triad::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  triad::fuzz::MaybeWriteSeeds(triad::fuzz::TheEnv().Seeds());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  triad::fuzz::TheEnv().fuzzer.Run(data, size);
  return 0;
}
