// libFuzzer targets of the pipeline service: pipeline_request_fuzz (requests of its API and its
// admin API through the guard's check, the gRPC adapter and the domain) and, built with
// TRIAD_FUZZ_EVENTS, pipeline_event_fuzz (Kafka records of the events pipeline consumes through
// decoding, the contract check and the handlers). See fuzz_kit.h.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "services/pipeline/admin_grpc_service.h"
#include "services/pipeline/grpc_service.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/repository.h"
#include "tests/fuzz/fuzz_kit.h"

namespace triad::fuzz {
namespace {

// MakeDomain creates the domain on the fuzz store; aborts on failure.
std::unique_ptr<pipeline::Pipeline> MakeDomain(FuzzStore& fs) {
  auto d = pipeline::Pipeline::Create(fs.storage.store.get(), fs.storage.outbox.get(),
                                      pipeline::PipelineOptions{});
  Check(d.ok(), d.status().ToString());
  return std::move(*d);
}

// Env is the service under fuzzing, built once per process.
struct Env {
  FuzzStore fs = FuzzStore::Open(pipeline::ColumnFamilies(), "triad/pipeline");
  std::unique_ptr<pipeline::Pipeline> domain = MakeDomain(fs);
#ifdef TRIAD_FUZZ_EVENTS
  EventFuzzer fuzzer{contracts::Service::kPipeline,
                     ApplyWith(fs.storage.store.get(), fs.storage.outbox.get(), &domain->mutex(),
                               [this](const events::Event& e, events::Transaction& txn) {
                                 return domain->HandleEventIn(e, txn);
                               })};
  std::vector<std::pair<std::string, std::string>> Seeds() { return EventSeeds(fuzzer); }
#else
  pipeline::PipelineGrpcService service{domain.get()};
  pipeline::PipelineAdminGrpcService admin{domain.get()};
  RequestFuzzer fuzzer{
      {{&service, "triad.pipeline.v1.PipelineService"}, {&admin, pipeline::kAdminServiceFullName}}};
  std::vector<std::pair<std::string, std::string>> Seeds() {
    return MethodSeeds(fuzzer,
                       {"triad.pipeline.v1.PipelineService", pipeline::kAdminServiceFullName});
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
