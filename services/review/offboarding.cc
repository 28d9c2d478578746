// Implements review's part of offboarding a person (clients' PersonOffboarded): the person is
// marked inactive (never an expert again: CreateExpert, SetExpertActive and AssignReview refuse
// them), deactivated as an expert, and every open review and sign-off of theirs is re-assigned
// by the load policy (queued, never overloading anyone, when nobody fits; review has no team
// notion, so a team offboarding uses the same policy over every active expert of the domain).
// The effect is reported with review's PersonOffboardingProgressed. An expert's open work is
// bounded by their weekly capacity, so one event moves it all. ListInactiveHoldings lists what
// inactive experts still hold.
#include <map>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {
namespace {

constexpr char kInactiveTag[] = "inactive";

// InactiveKey (meta column family) marks an offboarded person; the value is the offboarding id.
std::string InactiveKey(std::string_view person) {
  return storage::KeyBuilder().Str(kInactiveTag).Str(person).Build();
}

std::string HoldingKey(std::string_view person, std::string_view kind, std::string_view item) {
  return storage::KeyBuilder().Str(person).Str(kind).Str(item).Build();
}

const char* KindOf(const v1::ReviewRequest& r) {
  return r.kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF ? "sign_off" : "review";
}

}  // namespace

absl::Status Reviews::CheckPersonActiveLocked(std::string_view field,
                                              const std::string& person) const {
  if (person.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> v = store_->Get(kMetaCf, InactiveKey(person));
  if (absl::IsNotFound(v.status())) return absl::OkStatus();
  RETURN_IF_ERROR(v.status());
  return absl::FailedPreconditionError(
      absl::StrCat(std::string(field), ": person ", person, " is inactive (offboarded)"));
}

absl::Status Reviews::OnPersonOffboarded(const events::Event& e,
                                         const clients::v1::PersonOffboarded& m,
                                         events::Transaction& txn) {
  (void)e;
  RETURN_IF_ERROR(api::CheckUtf8(m, "person_offboarded"));
  RETURN_IF_ERROR(api::CheckId("offboarding_id", m.offboarding_id()));
  RETURN_IF_ERROR(api::CheckId("person_id", m.person_id()));
  const std::string person = m.person_id();
  const std::string actor = m.actor().id().empty() ? "svc:clients" : m.actor().id();
  const absl::Time now = options_.clock();
  Work w(txn);
  txn.batch().Put(store_->Cf(kMetaCf), InactiveKey(person), m.offboarding_id());
  const std::vector<std::string> open = OpenOfExpertLocked(w, person);
  if (v1::Expert* ex = MutableExpertLocked(w, person); ex != nullptr && ex->active()) {
    ex->set_active(false);
    ex->set_etag(api::NextEtag(ex->etag()));
    *ex->mutable_update_time() = util::ToProto(now);
    AddAudit(
        ex->mutable_history(), now, actor, "deactivated",
        TruncateUtf8(absl::StrCat("offboarded (", m.offboarding_id(), "): ", m.actor().reason()),
                     kMaxReasonLength));
  }
  RETURN_IF_ERROR(RelieveLocked(w, person, actor, "expert offboarded").status());
  RETURN_IF_ERROR(DrainQueueLocked(w, actor));
  v1::PersonOffboardingProgressed report;
  auto& moved = *report.mutable_moved();
  moved["reviews"] += 0;
  moved["sign_offs"] += 0;
  moved["queued"] += 0;
  for (const std::string& id : open) {
    const v1::ReviewRequest* r = ReviewLocked(w, id);
    if (r == nullptr) continue;
    if (r->state() == v1::REVIEW_STATE_QUEUED) {
      ++moved["queued"];
    } else if (r->expert_id() != person) {
      ++moved[r->kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF ? "sign_offs" : "reviews"];
    }
  }
  const int64_t remaining = static_cast<int64_t>(OpenOfExpertLocked(w, person).size());
  report.set_offboarding_id(m.offboarding_id());
  report.set_person_id(person);
  report.set_remaining(remaining);
  report.set_done(remaining == 0);
  *report.mutable_report_time() = util::ToProto(now);
  FinishLocked(w);
  contracts::Emit<contracts::review::PersonOffboardingProgressed>(txn, person, report);
  return absl::OkStatus();
}

absl::StatusOr<v1::ListInactiveHoldingsResponse> Reviews::ListInactiveHoldings(
    const v1::ListInactiveHoldingsRequest& req) const {
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({"inactive-holdings"})));
  std::shared_lock lock(mu_);
  std::set<std::string> people;
  RETURN_IF_ERROR(store_->ScanPrefix(kMetaCf, storage::KeyBuilder().Str(kInactiveTag).Build(),
                                     [&](std::string_view k, std::string_view) {
                                       storage::KeyReader reader(k);
                                       (void)reader.Str();
                                       absl::StatusOr<std::string> person = reader.Str();
                                       if (person.ok()) people.insert(*person);
                                       return true;
                                     }));
  for (const auto& [id, e] : experts_) {
    if (!e.active()) people.insert(id);
  }
  v1::ListInactiveHoldingsResponse resp;
  for (const std::string& person : people) {
    auto it = open_by_expert_.find(person);
    if (it == open_by_expert_.end()) continue;
    // Ordered by (person, kind, id).
    std::map<std::string, const v1::ReviewRequest*> items;
    for (const std::string& id : it->second) {
      auto r = reviews_.find(id);
      if (r == reviews_.end() || !IsOpen(r->second)) continue;
      items[HoldingKey(person, KindOf(r->second), id)] = &r->second;
    }
    for (auto item = items.upper_bound(pager.after_key()); item != items.end(); ++item) {
      if (!pager.Accept(item->first)) {
        resp.set_next_page_token(pager.NextPageToken());
        return resp;
      }
      v1::InactiveHolding* h = resp.add_holdings();
      h->set_person_id(person);
      h->set_kind(KindOf(*item->second));
      h->set_item_id(item->second->review_id());
    }
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::review
