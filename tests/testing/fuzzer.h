// The randomized, reflection-driven request fuzzer of the services' robustness tests. A Fuzzer
// fills any request message through protobuf reflection with random values, biased towards
// values the store knows (pools of ids, names and page tokens harvested from earlier responses)
// so that requests reach deep paths, and towards edge cases (empty, blank, 100 KB, invalid
// UTF-8, NUL bytes, full-width and CJK text, extreme numbers, NaN, out-of-range enums, absurd
// timestamps, unknown update-mask paths).
//
// Every randomized test takes its seed from TestSeed (test_env.h), which prints it;
// TRIAD_TEST_SEED=<n> reruns a test with seed n.
#ifndef TRIAD_TESTS_TESTING_FUZZER_H_
#define TRIAD_TESTS_TESTING_FUZZER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "tests/testing/test_env.h"

namespace triad::testing {

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : seed_(seed), rng_(seed) {}

  uint64_t seed() const { return seed_; }
  std::mt19937_64& rng() { return rng_; }

  // Pick returns 0..n-1; Int returns lo..hi; Coin is true with `percent` % probability.
  int Pick(int n);
  int Int(int lo, int hi);
  bool Coin(int percent);
  template <typename T>
  const T& OneOf(const std::vector<T>& v) {
    return v[static_cast<size_t>(Pick(static_cast<int>(v.size())))];
  }

  // --- Configuration --------------------------------------------------------------------------
  // Pools of known values by pool name. A string field draws from the pool of its name, or of
  // the pool its name is an alias of.
  std::map<std::string, std::vector<std::string>> pools;
  std::map<std::string, std::string> aliases;
  // Plausible values that replace a pool when a value is tame (e.g. only valid currencies).
  std::map<std::string, std::vector<std::string>> tame_pools;
  // The probability (%) that a value is plausible (from a pool, small, valid) rather than an
  // edge case: 100 gets most requests past validation, 0 hammers it.
  int tame_percent = 0;
  // Plausible strings without a pool are "w0" .. "w<tame_words - 1>" (few words collide often).
  int tame_words = 5;
  // Plausible timestamps fall within -100 .. +300 days of this time.
  absl::Time tame_time = absl::FromUnixSeconds(1772442000);
  // Update-mask paths; the first `valid_mask_paths` are valid ones.
  std::vector<std::string> mask_paths;
  int valid_mask_paths = 0;
  // Fills a bytes field (default: random bytes).
  std::function<std::string(Fuzzer&, const google::protobuf::FieldDescriptor*)> bytes;
  // Learn: a string field (any depth) named like a key adds its value to the named pool, and
  // the "id" field of a message whose type name is a key of `harvest_ids` to that pool.
  // next_page_token always goes to the "page_token" pool.
  std::map<std::string, std::string> harvest;
  std::map<std::string, std::string> harvest_ids;

  // --- Values ---------------------------------------------------------------------------------
  // Tame draws one "plausible or edge case?" decision.
  bool Tame() { return Coin(tame_percent); }
  // Str returns a value for a string field named `field`.
  std::string Str(const std::string& field);
  // WildString returns an edge-case string.
  std::string WildString();
  // Bytes returns up to `max_len` random bytes.
  std::string Bytes(int max_len);
  int64_t Int64();
  int32_t Int32();
  double Double();
  void FillTimestamp(google::protobuf::Timestamp* t);
  void FillMask(google::protobuf::FieldMask* m);

  // Fill sets each field of `m` with probability `percent` (repeated fields get 0..3 values,
  // now and then dozens), recursing into messages up to depth 3.
  void Fill(google::protobuf::Message* m, int percent = 60, int depth = 0);

  // Remember adds a value to a pool (a pool keeps at most 64 values).
  void Remember(const std::string& pool, const std::string& value);
  // Learn harvests ids and page tokens of a response into the pools (see `harvest`).
  void Learn(const google::protobuf::Message& response, int depth = 0);

 private:
  void SetOne(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f, int percent,
              int depth);
  int EnumValue(const google::protobuf::FieldDescriptor* f);

  uint64_t seed_;
  std::mt19937_64 rng_;
};

// NamesRequestField reports whether an INVALID_ARGUMENT message starts with "<field path>:"
// where the path names fields of `request` (list indices such as "[2]" are ignored).
bool NamesRequestField(std::string_view message, const google::protobuf::Descriptor* request);

// AllStringsValid checks every string (not bytes) field of `m`, recursively, is valid UTF-8;
// `where` names the first field that is not.
bool AllStringsValid(const google::protobuf::Message& m, std::string* where);

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_FUZZER_H_
