// Implements Production's phase-template RPCs: versions per product line (a new version never
// changes the projects already created from an earlier one).
#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/production/production.h"
#include "services/production/production_internal.h"

namespace triad::production {

absl::StatusOr<v1::PhaseTemplateSet> Production::GetPhaseTemplate(
    const v1::GetPhaseTemplateRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("product_line", req.product_line()));
  if (req.version() < 0) return api::InvalidField("version", "must be 0 (latest) or positive");
  std::shared_lock lock(mu_);
  auto it = templates_.find(req.product_line());
  if (it == templates_.end() || it->second.empty()) {
    return absl::NotFoundError(absl::StrCat("no template for product line ", req.product_line()));
  }
  if (req.version() == 0) return it->second.rbegin()->second;
  auto v = it->second.find(req.version());
  if (v == it->second.end()) {
    return absl::NotFoundError(
        absl::StrCat("no version ", req.version(), " of product line ", req.product_line()));
  }
  return v->second;
}

absl::StatusOr<v1::ListPhaseTemplatesResponse> Production::ListPhaseTemplates(
    const v1::ListPhaseTemplatesRequest& req) const {
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token()));
  std::shared_lock lock(mu_);
  v1::ListPhaseTemplatesResponse resp;
  for (const auto& [line, versions] : templates_) {
    for (const auto& [version, t] : versions) {
      const std::string key = TemplateKey(line, version);
      if (!pager.after_key().empty() && key <= pager.after_key()) continue;
      if (!pager.Accept(key)) {
        resp.set_next_page_token(pager.NextPageToken());
        return resp;
      }
      *resp.add_templates() = t;
    }
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::PhaseTemplateSet> Production::CreatePhaseTemplateVersion(
    const v1::CreatePhaseTemplateVersionRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(CheckActor(req.actor()));
  RETURN_IF_ERROR(CheckTemplate(req.template_()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::PhaseTemplateSet> replay(*store_, "CreatePhaseTemplateVersion",
                                                 req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::PhaseTemplateSet> prior, replay.Prior());
  if (prior) return *prior;
  v1::PhaseTemplateSet t = req.template_();
  auto it = templates_.find(t.product_line());
  if (it == templates_.end() && static_cast<int>(templates_.size()) >= kMaxTemplateProductLines) {
    return absl::ResourceExhaustedError(absl::StrCat("template.product_line: at most ",
                                                     kMaxTemplateProductLines,
                                                     " product lines have phase templates"));
  }
  if (it != templates_.end() && static_cast<int>(it->second.size()) >= kMaxTemplateVersions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "template.version: at most ", kMaxTemplateVersions, " versions are kept per product line (",
        t.product_line(), " has ", it->second.size(), ")"));
  }
  t.set_version(it == templates_.end() || it->second.empty() ? 1 : it->second.rbegin()->first + 1);
  *t.mutable_create_time() = util::ToProto(Now());
  *t.mutable_created_by() = req.actor();
  events::Transaction txn;
  repo_->PutProto(txn.batch(), Kind::kTemplate, TemplateKey(t.product_line(), t.version()), t);
  RETURN_IF_ERROR(replay.Record(txn.batch(), t));
  txn.AfterCommit([this, t] { templates_[t.product_line()][t.version()] = t; });
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return t;
}

}  // namespace triad::production
