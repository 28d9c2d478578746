// Implements the helpers shared by the Pipeline implementation files (pipeline_internal.h).
#include "services/pipeline/pipeline_internal.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/proto_time.h"
#include "services/pipeline/history_chain.h"
#include "services/pipeline/pipeline.h"

namespace triad::pipeline {

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
  SealLastHistoryEntry(opp);
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

}  // namespace triad::pipeline
