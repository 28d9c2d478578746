// Implements the Pipeline facade: creation and start-up (playbooks, list-index backfill, funnel
// and open-deal indexes), committing a unit of work, and the shared load/save helpers.
#include "services/pipeline/pipeline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/api/etag.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

std::vector<std::string> Pipeline::Topics() {
  return {kSignalTopic, kLeadTopic, kOpportunityTopic, kPersonTopic};
}

std::vector<std::string> Pipeline::ConsumedTopics() {
  return {kClientTopic, kReviewTopic, kFeasibilityTopic, kClientPersonTopic};
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
  std::lock_guard commit(commit_mu_);
  RETURN_IF_ERROR(StageLocked(work));
  return outbox_->Commit(work.txn);
}

absl::Status Pipeline::StageLocked(Work& work) {
  // The in-memory funnel and open-deal index change only once the batch is committed.
  auto staged = std::make_shared<FunnelIndex::Staged>(funnel_.Stage(work.deltas, work.txn.batch()));
  auto touched = std::make_shared<std::vector<v1::Opportunity>>(std::move(work.touched));
  work.txn.AfterCommit([this, staged, touched] {
    funnel_.Apply(*staged);
    for (const v1::Opportunity& opp : *touched) ApplyOpenDeal(opp);
  });
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

}  // namespace triad::pipeline
