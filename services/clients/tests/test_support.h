// Shared fixtures of the clients tests: a domain on a real RocksDB in a TempDir (outbox relay
// not started) with the test kit's fake clock and outbox reader, request builders, and the
// DomainTest fixture.
#ifndef TRIAD_SERVICES_CLIENTS_TESTS_TEST_SUPPORT_H_
#define TRIAD_SERVICES_CLIENTS_TESTS_TEST_SUPPORT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "gtest/gtest.h"
#include "services/clients/domain.h"
#include "services/clients/repository.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::clients::testing {

// DomainEnv opens a store with the service's column families and builds the domain on it.
class DomainEnv {
 public:
  explicit DomainEnv(const std::string& path, DomainOptions options = {}) {
    auto storage = ::triad::testing::OpenServiceStorage(path, ColumnFamilies(), "triad/clients");
    store = std::move(storage->store);
    outbox = std::move(storage->outbox);
    repo = std::make_unique<RocksClientsRepository>(store.get());
    options.clock = clock.AsFunction();
    domain = std::make_unique<ClientsDomain>(store.get(), outbox.get(), repo.get(), options);
  }

  // Events lists the outbox records (events committed and not yet relayed), oldest first.
  std::vector<common::v1::OutboxRecord> Events() const {
    return ::triad::testing::ReadOutbox(*store);
  }

  // EventsOfType lists the outbox records of one ce_type.
  std::vector<common::v1::OutboxRecord> EventsOfType(const std::string& type) const {
    return ::triad::testing::ReadOutboxOfType(*store, type);
  }

  ::triad::testing::FakeClock clock;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<events::Outbox> outbox;
  std::unique_ptr<RocksClientsRepository> repo;
  std::unique_ptr<ClientsDomain> domain;
};

// MakeActor returns an actor with an id and a reason.
inline common::v1::Actor MakeActor(const std::string& id, const std::string& reason = "") {
  common::v1::Actor a;
  a.set_id(id);
  a.set_reason(reason);
  return a;
}

// NewClientRequest returns a valid create request.
inline v1::CreateClientRequest NewClientRequest(const std::string& name, const std::string& owner) {
  v1::CreateClientRequest req;
  req.mutable_client()->set_name(name);
  req.mutable_client()->set_owner_id(owner);
  *req.mutable_actor() = MakeActor("u:steward");
  return req;
}

// DomainTest is the fixture of the domain tests: a DomainEnv in a TempDir and a client builder.
class DomainTest : public ::testing::Test {
 protected:
  DomainTest() : env_(dir_.Sub("db")) {}

  // Create registers a client named `name` (edited by `edit`), failing the test if it cannot.
  v1::Client Create(const std::string& name, const std::string& owner = "u:li",
                    std::function<void(v1::Client&)> edit = nullptr) {
    v1::CreateClientRequest req = NewClientRequest(name, owner);
    if (edit) edit(*req.mutable_client());
    absl::StatusOr<v1::Client> c = env_.domain->CreateClient(req);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : v1::Client();
  }

  ClientsDomain& d() { return *env_.domain; }

  ::triad::testing::TempDir dir_;
  DomainEnv env_;
};

}  // namespace triad::clients::testing

#endif  // TRIAD_SERVICES_CLIENTS_TESTS_TEST_SUPPORT_H_
