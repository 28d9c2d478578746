// Implements Pipeline's playbook RPCs: get, list and create a new version.

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"
#include "services/pipeline/playbook.h"

namespace triad::pipeline {

absl::StatusOr<v1::Playbook> Pipeline::GetPlaybook(const v1::GetPlaybookRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("product_line", req.product_line()));
  if (req.version() < 0) return InvalidField("version", "must not be negative");
  std::shared_lock lock(read_mu_);
  ASSIGN_OR_RETURN(const v1::Playbook* pb, PlaybookLocked(req.product_line(), req.version()));
  return *pb;
}

absl::StatusOr<v1::ListPlaybooksResponse> Pipeline::ListPlaybooks(
    const v1::ListPlaybooksRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const std::string fp = absl::StrCat(req.product_line(), "|", req.latest_only());
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListPlaybooksResponse resp;
  std::shared_lock lock(read_mu_);
  bool more = true;
  for (const auto& [line, versions] : playbooks_) {
    if (!req.product_line().empty() && line != req.product_line()) continue;
    for (auto it = versions.begin(); it != versions.end(); ++it) {
      if (req.latest_only() && std::next(it) != versions.end()) continue;
      std::string key = PlaybookKey(line, it->first);
      if (!pager.after_key().empty() && key <= pager.after_key()) continue;
      more = pager.Accept(key);
      if (!more) break;
      *resp.add_playbooks() = it->second;
    }
    if (!more) break;
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::Playbook> Pipeline::CreatePlaybookVersion(
    const v1::CreatePlaybookVersionRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "CreatePlaybookVersion";
  v1::Playbook pb = req.playbook();
  std::lock_guard lock(mu_);
  const api::Replay<v1::Playbook> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Playbook> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  pb.set_version(1);
  RETURN_IF_ERROR(ValidatePlaybook(pb));
  auto it = playbooks_.find(pb.product_line());
  if (it == playbooks_.end() && static_cast<int>(playbooks_.size()) >= kMaxProductLines) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "playbook.product_line: at most ", kMaxProductLines, " product lines have a playbook"));
  }
  if (it != playbooks_.end() && static_cast<int>(it->second.size()) >= kMaxPlaybookVersions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "playbook.version: at most ", kMaxPlaybookVersions, " versions are kept per product line (",
        pb.product_line(), " has ", it->second.size(), ")"));
  }
  if (it != playbooks_.end() && !it->second.empty()) pb.set_version(it->second.rbegin()->first + 1);
  *pb.mutable_create_time() = ToProto(options_.clock());
  Work work;
  repo_->PutProto(work.txn.batch(), Kind::kPlaybook, PlaybookKey(pb.product_line(), pb.version()),
                  pb);
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), pb));
  RETURN_IF_ERROR(CommitLocked(work));
  std::unique_lock wlock(read_mu_);
  playbooks_[pb.product_line()][pb.version()] = pb;
  return pb;
}

}  // namespace triad::pipeline
