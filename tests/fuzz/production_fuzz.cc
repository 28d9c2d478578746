// libFuzzer targets of the production service: production_request_fuzz (requests of its API through
// the guard's check, the gRPC adapter and the domain) and, built with TRIAD_FUZZ_EVENTS,
// production_event_fuzz (Kafka records of the events production consumes through decoding, the
// contract check and the handlers). See fuzz_kit.h.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "services/production/grpc_service.h"
#include "services/production/production.h"
#include "services/production/repository.h"
#include "tests/fuzz/fuzz_kit.h"

namespace triad::fuzz {
namespace {

// MakeDomain creates the domain on the fuzz store; aborts on failure.
std::unique_ptr<production::Production> MakeDomain(FuzzStore& fs) {
  auto d = production::Production::Create(fs.storage.store.get(), fs.storage.outbox.get(),
                                          production::ProductionOptions{});
  Check(d.ok(), d.status().ToString());
  return std::move(*d);
}

// Env is the service under fuzzing, built once per process.
struct Env {
  FuzzStore fs = FuzzStore::Open(production::ColumnFamilies(), "triad/production");
  std::unique_ptr<production::Production> domain = MakeDomain(fs);
#ifdef TRIAD_FUZZ_EVENTS
  EventFuzzer fuzzer{contracts::Service::kProduction,
                     ApplyWith(fs.storage.store.get(), fs.storage.outbox.get(), &domain->mutex(),
                               [this](const events::Event& e, events::Transaction& txn) {
                                 return domain->HandleEventIn(e, txn);
                               })};
  std::vector<std::pair<std::string, std::string>> Seeds() { return EventSeeds(fuzzer); }
#else
  production::ProductionGrpcService service{domain.get()};

  RequestFuzzer fuzzer{{{&service, "triad.production.v1.ProductionService"}}};
  std::vector<std::pair<std::string, std::string>> Seeds() {
    return MethodSeeds(fuzzer, {"triad.production.v1.ProductionService"});
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
