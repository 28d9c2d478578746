// Implements ClientsDomain's field-level history lists (by client and by actor); the salts of
// the audit chain are not returned.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"
#include "services/clients/history_chain.h"

namespace triad::clients {

absl::StatusOr<v1::ListHistoryResponse> ClientsDomain::ListClientHistory(
    const v1::ListClientHistoryRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), "c:" + req.client_id()));
  RETURN_IF_ERROR(LoadClient(req.client_id(), false).status());
  v1::ListHistoryResponse resp;
  RETURN_IF_ERROR(repo_->ScanHistory(false, req.client_id(), pager.after_key(),
                                     [&](std::string_view key, const v1::HistoryEntry& e) {
                                       if (!pager.Accept(key)) return false;
                                       StripForApi(*resp.add_entries() = e);
                                       return true;
                                     }));
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ListHistoryResponse> ClientsDomain::ListActorHistory(
    const v1::ListActorHistoryRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("actor_id", req.actor_id()));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), "a:" + req.actor_id()));
  v1::ListHistoryResponse resp;
  RETURN_IF_ERROR(repo_->ScanHistory(true, req.actor_id(), pager.after_key(),
                                     [&](std::string_view key, const v1::HistoryEntry& e) {
                                       if (!pager.Accept(key)) return false;
                                       StripForApi(*resp.add_entries() = e);
                                       return true;
                                     }));
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::clients
