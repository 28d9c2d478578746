// Tests of the clients text helpers: the duplicate-detection normaliser and the CSV reader.
#include "services/clients/text_util.h"

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clients/tests/test_support.h"

namespace triad::clients {
namespace {

using testing::DomainEnv;
using testing::DomainTest;
using ::testing::HasSubstr;
using testing::MakeActor;
using testing::NewClientRequest;

// --- Normaliser and CSV ----------------------------------------------------------------------

TEST(NormalizeTest, FoldsWidthCaseAndPunctuation) {
  EXPECT_EQ(FoldText("ＡＣＭＥ　Ｄｅｓｉｇｎ，Ｉｎｃ．"), "acme design inc");
  EXPECT_EQ(FoldText("  Hello,   World!! "), "hello world");
  EXPECT_EQ(FoldText("北京（华信）设计。"), "北京 华信 设计");
}

TEST(NormalizeTest, RemovesCompanySuffixes) {
  EXPECT_EQ(NormalizeName("Acme Co., Ltd."), "acme");
  EXPECT_EQ(NormalizeName("ACME CO LTD"), "acme");
  EXPECT_EQ(NormalizeName("Acme Inc."), "acme");
  EXPECT_EQ(NormalizeName("Acme GmbH"), "acme");
  EXPECT_EQ(NormalizeName("acme, llc"), "acme");
  EXPECT_EQ(NormalizeName("Acme Corp"), "acme");
  EXPECT_EQ(NormalizeName("北京华信设计有限公司"), "北京华信设计");
  EXPECT_EQ(NormalizeName("北京华信设计股份有限公司"), "北京华信设计");
  EXPECT_EQ(NormalizeName("北京华信设计有限责任公司"), "北京华信设计");
  EXPECT_EQ(NormalizeName("北京华信设计（有限公司）"), "北京华信设计");
  EXPECT_EQ(NormalizeName("Ｈｕａｘｉｎ Design Co.,Ltd"), "huaxindesign");
  // A name made only of a suffix word is kept rather than emptied.
  EXPECT_EQ(NormalizeName("Company"), "company");
  EXPECT_EQ(NormalizeName("有限公司"), "有限公司");
  // Deterministic.
  EXPECT_EQ(NormalizeName("Acme Co., Ltd."), NormalizeName("ACME co ltd"));
}

TEST(NormalizeTest, TaxPhoneEmail) {
  EXPECT_EQ(NormalizeTaxId("91110000-ab12 34ｃｄ"), "91110000AB1234CD");
  EXPECT_EQ(NormalizePhone("+86 138-0013-8000"), "13800138000");
  EXPECT_EQ(NormalizePhone("0086 13800138000"), "13800138000");
  EXPECT_EQ(NormalizePhone("010-6552 1234"), "1065521234");
  EXPECT_EQ(NormalizePhone("12"), "");
  EXPECT_EQ(EmailDomain("Li.Wei@Huaxin-Design.CN"), "huaxin-design.cn");
  EXPECT_EQ(EmailDomain("someone@qq.com"), "");
  EXPECT_EQ(EmailDomain("no-at-sign"), "");
}

TEST(CsvTest, ParsesQuotesAndLineEndings) {
  auto rows =
      ParseCsv("\xEF\xBB\xBFname,notes\r\n\"Acme, Inc.\",\"say \"\"hi\"\"\nline2\"\r\n\r\nB,\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0], (std::vector<std::string>{"name", "notes"}));
  EXPECT_EQ((*rows)[1], (std::vector<std::string>{"Acme, Inc.", "say \"hi\"\nline2"}));
  EXPECT_EQ((*rows)[2], (std::vector<std::string>{"B", ""}));
  EXPECT_FALSE(ParseCsv("a\n\"open").ok());
}

}  // namespace
}  // namespace triad::clients
