// Tests of common/audit/chain: value digests, canonical bytes, entry hashes and VerifyChain's
// verdicts (intact, changed, missing, reordered, truncated, legacy prefix).
#include <algorithm>
#include <string>
#include <vector>

#include "common/audit/chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triad::audit {
namespace {

using ::testing::HasSubstr;

std::vector<ChainedEntry> Chain(int n, int legacy = 0) {
  std::vector<ChainedEntry> out;
  for (int i = 0; i < legacy; ++i) {
    ChainedEntry e;
    e.canonical = Canonical().Add("legacy").AddInt(i).bytes();
    out.push_back(e);
  }
  std::string prev;
  for (int i = 1; i <= n; ++i) {
    ChainedEntry e;
    e.seq = legacy + i;
    e.canonical = Canonical().Add("entry").AddInt(e.seq).bytes();
    e.stored_hash = EntryHash(prev, e.canonical);
    prev = e.stored_hash;
    out.push_back(e);
  }
  return out;
}

TEST(AuditChainTest, DigestsDependOnSaltAndValue) {
  const std::string salt = NewSalt();
  EXPECT_EQ(salt.size(), 32u);
  EXPECT_NE(NewSalt(), salt);
  const std::string d = ValueDigest(salt, "13800138000");
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(ValueDigest(salt, "13800138000"), d);
  EXPECT_NE(ValueDigest(NewSalt(), "13800138000"), d);
  EXPECT_NE(ValueDigest(salt, "13800138001"), d);
  EXPECT_EQ(ValueDigest("", ""), "");
  // Length-prefixed: moving bytes between salt and value changes the digest.
  EXPECT_NE(ValueDigest("ab", "c"), ValueDigest("a", "bc"));
}

TEST(AuditChainTest, SaltsDrawnTogetherAreDistinctHex) {
  EXPECT_TRUE(NewSalts(0).empty());
  std::vector<std::string> salts = NewSalts(8);
  ASSERT_EQ(salts.size(), 8u);
  for (const std::string& s : salts) {
    EXPECT_EQ(s.size(), 32u);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
  }
  std::sort(salts.begin(), salts.end());
  EXPECT_EQ(std::adjacent_find(salts.begin(), salts.end()), salts.end()) << "a salt repeats";
}

TEST(AuditChainTest, CanonicalBytesAreUnambiguous) {
  EXPECT_NE(Canonical().Add("ab").Add("c").bytes(), Canonical().Add("a").Add("bc").bytes());
  EXPECT_EQ(Canonical().AddInt(42).bytes(), Canonical().Add("42").bytes());
}

TEST(AuditChainTest, AnIntactChainVerifies) {
  auto chain = Chain(5);
  ChainReport r = VerifyChain(chain, 5, chain.back().stored_hash);
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.chained, 5);
  EXPECT_EQ(r.Summary(), "ok (5 entries)");
  EXPECT_TRUE(VerifyChain({}).ok);
}

TEST(AuditChainTest, AChangedEntryBreaksAtItsSeq) {
  auto chain = Chain(5);
  chain[2].canonical = Canonical().Add("entry").AddInt(99).bytes();
  ChainReport r = VerifyChain(chain);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 3);
  EXPECT_THAT(r.Summary(), HasSubstr("BROKEN at seq 3"));
}

TEST(AuditChainTest, ADefectReportedByTheCallerBreaksTheChain) {
  auto chain = Chain(3);
  chain[1].defect = "new value of phone does not match its digest";
  ChainReport r = VerifyChain(chain);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.broken_seq, 2);
  EXPECT_THAT(r.reason, HasSubstr("phone"));
}

TEST(AuditChainTest, AMissingOrSwappedEntryIsFound) {
  auto chain = Chain(5);
  auto missing = chain;
  missing.erase(missing.begin() + 1);
  EXPECT_EQ(VerifyChain(missing).broken_seq, 2);
  auto swapped = chain;
  std::swap(swapped[1], swapped[2]);
  EXPECT_FALSE(VerifyChain(swapped).ok);
  auto first_gone = chain;
  first_gone.erase(first_gone.begin());
  EXPECT_FALSE(VerifyChain(first_gone).ok);
}

TEST(AuditChainTest, ATruncatedChainIsFoundThroughItsHead) {
  auto chain = Chain(5);
  const std::string head = chain.back().stored_hash;
  chain.pop_back();
  EXPECT_TRUE(VerifyChain(chain).ok);  // without the head, a shorter chain looks whole
  ChainReport r = VerifyChain(chain, 5, head);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("head names seq 5"));
}

TEST(AuditChainTest, LegacyEntriesMayOnlyPrecedeTheChain) {
  auto chain = Chain(2, /*legacy=*/3);
  ChainReport r = VerifyChain(chain);
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.unchained, 3);
  EXPECT_EQ(r.Summary(), "ok (2 entries, unchained before seq 4)");
  // An unchained entry after the chain began is a break.
  ChainedEntry late;
  late.canonical = "x";
  chain.push_back(late);
  EXPECT_FALSE(VerifyChain(chain).ok);
}

}  // namespace
}  // namespace triad::audit
