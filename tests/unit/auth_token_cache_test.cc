// Unit tests of the verified-token cache (VerifiedTokenCache inside JwtVerifier): a cached token
// past its exp is refused, a different token is verified in full, a tampered token never hits
// the cache, the cache is bounded, forgets everything when a key is added, and is safe to share
// between threads.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/auth/jwt.h"
#include "gtest/gtest.h"
#include "tests/testing/auth_testing.h"
#include "tests/testing/test_env.h"

namespace triad::auth {
namespace {

using nlohmann::json;
using triad::testing::AuthKit;

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() : kit_(dir_.path()) {
    auto v = JwtVerifier::FromKeysDir(kit_.keys_dir(), JwtOptions{.issuer = testing::kTestIssuer});
    EXPECT_TRUE(v.ok()) << v.status();
    if (v.ok()) verifier_ = *std::move(v);
  }

  testing::TempDir dir_;
  AuthKit kit_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(TokenCacheTest, RemembersAVerifiedTokenWithItsPrincipal) {
  const std::string token = kit_.Token("u:alice", {"sales"}, {"t:east"});
  ASSERT_EQ(verifier_->cached_tokens(), 0u);
  absl::StatusOr<Principal> first = verifier_->Verify(token, absl::Now());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(verifier_->cached_tokens(), 1u);
  absl::StatusOr<Principal> again = verifier_->Verify(token, absl::Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->subject, "u:alice");
  EXPECT_EQ(again->roles, std::vector<Role>{Role::kSales});
  EXPECT_EQ(again->teams, std::vector<std::string>{"t:east"});
  EXPECT_EQ(again->method, AuthMethod::kJwt);
  EXPECT_EQ(verifier_->cached_tokens(), 1u);
}

TEST_F(TokenCacheTest, CachedTokenPastExpIsRefused) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  json claims = AuthKit::Claims("u:alice", {"sales"});
  claims["exp"] = now + 300;
  const std::string token = kit_.Signed(claims);
  ASSERT_TRUE(verifier_->Verify(token, absl::FromUnixSeconds(now)).ok());
  ASSERT_EQ(verifier_->cached_tokens(), 1u);
  // Within the leeway after exp a full verification still accepts it; the cache never answers
  // past exp (it drops the entry and verification runs in full).
  EXPECT_TRUE(verifier_->Verify(token, absl::FromUnixSeconds(now + 330)).ok());
  EXPECT_EQ(verifier_->cached_tokens(), 0u);
  absl::StatusOr<Principal> late = verifier_->Verify(token, absl::FromUnixSeconds(now + 300 + 61));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(DenialReason(late.status()), "expired");
}

TEST_F(TokenCacheTest, CachedTokenBeforeItsNotBeforeIsRefused) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string token = kit_.Signed(AuthKit::Claims("u:alice", {"sales"}));
  ASSERT_TRUE(verifier_->Verify(token, absl::FromUnixSeconds(now)).ok());
  absl::StatusOr<Principal> early = verifier_->Verify(token, absl::FromUnixSeconds(now - 600));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(DenialReason(early.status()), "not_yet_valid");
}

TEST_F(TokenCacheTest, DifferentTokenIsVerifiedFresh) {
  ASSERT_TRUE(verifier_->Verify(kit_.Token("u:alice", {"sales"}), absl::Now()).ok());
  absl::StatusOr<Principal> bob = verifier_->Verify(kit_.Token("u:bob", {"operator"}), absl::Now());
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->subject, "u:bob");
  EXPECT_EQ(bob->roles, std::vector<Role>{Role::kOperator});
  EXPECT_EQ(verifier_->cached_tokens(), 2u);
  // A token of a wrong issuer is refused even after good ones were cached.
  json claims = AuthKit::Claims("u:alice", {"sales"});
  claims["iss"] = "https://elsewhere";
  absl::StatusOr<Principal> wrong = verifier_->Verify(kit_.Signed(claims), absl::Now());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(DenialReason(wrong.status()), "wrong_issuer");
  EXPECT_EQ(verifier_->cached_tokens(), 2u);
}

TEST_F(TokenCacheTest, TamperedTokenNeverHitsTheCache) {
  const std::string good = kit_.Token("u:alice", {"sales"});
  ASSERT_TRUE(verifier_->Verify(good, absl::Now()).ok());
  // The same header and signature with operator claims spliced in.
  const std::string admin = kit_.Token("u:alice", {"operator"});
  const size_t a = good.find('.'), b = good.rfind('.');
  const std::string spliced = good.substr(0, a) +
                              admin.substr(admin.find('.'), admin.rfind('.') - admin.find('.')) +
                              good.substr(b);
  absl::StatusOr<Principal> p = verifier_->Verify(spliced, absl::Now());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(DenialReason(p.status()), "bad_signature");
  // One flipped signature character (inside the signature: the last base64url character also
  // carries padding bits), and a trailing byte.
  std::string flipped = good;
  flipped[b + 10] = flipped[b + 10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier_->Verify(flipped, absl::Now()).ok());
  EXPECT_FALSE(verifier_->Verify(good + "x", absl::Now()).ok());
  EXPECT_EQ(verifier_->cached_tokens(), 1u);  // only the good one
}

TEST_F(TokenCacheTest, AddingAKeyForgetsTheCache) {
  ASSERT_TRUE(verifier_->Verify(kit_.Token("u:alice", {"sales"}), absl::Now()).ok());
  ASSERT_EQ(verifier_->cached_tokens(), 1u);
  ASSERT_TRUE(verifier_->AddKey("rsa2", kit_.rsa().public_pem).ok());
  EXPECT_EQ(verifier_->cached_tokens(), 0u);
}

TEST(VerifiedTokenCache, IsBoundedAndHonoursItsWindow) {
  VerifiedTokenCache cache(32);
  const absl::Time t0 = absl::FromUnixSeconds(1'000'000);
  Principal p{.subject = "u:x", .method = AuthMethod::kJwt};
  for (int i = 0; i < 1000; ++i) {
    cache.Insert("token-" + std::to_string(i), p, t0, t0 + absl::Hours(1));
    ASSERT_LE(cache.size(), 32u);
  }
  cache.Insert("window", p, t0, t0 + absl::Minutes(5));
  EXPECT_FALSE(cache.Lookup("window", t0 - absl::Seconds(1)).has_value());
  ASSERT_TRUE(cache.Lookup("window", t0).has_value());
  EXPECT_EQ(cache.Lookup("window", t0)->subject, "u:x");
  EXPECT_FALSE(cache.Lookup("window", t0 + absl::Minutes(5)).has_value());
  EXPECT_FALSE(cache.Lookup("window", t0).has_value()) << "an expired entry is dropped";
  EXPECT_FALSE(cache.Lookup("windoW", t0).has_value());
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(TokenCacheTest, ConcurrentVerificationsAgree) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) tokens.push_back(kit_.Token("u:" + std::to_string(i), {"sales"}));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int k = (i + t) % tokens.size();
        absl::StatusOr<Principal> p = verifier_->Verify(tokens[k], absl::Now());
        if (!p.ok() || p->subject != "u:" + std::to_string(k)) ++wrong;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(verifier_->cached_tokens(), tokens.size());
}

TEST(JwtVerifierNoCache, CapacityZeroVerifiesEveryCall) {
  testing::TempDir dir;
  AuthKit kit(dir.path());
  auto v = JwtVerifier::FromKeysDir(
      kit.keys_dir(), JwtOptions{.issuer = testing::kTestIssuer, .token_cache_capacity = 0});
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE((*v)->Verify(kit.Token("u:alice", {"sales"}), absl::Now()).ok());
  EXPECT_EQ((*v)->cached_tokens(), 0u);
}

}  // namespace
}  // namespace triad::auth
