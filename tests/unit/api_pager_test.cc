// Tests of common/api/pager: the look-ahead page rule and token validation.
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triad::api {
namespace {

using ::testing::HasSubstr;

// Lists `keys` (sorted) in pages of `size`, returning the pages.
std::vector<std::vector<std::string>> AllPages(const std::vector<std::string>& keys, int size) {
  std::vector<std::vector<std::string>> pages;
  std::string token;
  do {
    absl::StatusOr<Pager> pager = Pager::Start(size, token, "f");
    EXPECT_TRUE(pager.ok()) << pager.status();
    if (!pager.ok()) break;
    std::vector<std::string> page;
    for (const std::string& k : keys) {
      if (!pager->after_key().empty() && k <= pager->after_key()) continue;
      if (!pager->Accept(k)) break;
      page.push_back(k);
    }
    pages.push_back(page);
    token = pager->NextPageToken();
  } while (!token.empty() && pages.size() < 100);
  return pages;
}

TEST(PagerTest, ExactlyFullLastPageHasNoToken) {
  auto pages = AllPages({"a", "b", "c", "d"}, 2);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[1], (std::vector<std::string>{"c", "d"}));
  pages = AllPages({"a", "b", "c", "d", "e"}, 2);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[2], (std::vector<std::string>{"e"}));
  EXPECT_EQ(AllPages({}, 2).size(), 1u);
}

TEST(PagerTest, PageSizeDefaultsAndClamps) {
  EXPECT_EQ(Pager::Start(0, "")->page_size(), kDefaultPageSize);
  EXPECT_EQ(Pager::Start(5000, "")->page_size(), kMaxPageSize);
  EXPECT_EQ(Pager::Start(7, "")->page_size(), 7);
  absl::Status s = Pager::Start(-1, "").status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("page_size"));
  EXPECT_EQ(*PageSize(0), kDefaultPageSize);
}

TEST(PagerTest, GroupsCountTowardsThePage) {
  Pager p = *Pager::Start(3, "");
  EXPECT_TRUE(p.Accept("a", 2));
  EXPECT_TRUE(p.Accept("b", 2));  // the page may overshoot by the last group
  EXPECT_FALSE(p.Accept("c", 1));
  EXPECT_FALSE(p.NextPageToken().empty());
}

TEST(PagerTest, TokensResumeAndAreBoundToTheFilter) {
  std::string token = MakePageToken(std::string("key\0x", 5), "owner=ann");
  absl::StatusOr<Pager> next = Pager::Start(10, token, "owner=ann");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->after_key(), std::string("key\0x", 5));
  absl::Status other = Pager::Start(10, token, "owner=bob").status();
  EXPECT_TRUE(absl::IsInvalidArgument(other));
  EXPECT_THAT(std::string(other.message()), HasSubstr("page_token"));
}

TEST(PagerTest, TamperedTokensAreInvalidArgumentNamingPageToken) {
  std::string token = MakePageToken("cl_0001", "f");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  std::vector<std::string> bad = {"!!!", "", "abc"};
  for (size_t i = 0; i < raw.size(); ++i) {  // every single-byte edit
    std::string edited = raw;
    edited[i] = static_cast<char>(edited[i] ^ 0x01);
    bad.push_back(absl::WebSafeBase64Escape(edited));
  }
  bad.push_back(absl::WebSafeBase64Escape(raw.substr(0, raw.size() - 1)));
  for (size_t i = 1; i < bad.size(); ++i) {
    if (bad[i].empty()) continue;
    absl::Status s = Pager::Start(10, bad[i], "f").status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << i;
    EXPECT_THAT(std::string(s.message()), HasSubstr("page_token")) << i;
  }
  EXPECT_TRUE(Pager::Start(10, token, "f").ok());
}

}  // namespace
}  // namespace triad::api
