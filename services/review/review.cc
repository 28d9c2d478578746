// Implements the core of the Reviews domain: loading, the unit of work, the policy steps
// (enter, assign, release, drain, relieve) and committing.
#include "services/review/review.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/review/review_internal.h"

namespace triad::review {

namespace rc = contracts::review;
using util::FromProto;
using util::ToProto;

std::vector<std::string> ColumnFamilies() { return RepositoryColumnFamilies(); }

std::vector<std::string> Reviews::Topics() {
  return {std::string(rc::RequestTopic::kName), std::string(rc::SolutionTopic::kName),
          std::string(rc::PersonTopic::kName)};
}

std::vector<std::string> Reviews::ConsumedTopics() {
  return {std::string(contracts::pipeline::OpportunityTopic::kName),
          std::string(contracts::production::ProjectTopic::kName),
          std::string(contracts::clients::ClientTopic::kName),
          std::string(contracts::clients::PersonTopic::kName)};
}

bool IsOpen(const v1::ReviewRequest& r) {
  return r.state() == v1::REVIEW_STATE_ASSIGNED || r.state() == v1::REVIEW_STATE_ACCEPTED ||
         r.state() == v1::REVIEW_STATE_IN_REVIEW;
}

void AddAudit(google::protobuf::RepeatedPtrField<v1::AuditEntry>* history, absl::Time now,
              const std::string& actor, const std::string& action, const std::string& detail) {
  v1::AuditEntry* a = history->Add();
  *a->mutable_time() = ToProto(now);
  a->set_actor_id(actor);
  a->set_action(action);
  a->set_detail(detail);
  if (history->size() > kMaxHistory) history->DeleteSubrange(0, history->size() - kMaxHistory);
}

std::string TruncateUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut sequence.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

namespace {

// OriginKey identifies what a request was asked for (one open request per origin).
std::string OriginKey(const v1::ReviewRequest& r) {
  if (r.kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF && !r.project_id().empty()) {
    return absl::StrCat("s|", r.project_id(), "|", r.phase_id());
  }
  if (!r.opportunity_id().empty()) return absl::StrCat("g|", r.opportunity_id(), "|", r.gate_id());
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Reviews>> Reviews::Create(storage::Store* store,
                                                         events::Outbox* outbox,
                                                         ReviewOptions options) {
  std::unique_ptr<Reviews> r(new Reviews(store, outbox, std::move(options)));
  RETURN_IF_ERROR(r->Load());
  return r;
}

absl::Status Reviews::Load() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(repo_->ScanExperts([&](v1::Expert e) {
    for (const v1::DomainSkill& d : e.domains()) by_domain_[d.domain()].insert(e.expert_id());
    std::string id = e.expert_id();
    experts_[id] = std::move(e);
  }));
  // The undecided requests are the working set kept in memory. Decided ones stay on disk with
  // their approver and continuity index entries. Start-up reads the undecided ones through
  // their index; a store that predates an index gets it once here by one scan of every request
  // (in batches, then the markers).
  auto keep = [&](v1::ReviewRequest r) {
    std::string id = r.review_id();
    if (r.state() == v1::REVIEW_STATE_QUEUED && queue_.insert(id).second) {
      ++queued_by_domain_[r.domain()];
    }
    if (IsOpen(r)) {
      open_by_expert_[r.expert_id()].insert(id);
      AddOpenWork(r);
    }
    if (!OriginKey(r).empty()) open_by_origin_[OriginKey(r)] = id;
    reviews_[id] = std::move(r);
  };
  ASSIGN_OR_RETURN(std::optional<std::string> indexed, repo_->GetMeta(DecidedIndexedKey()));
  ASSIGN_OR_RETURN(std::optional<std::string> undecided_indexed,
                   repo_->GetMeta(UndecidedIndexedKey()));
  if (indexed.has_value() && undecided_indexed.has_value()) {
    return repo_->ScanUndecidedReviews(keep);
  }
  rocksdb::WriteBatch backfill;
  absl::Status backfill_status;
  auto flush = [&] {
    if (backfill_status.ok() && backfill.Count() >= 10'000) {
      backfill_status = store_->Write(backfill);
      backfill.Clear();
    }
  };
  RETURN_IF_ERROR(repo_->ScanReviews([&](v1::ReviewRequest r) {
    if (r.state() == v1::REVIEW_STATE_DECIDED) {
      if (!indexed.has_value()) repo_->PutDecided(backfill, r);
      flush();
      return;
    }
    if (!undecided_indexed.has_value()) repo_->PutMeta(backfill, UndecidedKey(r.review_id()), "");
    flush();
    keep(std::move(r));
  }));
  RETURN_IF_ERROR(backfill_status);
  repo_->PutMeta(backfill, DecidedIndexedKey(), "");
  repo_->PutMeta(backfill, UndecidedIndexedKey(), "");
  return store_->Write(backfill);
}

const v1::Expert* Reviews::ExpertLocked(const Work& w, const std::string& id) const {
  if (auto it = w.experts.find(id); it != w.experts.end()) return &it->second;
  if (auto it = experts_.find(id); it != experts_.end()) return &it->second;
  return nullptr;
}

v1::Expert* Reviews::MutableExpertLocked(Work& w, const std::string& id) {
  if (auto it = w.experts.find(id); it != w.experts.end()) return &it->second;
  auto it = experts_.find(id);
  if (it == experts_.end()) return nullptr;
  return &(w.experts[id] = it->second);
}

void Reviews::AddOpenWork(const v1::ReviewRequest& r) {
  open_work_[r.expert_id()].Add(util::FromProto(r.due_time()), r.estimated_hours());
}

void Reviews::RemoveOpenWork(const v1::ReviewRequest& r) {
  auto e = open_work_.find(r.expert_id());
  if (e == open_work_.end()) return;
  e->second.Remove(util::FromProto(r.due_time()), r.estimated_hours());
  if (e->second.empty()) open_work_.erase(e);
}

const v1::ReviewRequest* Reviews::ReviewLocked(const Work& w, const std::string& id) const {
  if (auto it = w.reviews.find(id); it != w.reviews.end()) return &it->second;
  if (auto it = reviews_.find(id); it != reviews_.end()) return &it->second;
  if (auto it = w.decided.find(id); it != w.decided.end()) return &it->second;
  absl::StatusOr<v1::ReviewRequest> stored = repo_->GetReview(id);
  if (!stored.ok()) return nullptr;
  return &(w.decided[id] = *std::move(stored));
}

v1::ReviewRequest* Reviews::MutableReviewLocked(Work& w, const std::string& id) {
  if (auto it = w.reviews.find(id); it != w.reviews.end()) return &it->second;
  const v1::ReviewRequest* committed = ReviewLocked(w, id);
  if (committed == nullptr) return nullptr;
  return &(w.reviews[id] = *committed);
}

absl::StatusOr<v1::ReviewRequest> Reviews::ReviewByIdLocked(const std::string& id) const {
  if (auto it = reviews_.find(id); it != reviews_.end()) return it->second;
  return repo_->GetReview(id);
}

std::vector<std::string> Reviews::QueuedLocked(const Work& w) const {
  std::set<std::string> ids(queue_.begin(), queue_.end());
  for (const auto& [id, r] : w.reviews) ids.insert(id);
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    const v1::ReviewRequest* r = ReviewLocked(w, id);
    if (r != nullptr && r->state() == v1::REVIEW_STATE_QUEUED) out.push_back(id);
  }
  // First come, first served: by creation time (then id).
  std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    absl::Time ta = FromProto(ReviewLocked(w, a)->create_time());
    absl::Time tb = FromProto(ReviewLocked(w, b)->create_time());
    return ta != tb ? ta < tb : a < b;
  });
  return out;
}

int Reviews::QueueLengthLocked(const Work& w, const std::string& domain) const {
  int length = 0;
  if (auto it = queued_by_domain_.find(domain); it != queued_by_domain_.end()) length = it->second;
  for (const auto& [id, r] : w.reviews) {
    // The work's copy replaces the committed request (a queued one is always in reviews_).
    if (auto it = reviews_.find(id);
        it != reviews_.end() && queue_.count(id) > 0 && it->second.domain() == domain) {
      --length;
    }
    if (r.state() == v1::REVIEW_STATE_QUEUED && r.domain() == domain) ++length;
  }
  return length;
}

std::vector<std::string> Reviews::OpenOfExpertLocked(const Work& w,
                                                     const std::string& expert) const {
  std::set<std::string> ids;
  if (auto it = open_by_expert_.find(expert); it != open_by_expert_.end()) ids = it->second;
  for (const auto& [id, r] : w.reviews) ids.insert(id);
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    const v1::ReviewRequest* r = ReviewLocked(w, id);
    if (r != nullptr && IsOpen(*r) && r->expert_id() == expert) out.push_back(id);
  }
  return out;
}

std::vector<const v1::Expert*> Reviews::CandidatesLocked(const Work& w,
                                                         const PolicyRequest& p) const {
  std::set<std::string> ids;
  auto add_domain = [&](const std::string& d) {
    if (auto it = by_domain_.find(d); it != by_domain_.end()) {
      ids.insert(it->second.begin(), it->second.end());
    }
  };
  add_domain(p.domain);
  for (const std::string& d : p.acceptable_domains) add_domain(d);
  for (const auto& [id, e] : w.experts) ids.insert(id);  // skills may have changed in this work
  std::vector<const v1::Expert*> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    if (const v1::Expert* e = ExpertLocked(w, id)) out.push_back(e);
  }
  return out;
}

void Reviews::ReleaseLocked(Work& w, v1::ReviewRequest& r) {
  if (!IsOpen(r)) return;
  if (v1::Expert* e = MutableExpertLocked(w, r.expert_id())) {
    e->set_load_hours(std::max(0.0, e->load_hours() - r.estimated_hours()));
    e->set_open_reviews(std::max(0, e->open_reviews() - 1));
  }
}

void Reviews::TakeLocked(Work& w, v1::ReviewRequest& r, const v1::Expert& chosen,
                         v1::Assignment a) {
  absl::Time now = options_.clock();
  std::string previous = IsOpen(r) ? r.expert_id() : "";
  ReleaseLocked(w, r);
  v1::Expert* e = MutableExpertLocked(w, chosen.expert_id());
  e->set_load_hours(e->load_hours() + r.estimated_hours());
  e->set_open_reviews(e->open_reviews() + 1);
  r.set_expert_id(e->expert_id());
  r.set_state(v1::REVIEW_STATE_ASSIGNED);
  r.set_etag(api::NextEtag(r.etag()));
  *r.mutable_update_time() = ToProto(now);
  *a.mutable_time() = ToProto(now);
  AddAudit(r.mutable_history(), now, a.actor_id(),
           a.rule() == v1::ASSIGNMENT_RULE_MANUAL ? "manual_assignment" : "assigned",
           absl::StrCat(e->expert_id(), ": ", a.reason()));
  *r.add_assignments() = std::move(a);
  if (r.assignments_size() > kMaxAssignments) {
    r.mutable_assignments()->DeleteSubrange(0, r.assignments_size() - kMaxAssignments);
  }
  v1::ReviewRequestAssigned ev;
  ev.set_review_id(r.review_id());
  ev.set_expert_id(e->expert_id());
  ev.set_domain(r.domain());
  ev.set_expert_load_hours(e->load_hours());
  ev.set_expert_capacity_hours(e->weekly_capacity_hours());
  *ev.mutable_assign_time() = ToProto(now);
  w.txn.Emit(rc::ReviewRequestAssigned::kTopic, r.review_id(), rc::ReviewRequestAssigned::kType,
             ev);
  if (!previous.empty() && previous != e->expert_id()) {
    v1::ReviewRequestReassigned re;
    re.set_review_id(r.review_id());
    re.set_previous_expert_id(previous);
    re.set_new_expert_id(e->expert_id());
    re.set_reason(r.assignments(r.assignments_size() - 1).reason());
    *re.mutable_reassign_time() = ToProto(now);
    w.txn.Emit(rc::ReviewRequestReassigned::kTopic, r.review_id(),
               rc::ReviewRequestReassigned::kType, re);
  }
}

absl::StatusOr<bool> Reviews::AssignLocked(Work& w, const std::string& review_id,
                                           const std::string& actor, const std::string& why,
                                           const std::string& relieve, bool escalate) {
  v1::ReviewRequest* r = MutableReviewLocked(w, review_id);
  if (r == nullptr) return absl::NotFoundError(absl::StrCat("review ", review_id));
  absl::Time now = options_.clock();
  PolicyRequest p = PolicyRequestOf(*r, now);
  if (!relieve.empty()) p.excluded.insert(relieve);
  if (!p.client_id.empty()) {
    absl::StatusOr<std::set<std::string>> continuity = repo_->ContinuityOf(r->client_id());
    if (!continuity.ok()) return continuity.status();
    p.continuity = *std::move(continuity);
  }
  // A sign-off goes to the project's technical lead when the lead can take it.
  if (r->kind() == v1::REVIEW_KIND_MILESTONE_SIGN_OFF && !r->opportunity_id().empty()) {
    std::string lead;
    if (auto it = w.leads.find(r->opportunity_id()); it != w.leads.end()) lead = it->second;
    if (lead.empty()) {
      ASSIGN_OR_RETURN(std::optional<std::string> stored, repo_->GetLead(r->opportunity_id()));
      lead = stored.value_or("");
    }
    const v1::Expert* e = lead.empty() ? nullptr : ExpertLocked(w, lead);
    if (e != nullptr && PassOverReason(*e, p).empty()) {
      v1::Assignment a;
      a.set_expert_id(lead);
      a.set_rule(v1::ASSIGNMENT_RULE_TECHNICAL_LEAD);
      a.set_reason(absl::StrCat(why, ": the project's technical lead"));
      a.set_actor_id(actor);
      a.set_candidates_total(1);
      v1::Candidate* c = a.add_candidates();
      c->set_expert_id(lead);
      c->set_load_hours(e->load_hours());
      c->set_capacity_hours(e->weekly_capacity_hours());
      c->set_load_ratio(LoadRatio(*e));
      c->set_chosen(true);
      TakeLocked(w, *r, *e, std::move(a));
      return true;
    }
  }
  v1::Assignment a = Decide(p, CandidatesLocked(w, p));
  a.set_actor_id(actor);
  a.set_reason(absl::StrCat(why, ": ", a.reason()));
  if (!a.expert_id().empty()) {
    const v1::Expert* e = ExpertLocked(w, a.expert_id());
    TakeLocked(w, *r, *e, std::move(a));
    return true;
  }
  // Nobody fits: the request waits in the queue.
  std::string previous = IsOpen(*r) ? r->expert_id() : "";
  ReleaseLocked(w, *r);
  bool was_queued = r->state() == v1::REVIEW_STATE_QUEUED;
  r->set_state(v1::REVIEW_STATE_QUEUED);
  r->clear_expert_id();
  *r->mutable_update_time() = ToProto(now);
  // The assignment (every candidate and why it was passed over) moves into the record; its
  // reason is kept for the events.
  const std::string reason = a.reason();
  if (!was_queued) {
    r->set_etag(api::NextEtag(r->etag()));
    *r->mutable_queued_time() = ToProto(now);
    *a.mutable_time() = ToProto(now);
    AddAudit(r->mutable_history(), now, actor, "queued", reason);
    *r->add_assignments() = std::move(a);
    if (r->assignments_size() > kMaxAssignments) {
      r->mutable_assignments()->DeleteSubrange(0, r->assignments_size() - kMaxAssignments);
    }
  }
  if (!previous.empty()) {
    v1::ReviewRequestReassigned re;
    re.set_review_id(r->review_id());
    re.set_previous_expert_id(previous);
    re.set_reason(reason);
    *re.mutable_reassign_time() = ToProto(now);
    w.txn.Emit(rc::ReviewRequestReassigned::kTopic, r->review_id(),
               rc::ReviewRequestReassigned::kType, re);
  }
  if (escalate && !was_queued) EscalateLocked(w, *r, reason, previous, "");
  return false;
}

absl::Status Reviews::EnterLocked(Work& w, v1::ReviewRequest r, const std::string& actor) {
  absl::Time now = options_.clock();
  *r.mutable_create_time() = ToProto(now);
  *r.mutable_update_time() = ToProto(now);
  r.set_etag("1");
  r.set_state(v1::REVIEW_STATE_UNSPECIFIED);
  // The first SLA is the due time; each escalation sets the next.
  r.set_escalation_level(0);
  *r.mutable_next_escalation_time() = r.due_time();
  AddAudit(r.mutable_history(), now, actor, "created", r.title());
  v1::ReviewRequestCreated ev;
  ev.set_review_id(r.review_id());
  ev.set_kind(r.kind());
  ev.set_opportunity_id(r.opportunity_id());
  ev.set_project_id(r.project_id());
  ev.set_phase_id(r.phase_id());
  ev.set_gate_id(r.gate_id());
  ev.set_domain(r.domain());
  ev.set_client_id(r.client_id());
  ev.set_title(r.title());
  *ev.mutable_due_time() = r.due_time();
  ev.set_cause_event_id(r.cause_event_id());
  *ev.mutable_create_time() = ToProto(now);
  w.txn.Emit(rc::ReviewRequestCreated::kTopic, r.review_id(), rc::ReviewRequestCreated::kType, ev);
  std::string id = r.review_id();
  w.reviews[id] = std::move(r);
  return AssignLocked(w, id, actor, "new request", "", /*escalate=*/true).status();
}

absl::Status Reviews::DrainQueueLocked(Work& w, const std::string& actor) {
  for (const std::string& id : QueuedLocked(w)) {
    RETURN_IF_ERROR(AssignLocked(w, id, actor, "queue served", "", false).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Reviews::RelieveLocked(Work& w, const std::string& expert,
                                           const std::string& actor, const std::string& why) {
  std::vector<std::string> open = OpenOfExpertLocked(w, expert);
  for (const std::string& id : open) {
    RETURN_IF_ERROR(AssignLocked(w, id, actor, why, expert, true).status());
  }
  return static_cast<int>(open.size());
}

void Reviews::FinishLocked(Work& w) {
  for (auto& [id, e] : w.experts) repo_->PutExpert(w.txn.batch(), e);
  for (auto& [id, r] : w.reviews) {
    repo_->PutReview(w.txn.batch(), r);
    repo_->PutDecided(w.txn.batch(), r);  // the approver and continuity entries
  }
  for (auto& [opp, lead] : w.leads) repo_->PutLead(w.txn.batch(), opp, lead);
  // Committed: the copies become the state, and the indexes follow.
  w.txn.AfterCommit(
      [this, experts = std::move(w.experts), reviews = std::move(w.reviews)]() mutable {
        for (auto& [id, e] : experts) {
          if (auto it = experts_.find(id); it != experts_.end()) {
            for (const v1::DomainSkill& d : it->second.domains()) by_domain_[d.domain()].erase(id);
          }
          for (const v1::DomainSkill& d : e.domains()) by_domain_[d.domain()].insert(id);
          experts_[id] = std::move(e);
        }
        for (auto& [id, r] : reviews) {
          if (auto it = reviews_.find(id); it != reviews_.end()) {
            open_by_expert_[it->second.expert_id()].erase(id);
            if (IsOpen(it->second)) RemoveOpenWork(it->second);
            if (queue_.erase(id) > 0) {
              auto q = queued_by_domain_.find(it->second.domain());
              if (q != queued_by_domain_.end() && --q->second <= 0) queued_by_domain_.erase(q);
            }
          }
          queue_.erase(id);  // (a queued id is always in reviews_; this keeps them in step)
          if (r.state() == v1::REVIEW_STATE_QUEUED) {
            queue_.insert(id);
            ++queued_by_domain_[r.domain()];
          }
          if (IsOpen(r)) {
            open_by_expert_[r.expert_id()].insert(id);
            AddOpenWork(r);
          }
          std::string origin = OriginKey(r);
          if (!origin.empty()) {
            if (r.state() == v1::REVIEW_STATE_DECIDED) {
              open_by_origin_.erase(origin);
            } else {
              open_by_origin_[origin] = id;
            }
          }
          if (r.state() == v1::REVIEW_STATE_DECIDED) {
            reviews_.erase(id);  // read from the repository from now on
          } else {
            reviews_[id] = std::move(r);
          }
        }
      });
  w.experts.clear();
  w.reviews.clear();
  w.leads.clear();
}

absl::Status Reviews::CommitLocked(Work& w) {
  FinishLocked(w);
  return outbox_->Commit(w.txn);
}

}  // namespace triad::review
