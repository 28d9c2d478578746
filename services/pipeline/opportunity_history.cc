// Implements the paged opportunity history and the trimmed history of API responses.
#include "services/pipeline/opportunity_history.h"

#include <string>

#include "absl/strings/str_format.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "services/pipeline/pipeline.h"

namespace triad::pipeline {
namespace {
constexpr int kMaxEntries = 2147483647;
}  // namespace

void PresentForApi(v1::Opportunity* opp) {
  const int total = opp->history_size();
  opp->set_history_total(total);
  if (total > kHistoryInResponse) {
    opp->mutable_history()->DeleteSubrange(0, total - kHistoryInResponse);
  }
}

void PresentForApi(v1::ListOpportunitiesResponse* resp) {
  for (v1::Opportunity& opp : *resp->mutable_opportunities()) PresentForApi(&opp);
}

absl::StatusOr<v1::ListOpportunityHistoryResponse> Pipeline::ListOpportunityHistory(
    const v1::ListOpportunityHistoryRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({req.opportunity_id()})));
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(req.opportunity_id()));
  v1::ListOpportunityHistoryResponse resp;
  resp.set_total_size(opp.history_size());
  // An entry's key is its position from the oldest, inverted so that key order is newest
  // first; entries are only ever appended, so a page token stays valid while the deal changes
  // (new entries appear before the first page, never twice).
  for (int i = opp.history_size() - 1; i >= 0; --i) {
    const std::string key = absl::StrFormat("%010d", kMaxEntries - i);
    if (!pager.after_key().empty() && key <= pager.after_key()) continue;
    if (!pager.Accept(key)) break;
    *resp.add_entries() = opp.history(i);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::pipeline
