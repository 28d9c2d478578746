// Tests of common/api/validation: the error grammar and each shared check.
#include <limits>
#include <string>

#include "common/api/validation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "triad/clients/v1/resources.pb.h"

namespace triad::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ValidationTest, InvalidFieldNamesThePathFirst) {
  absl::Status s = InvalidField("client.name", "required");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "client.name: required");
}

TEST(ValidationTest, Utf8WalkNamesTheNestedRepeatedOrMapField) {
  clients::v1::Client c;
  c.set_name("ok");
  EXPECT_TRUE(CheckUtf8(c).ok());
  c.add_tags("fine");
  c.add_tags("bad\xff");
  absl::Status s = CheckUtf8(c, "client");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "client.tags: not valid UTF-8");
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // a UTF-16 surrogate
  EXPECT_TRUE(IsValidUtf8("北京"));
}

TEST(ValidationTest, IdsAreRequiredBoundedAndUtf8) {
  EXPECT_TRUE(CheckId("client_id", "cl_1").ok());
  EXPECT_EQ(CheckId("client_id", " \t").message(), "client_id: required");
  EXPECT_THAT(std::string(CheckId("client_id", std::string(kMaxIdLength + 1, 'x')).message()),
              StartsWith("client_id: longer than 200"));
  EXPECT_TRUE(CheckId("client_id", std::string(kMaxIdLength, 'x')).ok());
  EXPECT_EQ(CheckId("client_id", "\xc0\xaf").message(), "client_id: not valid UTF-8");
  EXPECT_TRUE(CheckOptionalId("contact_id", "").ok());
  EXPECT_FALSE(CheckOptionalId("contact_id", " ").ok());
}

TEST(ValidationTest, IdsRefuseControlCharacters) {
  for (const char* bad : {"a\x01b", "tab\there", "nl\n", "del\x7f", "c1\xc2\x85"}) {
    absl::Status s = CheckId("client_id", bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad;
    EXPECT_EQ(s.message(), "client_id: contains a control character") << bad;
    EXPECT_FALSE(CheckOptionalId("contact_id", bad).ok()) << bad;
  }
  EXPECT_TRUE(CheckId("client_id", "北京-1 a").ok());
  EXPECT_FALSE(HasControlCharacter("é"));  // C3 A9: not a C1 control
}

TEST(ValidationTest, IdFieldsAreCheckedByNameRecursively) {
  EXPECT_TRUE(IsIdFieldName("id"));
  EXPECT_TRUE(IsIdFieldName("client_id"));
  EXPECT_TRUE(IsIdFieldName("member_ids"));
  EXPECT_FALSE(IsIdFieldName("idea"));
  EXPECT_FALSE(IsIdFieldName("name"));
  clients::v1::Client c;
  c.set_client_id("cl_1");
  c.set_name("free text\twith a tab is not an id");
  EXPECT_TRUE(CheckIdFields(c).ok());
  c.set_client_id("cl\x02");
  EXPECT_EQ(CheckIdFields(c, "client").message(), "client.client_id: contains a control character");
  c.set_client_id("cl\xff");
  EXPECT_EQ(CheckIdFields(c, "client").message(), "client.client_id: not valid UTF-8");
  c.set_client_id("");  // not set: nothing to check (required-ness is the RPC's business)
  EXPECT_TRUE(CheckIdFields(c).ok());
  common::v1::Actor a;
  a.set_id("u:\x1b[31m");
  EXPECT_EQ(CheckIdFields(a, "actor").message(), "actor.id: contains a control character");
}

TEST(ValidationTest, LengthsAndCounts) {
  EXPECT_TRUE(CheckLength("notes", "abc", 3).ok());
  EXPECT_EQ(CheckLength("notes", "abcd", 3).message(), "notes: longer than 3 bytes");
  EXPECT_TRUE(CheckText("notes", std::string(kMaxTextLength, 'a')).ok());
  EXPECT_FALSE(CheckText("notes", std::string(kMaxTextLength + 1, 'a')).ok());
  EXPECT_EQ(CheckCount("tags", 51, 50).message(), "tags: more than 50 items");
  EXPECT_TRUE(CheckCount("tags", 50, 50).ok());
}

TEST(ValidationTest, MoneyHasOneBoundPolicy) {
  common::v1::Money m;
  EXPECT_TRUE(CheckMoney("value", m, MoneyPresence::kOptional).ok());
  EXPECT_EQ(CheckMoney("value", m, MoneyPresence::kRequired).message(), "value: required");
  m.set_currency("CNY");
  m.set_amount_minor(kMaxAmountMinor);
  EXPECT_TRUE(CheckMoney("value", m, MoneyPresence::kRequired).ok());
  m.set_amount_minor(kMaxAmountMinor + 1);
  EXPECT_THAT(std::string(CheckMoney("value", m, MoneyPresence::kRequired).message()),
              StartsWith("value.amount_minor: must be at most"));
  m.set_amount_minor(std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(CheckMoney("value", m, MoneyPresence::kOptional).ok());
  m.set_amount_minor(-1);
  EXPECT_THAT(std::string(CheckMoney("value", m, MoneyPresence::kOptional).message()),
              StartsWith("value.amount_minor:"));
  m.set_amount_minor(5);
  for (const char* bad : {"", "usd", "US", "USDX", "U$D"}) {
    m.set_currency(bad);
    EXPECT_THAT(std::string(CheckMoney("value", m, MoneyPresence::kOptional).message()),
                StartsWith("value.currency:"))
        << bad;
  }
}

TEST(ValidationTest, TimestampsStayInTheTypesRange) {
  google::protobuf::Timestamp ts;
  EXPECT_TRUE(CheckTimestamp("won_time", ts).ok());
  ts.set_seconds(253402300799);
  EXPECT_TRUE(CheckTimestamp("won_time", ts).ok());
  ts.set_seconds(253402300800);
  EXPECT_THAT(std::string(CheckTimestamp("won_time", ts).message()),
              HasSubstr("won_time: out of range"));
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_FALSE(CheckTimestamp("won_time", ts).ok());
  ts.set_nanos(1000000000);
  EXPECT_FALSE(CheckTimestamp("won_time", ts).ok());
}

}  // namespace
}  // namespace triad::api
