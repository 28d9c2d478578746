// libFuzzer targets of the clients service: clients_request_fuzz (requests of ClientsService and
// ClientsAdminService through the guard's check, the gRPC adapter and the domain) and, built with
// TRIAD_FUZZ_EVENTS, clients_event_fuzz (Kafka records of the events clients consumes through
// decoding, the contract check and the handlers). See fuzz_kit.h.
#include <cstddef>
#include <cstdint>

#include "services/clients/admin_grpc_service.h"
#include "services/clients/domain.h"
#include "services/clients/grpc_service.h"
#include "services/clients/repository.h"
#include "tests/fuzz/fuzz_kit.h"

namespace triad::fuzz {
namespace {

// Env is the service under fuzzing, built once per process.
struct Env {
  FuzzStore fs = FuzzStore::Open(clients::ColumnFamilies(), "triad/clients");
  clients::RocksClientsRepository repo{fs.storage.store.get()};
  clients::ClientsDomain domain{fs.storage.store.get(), fs.storage.outbox.get(), &repo, {}};
#ifdef TRIAD_FUZZ_EVENTS
  EventFuzzer fuzzer{contracts::Service::kClients, [this](const events::Event& e) {
                       for (auto& [type, handler] : domain.EventHandlers()) {
                         if (type == e.type) {
                           return ApplyWith(fs.storage.store.get(), fs.storage.outbox.get(),
                                            &domain.mutex(), handler)(e);
                         }
                       }
                       return absl::OkStatus();  // not handled: the consumer skips it
                     }};
  std::vector<std::pair<std::string, std::string>> Seeds() { return EventSeeds(fuzzer); }
#else
  clients::ClientsGrpcService service{&domain};
  clients::ClientsAdminGrpcService admin{&domain};
  RequestFuzzer fuzzer{
      {{&service, "triad.clients.v1.ClientsService"}, {&admin, clients::kAdminServiceFullName}}};
  std::vector<std::pair<std::string, std::string>> Seeds() {
    auto seeds =
        MethodSeeds(fuzzer, {"triad.clients.v1.ClientsService", clients::kAdminServiceFullName});
    clients::v1::ImportClientsCsvRequest csv;
    csv.set_request_id("seed-import");
    csv.set_csv("name,owner_id,phone,tags\nWuhan Design Institute,u:zhao,027-12345678,a;b\n");
    csv.mutable_actor()->set_id("u:fuzz");
    seeds.emplace_back("import-csv",
                       fuzzer.Seed("triad.clients.v1.ClientsService/ImportClientsCsv", csv));
    return seeds;
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
