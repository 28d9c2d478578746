// Every method of every gRPC service Triad serves has an entry in its role table (default deny
// would otherwise lock it for everyone), no table names a method its service lacks, and the
// role principle holds where it matters most: operator-only admin APIs, service accounts on
// every non-admin method.
#include "services/clients/access_policy.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
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

// The generated files of the gRPC APIs, each named with one of its messages: naming them links
// the file (and registers its descriptors) whatever else the test binary uses.
const std::vector<const google::protobuf::FileDescriptor*>& ApiFiles() {
  static const auto* files = new std::vector<const google::protobuf::FileDescriptor*>{
      clients::v1::GetClientRequest::descriptor()->file(),
      clients::v1::ScanSlaBreachesRequest::descriptor()->file(),
      pipeline::v1::GetLeadRequest::descriptor()->file(),
      pipeline::v1::ScanStaleDealsRequest::descriptor()->file(),
      review::v1::GetExpertRequest::descriptor()->file(),
      production::v1::GetProjectRequest::descriptor()->file(),
      admin::v1::ListBackupsRequest::descriptor()->file(),
  };
  return *files;
}

const google::protobuf::ServiceDescriptor* Service(const std::string& full_name) {
  ApiFiles();
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
}

TEST(AccessPolicyTest, EveryServiceOfEveryProtoHasATable) {
  std::vector<std::string> covered;
  for (const Table& t : AllTables()) covered.push_back(t.policy->service_full_name());
  for (const google::protobuf::FileDescriptor* fd : ApiFiles()) {
    for (int i = 0; i < fd->service_count(); ++i) {
      EXPECT_NE(std::find(covered.begin(), covered.end(), fd->service(i)->full_name()),
                covered.end())
          << fd->service(i)->full_name() << " has no role table";
    }
  }
}

// Every `service` declared in proto/ (the test-only protos aside) has a table,
// so a new API cannot be served without one.
TEST(AccessPolicyTest, EveryServiceDeclaredInProtoHasATable) {
  std::vector<std::string> covered;
  for (const Table& t : AllTables()) covered.push_back(t.policy->service_full_name());
  const std::regex package_re(R"(^package\s+([\w.]+)\s*;)");
  const std::regex service_re(R"(^service\s+(\w+)\s*\{)");
  int services = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(TRIAD_SOURCE_DIR) + "/proto")) {
    if (entry.path().extension() != ".proto") continue;
    std::ifstream in(entry.path());
    std::string line, package;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, package_re)) package = m[1];
      if (!std::regex_search(line, m, service_re)) continue;
      // Test-only protos (proto/triad/testing: triad.testing.*, a copy of grpc.health.v1).
      if (package.rfind("triad.", 0) != 0 || package.rfind("triad.testing", 0) == 0) continue;
      ++services;
      const std::string full = package + "." + std::string(m[1]);
      EXPECT_NE(std::find(covered.begin(), covered.end(), full), covered.end())
          << full << " (" << entry.path().string() << ") has no role table";
    }
  }
  EXPECT_EQ(services, static_cast<int>(AllTables().size()));
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
