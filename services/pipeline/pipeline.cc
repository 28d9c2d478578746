// Implements the pipeline domain: playbooks, signals, leads, opportunities, gates, funnel,
// ranking, stale deals and the consumed client/review/production events.
#include "services/pipeline/pipeline.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/config/logging.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"

namespace triad::pipeline {
namespace {

using api::InvalidField;
using util::FromProto;
using util::ToProto;

constexpr char kSvc[] = "pipeline";

std::string Type(std::string_view aggregate, std::string_view name) {
  return events::EventType(kSvc, aggregate, name);
}

// Index keys (Kind::kIndex).
std::string ClientOppKey(std::string_view client, std::string_view opp) {
  return "c" + storage::KeyBuilder().Str(client).Str(opp).Build();
}
std::string ClientOppPrefix(std::string_view client) {
  return "c" + storage::KeyBuilder().Str(client).Build();
}
std::string OpenKey(std::string_view opp) { return "o" + storage::KeyBuilder().Str(opp).Build(); }
std::string WonClientKey(std::string_view client) {
  return "w" + storage::KeyBuilder().Str(client).Build();
}
std::string RedirectKey(std::string_view client) {
  return "m" + storage::KeyBuilder().Str(client).Build();
}

// List indexes (Kind::kList): the key ends with the record id, after `prefix`.
std::string OwnerOppPrefix(std::string_view owner) {
  return "O" + storage::KeyBuilder().Str(owner).Build();
}
std::string LineOppPrefix(std::string_view line) {
  return "P" + storage::KeyBuilder().Str(line).Build();
}
std::string StageOppPrefix(std::string_view stage) {
  return "S" + storage::KeyBuilder().Str(stage).Build();
}
std::string StateOppPrefix(int state) {
  return "T" + storage::KeyBuilder().U64(static_cast<uint64_t>(state)).Build();
}
std::string OwnerLeadPrefix(std::string_view owner) {
  return "L" + storage::KeyBuilder().Str(owner).Build();
}
std::string StateLeadPrefix(int state) {
  return "M" + storage::KeyBuilder().U64(static_cast<uint64_t>(state)).Build();
}
std::string RegionSignalPrefix(std::string_view region) {
  return "R" + storage::KeyBuilder().Str(region).Build();
}
std::string WithId(const std::string& prefix, std::string_view id) {
  return prefix + storage::KeyBuilder().Str(id).Build();
}
// Marker written once the list indexes cover every record (see BackfillListIndexes).
constexpr char kListIndexMarker[] = "~lists-v1";

using IndexEntries = std::vector<std::pair<Kind, std::string>>;

IndexEntries OppIndexEntries(const v1::Opportunity& opp) {
  IndexEntries e = {
      {Kind::kIndex, ClientOppKey(opp.client_id(), opp.id())},
      {Kind::kList, WithId(OwnerOppPrefix(opp.owner_id()), opp.id())},
      {Kind::kList, WithId(LineOppPrefix(opp.product_line()), opp.id())},
      {Kind::kList, WithId(StageOppPrefix(opp.stage()), opp.id())},
      {Kind::kList, WithId(StateOppPrefix(opp.state()), opp.id())},
  };
  if (opp.state() == v1::OPPORTUNITY_STATE_OPEN) e.push_back({Kind::kIndex, OpenKey(opp.id())});
  std::sort(e.begin(), e.end());
  return e;
}

IndexEntries LeadIndexEntries(const v1::Lead& lead) {
  IndexEntries e = {{Kind::kList, WithId(OwnerLeadPrefix(lead.owner_id()), lead.id())},
                    {Kind::kList, WithId(StateLeadPrefix(lead.state()), lead.id())}};
  std::sort(e.begin(), e.end());
  return e;
}

// IdAfter reads the record id that follows `prefix` in an index key ("" when malformed).
std::string IdAfter(std::string_view key, size_t prefix_size) {
  if (key.size() < prefix_size) return "";
  storage::KeyReader r(key.substr(prefix_size));
  absl::StatusOr<std::string> id = r.Str();
  return id.ok() ? *id : "";
}

int RepeatDim(bool repeat) { return repeat ? 2 : 1; }

int64_t Weighted(int64_t value, double probability) {
  return static_cast<int64_t>(std::llround(static_cast<double>(value) * probability));
}

v1::HistoryEntry* AddHistory(v1::Opportunity& opp, absl::Time now, std::string kind,
                             std::string detail, std::string_view actor) {
  v1::HistoryEntry* h = opp.add_history();
  *h->mutable_time() = ToProto(now);
  h->set_kind(std::move(kind));
  h->set_detail(std::move(detail));
  h->set_actor_id(std::string(actor));
  return h;
}

// AwaitsAnswer is true when the gate of an open deal was requested and is not open yet
// (REQUESTED or HELD): only then does a verdict or answer change it. A gate never requested
// (e.g. of a later stage), an open gate, or a closed deal keeps its state.
bool AwaitsAnswer(const v1::Opportunity& opp, std::string_view gate_id) {
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) return false;
  const v1::CheckpointState* s = FindCheckpointState(opp, gate_id);
  return s != nullptr && (s->gate_status() == v1::GATE_STATUS_REQUESTED ||
                          s->gate_status() == v1::GATE_STATUS_HELD);
}

int MaxReachedIndex(const v1::Playbook& pb, const v1::Opportunity& opp) {
  int reached = -1;
  for (const v1::StageEntry& e : opp.stage_history()) {
    reached = std::max(reached, StageIndex(pb, e.stage()));
  }
  return reached;
}

}  // namespace

std::vector<std::string> Pipeline::Topics() {
  return {kSignalTopic, kLeadTopic, kOpportunityTopic};
}

std::vector<std::string> Pipeline::ConsumedTopics() {
  return {kClientTopic, kReviewTopic, kFeasibilityTopic};
}

Pipeline::Pipeline(storage::Store* store, events::Outbox* outbox, PipelineOptions options)
    : store_(store),
      outbox_(outbox),
      options_(std::move(options)),
      repo_(NewRocksRepository(store)),
      funnel_(repo_.get()) {}

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(storage::Store* store,
                                                           events::Outbox* outbox,
                                                           PipelineOptions options) {
  if (store == nullptr || outbox == nullptr) {
    return absl::InvalidArgumentError("Pipeline needs a store and an outbox");
  }
  for (const std::string& cf : ColumnFamilies()) {
    if (store->Cf(cf) == nullptr) {
      return absl::FailedPreconditionError("store lacks column family " + cf);
    }
  }
  if (!options.clock) options.clock = [] { return absl::Now(); };
  std::unique_ptr<Pipeline> p(new Pipeline(store, outbox, std::move(options)));
  RETURN_IF_ERROR(p->Init());
  return p;
}

absl::Status Pipeline::Init() {
  std::lock_guard lock(mu_);
  // Playbooks: load, then seed the defaults that are missing.
  absl::Status inner;
  RETURN_IF_ERROR(repo_->Scan(Kind::kPlaybook, "", [&](std::string_view, std::string_view v) {
    v1::Playbook pb;
    if (!pb.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      inner = absl::DataLossError("corrupt playbook");
      return false;
    }
    playbooks_[pb.product_line()][pb.version()] = pb;
    return true;
  }));
  RETURN_IF_ERROR(inner);
  Work seed;
  for (v1::Playbook pb : DefaultPlaybooks()) {
    if (playbooks_.count(pb.product_line()) > 0) continue;
    RETURN_IF_ERROR(ValidatePlaybook(pb));
    *pb.mutable_create_time() = ToProto(options_.clock());
    repo_->PutProto(seed.txn.batch(), Kind::kPlaybook, PlaybookKey(pb.product_line(), pb.version()),
                    pb);
    playbooks_[pb.product_line()][pb.version()] = pb;
  }
  if (seed.txn.batch().Count() > 0) RETURN_IF_ERROR(outbox_->Commit(seed.txn));
  RETURN_IF_ERROR(BackfillListIndexes());
  RETURN_IF_ERROR(funnel_.Load());
  // Open deals: the "o" index names them; only those records are read.
  std::vector<std::string> open_ids;
  RETURN_IF_ERROR(repo_->Scan(Kind::kIndex, "o", [&](std::string_view key, std::string_view) {
    storage::KeyReader r(key.substr(1));
    auto id = r.Str();
    if (id.ok()) open_ids.push_back(*id);
    return true;
  }));
  for (const std::string& id : open_ids) {
    absl::StatusOr<v1::Opportunity> opp = LoadOpportunity(id);
    if (opp.ok()) ApplyOpenDeal(*opp);
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------ helpers

absl::Status Pipeline::BackfillListIndexes() {
  // Databases written before the list indexes existed get them once, at start.
  absl::StatusOr<std::string> marker = repo_->GetRaw(Kind::kList, kListIndexMarker);
  if (marker.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(marker.status())) return marker.status();
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> absl::Status {
    if (batch.Count() == 0) return absl::OkStatus();
    absl::Status st = store_->Write(batch);
    batch.Clear();
    return st;
  };
  absl::Status inner;
  auto put = [&](const IndexEntries& entries) {
    for (const auto& [kind, key] : entries) repo_->PutRaw(batch, kind, key, "");
    if (batch.Count() >= 10000) inner = flush();
    return inner.ok();
  };
  RETURN_IF_ERROR(repo_->Scan(Kind::kOpportunity, "", [&](std::string_view, std::string_view v) {
    v1::Opportunity opp;
    if (!opp.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
    return put(OppIndexEntries(opp));
  }));
  RETURN_IF_ERROR(inner);
  RETURN_IF_ERROR(repo_->Scan(Kind::kLead, "", [&](std::string_view, std::string_view v) {
    v1::Lead lead;
    if (!lead.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
    return put(LeadIndexEntries(lead));
  }));
  RETURN_IF_ERROR(inner);
  RETURN_IF_ERROR(repo_->Scan(Kind::kSignal, "", [&](std::string_view, std::string_view v) {
    v1::Signal sig;
    if (!sig.ParseFromArray(v.data(), static_cast<int>(v.size()))) return true;
    return put({{Kind::kList, WithId(RegionSignalPrefix(sig.region()), sig.id())}});
  }));
  RETURN_IF_ERROR(inner);
  repo_->PutRaw(batch, Kind::kList, kListIndexMarker, "1");
  return flush();
}

absl::Status Pipeline::CommitLocked(Work& work) {
  FunnelIndex::Staged staged = funnel_.Stage(work.deltas, work.txn.batch());
  RETURN_IF_ERROR(outbox_->Commit(work.txn));
  funnel_.Apply(staged);
  for (const v1::Opportunity& opp : work.touched) ApplyOpenDeal(opp);
  return absl::OkStatus();
}

absl::StatusOr<const v1::Playbook*> Pipeline::PlaybookLocked(std::string_view line_view,
                                                             int version) const {
  const std::string line(line_view);
  auto it = playbooks_.find(std::string(line));
  if (it == playbooks_.end() || it->second.empty()) {
    return absl::NotFoundError(absl::StrCat("no playbook for product line '", line, "'"));
  }
  if (version == 0) return &it->second.rbegin()->second;
  auto v = it->second.find(version);
  if (v == it->second.end()) {
    return absl::NotFoundError(absl::StrCat("playbook ", line, " has no version ", version));
  }
  return &v->second;
}

absl::StatusOr<v1::Opportunity> Pipeline::LoadOpportunity(std::string_view id_view) const {
  const std::string id(id_view);
  v1::Opportunity opp;
  absl::Status st = repo_->GetProto(Kind::kOpportunity, id, &opp);
  if (absl::IsNotFound(st))
    return absl::NotFoundError(absl::StrCat("opportunity ", id, " not found"));
  RETURN_IF_ERROR(st);
  return opp;
}

absl::StatusOr<clients::v1::ClientSummary> Pipeline::ResolveClient(
    std::string_view client_view) const {
  const std::string client_id(client_view);
  std::string id(client_id);
  // Follow merge redirects to the survivor. OnClient keeps them acyclic (a survivor never has a
  // redirect); the visited set still stops a cycle in data written before that rule.
  std::set<std::string> visited = {id};
  for (int hop = 0; hop < 64; ++hop) {
    absl::StatusOr<std::string> redirect = repo_->GetRaw(Kind::kIndex, RedirectKey(id));
    if (!redirect.ok()) {
      if (!absl::IsNotFound(redirect.status())) return redirect.status();
      break;
    }
    if (!visited.insert(*redirect).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("client ", client_id, " is in a cycle of merges"));
    }
    id = *redirect;
  }
  clients::v1::ClientSummary c;
  absl::Status st = repo_->GetProto(Kind::kClient, id, &c);
  if (absl::IsNotFound(st)) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", client_id, " is not known (no client event received for it)"));
  }
  RETURN_IF_ERROR(st);
  if (c.status() == clients::v1::CLIENT_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError(absl::StrCat("client ", id, " is archived"));
  }
  if (c.status() == clients::v1::CLIENT_STATUS_MERGED) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", id, " was merged and its survivor is not known yet"));
  }
  return c;
}

absl::Status Pipeline::InboxSeen(const events::Event& event, bool* seen) const {
  absl::StatusOr<bool> s = store_->Exists(events::IdempotentConsumer::kInboxColumnFamily,
                                          events::InboxKey(options_.consumer_group, event.id));
  if (!s.ok()) return s.status();
  *seen = *s;
  return absl::OkStatus();
}

void Pipeline::MarkInbox(Work& work, const events::Event& event) {
  work.txn.batch().Put(store_->Cf(events::IdempotentConsumer::kInboxColumnFamily),
                       events::InboxKey(options_.consumer_group, event.id), "");
}

void Pipeline::SaveOpportunity(Work& work, v1::Opportunity& opp, bool bump) {
  if (bump) {
    opp.set_etag(api::NextEtag(opp.etag()));
    *opp.mutable_update_time() = ToProto(options_.clock());
  }
  repo_->PutProto(work.txn.batch(), Kind::kOpportunity, opp.id(), opp);
  // Index entries: remove those of the previous version that no longer hold, add the new ones,
  // in the same batch as the record.
  auto prior = work.index_entries.find(opp.id());
  if (prior == work.index_entries.end()) {
    v1::Opportunity stored;
    IndexEntries old;
    if (repo_->GetProto(Kind::kOpportunity, opp.id(), &stored).ok()) {
      old = OppIndexEntries(stored);
    }
    prior = work.index_entries.emplace(opp.id(), std::move(old)).first;
  }
  IndexEntries now = OppIndexEntries(opp);
  for (const auto& e : prior->second) {
    if (!std::binary_search(now.begin(), now.end(), e)) {
      repo_->Delete(work.txn.batch(), e.first, e.second);
    }
  }
  for (const auto& e : now) {
    if (!std::binary_search(prior->second.begin(), prior->second.end(), e)) {
      repo_->PutRaw(work.txn.batch(), e.first, e.second, "");
    }
  }
  prior->second = std::move(now);
  work.touched.push_back(opp);
}

void Pipeline::SaveLead(Work& work, const v1::Lead& lead) {
  IndexEntries old;
  v1::Lead stored;
  if (repo_->GetProto(Kind::kLead, lead.id(), &stored).ok()) old = LeadIndexEntries(stored);
  IndexEntries now = LeadIndexEntries(lead);
  for (const auto& e : old) {
    if (!std::binary_search(now.begin(), now.end(), e)) {
      repo_->Delete(work.txn.batch(), e.first, e.second);
    }
  }
  for (const auto& e : now) {
    if (!std::binary_search(old.begin(), old.end(), e)) {
      repo_->PutRaw(work.txn.batch(), e.first, e.second, "");
    }
  }
  repo_->PutProto(work.txn.batch(), Kind::kLead, lead.id(), lead);
}

Dims Pipeline::OpportunityDims(const v1::Opportunity& opp) const {
  return Dims{opp.owner_id(),        opp.team_id(),     opp.product_line(),
              opp.region(),          opp.client_tier(), RepeatDim(opp.repeat_client()),
              opp.value().currency()};
}

void Pipeline::GaugeDeltas(Work& work, const v1::Opportunity& opp, int sign) {
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) return;
  absl::StatusOr<const v1::Playbook*> pb =
      PlaybookLocked(opp.product_line(), opp.playbook_version());
  double probability = 0;
  if (pb.ok()) {
    int i = StageIndex(**pb, opp.stage());
    if (i >= 0) probability = (*pb)->stages(i).win_probability();
  }
  Delta d;
  d.day = kOpenDay;
  d.dims = OpportunityDims(opp);
  d.step = "open:" + opp.stage();
  d.add = {sign * 1, sign * opp.value().amount_minor(),
           sign * Weighted(opp.value().amount_minor(), probability)};
  work.deltas.push_back(std::move(d));
}

void Pipeline::EmitCheckpointCompleted(Work& work, const v1::Opportunity& opp,
                                       const v1::Checkpoint& c, std::string_view actor,
                                       absl::Time now) {
  v1::CheckpointCompleted ev;
  ev.set_opportunity_id(opp.id());
  ev.set_stage(opp.stage());
  ev.set_checkpoint_id(c.id());
  ev.set_kind(CheckpointKindName(c.kind()));
  ev.set_actor_id(std::string(actor));
  *ev.mutable_completed_at() = ToProto(now);
  work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "checkpoint_completed"), ev);
}

void Pipeline::RequestGates(Work& work, v1::Opportunity& opp, const v1::Playbook& pb, int index,
                            absl::Time now) {
  const v1::Stage& stage = pb.stages(index);
  for (const v1::Checkpoint& c : stage.checkpoints()) {
    if (c.kind() != v1::CHECKPOINT_KIND_REVIEW_GATE &&
        c.kind() != v1::CHECKPOINT_KIND_FEASIBILITY_GATE) {
      continue;
    }
    v1::CheckpointState* s = MutableCheckpointState(opp, c.id());
    if (s->gate_status() == v1::GATE_STATUS_OPEN || s->gate_status() == v1::GATE_STATUS_REQUESTED) {
      continue;
    }
    s->set_gate_status(v1::GATE_STATUS_REQUESTED);
    *s->mutable_requested_time() = ToProto(now);
    if (c.kind() == v1::CHECKPOINT_KIND_REVIEW_GATE) {
      v1::ReviewRequested ev;
      ev.set_opportunity_id(opp.id());
      ev.set_client_id(opp.client_id());
      ev.set_domain(c.review_domain());
      ev.set_requirements(c.requirements());
      *ev.mutable_value() = opp.value();
      int days = stage.max_days() > 0 ? std::max(1, stage.max_days() / 2) : 7;
      *ev.mutable_due_time() = ToProto(now + absl::Hours(int64_t{24} * days));
      ev.set_product_line(opp.product_line());
      ev.set_stage(stage.id());
      ev.set_gate_id(c.id());
      ev.set_owner_id(opp.owner_id());
      work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "review_requested"), ev);
    } else {
      v1::FeasibilityRequested ev;
      ev.set_opportunity_id(opp.id());
      ev.set_product_line(opp.product_line());
      ev.set_estimated_effort_hours(opp.expert_effort_hours() > 0 ? opp.expert_effort_hours()
                                                                  : pb.default_expert_hours());
      absl::Time start = opp.has_expected_close() ? FromProto(opp.expected_close()) : now;
      absl::Time end =
          opp.has_desired_delivery()
              ? FromProto(opp.desired_delivery())
              : start + absl::Hours(int64_t{24} * std::max(1, pb.default_delivery_days()));
      *ev.mutable_desired_start() = ToProto(start);
      *ev.mutable_desired_end() = ToProto(end);
      ev.set_gate_id(c.id());
      work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "feasibility_requested"), ev);
    }
  }
}

void Pipeline::EnterStage(Work& work, v1::Opportunity& opp, const v1::Playbook& pb, int index,
                          absl::Time now, std::string_view actor, std::string_view reason) {
  // Funnel: count every stage reached for the first time (skipped ones included).
  int reached = MaxReachedIndex(pb, opp);
  for (int i = reached + 1; i <= index; ++i) {
    Delta d;
    d.day = DayOf(now);
    d.dims = OpportunityDims(opp);
    d.step = "stage:" + pb.stages(i).id();
    d.add = {1, opp.value().amount_minor(), 0};
    work.deltas.push_back(std::move(d));
  }
  opp.set_stage(pb.stages(index).id());
  v1::StageEntry* e = opp.add_stage_history();
  e->set_stage(pb.stages(index).id());
  *e->mutable_enter_time() = ToProto(now);
  e->set_actor_id(std::string(actor));
  e->set_reason(std::string(reason));
  opp.set_stale_reported_entry(-1);
  RequestGates(work, opp, pb, index, now);
}

void Pipeline::ExitStage(Work& work, v1::Opportunity& opp, absl::Time now) {
  if (opp.stage_history_size() == 0) return;
  v1::StageEntry* e = opp.mutable_stage_history(opp.stage_history_size() - 1);
  *e->mutable_exit_time() = ToProto(now);
  Delta d;
  d.day = DayOf(now);
  d.dims = OpportunityDims(opp);
  d.step = "exit:" + e->stage();
  d.add = {1, 0, absl::ToInt64Seconds(now - FromProto(e->enter_time()))};
  work.deltas.push_back(std::move(d));
}

void Pipeline::ApplyOpenDeal(const v1::Opportunity& opp) {
  std::unique_lock lock(read_mu_);
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    open_deals_.erase(opp.id());
    return;
  }
  OpenDeal d;
  d.owner = opp.owner_id();
  d.client = opp.client_id();
  d.stage = opp.stage();
  d.value = opp.value().amount_minor();
  d.currency = opp.value().currency();
  d.hours = opp.expert_effort_hours();
  d.tuple = funnel_.TupleId(OpportunityDims(opp));
  auto pb = PlaybookLocked(opp.product_line(), opp.playbook_version());
  if (pb.ok()) {
    int i = StageIndex(**pb, opp.stage());
    if (i >= 0) {
      d.probability = (*pb)->stages(i).win_probability();
      d.max_days = (*pb)->stages(i).max_days();
    }
    if (d.hours <= 0) d.hours = (*pb)->default_expert_hours();
  }
  if (d.hours <= 0) d.hours = 1;
  if (opp.stage_history_size() > 0) {
    d.entered = FromProto(opp.stage_history(opp.stage_history_size() - 1).enter_time());
  }
  d.reported = opp.stale_reported_entry() == opp.stage_history_size() - 1;
  open_deals_[opp.id()] = std::move(d);
}

// ------------------------------------------------------------------------------ playbooks

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

// ------------------------------------------------------------------------------ signals

absl::StatusOr<v1::Signal> Pipeline::RecordSignal(const v1::RecordSignalRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "RecordSignal";
  const v1::Signal& in = req.signal();
  RETURN_IF_ERROR(api::CheckId("signal.source", in.source()));
  RETURN_IF_ERROR(api::CheckId("signal.region", in.region()));
  RETURN_IF_ERROR(api::CheckId("signal.sector", in.sector()));
  RETURN_IF_ERROR(
      api::CheckMoney("signal.estimated_size", in.estimated_size(), api::MoneyPresence::kOptional));
  std::lock_guard lock(mu_);
  if (!in.product_line().empty() && playbooks_.count(in.product_line()) == 0) {
    return InvalidField("signal.product_line",
                        absl::StrCat("'", in.product_line(), "' has no playbook"));
  }
  const api::Replay<v1::Signal> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Signal> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  absl::Time now = options_.clock();
  v1::Signal s = in;
  s.set_id(util::NewId("sig"));
  *s.mutable_create_time() = ToProto(now);
  Work work;
  repo_->PutProto(work.txn.batch(), Kind::kSignal, s.id(), s);
  repo_->PutRaw(work.txn.batch(), Kind::kList, WithId(RegionSignalPrefix(s.region()), s.id()), "");
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), s));
  v1::SignalRecorded ev;
  ev.set_signal_id(s.id());
  ev.set_source(s.source());
  ev.set_region(s.region());
  ev.set_sector(s.sector());
  *ev.mutable_estimated_size() = s.estimated_size();
  ev.set_product_line(s.product_line());
  ev.set_recorded_by(s.recorded_by());
  *ev.mutable_recorded_at() = s.create_time();
  ev.set_description(s.description());
  work.txn.Emit(kSignalTopic, s.id(), Type("signal", "recorded"), ev);
  work.deltas.push_back(
      Delta{DayOf(now),
            Dims{"", "", s.product_line(), s.region(), 0, 0, s.estimated_size().currency()},
            "signal",
            {1, s.estimated_size().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return s;
}

absl::StatusOr<v1::Signal> Pipeline::GetSignal(const v1::GetSignalRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("signal_id", req.signal_id()));
  v1::Signal s;
  absl::Status st = repo_->GetProto(Kind::kSignal, req.signal_id(), &s);
  if (absl::IsNotFound(st)) return absl::NotFoundError("signal " + req.signal_id() + " not found");
  RETURN_IF_ERROR(st);
  return s;
}

// ReadListed reads the record a list scan is at: through an index entry when `prefix` is set (the
// key ends with the record id) or from the table value itself. False when an index entry's record
// is gone and the scan should move on.
absl::StatusOr<bool> Pipeline::ReadListed(Kind kind, std::string_view prefix, std::string_view key,
                                          std::string_view value,
                                          google::protobuf::Message* out) const {
  if (prefix.empty()) {
    if (!out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError("corrupt " + out->GetTypeName());
    }
    return true;
  }
  std::string id = IdAfter(key, prefix.size());
  if (id.empty()) return false;
  absl::Status st = repo_->GetProto(kind, id, out);
  if (absl::IsNotFound(st)) return false;
  if (!st.ok()) return st;
  return true;
}

absl::StatusOr<v1::ListSignalsResponse> Pipeline::ListSignals(
    const v1::ListSignalsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), req.region()));
  v1::ListSignalsResponse resp;
  absl::Status inner;
  // By region the region index is walked; without a filter, the table.
  const std::string prefix = req.region().empty() ? "" : RegionSignalPrefix(req.region());
  RETURN_IF_ERROR(repo_->Scan(
      prefix.empty() ? Kind::kSignal : Kind::kList, prefix,
      [&](std::string_view key, std::string_view v) {
        ++list_examined_;
        v1::Signal s;
        absl::StatusOr<bool> found = ReadListed(Kind::kSignal, prefix, key, v, &s);
        if (!found.ok()) {
          inner = found.status();
          return false;
        }
        if (!*found) return true;  // an index entry whose record is gone
        if (!req.region().empty() && s.region() != req.region()) return true;
        if (!pager.Accept(key)) return false;
        *resp.add_signals() = std::move(s);
        return true;
      },
      pager.after_key()));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

// ------------------------------------------------------------------------------ leads

absl::StatusOr<v1::Lead> Pipeline::CreateLead(const v1::CreateLeadRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "CreateLead";
  const v1::Lead& in = req.lead();
  RETURN_IF_ERROR(api::CheckId("lead.owner_id", in.owner_id()));
  if (in.client_id().empty() && in.prospect_name().empty()) {
    return InvalidField("lead.client_id", "required unless lead.prospect_name is given");
  }
  RETURN_IF_ERROR(
      api::CheckMoney("lead.estimated_value", in.estimated_value(), api::MoneyPresence::kOptional));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Lead> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Lead> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::Lead lead = in;
  if (!in.signal_id().empty()) {
    v1::Signal s;
    absl::Status st = repo_->GetProto(Kind::kSignal, in.signal_id(), &s);
    if (absl::IsNotFound(st)) {
      return absl::FailedPreconditionError("lead.signal_id " + in.signal_id() + " is not a signal");
    }
    RETURN_IF_ERROR(st);
    if (lead.region().empty()) lead.set_region(s.region());
    if (lead.sector().empty()) lead.set_sector(s.sector());
    if (lead.product_line().empty()) lead.set_product_line(s.product_line());
  }
  if (!lead.product_line().empty() && playbooks_.count(lead.product_line()) == 0) {
    return InvalidField("lead.product_line",
                        absl::StrCat("'", lead.product_line(), "' has no playbook"));
  }
  if (!lead.client_id().empty()) {
    ASSIGN_OR_RETURN(clients::v1::ClientSummary c, ResolveClient(lead.client_id()));
    lead.set_client_id(c.client_id());
    if (lead.region().empty()) lead.set_region(c.region());
  }
  const Dims dims = LeadDims(lead);
  absl::Time now = options_.clock();
  lead.set_id(util::NewId("lead"));
  lead.set_state(v1::LEAD_STATE_NEW);
  lead.clear_opportunity_id();
  *lead.mutable_create_time() = ToProto(now);
  *lead.mutable_update_time() = ToProto(now);
  lead.set_etag("1");
  Work work;
  SaveLead(work, lead);
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), lead));
  v1::LeadCreated ev;
  ev.set_lead_id(lead.id());
  ev.set_signal_id(lead.signal_id());
  ev.set_client_id(lead.client_id());
  ev.set_prospect_name(lead.prospect_name());
  ev.set_owner_id(lead.owner_id());
  ev.set_region(lead.region());
  ev.set_sector(lead.sector());
  ev.set_product_line(lead.product_line());
  *ev.mutable_estimated_value() = lead.estimated_value();
  *ev.mutable_created_at() = lead.create_time();
  work.txn.Emit(kLeadTopic, lead.id(), Type("lead", "created"), ev);
  work.deltas.push_back(
      Delta{DayOf(now), dims, "lead", {1, lead.estimated_value().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return lead;
}

absl::StatusOr<v1::Lead> Pipeline::GetLead(const v1::GetLeadRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("lead_id", req.lead_id()));
  v1::Lead l;
  absl::Status st = repo_->GetProto(Kind::kLead, req.lead_id(), &l);
  if (absl::IsNotFound(st)) return absl::NotFoundError("lead " + req.lead_id() + " not found");
  RETURN_IF_ERROR(st);
  return l;
}

absl::StatusOr<v1::ListLeadsResponse> Pipeline::ListLeads(const v1::ListLeadsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const std::string fp = absl::StrCat(req.owner_id(), "|", req.state());
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListLeadsResponse resp;
  absl::Status inner;
  // By owner or state an index is walked; without a filter, the table.
  std::string prefix;
  if (!req.owner_id().empty()) {
    prefix = OwnerLeadPrefix(req.owner_id());
  } else if (req.state() != v1::LEAD_STATE_UNSPECIFIED) {
    prefix = StateLeadPrefix(req.state());
  }
  RETURN_IF_ERROR(repo_->Scan(
      prefix.empty() ? Kind::kLead : Kind::kList, prefix,
      [&](std::string_view key, std::string_view v) {
        ++list_examined_;
        v1::Lead l;
        absl::StatusOr<bool> found = ReadListed(Kind::kLead, prefix, key, v, &l);
        if (!found.ok()) {
          inner = found.status();
          return false;
        }
        if (!*found) return true;  // an index entry whose record is gone
        if (!req.owner_id().empty() && l.owner_id() != req.owner_id()) return true;
        if (req.state() != v1::LEAD_STATE_UNSPECIFIED && l.state() != req.state()) return true;
        if (!pager.Accept(key)) return false;
        *resp.add_leads() = std::move(l);
        return true;
      },
      pager.after_key()));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

bool Pipeline::IsRepeatClient(const clients::v1::ClientSummary& c) const {
  if (c.repeat_client()) return true;
  absl::StatusOr<std::string> won = repo_->GetRaw(Kind::kIndex, WonClientKey(c.client_id()));
  return won.ok();
}

Dims Pipeline::LeadDims(const v1::Lead& lead) const {
  Dims dims{lead.owner_id(),
            "",
            lead.product_line(),
            lead.region(),
            0,
            1,
            lead.estimated_value().currency()};
  if (!lead.client_id().empty()) {
    absl::StatusOr<clients::v1::ClientSummary> c = ResolveClient(lead.client_id());
    if (c.ok()) {
      dims.team = c->team_id();
      dims.tier = c->tier();
      dims.repeat = RepeatDim(IsRepeatClient(*c));
    }
  }
  return dims;
}

absl::StatusOr<v1::Lead> Pipeline::QualifyLead(const v1::QualifyLeadRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("lead_id", req.lead_id()));
  std::lock_guard lock(mu_);
  v1::GetLeadRequest get;
  get.set_lead_id(req.lead_id());
  ASSIGN_OR_RETURN(v1::Lead lead, GetLead(get));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(lead.etag()), api::GivenEtag(req.etag()),
                                 "lead " + lead.id()));
  if (lead.state() != v1::LEAD_STATE_NEW) {
    return absl::FailedPreconditionError("lead " + lead.id() + " is not NEW (state " +
                                         v1::LeadState_Name(lead.state()) + ")");
  }
  absl::Time now = options_.clock();
  lead.set_state(v1::LEAD_STATE_QUALIFIED);
  lead.set_note(req.note());
  *lead.mutable_update_time() = ToProto(now);
  lead.set_etag(api::NextEtag(lead.etag()));
  Work work;
  SaveLead(work, lead);
  v1::LeadQualified ev;
  ev.set_lead_id(lead.id());
  ev.set_owner_id(lead.owner_id());
  ev.set_client_id(lead.client_id());
  ev.set_product_line(lead.product_line());
  ev.set_note(req.note());
  *ev.mutable_qualified_at() = ToProto(now);
  work.txn.Emit(kLeadTopic, lead.id(), Type("lead", "qualified"), ev);
  work.deltas.push_back(Delta{
      DayOf(now), LeadDims(lead), "qualified_lead", {1, lead.estimated_value().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return lead;
}

absl::StatusOr<v1::Lead> Pipeline::DisqualifyLead(const v1::DisqualifyLeadRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("lead_id", req.lead_id()));
  RETURN_IF_ERROR(api::CheckId("reason", req.reason()));
  std::lock_guard lock(mu_);
  v1::GetLeadRequest get;
  get.set_lead_id(req.lead_id());
  ASSIGN_OR_RETURN(v1::Lead lead, GetLead(get));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(lead.etag()), api::GivenEtag(req.etag()),
                                 "lead " + lead.id()));
  if (lead.state() != v1::LEAD_STATE_NEW && lead.state() != v1::LEAD_STATE_QUALIFIED) {
    return absl::FailedPreconditionError("lead " + lead.id() + " cannot be disqualified (state " +
                                         v1::LeadState_Name(lead.state()) + ")");
  }
  absl::Time now = options_.clock();
  lead.set_state(v1::LEAD_STATE_DISQUALIFIED);
  lead.set_note(req.reason());
  *lead.mutable_update_time() = ToProto(now);
  lead.set_etag(api::NextEtag(lead.etag()));
  Work work;
  SaveLead(work, lead);
  v1::LeadDisqualified ev;
  ev.set_lead_id(lead.id());
  ev.set_owner_id(lead.owner_id());
  ev.set_reason(req.reason());
  *ev.mutable_disqualified_at() = ToProto(now);
  work.txn.Emit(kLeadTopic, lead.id(), Type("lead", "disqualified"), ev);
  work.deltas.push_back(Delta{DayOf(now),
                              LeadDims(lead),
                              "disqualified_lead",
                              {1, lead.estimated_value().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return lead;
}

// ------------------------------------------------------------------------------ opportunities

absl::StatusOr<v1::Opportunity> Pipeline::CreateOpportunity(
    const v1::CreateOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "CreateOpportunity";
  RETURN_IF_ERROR(api::CheckId("request_id", req.request_id()));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  RETURN_IF_ERROR(api::CheckId("owner_id", req.owner_id()));
  RETURN_IF_ERROR(api::CheckId("title", req.title()));
  RETURN_IF_ERROR(api::CheckMoney("value", req.value(), api::MoneyPresence::kRequired));
  if (req.has_expected_close()) {
    RETURN_IF_ERROR(api::CheckTimestamp("expected_close", req.expected_close()));
  }
  if (req.has_desired_delivery()) {
    RETURN_IF_ERROR(api::CheckTimestamp("desired_delivery", req.desired_delivery()));
  }
  for (const auto& [k, v] : req.fields()) {
    if (k.empty()) return InvalidField("fields", "keys must not be empty");
  }
  std::lock_guard lock(mu_);
  const api::Replay<v1::Opportunity> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Opportunity> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::Lead lead;
  std::string product_line = req.product_line();
  if (!req.lead_id().empty()) {
    absl::Status st = repo_->GetProto(Kind::kLead, req.lead_id(), &lead);
    if (absl::IsNotFound(st)) {
      return absl::FailedPreconditionError("lead_id " + req.lead_id() + " is not a lead");
    }
    RETURN_IF_ERROR(st);
    if (lead.state() != v1::LEAD_STATE_QUALIFIED) {
      return absl::FailedPreconditionError("lead " + lead.id() + " must be QUALIFIED (state " +
                                           v1::LeadState_Name(lead.state()) + ")");
    }
    if (product_line.empty()) product_line = lead.product_line();
  }
  if (product_line.empty()) return InvalidField("product_line", "required");
  absl::StatusOr<const v1::Playbook*> pb_or = PlaybookLocked(product_line, 0);
  if (!pb_or.ok()) {
    return InvalidField("product_line", absl::StrCat("'", product_line, "' has no playbook"));
  }
  const v1::Playbook& pb = **pb_or;
  ASSIGN_OR_RETURN(clients::v1::ClientSummary client, ResolveClient(req.client_id()));

  absl::Time now = options_.clock();
  v1::Opportunity opp;
  opp.set_id(util::NewId("opp"));
  opp.set_title(req.title());
  opp.set_client_id(client.client_id());
  opp.set_owner_id(req.owner_id());
  opp.set_team_id(req.team_id().empty() ? client.team_id() : req.team_id());
  opp.set_product_line(product_line);
  opp.set_playbook_version(pb.version());
  *opp.mutable_value() = req.value();
  if (req.has_expected_close()) *opp.mutable_expected_close() = req.expected_close();
  if (req.has_desired_delivery()) *opp.mutable_desired_delivery() = req.desired_delivery();
  opp.set_lead_id(req.lead_id());
  opp.set_state(v1::OPPORTUNITY_STATE_OPEN);
  for (const auto& [k, v] : req.fields()) {
    if (!v.empty()) (*opp.mutable_fields())[k] = v;  // an empty value means "not set"
  }
  *opp.mutable_create_time() = ToProto(now);
  opp.set_region(!lead.region().empty() ? lead.region() : client.region());
  opp.set_client_tier(client.tier());
  opp.set_repeat_client(IsRepeatClient(client));
  opp.set_stale_reported_entry(-1);
  opp.set_etag("0");

  Work work;
  work.deltas.push_back(
      Delta{DayOf(now), OpportunityDims(opp), "opportunity", {1, opp.value().amount_minor(), 0}});
  EnterStage(work, opp, pb, 0, now, req.actor().id(), "created");
  // The created event goes before the gate requests EnterStage queued: reorder.
  v1::OpportunityCreated ev;
  ev.set_opportunity_id(opp.id());
  ev.set_lead_id(opp.lead_id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_team_id(opp.team_id());
  ev.set_product_line(opp.product_line());
  ev.set_playbook_version(opp.playbook_version());
  ev.set_stage(opp.stage());
  ev.set_title(opp.title());
  *ev.mutable_value() = opp.value();
  if (opp.has_expected_close()) *ev.mutable_expected_close() = opp.expected_close();
  *ev.mutable_created_at() = ToProto(now);
  ev.set_repeat_client(opp.repeat_client());
  events::Transaction gates;
  std::swap(gates, work.txn);
  work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "created"), ev);
  for (const events::Event& e : gates.events()) {
    work.txn.EmitRaw(e.topic, e.key, e.type, e.payload, e.subject);
  }
  GaugeDeltas(work, opp, +1);
  SaveOpportunity(work, opp);
  if (!req.lead_id().empty()) {
    lead.set_state(v1::LEAD_STATE_CONVERTED);
    lead.set_opportunity_id(opp.id());
    lead.set_etag(api::NextEtag(lead.etag()));
    *lead.mutable_update_time() = ToProto(now);
    SaveLead(work, lead);
  }
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), opp));
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::GetOpportunity(
    const v1::GetOpportunityRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  return LoadOpportunity(req.opportunity_id());
}

absl::StatusOr<v1::ListOpportunitiesResponse> Pipeline::ListOpportunities(
    const v1::ListOpportunitiesRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const std::string fp = absl::StrCat(req.owner_id(), "|", req.client_id(), "|", req.product_line(),
                                      "|", req.stage(), "|", req.state());
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListOpportunitiesResponse resp;
  absl::Status inner;
  auto consider = [&](const std::string& key, v1::Opportunity opp) {
    if (!req.owner_id().empty() && opp.owner_id() != req.owner_id()) return true;
    if (!req.client_id().empty() && opp.client_id() != req.client_id()) return true;
    if (!req.product_line().empty() && opp.product_line() != req.product_line()) return true;
    if (!req.stage().empty() && opp.stage() != req.stage()) return true;
    if (req.state() != v1::OPPORTUNITY_STATE_UNSPECIFIED && opp.state() != req.state()) return true;
    if (!pager.Accept(key)) return false;
    *resp.add_opportunities() = std::move(opp);
    return true;
  };
  // The most selective index available is walked (its keys are the page keys); the other
  // filters are checked on the records it names. Only a list without any filter walks the table.
  Kind kind = Kind::kList;
  std::string prefix;
  if (!req.client_id().empty()) {
    kind = Kind::kIndex;
    prefix = ClientOppPrefix(req.client_id());
  } else if (!req.owner_id().empty()) {
    prefix = OwnerOppPrefix(req.owner_id());
  } else if (!req.stage().empty()) {
    prefix = StageOppPrefix(req.stage());
  } else if (!req.product_line().empty()) {
    prefix = LineOppPrefix(req.product_line());
  } else if (req.state() != v1::OPPORTUNITY_STATE_UNSPECIFIED) {
    prefix = StateOppPrefix(req.state());
  }
  if (!prefix.empty()) {
    RETURN_IF_ERROR(repo_->Scan(
        kind, prefix,
        [&](std::string_view key, std::string_view) {
          std::string id = IdAfter(key, prefix.size());
          if (id.empty()) return true;
          ++list_examined_;
          absl::StatusOr<v1::Opportunity> opp = LoadOpportunity(id);
          if (!opp.ok()) return true;  // an entry whose record is gone: skipped
          return consider(std::string(key), std::move(*opp));
        },
        pager.after_key()));
  } else {
    RETURN_IF_ERROR(repo_->Scan(
        Kind::kOpportunity, "",
        [&](std::string_view key, std::string_view v) {
          ++list_examined_;
          v1::Opportunity opp;
          if (!opp.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            inner = absl::DataLossError("corrupt opportunity");
            return false;
          }
          return consider(std::string(key), std::move(opp));
        },
        pager.after_key()));
  }
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::Opportunity> Pipeline::UpdateOpportunity(
    const v1::UpdateOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const v1::Opportunity& in = req.opportunity();
  RETURN_IF_ERROR(api::CheckId("opportunity.id", in.id()));
  static constexpr std::string_view kAllowed[] = {
      "title", "value", "expected_close", "desired_delivery", "team_id", "fields"};
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kAllowed));
  for (const std::string& path : req.update_mask().paths()) {
    if (path == "title") RETURN_IF_ERROR(api::CheckId("opportunity.title", in.title()));
    if (path == "value")
      RETURN_IF_ERROR(
          api::CheckMoney("opportunity.value", in.value(), api::MoneyPresence::kRequired));
    if (path == "expected_close") {
      RETURN_IF_ERROR(api::CheckTimestamp("opportunity.expected_close", in.expected_close()));
    }
    if (path == "desired_delivery") {
      RETURN_IF_ERROR(api::CheckTimestamp("opportunity.desired_delivery", in.desired_delivery()));
    }
  }
  if (req.etag().empty()) return InvalidField("etag", "required");
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(in.id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(opp.etag()), api::GivenEtag(req.etag()),
                                 "opportunity " + opp.id(), api::EtagPolicy::kRequired));
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    return absl::FailedPreconditionError("opportunity " + opp.id() + " is closed");
  }
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  int stage = StageIndex(*pb, opp.stage());
  std::vector<const v1::Checkpoint*> unset_before;
  if (stage >= 0) {
    for (const v1::Checkpoint& c : pb->stages(stage).checkpoints()) {
      if (c.kind() == v1::CHECKPOINT_KIND_REQUIRED_FIELD && !IsCheckpointDone(c, opp)) {
        unset_before.push_back(&c);
      }
    }
  }
  Work work;
  GaugeDeltas(work, opp, -1);
  std::vector<std::string> changed;
  for (const std::string& path : req.update_mask().paths()) {
    if (path == "title") opp.set_title(in.title());
    if (path == "value") {
      if (in.value().currency() != opp.value().currency()) {
        return InvalidField("opportunity.value.currency",
                            absl::StrCat("cannot change (is ", opp.value().currency(), ")"));
      }
      *opp.mutable_value() = in.value();
    }
    if (path == "expected_close") *opp.mutable_expected_close() = in.expected_close();
    if (path == "desired_delivery") *opp.mutable_desired_delivery() = in.desired_delivery();
    if (path == "team_id") opp.set_team_id(in.team_id());
    if (path == "fields") {
      for (const auto& [k, v] : in.fields()) {
        if (k.empty()) return InvalidField("opportunity.fields", "empty key");
        if (v.empty()) {
          opp.mutable_fields()->erase(k);
        } else {
          (*opp.mutable_fields())[k] = v;
        }
      }
    }
    changed.push_back(path);
  }
  absl::Time now = options_.clock();
  AddHistory(opp, now, "updated", absl::StrJoin(changed, ","), req.actor().id());
  for (const v1::Checkpoint* c : unset_before) {
    if (IsCheckpointDone(*c, opp)) EmitCheckpointCompleted(work, opp, *c, req.actor().id(), now);
  }
  GaugeDeltas(work, opp, +1);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::LoadOpenForChangeLocked(std::string_view id,
                                                                  std::string_view etag) {
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(id));
  RETURN_IF_ERROR(
      api::CheckEtag(api::StoredEtag(opp.etag()), api::GivenEtag(etag), "opportunity " + opp.id()));
  if (opp.state() != v1::OPPORTUNITY_STATE_OPEN) {
    return absl::FailedPreconditionError("opportunity " + opp.id() + " is closed");
  }
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::CompleteChecklistItem(
    const v1::CompleteChecklistItemRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("checkpoint_id", req.checkpoint_id()));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  const v1::Checkpoint* c = FindCheckpoint(*pb, req.checkpoint_id());
  if (c == nullptr) {
    return InvalidField("checkpoint_id",
                        absl::StrCat("'", req.checkpoint_id(), "' is not a checkpoint of playbook ",
                                     pb->product_line(), " v", pb->version()));
  }
  if (c->kind() != v1::CHECKPOINT_KIND_CHECKLIST_ITEM) {
    return absl::FailedPreconditionError(
        "checkpoint " + c->id() + " is a " + CheckpointKindName(c->kind()) +
        (c->kind() == v1::CHECKPOINT_KIND_REQUIRED_FIELD ? "; set the field instead"
                                                         : "; only its event can open it"));
  }
  v1::CheckpointState* s = MutableCheckpointState(opp, c->id());
  if (s->done()) return opp;  // Already complete: nothing changes.
  absl::Time now = options_.clock();
  s->set_done(true);
  *s->mutable_done_time() = ToProto(now);
  s->set_done_by(req.actor().id());
  Work work;
  EmitCheckpointCompleted(work, opp, *c, req.actor().id(), now);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::AdvanceStage(const v1::AdvanceStageRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("target_stage", req.target_stage()));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(opp.etag()), api::GivenEtag(req.etag()),
                                 "opportunity " + opp.id()));
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  ASSIGN_OR_RETURN(MovePlan plan, PlanMove(*pb, opp, req.target_stage(), req.reason()));
  absl::Time now = options_.clock();
  Work work;
  const std::string from = opp.stage();
  GaugeDeltas(work, opp, -1);
  ExitStage(work, opp, now);
  events::Transaction gate_events;
  EnterStage(work, opp, *pb, plan.to, now, req.actor().id(), req.reason());
  std::swap(gate_events, work.txn);
  GaugeDeltas(work, opp, +1);
  v1::OpportunityStageChanged ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_product_line(opp.product_line());
  ev.set_from_stage(from);
  ev.set_to_stage(opp.stage());
  ev.set_backward(plan.backward);
  for (const std::string& s : plan.skipped) ev.add_skipped_stages(s);
  ev.set_win_probability(pb->stages(plan.to).win_probability());
  *ev.mutable_value() = opp.value();
  ev.set_reason(req.reason());
  ev.set_actor_id(req.actor().id());
  *ev.mutable_changed_at() = ToProto(now);
  work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "stage_changed"), ev);
  for (const events::Event& e : gate_events.events()) {
    work.txn.EmitRaw(e.topic, e.key, e.type, e.payload, e.subject);
  }
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

void Pipeline::CloseDeal(Work& work, v1::Opportunity& opp, absl::Time now) {
  GaugeDeltas(work, opp, -1);
  ExitStage(work, opp, now);
  *opp.mutable_close_time() = ToProto(now);
}

absl::StatusOr<v1::Opportunity> Pipeline::WinOpportunity(const v1::WinOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp.product_line(), opp.playbook_version()));
  int index = StageIndex(*pb, opp.stage());
  if (index != pb->stages_size() - 1) {
    return absl::FailedPreconditionError("a deal is won only from the last stage (" +
                                         pb->stages(pb->stages_size() - 1).id() + "); it is in " +
                                         opp.stage());
  }
  std::vector<std::string> open = OpenCheckpoints(*pb, index, opp);
  if (!open.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot win: ", open.size(), " open checkpoint(s): ", absl::StrJoin(open, "; ")));
  }
  if (req.has_due_date()) RETURN_IF_ERROR(api::CheckTimestamp("due_date", req.due_date()));
  if (!req.has_due_date() && !opp.has_desired_delivery()) {
    return InvalidField("due_date", "required (the deal has no desired_delivery)");
  }
  absl::Time now = options_.clock();
  Work work;
  CloseDeal(work, opp, now);
  opp.set_state(v1::OPPORTUNITY_STATE_WON);
  *opp.mutable_due_date() = req.has_due_date() ? req.due_date() : opp.desired_delivery();
  AddHistory(opp, now, "won", "", req.actor().id());
  work.deltas.push_back(
      Delta{DayOf(now), OpportunityDims(opp), "won", {1, opp.value().amount_minor(), 0}});
  v1::OpportunityWon ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_product_line(opp.product_line());
  ev.set_title(opp.title());
  *ev.mutable_value() = opp.value();
  *ev.mutable_won_at() = ToProto(now);
  *ev.mutable_due_date() = opp.due_date();
  ev.set_estimated_effort_hours(opp.expert_effort_hours());
  ev.set_repeat_client(opp.repeat_client());
  work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "won"), ev);
  repo_->PutRaw(work.txn.batch(), Kind::kIndex, WonClientKey(opp.client_id()), "");
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::LoseOpportunity(const v1::LoseOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  if (req.reason() == v1::LOSS_REASON_UNSPECIFIED || !v1::LossReason_IsValid(req.reason())) {
    return InvalidField("reason", "required (one of LossReason)");
  }
  if (req.reason() == v1::LOSS_REASON_OTHER && req.reason_text().empty()) {
    return InvalidField("reason_text", "required when reason is LOSS_REASON_OTHER");
  }
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  absl::Time now = options_.clock();
  Work work;
  CloseDeal(work, opp, now);
  opp.set_state(v1::OPPORTUNITY_STATE_LOST);
  opp.set_loss_reason(req.reason());
  opp.set_loss_reason_text(req.reason_text());
  AddHistory(opp, now, "lost", v1::LossReason_Name(req.reason()), req.actor().id());
  work.deltas.push_back(
      Delta{DayOf(now), OpportunityDims(opp), "lost", {1, opp.value().amount_minor(), 0}});
  v1::OpportunityLost ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_owner_id(opp.owner_id());
  ev.set_product_line(opp.product_line());
  *ev.mutable_value() = opp.value();
  ev.set_reason(req.reason());
  ev.set_reason_text(req.reason_text());
  *ev.mutable_lost_at() = ToProto(now);
  work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "lost"), ev);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

absl::StatusOr<v1::Opportunity> Pipeline::ReassignOpportunity(
    const v1::ReassignOpportunityRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("opportunity_id", req.opportunity_id()));
  RETURN_IF_ERROR(api::CheckId("new_owner_id", req.new_owner_id()));
  RETURN_IF_ERROR(api::CheckId("reason", req.reason()));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpenForChangeLocked(req.opportunity_id(), req.etag()));
  if (opp.owner_id() == req.new_owner_id()) {
    return absl::FailedPreconditionError("opportunity is already owned by " + req.new_owner_id());
  }
  absl::Time now = options_.clock();
  Work work;
  GaugeDeltas(work, opp, -1);
  v1::OpportunityOwnerChanged ev;
  ev.set_opportunity_id(opp.id());
  ev.set_client_id(opp.client_id());
  ev.set_previous_owner_id(opp.owner_id());
  ev.set_new_owner_id(req.new_owner_id());
  ev.set_reason(req.reason());
  ev.set_actor_id(req.actor().id());
  *ev.mutable_changed_at() = ToProto(now);
  AddHistory(opp, now, "owner_changed",
             absl::StrCat(opp.owner_id(), " -> ", req.new_owner_id(), ": ", req.reason()),
             req.actor().id());
  opp.set_owner_id(req.new_owner_id());
  GaugeDeltas(work, opp, +1);
  work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "owner_changed"), ev);
  SaveOpportunity(work, opp);
  RETURN_IF_ERROR(CommitLocked(work));
  return opp;
}

// ------------------------------------------------------------------------------ reports

absl::StatusOr<v1::FunnelReport> Pipeline::GetFunnelReport(
    const v1::GetFunnelReportRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  if (!req.has_start_time()) return InvalidField("start_time", "required");
  if (!req.has_end_time()) return InvalidField("end_time", "required");
  RETURN_IF_ERROR(api::CheckTimestamp("start_time", req.start_time()));
  RETURN_IF_ERROR(api::CheckTimestamp("end_time", req.end_time()));
  absl::Time start = FromProto(req.start_time());
  absl::Time end = FromProto(req.end_time());
  if (end <= start) return InvalidField("end_time", "must be after start_time");
  const v1::FunnelFilter& f = req.filter();
  if (!clients::v1::ClientTier_IsValid(f.client_tier())) {
    return InvalidField("filter.client_tier", "not a ClientTier");
  }
  if (!v1::ClientKind_IsValid(f.client_kind())) {
    return InvalidField("filter.client_kind", "not a ClientKind");
  }
  int64_t from_day = DayOf(start);
  int64_t to_day = DayOf(end);
  if (absl::FromUnixSeconds(to_day * 86400) < end) ++to_day;  // a partial last day counts
  Totals totals = funnel_.Query(from_day, to_day, f);

  // Step order and targets come from the filtered product line's latest playbook, or from
  // every playbook (targets only where all agree).
  // Stages: those of the latest versions in order, then those only older versions have (deals
  // keep the version they started on, so their stages must still be reported).
  std::vector<const v1::Playbook*> books;
  std::vector<const v1::Playbook*> older;
  {
    std::shared_lock lock(read_mu_);
    for (const auto& [line, versions] : playbooks_) {
      if (!f.product_line().empty() && line != f.product_line()) continue;
      if (versions.empty()) continue;
      books.push_back(&versions.rbegin()->second);
      for (auto it = std::next(versions.rbegin()); it != versions.rend(); ++it) {
        older.push_back(&it->second);
      }
    }
  }
  // Playbook versions are never removed, so the pointers stay valid without the lock.
  std::vector<std::string> stage_ids;
  for (const auto* list : {&books, &older}) {
    for (const v1::Playbook* pb : *list) {
      for (const v1::Stage& s : pb->stages()) {
        if (std::find(stage_ids.begin(), stage_ids.end(), s.id()) == stage_ids.end()) {
          stage_ids.push_back(s.id());
        }
      }
    }
  }
  v1::FunnelReport report;
  *report.mutable_start_time() = req.start_time();
  *report.mutable_end_time() = req.end_time();
  auto period = [&](const std::string& step) {
    auto it = totals.period.find(step);
    return it == totals.period.end() ? Counter{} : it->second;
  };
  std::vector<std::string> steps = {"signal", "lead", "qualified_lead", "opportunity"};
  for (const std::string& s : stage_ids) steps.push_back("stage:" + s);
  steps.push_back("won");
  steps.push_back("lost");
  // Values are never summed across currencies: each is reported per currency, and the single
  // value field is set only when one currency is involved.
  bool mixed = false;
  auto values = [&](const std::map<std::string, std::map<std::string, Counter>>& by_currency,
                    const std::string& step, bool extra,
                    google::protobuf::RepeatedPtrField<v1::CurrencyValue>* out) -> int64_t {
    auto it = by_currency.find(step);
    if (it == by_currency.end()) return 0;
    int64_t single = 0;
    int n = 0;
    for (const auto& [currency, c] : it->second) {
      int64_t v = extra ? c.extra : c.value;
      if (v == 0 || currency.empty()) continue;
      v1::CurrencyValue* cv = out->Add();
      cv->set_currency(currency);
      cv->set_value_minor(v);
      single = v;
      ++n;
    }
    if (n > 1) mixed = true;
    return n == 1 ? single : 0;
  };
  for (const std::string& step : steps) {
    Counter c = period(step);
    v1::FunnelStep* out = report.add_steps();
    out->set_step(step);
    out->set_count(c.count);
    out->set_value_minor(values(totals.period_by_currency, step, false, out->mutable_values()));
  }
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"signal", "lead"}, {"lead", "opportunity"}, {"opportunity", "won"}};
  for (const v1::Playbook* pb : books) {
    for (const v1::FunnelTarget& t : pb->targets()) {
      std::pair<std::string, std::string> p{t.from_step(), t.to_step()};
      if (std::find(pairs.begin(), pairs.end(), p) == pairs.end()) pairs.push_back(p);
    }
  }
  for (const auto& [from, to] : pairs) {
    double target = -1;
    for (const v1::Playbook* pb : books) {
      double t = 0;
      for (const v1::FunnelTarget& ft : pb->targets()) {
        if (ft.from_step() == from && ft.to_step() == to) t = ft.target_ratio();
      }
      if (target < 0) {
        target = t;
      } else if (target != t) {
        target = 0;  // the playbooks disagree: no single target
      }
    }
    if (target < 0) target = 0;
    Counter a = period(from), b = period(to);
    v1::FunnelRatio* r = report.add_ratios();
    r->set_from_step(from);
    r->set_to_step(to);
    r->set_actual_ratio(b.count > 0 ? static_cast<double>(a.count) / b.count : 0);
    r->set_target_ratio(target);
    r->set_gap(target > 0 && b.count > 0 ? r->actual_ratio() - target : 0);
  }
  report.set_won_count(period("won").count);
  report.set_lost_count(period("lost").count);
  int64_t closed = report.won_count() + report.lost_count();
  report.set_win_rate(closed > 0 ? static_cast<double>(report.won_count()) / closed : 0);
  for (const std::string& s : stage_ids) {
    Counter c = period("exit:" + s);
    v1::StageTime* t = report.add_stage_times();
    t->set_stage(s);
    t->set_exits(c.count);
    t->set_average_days(c.count > 0 ? static_cast<double>(c.extra) / c.count / 86400.0 : 0);
  }
  std::map<std::string, int64_t> weighted;
  for (const std::string& s : stage_ids) {
    const std::string step = "open:" + s;
    auto it = totals.open.find(step);
    Counter c = it == totals.open.end() ? Counter{} : it->second;
    v1::WeightedStage* w = report.add_weighted();
    w->set_stage(s);
    w->set_open_count(c.count);
    w->set_open_value_minor(values(totals.open_by_currency, step, false, w->mutable_open_values()));
    w->set_weighted_value_minor(
        values(totals.open_by_currency, step, true, w->mutable_weighted_values()));
    for (const v1::CurrencyValue& cv : w->weighted_values()) {
      weighted[cv.currency()] += cv.value_minor();
    }
  }
  for (const auto& [currency, v] : weighted) {
    v1::CurrencyValue* cv = report.add_weighted_pipeline();
    cv->set_currency(currency);
    cv->set_value_minor(v);
  }
  if (weighted.size() > 1) mixed = true;
  report.set_weighted_pipeline_minor(weighted.size() == 1 ? weighted.begin()->second : 0);
  report.set_mixed_currencies(mixed);
  return report;
}

absl::StatusOr<v1::RankOpenDealsResponse> Pipeline::RankOpenDeals(
    const v1::RankOpenDealsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  ASSIGN_OR_RETURN(const int page_size, api::PageSize(req.page_size()));
  size_t n = static_cast<size_t>(page_size);
  std::vector<char> match = funnel_.TupleMatches(req.filter());
  struct Scored {
    double score;
    const std::string* id;
    const OpenDeal* deal;
  };
  v1::RankOpenDealsResponse resp;
  std::shared_lock lock(read_mu_);
  std::vector<Scored> scored;
  scored.reserve(open_deals_.size());
  for (const auto& [id, d] : open_deals_) {
    if (d.tuple < 0 || static_cast<size_t>(d.tuple) >= match.size() || !match[d.tuple]) continue;
    scored.push_back({static_cast<double>(d.value) * d.probability / d.hours, &id, &d});
  }
  resp.set_open_deals_considered(static_cast<int64_t>(scored.size()));
  n = std::min(n, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const Scored& a, const Scored& b) {
                      if (a.score != b.score) return a.score > b.score;
                      return *a.id < *b.id;
                    });
  for (size_t i = 0; i < n; ++i) {
    const OpenDeal& d = *scored[i].deal;
    v1::RankedDeal* r = resp.add_deals();
    r->set_opportunity_id(*scored[i].id);
    r->set_owner_id(d.owner);
    r->set_client_id(d.client);
    r->set_stage(d.stage);
    r->set_value_minor(d.value);
    r->set_currency(d.currency);
    r->set_win_probability(d.probability);
    r->set_expected_value_minor(static_cast<double>(d.value) * d.probability);
    r->set_expert_hours(d.hours);
    r->set_expected_value_per_expert_hour(scored[i].score);
  }
  return resp;
}

namespace {
int DaysIn(absl::Time entered, absl::Time now) {
  return static_cast<int>(absl::ToInt64Hours(now - entered) / 24);
}
bool IsStale(int max_days, absl::Time entered, absl::Time now) {
  return max_days > 0 && now - entered > absl::Hours(int64_t{24} * max_days);
}
}  // namespace

absl::StatusOr<v1::ListStaleDealsResponse> Pipeline::ListStaleDeals(
    const v1::ListStaleDealsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), req.owner_id()));
  absl::Time now = options_.clock();
  v1::ListStaleDealsResponse resp;
  std::shared_lock lock(read_mu_);
  auto it =
      pager.after_key().empty() ? open_deals_.begin() : open_deals_.upper_bound(pager.after_key());
  for (; it != open_deals_.end(); ++it) {
    const OpenDeal& d = it->second;
    if (!req.owner_id().empty() && d.owner != req.owner_id()) continue;
    if (!IsStale(d.max_days, d.entered, now)) continue;
    if (!pager.Accept(it->first)) break;
    v1::StaleDeal* s = resp.add_deals();
    s->set_opportunity_id(it->first);
    s->set_owner_id(d.owner);
    s->set_stage(d.stage);
    *s->mutable_enter_time() = ToProto(d.entered);
    s->set_max_days(d.max_days);
    s->set_days_in_stage(DaysIn(d.entered, now));
    s->set_reported(d.reported);
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::ScanStaleDealsResponse> Pipeline::ScanStaleDeals(
    const v1::ScanStaleDealsRequest&) {
  std::lock_guard lock(mu_);
  absl::Time now = options_.clock();
  std::vector<std::string> due;
  {
    std::shared_lock rlock(read_mu_);
    for (const auto& [id, d] : open_deals_) {
      if (!d.reported && IsStale(d.max_days, d.entered, now)) due.push_back(id);
    }
  }
  v1::ScanStaleDealsResponse resp;
  for (const std::string& id : due) {
    ASSIGN_OR_RETURN(v1::Opportunity opp, LoadOpportunity(id));
    int entry = opp.stage_history_size() - 1;
    if (opp.state() != v1::OPPORTUNITY_STATE_OPEN || entry < 0 ||
        opp.stale_reported_entry() == entry) {
      continue;
    }
    ASSIGN_OR_RETURN(const v1::Playbook* pb,
                     PlaybookLocked(opp.product_line(), opp.playbook_version()));
    int index = StageIndex(*pb, opp.stage());
    if (index < 0) continue;
    int max_days = pb->stages(index).max_days();
    absl::Time entered = FromProto(opp.stage_history(entry).enter_time());
    if (!IsStale(max_days, entered, now)) continue;
    Work work;
    opp.set_stale_reported_entry(entry);
    AddHistory(opp, now, "stale",
               absl::StrCat("in ", opp.stage(), " for ", DaysIn(entered, now), " days (max ",
                            max_days, ")"),
               "svc:pipeline");
    v1::OpportunityStale ev;
    ev.set_opportunity_id(opp.id());
    ev.set_client_id(opp.client_id());
    ev.set_owner_id(opp.owner_id());
    ev.set_stage(opp.stage());
    *ev.mutable_entered_at() = ToProto(entered);
    ev.set_max_days(max_days);
    ev.set_days_in_stage(DaysIn(entered, now));
    *ev.mutable_detected_at() = ToProto(now);
    work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "stale"), ev);
    SaveOpportunity(work, opp, /*bump=*/false);
    RETURN_IF_ERROR(CommitLocked(work));
    v1::StaleDeal* s = resp.add_newly_reported();
    s->set_opportunity_id(opp.id());
    s->set_owner_id(opp.owner_id());
    s->set_stage(opp.stage());
    *s->mutable_enter_time() = ToProto(entered);
    s->set_max_days(max_days);
    s->set_days_in_stage(DaysIn(entered, now));
    s->set_reported(true);
  }
  return resp;
}

// ------------------------------------------------------------------------------ consumed events

absl::Status Pipeline::OnClient(const events::Event& event,
                                const clients::v1::ClientSummary& client,
                                std::string_view previous_owner, std::string_view new_owner,
                                std::string_view merged_client_id) {
  if (event.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  if (client.client_id().empty()) {
    return absl::InvalidArgumentError("client event without client.client_id");
  }
  RETURN_IF_ERROR(api::CheckUtf8(client, "client"));
  for (std::string_view v : {previous_owner, new_owner, merged_client_id}) {
    if (!api::IsValidUtf8(v)) {
      return absl::InvalidArgumentError("client event: an owner or client id is not valid UTF-8");
    }
  }
  const bool merge = !merged_client_id.empty() && merged_client_id != client.client_id();
  std::lock_guard lock(mu_);
  bool seen = false;
  RETURN_IF_ERROR(InboxSeen(event, &seen));
  if (seen) return absl::OkStatus();
  Work work;
  MarkInbox(work, event);
  // Replica: keep the newest version (events of one client arrive in order; the check guards
  // against a replay of an older one).
  clients::v1::ClientSummary stored;
  absl::Status st = repo_->GetProto(Kind::kClient, client.client_id(), &stored);
  if (!st.ok() && !absl::IsNotFound(st)) return st;
  // A merge survivor is live whatever an earlier merge said of it (e.g. A into B, then B back
  // into A): its redirect goes, so redirects never form a cycle.
  const bool revive = merge && st.ok() && stored.status() == clients::v1::CLIENT_STATUS_MERGED &&
                      client.status() != clients::v1::CLIENT_STATUS_MERGED;
  if (!st.ok() || client.version() >= stored.version() || revive) {
    repo_->PutProto(work.txn.batch(), Kind::kClient, client.client_id(), client);
  }
  if (merge) repo_->Delete(work.txn.batch(), Kind::kIndex, RedirectKey(client.client_id()));
  absl::Time now = options_.clock();
  if (!previous_owner.empty() && !new_owner.empty() && previous_owner != new_owner) {
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->Scan(Kind::kIndex, ClientOppPrefix(client.client_id()),
                                [&](std::string_view key, std::string_view) {
                                  storage::KeyReader r(key.substr(1));
                                  auto c = r.Str();
                                  auto id = r.Str();
                                  if (c.ok() && id.ok()) ids.push_back(*id);
                                  return true;
                                }));
    for (const std::string& id : ids) {
      absl::StatusOr<v1::Opportunity> opp_or = LoadOpportunity(id);
      if (!opp_or.ok()) continue;
      v1::Opportunity& opp = *opp_or;
      if (opp.state() != v1::OPPORTUNITY_STATE_OPEN || opp.owner_id() != previous_owner) continue;
      GaugeDeltas(work, opp, -1);
      std::string reason =
          absl::StrCat("client ", client.client_id(), " owner changed from ",
                       std::string(previous_owner), " to ", std::string(new_owner));
      AddHistory(opp, now, "owner_changed", reason, "svc:clients");
      v1::OpportunityOwnerChanged ev;
      ev.set_opportunity_id(opp.id());
      ev.set_client_id(opp.client_id());
      ev.set_previous_owner_id(opp.owner_id());
      ev.set_new_owner_id(std::string(new_owner));
      ev.set_reason(reason);
      ev.set_actor_id("svc:clients");
      ev.set_cause_event_id(event.id);
      *ev.mutable_changed_at() = ToProto(now);
      opp.set_owner_id(std::string(new_owner));
      GaugeDeltas(work, opp, +1);
      work.txn.Emit(kOpportunityTopic, opp.id(), Type("opportunity", "owner_changed"), ev);
      SaveOpportunity(work, opp);
    }
  }
  if (merge) {
    const std::string merged(merged_client_id);
    repo_->PutRaw(work.txn.batch(), Kind::kIndex, RedirectKey(merged), client.client_id());
    clients::v1::ClientSummary old;
    if (repo_->GetProto(Kind::kClient, merged, &old).ok()) {
      old.set_status(clients::v1::CLIENT_STATUS_MERGED);
      repo_->PutProto(work.txn.batch(), Kind::kClient, merged, old);
    }
    if (repo_->GetRaw(Kind::kIndex, WonClientKey(merged)).ok()) {
      repo_->PutRaw(work.txn.batch(), Kind::kIndex, WonClientKey(client.client_id()), "");
    }
    std::vector<std::string> ids;
    RETURN_IF_ERROR(repo_->Scan(Kind::kIndex, ClientOppPrefix(merged),
                                [&](std::string_view key, std::string_view) {
                                  storage::KeyReader r(key.substr(1));
                                  auto c = r.Str();
                                  auto id = r.Str();
                                  if (c.ok() && id.ok()) ids.push_back(*id);
                                  return true;
                                }));
    for (const std::string& id : ids) {
      absl::StatusOr<v1::Opportunity> opp_or = LoadOpportunity(id);
      repo_->Delete(work.txn.batch(), Kind::kIndex, ClientOppKey(merged, id));
      if (!opp_or.ok()) continue;
      v1::Opportunity& opp = *opp_or;
      opp.set_client_id(client.client_id());
      AddHistory(opp, now, "client_remapped",
                 absl::StrCat("client ", merged, " merged into ", client.client_id()),
                 "svc:clients");
      v1::OpportunityClientRemapped ev;
      ev.set_opportunity_id(id);
      ev.set_previous_client_id(merged);
      ev.set_new_client_id(client.client_id());
      *ev.mutable_remapped_at() = ToProto(now);
      work.txn.Emit(kOpportunityTopic, id, Type("opportunity", "client_remapped"), ev);
      SaveOpportunity(work, opp);
    }
  }
  return CommitLocked(work);
}

absl::StatusOr<std::optional<Pipeline::GateTarget>> Pipeline::GateAwaitingAnswerLocked(
    std::string_view opportunity_id, std::string_view gate_id, v1::CheckpointKind kind,
    std::string_view what) {
  if (opportunity_id.empty()) return std::optional<GateTarget>();
  absl::StatusOr<v1::Opportunity> opp = LoadOpportunity(opportunity_id);
  if (absl::IsNotFound(opp.status())) return std::optional<GateTarget>();  // not ours
  if (!opp.ok()) return opp.status();
  ASSIGN_OR_RETURN(const v1::Playbook* pb,
                   PlaybookLocked(opp->product_line(), opp->playbook_version()));
  const v1::Checkpoint* c = FindCheckpoint(*pb, gate_id);
  if (c == nullptr || c->kind() != kind) {
    logging::Warn(absl::StrCat(std::string(what), " for an unknown gate ignored"),
                  {{"opportunity", opp->id()}, {"gate", std::string(gate_id)}});
    return std::optional<GateTarget>();
  }
  if (!AwaitsAnswer(*opp, c->id())) {
    logging::Warn(absl::StrCat(std::string(what), " for a gate that awaits none ignored"),
                  {{"opportunity", opp->id()}, {"gate", std::string(gate_id)}});
    return std::optional<GateTarget>();
  }
  return std::optional<GateTarget>(GateTarget{*std::move(opp), c});
}

absl::Status Pipeline::OnReviewVerdict(const events::Event& event,
                                       const review::v1::ReviewVerdictRecorded& verdict) {
  if (event.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  RETURN_IF_ERROR(api::CheckUtf8(verdict, "verdict"));
  std::lock_guard lock(mu_);
  bool seen = false;
  RETURN_IF_ERROR(InboxSeen(event, &seen));
  if (seen) return absl::OkStatus();
  Work work;
  MarkInbox(work, event);
  // Milestone sign-offs and other services' reviews share the topic: not all are ours.
  ASSIGN_OR_RETURN(std::optional<GateTarget> target,
                   GateAwaitingAnswerLocked(verdict.opportunity_id(), verdict.gate_id(),
                                            v1::CHECKPOINT_KIND_REVIEW_GATE, "review verdict"));
  if (!target.has_value()) return CommitLocked(work);
  v1::Opportunity& opp = target->opp;
  const v1::Checkpoint* c = target->checkpoint;
  if (verdict.estimated_effort_hours() < 0 || !std::isfinite(verdict.estimated_effort_hours())) {
    return absl::InvalidArgumentError("estimated_effort_hours must be a finite number >= 0");
  }
  absl::Time now = options_.clock();
  v1::CheckpointState* s = MutableCheckpointState(opp, c->id());
  bool was_open = s->gate_status() == v1::GATE_STATUS_OPEN;
  bool approved = verdict.verdict() == review::v1::VERDICT_APPROVED;
  s->set_gate_status(approved ? v1::GATE_STATUS_OPEN : v1::GATE_STATUS_HELD);
  s->set_done(approved);
  if (approved) *s->mutable_done_time() = ToProto(now);
  s->set_done_by(verdict.expert_id());
  s->set_review_id(verdict.review_id());
  s->set_expert_id(verdict.expert_id());
  s->set_verdict(verdict.verdict());
  s->set_estimated_effort_hours(verdict.estimated_effort_hours());
  s->set_solution_summary(verdict.solution_summary());
  double hours = 0;
  for (const v1::CheckpointState& cs : opp.checkpoints()) hours += cs.estimated_effort_hours();
  opp.set_expert_effort_hours(hours);
  AddHistory(opp, now, "review_verdict",
             absl::StrCat(c->id(), ": ", review::v1::Verdict_Name(verdict.verdict()), " by ",
                          verdict.expert_id(), " (", verdict.estimated_effort_hours(), " h)"),
             verdict.expert_id());
  if (approved && !was_open) EmitCheckpointCompleted(work, opp, *c, verdict.expert_id(), now);
  SaveOpportunity(work, opp);
  return CommitLocked(work);
}

absl::Status Pipeline::OnFeasibilityAnswered(const events::Event& event,
                                             const production::v1::FeasibilityAnswered& answer) {
  if (event.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  RETURN_IF_ERROR(api::CheckUtf8(answer, "answer"));
  std::lock_guard lock(mu_);
  bool seen = false;
  RETURN_IF_ERROR(InboxSeen(event, &seen));
  if (seen) return absl::OkStatus();
  Work work;
  MarkInbox(work, event);
  ASSIGN_OR_RETURN(
      std::optional<GateTarget> target,
      GateAwaitingAnswerLocked(answer.opportunity_id(), answer.gate_id(),
                               v1::CHECKPOINT_KIND_FEASIBILITY_GATE, "feasibility answer"));
  if (!target.has_value()) return CommitLocked(work);
  v1::Opportunity& opp = target->opp;
  const v1::Checkpoint* c = target->checkpoint;
  absl::Time now = options_.clock();
  v1::CheckpointState* s = MutableCheckpointState(opp, c->id());
  bool was_open = s->gate_status() == v1::GATE_STATUS_OPEN;
  s->set_gate_status(answer.feasible() ? v1::GATE_STATUS_OPEN : v1::GATE_STATUS_HELD);
  s->set_done(answer.feasible());
  if (answer.feasible()) *s->mutable_done_time() = ToProto(now);
  s->set_done_by("svc:production");
  *s->mutable_earliest_completion() = answer.earliest_completion();
  s->set_bottleneck_resource(answer.bottleneck_resource());
  s->set_explanation(answer.explanation());
  AddHistory(opp, now, "feasibility_answered",
             absl::StrCat(c->id(), answer.feasible() ? ": feasible" : ": not feasible",
                          ", bottleneck ", answer.bottleneck_resource()),
             "svc:production");
  if (answer.feasible() && !was_open) {
    EmitCheckpointCompleted(work, opp, *c, "svc:production", now);
  }
  SaveOpportunity(work, opp);
  return CommitLocked(work);
}

namespace {
constexpr char kClientRegistered[] = "triad.clients.client.registered.v1";
constexpr char kClientUpdated[] = "triad.clients.client.updated.v1";
constexpr char kClientVerified[] = "triad.clients.client.verified.v1";
constexpr char kClientArchived[] = "triad.clients.client.archived.v1";
constexpr char kClientRestored[] = "triad.clients.client.restored.v1";
constexpr char kClientOwnerChanged[] = "triad.clients.client.owner_changed.v1";
constexpr char kClientsMerged[] = "triad.clients.client.merged.v1";
constexpr char kVerdictRecorded[] = "triad.review.request.verdict_recorded.v1";
constexpr char kFeasibilityAnswered[] = "triad.production.feasibility.answered.v1";

// Decode parses the payload as `Msg` (INVALID_ARGUMENT, i.e. dead-lettered, when it does not).
template <typename Msg>
absl::StatusOr<Msg> Decode(const events::Event& e) {
  Msg msg;
  if (!msg.ParseFromString(e.payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload of ", e.type, " does not decode as ", msg.GetTypeName()));
  }
  return msg;
}
}  // namespace

std::vector<std::string> Pipeline::HandledTypes() {
  return {kClientRegistered, kClientUpdated,   kClientVerified,
          kClientArchived,   kClientRestored,  kClientOwnerChanged,
          kClientsMerged,    kVerdictRecorded, kFeasibilityAnswered};
}

absl::Status Pipeline::HandleEvent(const events::Event& e) {
  namespace cv1 = clients::v1;
  if (e.id.empty()) return absl::InvalidArgumentError("event without ce_id");
  const std::string& t = e.type;
  // The lifecycle events carry the summary only; the replica keeps the newest version.
  if (t == kClientRegistered) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientRegistered>(e));
    return OnClient(e, m.client());
  }
  if (t == kClientUpdated) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientUpdated>(e));
    return OnClient(e, m.client());
  }
  if (t == kClientVerified) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientVerified>(e));
    return OnClient(e, m.client());
  }
  if (t == kClientArchived) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientArchived>(e));
    return OnClient(e, m.client());
  }
  if (t == kClientRestored) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientRestored>(e));
    return OnClient(e, m.client());
  }
  if (t == kClientOwnerChanged) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientOwnerChanged>(e));
    return OnClient(e, m.client(), m.previous_owner_id(), m.new_owner_id());
  }
  if (t == kClientsMerged) {
    ASSIGN_OR_RETURN(auto m, Decode<cv1::ClientsMerged>(e));
    if (m.merged_client_id().empty()) {
      return absl::InvalidArgumentError("merged event without merged_client_id");
    }
    return OnClient(e, m.survivor(), {}, {}, m.merged_client_id());
  }
  if (t == kVerdictRecorded) {
    ASSIGN_OR_RETURN(auto m, Decode<review::v1::ReviewVerdictRecorded>(e));
    return OnReviewVerdict(e, m);
  }
  if (t == kFeasibilityAnswered) {
    ASSIGN_OR_RETURN(auto m, Decode<production::v1::FeasibilityAnswered>(e));
    return OnFeasibilityAnswered(e, m);
  }
  return absl::OkStatus();  // not a type this service handles
}

void Pipeline::RegisterHandlers(events::IdempotentConsumer& consumer) {
  for (const std::string& type : HandledTypes()) {
    consumer.On(type,
                [this](const events::Event& e, events::Transaction&) { return HandleEvent(e); });
  }
}

}  // namespace triad::pipeline
