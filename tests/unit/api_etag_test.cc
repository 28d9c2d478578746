// Tests of common/api/etag.
#include <type_traits>

#include "common/api/etag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triad::api {
namespace {

TEST(EtagTest, StaleEtagIsAbortedNamingBothEtags) {
  absl::Status s = CheckEtag(StoredEtag("3"), GivenEtag("2"), "client cl_1");
  EXPECT_TRUE(absl::IsAborted(s));
  EXPECT_EQ(s.message(), "etag: stale; client cl_1 is at etag 3, the request had 2");
  EXPECT_TRUE(CheckEtag(StoredEtag("3"), GivenEtag("3"), "client cl_1").ok());
}

TEST(EtagTest, MissingEtagIsOkUnlessRequired) {
  EXPECT_TRUE(CheckEtag(StoredEtag("3"), GivenEtag(""), "case c").ok());
  absl::Status s = CheckEtag(StoredEtag("3"), GivenEtag(""), "case c", EtagPolicy::kRequired);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "etag: required");
}

TEST(EtagTest, ArgumentsCannotBeSwapped) {
  // Plain strings do not convert, and the two etag types do not convert into each other.
  EXPECT_FALSE((std::is_convertible_v<const char*, StoredEtag>));
  EXPECT_FALSE((std::is_convertible_v<GivenEtag, StoredEtag>));
  EXPECT_FALSE((std::is_invocable_v<decltype(&CheckEtag), GivenEtag, StoredEtag, std::string_view,
                                    EtagPolicy>));
}

TEST(EtagTest, NextEtagCountsUp) {
  EXPECT_EQ(NextEtag(""), "1");
  EXPECT_EQ(NextEtag("0"), "1");
  EXPECT_EQ(NextEtag("41"), "42");
  EXPECT_EQ(NextEtag("garbage"), "1");
}

}  // namespace
}  // namespace triad::api
