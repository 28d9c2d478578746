// Helpers shared by Triad's tests: the Kafka cluster under test, unique names, temporary
// directories and polling with a deadline (never a bare sleep).
#ifndef TRIAD_TESTS_TESTING_TEST_ENV_H_
#define TRIAD_TESTS_TESTING_TEST_ENV_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/kafka.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"

namespace triad::testing {

// KafkaBootstrap is KAFKA_BOOTSTRAP_SERVERS, or the broker `make test` starts (127.0.0.1:19092).
std::string KafkaBootstrap();

// TestKafkaConfig is a KafkaConfig for the cluster under test.
events::KafkaConfig TestKafkaConfig();

// UniqueName returns `prefix` plus a random suffix (lowercase, digits), e.g. for topics/groups.
std::string UniqueName(std::string_view prefix);

// TempDir is a fresh directory removed (recursively) when the object is destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Sub returns path()/name.
  std::string Sub(std::string_view name) const;

 private:
  std::string path_;
};

// ServiceStorage is a service's RocksDB store (its own column families plus the runtime's
// outbox, inbox and requests) and its outbox, whose relay is not started.
struct ServiceStorage {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<events::Outbox> outbox;
};

// OpenServiceStorage opens a ServiceStorage at `path`, with the column families
// ServiceRuntime would open, for domain tests and benchmarks that run without Kafka.
absl::StatusOr<ServiceStorage> OpenServiceStorage(const std::string& path,
                                                  std::vector<std::string> column_families,
                                                  const std::string& source);

// TestSeed is the seed of a randomized test: TRIAD_TEST_SEED from the environment when set (to
// reproduce a failure), else `fallback`. It prints the seed it returns, with the variable to set,
// to stderr and records it as a GoogleTest property, so every failing run names its seed.
uint64_t TestSeed(uint64_t fallback);

// RandomTestSeed is TestSeed with a fresh random fallback (a different seed every run).
uint64_t RandomTestSeed();

// PollUntil calls `done` every `interval` until it returns true (returns true) or `timeout`
// passes (returns false).
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout,
               absl::Duration interval = absl::Milliseconds(20));

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_TEST_ENV_H_
