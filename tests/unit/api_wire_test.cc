// Tests of common/api/wire: reading the top-level fields of encodings protobuf wrote, refusing
// malformed ones, and answers carrying stored encodings as fields.
#include <algorithm>
#include <string>
#include <vector>

#include "common/api/wire.h"
#include "gtest/gtest.h"
#include "triad/clients/v1/clients_service.pb.h"

namespace triad::api {
namespace {

using clients::v1::Client;
using clients::v1::ListClientsResponse;

Client Sample() {
  Client c;
  c.set_client_id("cl_1");
  c.set_name("Sample works");
  c.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
  c.set_tier(clients::v1::CLIENT_TIER_KEY);
  c.add_tags("a");
  c.add_tags("b");
  c.set_completeness_score(-3);  // A negative int32 is a ten-byte varint.
  c.set_version(1LL << 40);
  c.mutable_create_time()->set_seconds(1700000000);
  c.mutable_repeat_business()->set_deals_won(2);
  return c;
}

TEST(WireTest, ReadsEveryTopLevelFieldProtobufWrote) {
  const Client c = Sample();
  const std::string bytes = c.SerializeAsString();
  std::vector<int> numbers;
  std::vector<std::string> tags;
  std::string raw;
  Client rebuilt;
  ASSERT_TRUE(ForEachWireField(bytes, [&](const WireField& f) {
    numbers.push_back(f.number);
    raw.append(f.raw);
    switch (f.number) {
      case Client::kClientIdFieldNumber:
        EXPECT_EQ(f.wire_type, 2);
        rebuilt.set_client_id(std::string(f.payload));
        break;
      case Client::kStatusFieldNumber:
        EXPECT_EQ(f.wire_type, 0);
        rebuilt.set_status(static_cast<clients::v1::ClientStatus>(f.value));
        break;
      case Client::kTagsFieldNumber:
        tags.emplace_back(f.payload);
        break;
      case Client::kCompletenessScoreFieldNumber:
        rebuilt.set_completeness_score(static_cast<int32_t>(f.value));
        break;
      case Client::kVersionFieldNumber:
        rebuilt.set_version(static_cast<int64_t>(f.value));
        break;
      case Client::kCreateTimeFieldNumber:
        EXPECT_TRUE(rebuilt.mutable_create_time()->ParseFromString(std::string(f.payload)));
        break;
      default:
        break;
    }
    return true;
  }));
  EXPECT_EQ(raw, bytes);  // The raw fields cover the encoding exactly.
  EXPECT_EQ(numbers, (std::vector<int>{1, 2, 10, 13, 14, 14, 16, 17, 19, 25}));
  EXPECT_EQ(tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(rebuilt.client_id(), "cl_1");
  EXPECT_EQ(rebuilt.status(), clients::v1::CLIENT_STATUS_VERIFIED);
  EXPECT_EQ(rebuilt.completeness_score(), -3);
  EXPECT_EQ(rebuilt.version(), 1LL << 40);
  EXPECT_EQ(rebuilt.create_time().seconds(), 1700000000);
}

TEST(WireTest, ReadsFixedWidthFields) {
  // Field 1 as fixed64 (tag 0x09), field 2 as fixed32 (tag 0x15), little-endian.
  const std::string bytes("\x09\x01\x02\x03\x04\x05\x06\x07\x88\x15\xff\x00\x00\x80", 14);
  std::vector<uint64_t> values;
  std::vector<int> types;
  ASSERT_TRUE(ForEachWireField(bytes, [&](const WireField& f) {
    values.push_back(f.value);
    types.push_back(f.wire_type);
    return true;
  }));
  EXPECT_EQ(values, (std::vector<uint64_t>{0x8807060504030201ULL, 0x800000ffULL}));
  EXPECT_EQ(types, (std::vector<int>{1, 5}));
  EXPECT_FALSE(ForEachWireField(bytes.substr(0, 8), [](const WireField&) { return true; }));
}

TEST(WireTest, StopsWhenTheCallbackSaysSo) {
  const std::string bytes = Sample().SerializeAsString();
  int seen = 0;
  EXPECT_TRUE(ForEachWireField(bytes, [&](const WireField&) { return ++seen < 3; }));
  EXPECT_EQ(seen, 3);
}

TEST(WireTest, AnEmptyEncodingHasNoFields) {
  int seen = 0;
  EXPECT_TRUE(ForEachWireField("", [&](const WireField&) { return ++seen > 0; }));
  EXPECT_EQ(seen, 0);
}

TEST(WireTest, RefusesMalformedEncodings) {
  const std::string bytes = Sample().SerializeAsString();
  auto ok = [](std::string_view b) {
    return ForEachWireField(b, [](const WireField&) { return true; });
  };
  // Every proper prefix that cuts a field is refused; those that end between fields are not.
  size_t field_ends = 0;
  std::vector<size_t> ends;
  ForEachWireField(bytes, [&](const WireField& f) {
    field_ends += f.raw.size();
    ends.push_back(field_ends);
    return true;
  });
  for (size_t n = 1; n < bytes.size(); ++n) {
    const bool at_boundary = std::find(ends.begin(), ends.end(), n) != ends.end();
    EXPECT_EQ(ok(bytes.substr(0, n)), at_boundary) << "prefix of " << n << " bytes";
  }
  EXPECT_FALSE(ok(std::string("\x00\x01", 2)));  // Field number 0.
  EXPECT_FALSE(
      ok("\x0a\x05"
         "ab"));                                                         // Length past the end.
  EXPECT_FALSE(ok("\x0b"));                                              // A group starts.
  EXPECT_FALSE(ok("\x0f"));                                              // Wire type 7.
  EXPECT_FALSE(ok("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"));  // Varint too long.
}

TEST(WireTest, AppendedFieldsReadAsTheMessageField) {
  Client c = Sample();
  c.clear_repeat_business();
  std::string bytes = c.SerializeAsString();
  clients::v1::RepeatBusiness rb;
  rb.set_deals_won(7);
  AppendLengthDelimitedField(Client::kRepeatBusinessFieldNumber, rb.SerializeAsString(), bytes);
  std::string long_name(300, 'n');  // A length of two varint bytes.
  AppendLengthDelimitedField(Client::kNotesFieldNumber, long_name, bytes);
  Client parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.repeat_business().deals_won(), 7);
  EXPECT_EQ(parsed.notes(), long_name);
  EXPECT_EQ(parsed.name(), c.name());
}

TEST(WireTest, EncodedFieldsAreSerialisedAsTheRepeatedField) {
  ListClientsResponse resp;
  resp.set_next_page_token("next");
  Client a = Sample();
  Client b = Sample();
  b.set_client_id("cl_2");
  AddEncodedField(resp, ListClientsResponse::kClientsFieldNumber, a.SerializeAsString());
  AddEncodedField(resp, ListClientsResponse::kClientsFieldNumber, b.SerializeAsString());
  EXPECT_EQ(resp.clients_size(), 0);
  ListClientsResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(resp.SerializeAsString()));
  ASSERT_EQ(parsed.clients_size(), 2);
  EXPECT_EQ(parsed.clients(0).SerializeAsString(), a.SerializeAsString());
  EXPECT_EQ(parsed.clients(1).client_id(), "cl_2");
  EXPECT_EQ(parsed.next_page_token(), "next");
  EXPECT_TRUE(parsed.GetReflection()->GetUnknownFields(parsed).empty());
}

}  // namespace
}  // namespace triad::api
