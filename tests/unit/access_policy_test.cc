// Every method of every gRPC service Triad serves has an entry in its role table (default deny
// would otherwise lock it for everyone), no table names a method its service lacks, and the
// role principle holds where it matters most: operator-only admin APIs, service accounts on
// every non-admin method.
#include "services/clients/access_policy.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/auth/policy.h"
#include "common/server/admin_policy.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "services/pipeline/access_policy.h"
#include "services/production/access_policy.h"
#include "services/review/access_policy.h"
#include "triad/admin/v1/admin_service.pb.h"
#include "triad/clients/v1/clients_admin_service.pb.h"
#include "triad/clients/v1/clients_service.pb.h"
#include "triad/pipeline/v1/pipeline_admin_service.pb.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"
#include "triad/production/v1/production_service.pb.h"
#include "triad/review/v1/review_service.pb.h"

namespace triad::auth {
namespace {

struct Table {
  const Policy* policy;
  bool admin;
};

std::vector<Table> AllTables() {
  return {
      {&clients::ClientsServicePolicy(), false},   {&clients::ClientsAdminPolicy(), true},
      {&pipeline::PipelineServicePolicy(), false}, {&pipeline::PipelineAdminPolicy(), true},
      {&review::ReviewServicePolicy(), false},     {&production::ProductionServicePolicy(), false},
      {&server::AdminServicePolicy(), true},
  };
}

const google::protobuf::ServiceDescriptor* Service(const std::string& full_name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
}

TEST(AccessPolicyTest, EveryServiceOfEveryProtoHasATable) {
  std::vector<std::string> covered;
  for (const Table& t : AllTables()) covered.push_back(t.policy->service_full_name());
  for (const char* file :
       {"triad/clients/v1/clients_service.proto", "triad/clients/v1/clients_admin_service.proto",
        "triad/pipeline/v1/pipeline_service.proto",
        "triad/pipeline/v1/pipeline_admin_service.proto", "triad/review/v1/review_service.proto",
        "triad/production/v1/production_service.proto", "triad/admin/v1/admin_service.proto"}) {
    const google::protobuf::FileDescriptor* fd =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(file);
    ASSERT_NE(fd, nullptr) << file;
    for (int i = 0; i < fd->service_count(); ++i) {
      EXPECT_NE(std::find(covered.begin(), covered.end(), fd->service(i)->full_name()),
                covered.end())
          << fd->service(i)->full_name() << " has no role table";
    }
  }
}

TEST(AccessPolicyTest, EveryMethodHasAnEntryAndEveryEntryAMethod) {
  for (const Table& t : AllTables()) {
    const google::protobuf::ServiceDescriptor* sd = Service(t.policy->service_full_name());
    ASSERT_NE(sd, nullptr) << t.policy->service_full_name();
    for (int i = 0; i < sd->method_count(); ++i) {
      const std::string& method = sd->method(i)->name();
      EXPECT_TRUE(t.policy->Has(method))
          << sd->full_name() << "/" << method << " has no role-table entry";
      EXPECT_TRUE(t.policy->Allowed(method, {Role::kOperator})) << method;
      EXPECT_EQ(t.policy->Allowed(method, {Role::kService}), !t.admin)
          << sd->full_name() << "/" << method
          << ": service accounts call every non-admin method and no admin one";
    }
    for (const std::string& method : t.policy->methods()) {
      EXPECT_NE(sd->FindMethodByName(method), nullptr)
          << sd->full_name() << " has no method " << method << " (stale role-table entry)";
    }
  }
}

TEST(AccessPolicyTest, RolePrincipleSpotChecks) {
  const Policy& c = clients::ClientsServicePolicy();
  EXPECT_TRUE(c.Allowed("CreateClient", {Role::kSales}));
  EXPECT_FALSE(c.Allowed("ImportClientsCsv", {Role::kSales}));
  EXPECT_TRUE(c.Allowed("ImportClientsCsv", {Role::kSalesManager}));
  EXPECT_FALSE(c.Allowed("MergeClients", {Role::kSales}));
  EXPECT_TRUE(c.Allowed("GetClient", {Role::kExpert}));
  EXPECT_FALSE(c.Allowed("UpdateClient", {Role::kExpert}));
  EXPECT_TRUE(c.Allowed("ListCases", {Role::kProductionManager}));
  const Policy& r = review::ReviewServicePolicy();
  EXPECT_TRUE(r.Allowed("RecordVerdict", {Role::kExpert}));
  EXPECT_FALSE(r.Allowed("RecordVerdict", {Role::kSales}));
  EXPECT_TRUE(r.Allowed("CreateReviewRequest", {Role::kSales}));
  EXPECT_TRUE(r.Allowed("AssignReview", {Role::kProductHead}));
  EXPECT_FALSE(r.Allowed("AssignReview", {Role::kExpert}));
  const Policy& p = production::ProductionServicePolicy();
  EXPECT_TRUE(p.Allowed("ListProjects", {Role::kSales}));
  EXPECT_FALSE(p.Allowed("CreateProject", {Role::kSales}));
  EXPECT_TRUE(p.Allowed("Reschedule", {Role::kProductionManager}));
  const Policy& pl = pipeline::PipelineServicePolicy();
  EXPECT_FALSE(pl.Allowed("CreatePlaybookVersion", {Role::kSales}));
  EXPECT_TRUE(pl.Allowed("CreatePlaybookVersion", {Role::kSalesManager}));
  EXPECT_TRUE(pl.Allowed("GetOpportunity", {Role::kExpert}));
  EXPECT_FALSE(server::AdminServicePolicy().Allowed("CreateBackup", {Role::kSalesManager}));
}

}  // namespace
}  // namespace triad::auth
