// Implements Pipeline's part of offboarding a person: on clients' PersonOffboarded the person is
// marked inactive (no opportunity or lead may be given to them) and their open opportunities and
// new or qualified leads move, in chunks, to the successor or to the team member with the fewest
// open deals; each chunk reports with PersonOffboardingProgressed (which clients records). The
// first chunk moves with the consumed announcement; an unfinished offboarding is recorded and
// ContinueOffboardings (a periodic task of the process) moves the rest, one transaction per
// chunk, resumably after a crash. ListInactiveHoldings lists what inactive people still own.
#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {
namespace {

constexpr char kKindOpportunities[] = "opportunities";
constexpr char kKindLeads[] = "leads";

// InactiveKey (Kind::kIndex) marks an offboarded person; the value is the PersonOffboarded.
std::string InactiveKey(std::string_view person) {
  return "i" + storage::KeyBuilder().Str(person).Build();
}
std::string InactivePrefix() { return "i"; }
// RunningKey (Kind::kIndex) marks an unfinished offboarding; the value is its last report.
std::string RunningKey(std::string_view person) {
  return "j" + storage::KeyBuilder().Str(person).Build();
}
std::string RunningPrefix() { return "j"; }

std::string PersonOf(std::string_view key) {
  storage::KeyReader r(key.substr(1));
  absl::StatusOr<std::string> p = r.Str();
  return p.ok() ? *p : std::string();
}

bool LeadHeld(const v1::Lead& l) {
  return l.state() == v1::LEAD_STATE_NEW || l.state() == v1::LEAD_STATE_QUALIFIED;
}

std::string HoldingKey(std::string_view person, std::string_view kind, std::string_view item) {
  return storage::KeyBuilder().Str(person).Str(kind).Str(item).Build();
}

}  // namespace

absl::Status Pipeline::CheckPersonActiveLocked(std::string_view field,
                                               std::string_view person) const {
  if (person.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> v = repo_->GetRaw(Kind::kIndex, InactiveKey(person));
  if (absl::IsNotFound(v.status())) return absl::OkStatus();
  RETURN_IF_ERROR(v.status());
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(field), ": person ", std::string(person), " is inactive (offboarded)"));
}

absl::Status Pipeline::ApplyPersonOffboarded(const events::Event& event,
                                             const clients::v1::PersonOffboarded& msg,
                                             events::Transaction& txn) {
  RETURN_IF_ERROR(api::CheckId("offboarding_id", msg.offboarding_id()));
  RETURN_IF_ERROR(api::CheckId("person_id", msg.person_id()));
  RETURN_IF_ERROR(api::CheckOptionalId("successor_id", msg.successor_id()));
  RETURN_IF_ERROR(api::CheckUtf8(msg, ""));
  if (msg.successor_id().empty() && msg.team_member_ids().empty()) {
    return InvalidField("successor_id", "neither a successor nor team members to move to");
  }
  repo_->PutRaw(txn.batch(), Kind::kIndex, InactiveKey(msg.person_id()), msg.SerializeAsString());
  return OffboardChunk(event.id, msg, {}, txn);
}

absl::StatusOr<int> Pipeline::ContinueOffboardings() {
  int chunks = 0;
  while (true) {
    std::lock_guard lock(mu_);
    std::vector<std::string> people;
    RETURN_IF_ERROR(
        repo_->Scan(Kind::kIndex, RunningPrefix(), [&](std::string_view key, std::string_view) {
          people.push_back(PersonOf(key));
          return true;
        }));
    if (people.empty()) return chunks;
    for (const std::string& person : people) {
      absl::StatusOr<std::string> raw = repo_->GetRaw(Kind::kIndex, InactiveKey(person));
      RETURN_IF_ERROR(raw.status());
      clients::v1::PersonOffboarded who;
      if (!who.ParseFromString(*raw)) {
        return absl::DataLossError("stored offboarding does not decode");
      }
      absl::StatusOr<std::string> last = repo_->GetRaw(Kind::kIndex, RunningKey(person));
      RETURN_IF_ERROR(last.status());
      v1::PersonOffboardingProgressed report;
      if (!report.ParseFromString(*last)) {
        return absl::DataLossError("stored offboarding progress does not decode");
      }
      events::Transaction txn;
      RETURN_IF_ERROR(OffboardChunk("", who, report.moved(), txn));
      RETURN_IF_ERROR(outbox_->Commit(txn));
      ++chunks;
    }
  }
}

absl::Status Pipeline::OffboardChunk(std::string_view cause_event_id,
                                     const clients::v1::PersonOffboarded& who,
                                     google::protobuf::Map<std::string, int64_t> moved,
                                     events::Transaction& txn) {
  const std::string& person = who.person_id();
  const int chunk = std::max(1, options_.offboarding_chunk_size);
  // Receivers: the successor, or the team's active members by their open deals (fewest first).
  std::map<std::string, int64_t> load;
  if (who.successor_id().empty()) {
    for (const std::string& m : who.team_member_ids()) {
      if (m != person && CheckPersonActiveLocked("team", m).ok()) load[m] = 0;
    }
    std::shared_lock read(read_mu_);
    for (const auto& [id, deal] : open_deals_) {
      auto it = load.find(deal.owner);
      if (it != load.end()) ++it->second;
    }
  }
  auto receiver = [&]() -> std::string {
    if (!who.successor_id().empty()) return who.successor_id();
    if (load.empty()) return "";
    auto best = load.begin();
    for (auto it = load.begin(); it != load.end(); ++it) {
      if (it->second < best->second) best = it;
    }
    ++best->second;
    return best->first;
  };
  std::vector<v1::Opportunity> opps;
  std::vector<v1::Lead> leads;
  int64_t remaining = 0;
  RETURN_IF_ERROR(
      repo_->Scan(Kind::kList, OwnerOppPrefix(person), [&](std::string_view key, std::string_view) {
        absl::StatusOr<v1::Opportunity> o =
            LoadOpportunity(IdAfter(key, OwnerOppPrefix(person).size()));
        if (!o.ok() || o->state() != v1::OPPORTUNITY_STATE_OPEN || o->owner_id() != person) {
          return true;
        }
        if (static_cast<int>(opps.size()) < chunk) {
          opps.push_back(*std::move(o));
        } else {
          ++remaining;
        }
        return true;
      }));
  RETURN_IF_ERROR(repo_->Scan(
      Kind::kList, OwnerLeadPrefix(person), [&](std::string_view key, std::string_view) {
        v1::Lead l;
        const std::string id = IdAfter(key, OwnerLeadPrefix(person).size());
        if (!repo_->GetProto(Kind::kLead, id, &l).ok() || !LeadHeld(l) || l.owner_id() != person) {
          return true;
        }
        if (static_cast<int>(opps.size() + leads.size()) < chunk) {
          leads.push_back(std::move(l));
        } else {
          ++remaining;
        }
        return true;
      }));
  Work work(txn);
  const absl::Time now = options_.clock();
  const std::string reason =
      absl::StrCat("offboarding ", who.offboarding_id(), ": ", person, " left");
  int64_t stuck = 0;
  for (v1::Opportunity& opp : opps) {
    const std::string to = receiver();
    if (to.empty()) {
      ++stuck;
      continue;
    }
    GaugeDeltas(work, opp, -1);
    AddHistory(opp, now, "owner_changed", absl::StrCat(person, " -> ", to, ": ", reason),
               who.actor().id());
    v1::OpportunityOwnerChanged ev;
    ev.set_opportunity_id(opp.id());
    ev.set_client_id(opp.client_id());
    ev.set_previous_owner_id(person);
    ev.set_new_owner_id(to);
    ev.set_reason(reason);
    ev.set_actor_id(who.actor().id());
    ev.set_cause_event_id(std::string(cause_event_id));
    *ev.mutable_change_time() = ToProto(now);
    opp.set_owner_id(to);
    GaugeDeltas(work, opp, +1);
    contracts::Emit<contracts::pipeline::OpportunityOwnerChanged>(work.txn, opp.id(), ev);
    SaveOpportunity(work, opp);
    ++moved[kKindOpportunities];
  }
  for (v1::Lead& lead : leads) {
    const std::string to = receiver();
    if (to.empty()) {
      ++stuck;
      continue;
    }
    lead.set_owner_id(to);
    *lead.mutable_update_time() = ToProto(now);
    SaveLead(work, lead);
    ++moved[kKindLeads];
  }
  moved[kKindOpportunities] += 0;  // both kinds show, zero included
  moved[kKindLeads] += 0;
  v1::PersonOffboardingProgressed report;
  report.set_offboarding_id(who.offboarding_id());
  report.set_person_id(person);
  *report.mutable_moved() = moved;
  report.set_remaining(remaining + stuck);
  // Done when nothing is left; with items left but nobody to take them (every team member
  // inactive) the report stays unfinished and no further chunk is asked for.
  report.set_done(remaining + stuck == 0);
  *report.mutable_report_time() = ToProto(now);
  if (stuck > 0) {
    logging::Warn("offboarding: nobody active to take the rest",
                  {{"person_id", person}, {"left", static_cast<long long>(remaining + stuck)}});
  }
  contracts::Emit<contracts::pipeline::PersonOffboardingProgressed>(work.txn, person, report);
  // Unfinished with someone to move to: ContinueOffboardings moves the next chunk.
  if (!report.done() && stuck == 0) {
    repo_->PutRaw(work.txn.batch(), Kind::kIndex, RunningKey(person), report.SerializeAsString());
  } else {
    repo_->Delete(work.txn.batch(), Kind::kIndex, RunningKey(person));
  }
  return StageLocked(work);
}

absl::StatusOr<v1::ListInactiveHoldingsResponse> Pipeline::ListInactiveHoldings(
    const v1::ListInactiveHoldingsRequest& req) const {
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(),
                                     api::FilterFingerprint({"inactive-holdings"})));
  std::shared_lock lock(mu_);
  std::vector<std::string> people;
  RETURN_IF_ERROR(
      repo_->Scan(Kind::kIndex, InactivePrefix(), [&](std::string_view key, std::string_view) {
        people.push_back(PersonOf(key));
        return true;
      }));
  v1::ListInactiveHoldingsResponse resp;
  bool full = false;
  auto offer = [&](const std::string& person, const char* kind, const std::string& id) {
    const std::string key = HoldingKey(person, kind, id);
    if (key <= pager.after_key()) return true;
    if (!pager.Accept(key)) {
      full = true;
      return false;
    }
    v1::InactiveHolding* h = resp.add_holdings();
    h->set_person_id(person);
    h->set_kind(kind);
    h->set_item_id(id);
    return true;
  };
  for (const std::string& person : people) {
    // "lead" sorts before "opportunity".
    RETURN_IF_ERROR(repo_->Scan(
        Kind::kList, OwnerLeadPrefix(person), [&](std::string_view key, std::string_view) {
          const std::string id = IdAfter(key, OwnerLeadPrefix(person).size());
          v1::Lead l;
          if (!repo_->GetProto(Kind::kLead, id, &l).ok() || !LeadHeld(l)) {
            return true;
          }
          return offer(person, "lead", id);
        }));
    if (full) break;
    RETURN_IF_ERROR(repo_->Scan(
        Kind::kList, OwnerOppPrefix(person), [&](std::string_view key, std::string_view) {
          const std::string id = IdAfter(key, OwnerOppPrefix(person).size());
          absl::StatusOr<v1::Opportunity> o = LoadOpportunity(id);
          if (!o.ok() || o->state() != v1::OPPORTUNITY_STATE_OPEN) {
            return true;
          }
          return offer(person, "opportunity", id);
        }));
    if (full) break;
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::pipeline
