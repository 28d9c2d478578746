// Helpers shared by Triad's tests: the Kafka cluster under test, unique names, temporary
// directories and polling with a deadline (never a bare sleep).
#ifndef TRIAD_TESTS_TESTING_TEST_ENV_H_
#define TRIAD_TESTS_TESTING_TEST_ENV_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/events/kafka.h"

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

// PollUntil calls `done` every `interval` until it returns true (returns true) or `timeout`
// passes (returns false).
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout,
               absl::Duration interval = absl::Milliseconds(20));

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_TEST_ENV_H_
