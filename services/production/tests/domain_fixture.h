// DomainFixture: a production domain on a real RocksDB store in a temporary directory, with a
// fake clock, for the domain tests (offboarding, client merges).
#ifndef TRIAD_SERVICES_PRODUCTION_TESTS_DOMAIN_FIXTURE_H_
#define TRIAD_SERVICES_PRODUCTION_TESTS_DOMAIN_FIXTURE_H_

#include <memory>

#include "gtest/gtest.h"
#include "services/production/production.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/test_env.h"

namespace triad::production {

class DomainFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/production");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    ProductionOptions o;
    o.clock = clock_.AsFunction();
    auto p = Production::Create(store_.get(), outbox_.get(), o);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
  }

  ::triad::testing::TempDir dir_;
  ::triad::testing::FakeClock clock_{absl::FromUnixSeconds(int64_t{20600} * 86400 + 3600)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Production> p_;
};

}  // namespace triad::production

#endif  // TRIAD_SERVICES_PRODUCTION_TESTS_DOMAIN_FIXTURE_H_
