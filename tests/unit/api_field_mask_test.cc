// Tests of common/api/field_mask.
#include <string_view>

#include "common/api/field_mask.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "triad/clients/v1/resources.pb.h"

namespace triad::api {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kAllowed[] = {"name", "tags", "create_time"};

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask m;
  for (const char* p : paths) m.add_paths(p);
  return m;
}

TEST(FieldMaskTest, EmptyMaskAndUnknownPathsAreRefused) {
  EXPECT_EQ(CheckUpdateMask(Mask({}), kAllowed).message(), "update_mask: required");
  absl::Status s = CheckUpdateMask(Mask({"name", "status"}), kAllowed);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("update_mask.paths: unknown or read-only field 'status'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("allowed: name, tags, create_time"));
  EXPECT_TRUE(CheckUpdateMask(Mask({"tags", "name"}), kAllowed).ok());
}

TEST(FieldMaskTest, ApplyCopiesOnlyNamedFieldsReplacingListsAndClearingUnset) {
  clients::v1::Client stored;
  stored.set_name("Old");
  stored.set_notes("keep");
  stored.add_tags("a");
  stored.add_tags("b");
  stored.mutable_create_time()->set_seconds(5);
  clients::v1::Client in;
  in.set_name("New");
  in.set_notes("ignored");
  in.add_tags("c");
  ASSERT_TRUE(ApplyUpdateMask(Mask({"name", "tags", "create_time"}), kAllowed, in, stored).ok());
  EXPECT_EQ(stored.name(), "New");
  EXPECT_EQ(stored.notes(), "keep");
  ASSERT_EQ(stored.tags_size(), 1);
  EXPECT_EQ(stored.tags(0), "c");
  EXPECT_FALSE(stored.has_create_time());
  EXPECT_EQ(in.name(), "New");  // the source is not modified
}

TEST(FieldMaskTest, ApplyRefusesBeforeChangingAnything) {
  clients::v1::Client stored;
  stored.set_name("Old");
  clients::v1::Client in;
  in.set_name("New");
  EXPECT_FALSE(ApplyUpdateMask(Mask({"name", "client_id"}), kAllowed, in, stored).ok());
  EXPECT_EQ(stored.name(), "Old");
}

}  // namespace
}  // namespace triad::api
