// Tests of the order-preserving key encoding.
#include "common/storage/key_codec.h"

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace triad::storage {
namespace {

TEST(KeyCodecTest, RoundTripsComponents) {
  std::string s("a\0b", 3);
  std::string key = KeyBuilder().Str(s).U64(42).I64(-7).Str("").Build();
  KeyReader r(key);
  EXPECT_EQ(*r.Str(), s);
  EXPECT_EQ(*r.U64(), 42u);
  EXPECT_EQ(*r.I64(), -7);
  EXPECT_EQ(*r.Str(), "");
  EXPECT_TRUE(r.done());
}

TEST(KeyCodecTest, EncodedOrderMatchesTupleOrder) {
  std::mt19937 rng(static_cast<uint32_t>(triad::testing::TestSeed(7)));
  std::vector<std::tuple<std::string, int64_t>> tuples;
  const std::vector<std::string> words = {"", "a", "ab", "b", std::string("a\0", 2), "\xff", "aa"};
  for (int i = 0; i < 300; ++i) {
    tuples.emplace_back(words[rng() % words.size()], static_cast<int64_t>(rng() % 2001) - 1000);
  }
  std::vector<std::pair<std::string, std::tuple<std::string, int64_t>>> encoded;
  for (const auto& t : tuples) {
    encoded.emplace_back(KeyBuilder().Str(std::get<0>(t)).I64(std::get<1>(t)).Build(), t);
  }
  std::sort(encoded.begin(), encoded.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < encoded.size(); ++i) {
    EXPECT_LE(encoded[i - 1].second, encoded[i].second) << "at " << i;
  }
}

TEST(KeyCodecTest, ComponentPrefixDoesNotMatchLongerStrings) {
  std::string owner_a = KeyBuilder().Str("owner").Str("ann").Build();
  std::string owner_an_key = KeyBuilder().Str("owner").Str("anna").Str("c1").Build();
  EXPECT_NE(owner_an_key.compare(0, owner_a.size(), owner_a), 0);
  std::string partial = KeyBuilder().Str("owner").StrPrefix("ann").Build();
  EXPECT_EQ(owner_an_key.compare(0, partial.size(), partial), 0);
}

TEST(KeyCodecTest, RejectsTruncatedKeys) {
  std::string key = KeyBuilder().U64(1).Build();
  KeyReader r(key.substr(0, 5));
  EXPECT_FALSE(r.U64().ok());
  KeyReader s("abc");
  EXPECT_FALSE(s.Str().ok());
}

// The encoding is what RocksDB holds on disk: a NUL is NUL 0xFF, a string ends with NUL 0x01.
TEST(KeyCodecTest, EncodesStringsAsStoredOnDisk) {
  EXPECT_EQ(KeyBuilder().Str("ab").Build(), std::string("ab\0\x01", 4));
  const std::string nul_a_nul_nul("\0a\0\0", 4);
  const std::string encoded = std::string("\0\xFF", 2) + "a" + std::string("\0\xFF\0\xFF\0\x01", 6);
  EXPECT_EQ(KeyBuilder().Str(nul_a_nul_nul).Build(), encoded);
  EXPECT_EQ(KeyBuilder().StrPrefix(std::string("a\0", 2)).Build(), std::string("a\0\xFF", 3));
  EXPECT_EQ(KeyBuilder().Str("").U64(1).Build(), std::string("\0\x01\0\0\0\0\0\0\0\x01", 10));
}

TEST(KeyCodecTest, RoundTripsRandomStringsAndRejectsBadMarkers) {
  std::mt19937 rng(static_cast<uint32_t>(triad::testing::TestSeed(11)));
  for (int i = 0; i < 2000; ++i) {
    std::string a(rng() % 40, '\0'), b(rng() % 5, '\0');
    for (char& c : a) c = (rng() % 3 == 0) ? '\0' : static_cast<char>(rng());
    for (char& c : b) c = static_cast<char>(rng() % 2 == 0 ? 0 : 0xFF);
    const std::string key = KeyBuilder().Str(a).Str(b).I64(i).Build();
    KeyReader r(key);
    absl::StatusOr<std::string> ra = r.Str();
    absl::StatusOr<std::string> rb = r.Str();
    ASSERT_TRUE(ra.ok() && rb.ok()) << i;
    EXPECT_EQ(*ra, a);
    EXPECT_EQ(*rb, b);
    EXPECT_EQ(*r.I64(), i);
    EXPECT_TRUE(r.done());
  }
  for (const std::string bad : {std::string("a\0", 2), std::string("a\0\x02", 3),
                                std::string("\0\xFF", 2), std::string("", 0)}) {
    KeyReader r(bad);
    EXPECT_FALSE(r.Str().ok()) << absl::CEscape(bad);
  }
}

TEST(KeyCodecTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), "");
}

TEST(KeyCodecTest, StringComponentsLengthCoversWholeStringComponentsOnly) {
  const std::string ab = KeyBuilder().Str("a").Str(std::string("b\0c", 3)).Build();
  const std::string abc = KeyBuilder().Str("a").Str(std::string("b\0c", 3)).Str("id").Build();
  EXPECT_EQ(StringComponentsLength(abc, 0), 0u);
  EXPECT_EQ(StringComponentsLength(abc, 1), KeyBuilder().Str("a").Build().size());
  EXPECT_EQ(StringComponentsLength(abc, 2), ab.size());
  EXPECT_EQ(StringComponentsLength(abc, 3), abc.size());
  EXPECT_EQ(StringComponentsLength(ab, 2), ab.size());
  EXPECT_EQ(StringComponentsLength(ab, 3), std::string_view::npos);
  // A component cut short, a value's beginning (StrPrefix), a bad marker, a trailing NUL.
  EXPECT_EQ(StringComponentsLength(KeyBuilder().Str("a").StrPrefix("b").Build(), 2),
            std::string_view::npos);
  EXPECT_EQ(StringComponentsLength(std::string("a\0\x02b\0\x01", 6), 1), std::string_view::npos);
  EXPECT_EQ(StringComponentsLength(std::string("a\0", 2), 1), std::string_view::npos);
  EXPECT_EQ(StringComponentsLength("", 1), std::string_view::npos);
  // Every key that begins with the first two components gives the same length, whatever
  // follows (another string, an integer, nothing), and so does the prefix itself.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::string parts[2];
    for (std::string& p : parts) {
      for (size_t n = rng() % 6; n > 0; --n)
        p.push_back(static_cast<char>(rng() % 4 == 0 ? 0 : rng()));
    }
    const std::string prefix = KeyBuilder().Str(parts[0]).Str(parts[1]).Build();
    const std::string with_int = KeyBuilder().Str(parts[0]).Str(parts[1]).U64(rng()).Build();
    const std::string with_str = KeyBuilder().Str(parts[0]).Str(parts[1]).Str(parts[0]).Build();
    EXPECT_EQ(StringComponentsLength(prefix, 2), prefix.size());
    EXPECT_EQ(StringComponentsLength(with_int, 2), prefix.size());
    EXPECT_EQ(StringComponentsLength(with_str, 2), prefix.size());
  }
}

}  // namespace
}  // namespace triad::storage
