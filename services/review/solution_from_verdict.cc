// Implements the publication of a solution from an approved review: when the request asked for
// it (publish_solution) and the verdict carries a solution summary, the knowledge-base solution
// is created from the review (or, with the request's solution_id, a new version of that
// solution) and published in the verdict's own transaction.
#include <optional>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

using util::ToProto;

absl::StatusOr<std::string> Reviews::PublishFromVerdictLocked(events::Transaction& txn,
                                                              const v1::ReviewRequest& r,
                                                              const std::string& actor) {
  const absl::Time now = options_.clock();
  v1::Solution s;
  std::optional<v1::Solution> latest;
  if (!r.solution_id().empty()) {
    ASSIGN_OR_RETURN(latest, LatestSolution(r.solution_id(), 0));
    s = *latest;
    if (latest->status() == v1::SOLUTION_STATUS_DRAFT) {
      // The open draft becomes the published version.
      s.set_etag(api::NextEtag(s.etag()));
    } else {
      // A new version from the published one.
      s.set_version(latest->version() + 1);
      s.set_etag("1");
      *s.mutable_create_time() = ToProto(now);
      s.clear_history();
    }
  } else {
    s.set_solution_id(util::NewId("sol"));
    s.set_version(1);
    s.set_title(r.title().empty() ? absl::StrCat("Solution of review ", r.review_id()) : r.title());
    s.set_domain(r.domain());
    std::set<std::string> tags;
    for (const std::string& t : r.tags()) tags.insert(absl::AsciiStrToLower(t));
    for (const std::string& t : tags) s.add_tags(t);
    s.set_etag("1");
    *s.mutable_create_time() = ToProto(now);
  }
  s.set_summary(r.verdict().solution_summary());
  s.set_source_review_id(r.review_id());
  s.set_opportunity_id(r.opportunity_id());
  s.set_author_id(r.verdict().expert_id());
  s.set_status(v1::SOLUTION_STATUS_PUBLISHED);
  *s.mutable_update_time() = ToProto(now);
  *s.mutable_publish_time() = ToProto(now);
  AddAudit(s.mutable_history(), now, actor, "published",
           absl::StrCat("from the approved review ", r.review_id()));
  if (latest.has_value() && s.version() > 1) {
    // The version published before is superseded (the draft's predecessor, or the latest).
    const int superseded =
        latest->status() == v1::SOLUTION_STATUS_DRAFT ? latest->version() - 1 : latest->version();
    ASSIGN_OR_RETURN(v1::Solution old, LatestSolution(r.solution_id(), superseded));
    if (old.status() == v1::SOLUTION_STATUS_PUBLISHED) {
      old.set_status(v1::SOLUTION_STATUS_SUPERSEDED);
      old.set_etag(api::NextEtag(old.etag()));
      AddAudit(old.mutable_history(), now, actor, "superseded",
               absl::StrCat("by version ", s.version()));
      PutSolutionVersion(txn, old);
    }
  }
  PutSolution(txn, latest.has_value() ? &*latest : nullptr, s);
  EmitPublished(txn, s);
  return s.solution_id();
}

}  // namespace triad::review
