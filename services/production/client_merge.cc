// Production's side of a client merge: projects of a merged client move to the survivor, so
// later events (completion, at-risk) and queries by client name the surviving record.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"

namespace triad::production {

absl::Status Production::ApplyClientsMerged(const events::Event& e,
                                            const clients::v1::ClientsMerged& m,
                                            events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckUtf8(m));
  const std::string& survivor = m.survivor().client_id();
  RETURN_IF_ERROR(api::CheckId("survivor.client_id", survivor));
  std::set<std::string> merged(m.redirected_client_ids().begin(), m.redirected_client_ids().end());
  if (!m.merged_client_id().empty()) merged.insert(m.merged_client_id());
  merged.erase(survivor);
  if (merged.empty()) return absl::OkStatus();
  common::v1::Actor actor;
  actor.set_id(m.actor().id().empty() ? "svc:clients" : m.actor().id());
  actor.set_reason(absl::StrCat("client merged into ", survivor, " (event ", e.id, ")"));
  const absl::Time now = Now();
  Work work(txn);
  // Every project, completed ones included: a scan of the repository (merges are rare; the
  // committed state there is that of the active projects in memory too).
  absl::Status bad;
  RETURN_IF_ERROR(repo_->Scan(Kind::kProject, [&](std::string_view key, std::string_view value) {
    v1::Project p;
    if (!p.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      bad = absl::DataLossError("corrupt project record");
      return false;
    }
    if (merged.count(p.client_id()) == 0) return true;
    p.set_client_id(survivor);
    p.set_etag(api::NextEtag(p.etag()));
    *p.mutable_update_time() = util::ToProto(now);
    *p.mutable_updated_by() = actor;
    work.projects[std::string(key)] = std::move(p);
    return true;
  }));
  RETURN_IF_ERROR(bad);
  if (!work.projects.empty()) Stage(work);
  return absl::OkStatus();
}

}  // namespace triad::production
