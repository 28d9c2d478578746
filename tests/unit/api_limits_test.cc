// Tests of common/api/limits: each generic request limit (string length with its overrides, item
// counts of repeated fields and maps, nesting depth, page_size, request size) through
// api::CheckRequest, and the override table against the schemas.
#include <string>
#include <vector>

#include "common/api/limits.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "triad/admin/v1/admin_service.pb.h"
#include "triad/clients/v1/clients_admin_service.pb.h"
#include "triad/clients/v1/clients_service.pb.h"
#include "triad/pipeline/v1/pipeline_admin_service.pb.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"
#include "triad/production/v1/production_service.pb.h"
#include "triad/review/v1/review_service.pb.h"

namespace triad::api {
namespace {

using ::testing::StartsWith;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

TEST(LimitsTest, AStringFieldIsHeldToTheDefaultTextLength) {
  clients::v1::CreateClientRequest req;
  req.mutable_client()->set_notes(std::string(kMaxTextLength, 'n'));
  EXPECT_TRUE(CheckRequest(req).ok());
  req.mutable_client()->set_notes(std::string(kMaxTextLength + 1, 'n'));
  absl::Status s = CheckRequest(req);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(Msg(s), "client.notes: at most 2000 bytes (got 2001)");
}

TEST(LimitsTest, AnOverriddenFieldTakesItsOwnLimitWhereverItIsNested) {
  review::v1::CreateSolutionRequest req;
  req.mutable_solution()->set_body(std::string(kMaxDocumentLength, 'b'));
  EXPECT_TRUE(CheckRequest(req).ok());
  req.mutable_solution()->set_body(std::string(kMaxDocumentLength + 1, 'b'));
  EXPECT_EQ(Msg(CheckRequest(req)), "solution.body: at most 20000 bytes (got 20001)");
  // The solution's summary has no override: the default holds.
  req.mutable_solution()->clear_body();
  req.mutable_solution()->set_summary(std::string(kMaxTextLength + 5, 's'));
  EXPECT_EQ(Msg(CheckRequest(req)), "solution.summary: at most 2000 bytes (got 2005)");

  clients::v1::OpenCaseRequest open;
  open.set_description(std::string(kMaxDocumentLength + 1, 'd'));
  EXPECT_EQ(Msg(CheckRequest(open)), "description: at most 20000 bytes (got 20001)");
  review::v1::RecordVerdictRequest verdict;
  verdict.set_judgement(std::string(kMaxLongTextLength, 'j'));
  EXPECT_TRUE(CheckRequest(verdict).ok());
  verdict.set_judgement(std::string(kMaxLongTextLength + 1, 'j'));
  EXPECT_EQ(Msg(CheckRequest(verdict)), "judgement: at most 10000 bytes (got 10001)");
}

TEST(LimitsTest, ABytesFieldIsHeldToItsLimit) {
  clients::v1::ImportClientsCsvRequest req;
  req.set_csv(std::string(kMaxCsvBytes, 'c'));
  EXPECT_TRUE(CheckRequest(req).ok());
  req.set_csv(std::string(kMaxCsvBytes + 1, 'c'));
  EXPECT_EQ(Msg(CheckRequest(req)),
            absl::StrCat("csv: at most ", kMaxCsvBytes, " bytes (got ", kMaxCsvBytes + 1, ")"));
}

TEST(LimitsTest, ARepeatedStringItemIsNamedByItsIndex) {
  review::v1::RecordVerdictRequest req;
  req.add_risks("fine");
  req.add_risks(std::string(kMaxTextLength + 1, 'r'));
  EXPECT_EQ(Msg(CheckRequest(req)), "risks[1]: at most 2000 bytes (got 2001)");
}

TEST(LimitsTest, ARepeatedFieldIsHeldToTheDefaultCount) {
  clients::v1::CreateClientRequest req;
  for (int i = 0; i < kMaxRepeatedCount; ++i) req.mutable_client()->add_tags("t");
  EXPECT_TRUE(CheckRequest(req).ok());
  req.mutable_client()->add_tags("t");
  absl::Status s = CheckRequest(req);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(Msg(s), "client.tags: at most 1000 items (got 1001)");
}

TEST(LimitsTest, AMapIsHeldToTheCountAndItsKeysAndValuesToTheLength) {
  pipeline::v1::CreateOpportunityRequest req;
  for (int i = 0; i < kMaxRepeatedCount; ++i) (*req.mutable_fields())[absl::StrCat("k", i)] = "v";
  EXPECT_TRUE(CheckRequest(req).ok());
  (*req.mutable_fields())["one-more"] = "v";
  EXPECT_EQ(Msg(CheckRequest(req)), "fields: at most 1000 items (got 1001)");

  pipeline::v1::CreateOpportunityRequest one;
  (*one.mutable_fields())["site"] = std::string(kMaxTextLength + 1, 'v');
  EXPECT_EQ(Msg(CheckRequest(one)), "fields[0].value: at most 2000 bytes (got 2001)");
  pipeline::v1::CreateOpportunityRequest key;
  (*key.mutable_fields())[std::string(kMaxTextLength + 1, 'k')] = "v";
  EXPECT_EQ(Msg(CheckRequest(key)), "fields[0].key: at most 2000 bytes (got 2001)");
}

// Nest builds a google.protobuf.Value nested `levels` list values deep.
google::protobuf::Value Nest(int levels) {
  google::protobuf::Value v;
  v.set_string_value("leaf");
  for (int i = 0; i < levels; ++i) {
    google::protobuf::Value outer;
    *outer.mutable_list_value()->add_values() = v;
    v = outer;
  }
  return v;
}

TEST(LimitsTest, NestingIsBounded) {
  // Each list level is two messages deep (Value -> ListValue -> Value).
  EXPECT_TRUE(CheckLimits(Nest(kMaxNestingDepth / 2)).ok());
  absl::Status s = CheckLimits(Nest(kMaxNestingDepth));
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(Msg(s), StartsWith("list_value.values[0].list_value.values[0]."));
  EXPECT_THAT(Msg(s), ::testing::EndsWith(": at most 16 levels of nested messages"));
}

TEST(LimitsTest, PageSizeIsAtMostTheLargestPageAndNotNegative) {
  clients::v1::ListClientsRequest req;
  req.set_page_size(kMaxPageSize);
  EXPECT_TRUE(CheckRequest(req).ok());
  req.set_page_size(kMaxPageSize + 1);
  EXPECT_EQ(Msg(CheckRequest(req)), "page_size: at most 1000 items per page (got 1001)");
  req.set_page_size(-1);
  EXPECT_EQ(Msg(CheckRequest(req)), "page_size: must not be negative");
}

TEST(LimitsTest, ARequestLargerThanTheMessageLimitIsResourceExhausted) {
  // Many fields each within its limit, together over kMaxRequestBytes.
  pipeline::v1::CreatePlaybookVersionRequest req;
  for (int i = 0; i < 3; ++i) {
    pipeline::v1::Stage* stage = req.mutable_playbook()->add_stages();
    for (int j = 0; j < kMaxRepeatedCount; ++j) {
      stage->add_checkpoints()->set_description(std::string(kMaxTextLength, 'd'));
    }
  }
  ASSERT_GT(req.ByteSizeLong(), kMaxRequestBytes);
  absl::Status s = CheckRequest(req);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(Msg(s), StartsWith("request: at most 4194304 bytes (got "));
}

TEST(LimitsTest, IdFieldsKeepTheirOwnShorterLimit) {
  clients::v1::OpenCaseRequest req;
  req.set_client_id(std::string(kMaxIdLength + 1, 'x'));
  EXPECT_THAT(Msg(CheckRequest(req)), StartsWith("client_id: longer than 200 bytes"));
}

TEST(LimitsTest, EveryOverrideNamesAStringOrBytesFieldOfTheSchemas) {
  // Link the generated files so the pool knows every service's messages.
  (void)clients::v1::ImportClientsCsvRequest::descriptor();
  (void)pipeline::v1::CreatePlaybookVersionRequest::descriptor();
  (void)review::v1::CreateSolutionRequest::descriptor();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const FieldLimit& l : FieldOverrides()) {
    const google::protobuf::FieldDescriptor* f = pool->FindFieldByName(std::string(l.field));
    ASSERT_NE(f, nullptr) << l.field << " is not a field (renamed?)";
    if (l.max_bytes > 0) {
      EXPECT_EQ(f->cpp_type(), google::protobuf::FieldDescriptor::CPPTYPE_STRING) << l.field;
      EXPECT_GT(l.max_bytes, kMaxTextLength) << l.field;
      EXPECT_EQ(MaxBytes(*f), l.max_bytes);
    }
    if (l.max_count > 0) {
      EXPECT_TRUE(f->is_repeated()) << l.field;
    }
  }
}

TEST(LimitsTest, EveryRequestOfEveryServiceFitsTheNestingLimit) {
  // Referencing a request links its file into the generated pool.
  (void)clients::v1::ListClientsRequest::descriptor();
  (void)clients::v1::ScanSlaBreachesRequest::descriptor();
  (void)pipeline::v1::ListOpportunitiesRequest::descriptor();
  (void)pipeline::v1::ScanStaleDealsRequest::descriptor();
  (void)review::v1::ListExpertsRequest::descriptor();
  (void)production::v1::ListProjectsRequest::descriptor();
  (void)admin::v1::ListBackupsRequest::descriptor();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const char* name :
       {"triad.clients.v1.ClientsService", "triad.clients.v1.ClientsAdminService",
        "triad.pipeline.v1.PipelineService", "triad.pipeline.v1.PipelineAdminService",
        "triad.review.v1.ReviewService", "triad.production.v1.ProductionService",
        "triad.admin.v1.AdminService"}) {
    services.push_back(pool->FindServiceByName(name));
    ASSERT_NE(services.back(), nullptr) << name;
  }
  int methods = 0;
  for (const auto* svc : services) {
    for (int i = 0; i < svc->method_count(); ++i, ++methods) {
      const google::protobuf::Descriptor* in = svc->method(i)->input_type();
      const int depth = SchemaDepth(*in);
      EXPECT_GE(depth, 0) << in->full_name() << " is recursive";
      EXPECT_LE(depth, kMaxNestingDepth) << in->full_name();
    }
  }
  EXPECT_GT(methods, 50);
  EXPECT_EQ(SchemaDepth(*google::protobuf::Value::descriptor()), -1);
}

}  // namespace
}  // namespace triad::api
