// PipelineAccess: the ownership rules of the pipeline service (auth::ResourceAccess), which the
// request guard applies after authentication and the role check. A salesperson or sales manager
// acts only on the leads and opportunities they own or their teams own, creates them only for
// clients they can see (as the pipeline's client replica knows them), and scopes lists and
// funnel reports by an owner or team filter they may use. Roles that see everything pass
// untouched. The decisions per method are in access.cc, docs in services/pipeline/README.md.
#ifndef TRIAD_SERVICES_PIPELINE_ACCESS_H_
#define TRIAD_SERVICES_PIPELINE_ACCESS_H_

#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/auth/access.h"
#include "common/auth/method_rules.h"
#include "common/auth/principal.h"
#include "common/storage/store.h"
#include "services/pipeline/repository.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"

namespace triad::pipeline {

class PipelineAccess : public auth::ResourceAccess {
 public:
  // `store` (not owned; opened with ColumnFamilies()) is only read: single-record reads of
  // RocksDB, safe beside the domain's writers without its lock.
  explicit PipelineAccess(storage::Store* store);

  // CheckRequest applies the decision of `method` (PipelineService, PipelineAdminService and
  // AdminService methods; any other is PERMISSION_DENIED).
  absl::Status CheckRequest(const auth::Principal& principal, std::string_view method,
                            const google::protobuf::Message& request) override;

  // FilterResponse drops from ListOpportunities and RankOpenDeals the deals the principal may
  // not see.
  void FilterResponse(const auth::Principal& principal, std::string_view method,
                      google::protobuf::Message* response) override;

  // rules is the decision table (tests check that every RPC has a decision).
  const auth::MethodRules& rules() const { return rules_; }

 private:
  // The client summary of the replica (merges followed); nullopt when unknown.
  absl::StatusOr<std::optional<auth::Ownership>> ClientOwnership(std::string_view client_id) const;
  // A lead's ownership: its owner and its client's team (leads have no team of their own).
  absl::StatusOr<std::optional<auth::Ownership>> LeadOwnership(std::string_view lead_id) const;
  absl::StatusOr<std::optional<v1::Opportunity>> LoadOpportunity(std::string_view id) const;
  absl::Status CheckClient(const auth::Principal& p, std::string_view client_id) const;
  absl::Status CheckLead(const auth::Principal& p, std::string_view lead_id) const;
  absl::Status CheckOpportunity(const auth::Principal& p, std::string_view id) const;
  absl::Status CheckCreateLead(const auth::Principal& p, const v1::CreateLeadRequest& req) const;
  absl::Status CheckCreateOpportunity(const auth::Principal& p,
                                      const v1::CreateOpportunityRequest& req) const;
  absl::Status CheckUpdate(const auth::Principal& p, const v1::UpdateOpportunityRequest& req) const;
  absl::Status CheckReassign(const auth::Principal& p,
                             const v1::ReassignOpportunityRequest& req) const;
  // Visible is true when the opportunity exists and the principal may see it.
  bool Visible(const auth::Principal& p, std::string_view opportunity_id) const;
  void BuildRules();

  std::unique_ptr<Repository> repo_;
  auth::MethodRules rules_;
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_ACCESS_H_
