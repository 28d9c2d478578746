// Implements the shared test helpers.
#include "tests/testing/test_env.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/consumer.h"
#include "common/util/idempotency.h"
#include "gtest/gtest.h"

namespace triad::testing {

std::string KafkaBootstrap() {
  const char* env = std::getenv("KAFKA_BOOTSTRAP_SERVERS");
  return (env != nullptr && *env != '\0') ? std::string(env) : std::string("127.0.0.1:19092");
}

events::KafkaConfig TestKafkaConfig() {
  events::KafkaConfig config;
  config.bootstrap_servers = KafkaBootstrap();
  return config;
}

std::string UniqueName(std::string_view prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix;
  for (int i = 0; i < 10; ++i) suffix.push_back(kAlphabet[rng() % 36]);
  return std::string(prefix) + suffix;
}

TempDir::TempDir() {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  path_ = (base / UniqueName("triad-test-")).string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Sub(std::string_view name) const {
  return (std::filesystem::path(path_) / std::string(name)).string();
}

absl::StatusOr<ServiceStorage> OpenServiceStorage(const std::string& path,
                                                  std::vector<std::string> column_families,
                                                  const std::string& source) {
  storage::StoreOptions so;
  so.path = path;
  so.column_families = std::move(column_families);
  for (const char* cf :
       {events::Outbox::kColumnFamily, events::IdempotentConsumer::kInboxColumnFamily,
        util::kRequestsColumnFamily}) {
    so.column_families.push_back(cf);
  }
  ServiceStorage out;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(so);
  if (!store.ok()) return store.status();
  out.store = std::move(*store);
  events::OutboxOptions oo;
  oo.source = source;
  absl::StatusOr<std::unique_ptr<events::Outbox>> outbox =
      events::Outbox::Create(out.store.get(), oo);
  if (!outbox.ok()) return outbox.status();
  out.outbox = std::move(*outbox);
  return out;
}

uint64_t TestSeed(uint64_t fallback) {
  uint64_t seed = fallback;
  const char* env = std::getenv("TRIAD_TEST_SEED");
  if (env != nullptr && *env != '\0') seed = std::strtoull(env, nullptr, 0);
  std::string where = "?";
  if (const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
      info != nullptr) {
    where = absl::StrCat(info->test_suite_name(), ".", info->name());
    ::testing::Test::RecordProperty("triad_test_seed", std::to_string(seed));
  }
  std::cerr << where << ": seed " << seed << " (reproduce with TRIAD_TEST_SEED=" << seed << ")\n";
  return seed;
}

uint64_t RandomTestSeed() { return TestSeed(std::random_device{}()); }

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout, absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

}  // namespace triad::testing
