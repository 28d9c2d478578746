// Robustness of the pipeline domain ("no crash on any input"): randomized requests (the test kit's
// Fuzzer; the seed is printed, TRIAD_TEST_SEED reruns one) for every RPC built with protobuf
// reflection, random and edge-case consumed events fed through
// the consumer's handler path (Pipeline::HandleEvent), store consistency checks after each run,
// and one focused regression test per defect the randomized runs found (fixture in
// robustness_fixture.h; its list-index and currency tests are list_indexes_test.cc and
// funnel_currency_test.cc).
#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/tests/robustness_fixture.h"
#include "services/pipeline/tests/test_support.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fuzzer.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// ------------------------------------------------------------------------------ random inputs

// NewFuzzer returns the test kit's fuzzer set up for PipelineService requests and consumed
// events: pools of known names and ids (ids of created records are harvested from responses),
// the update-mask paths of UpdateOpportunity, and plausible times around Day(0).
Fuzzer NewFuzzer(uint64_t seed) {
  Fuzzer f(seed);
  f.pools = {
      {"opportunity_id", {"opp-unknown"}},
      {"client_id", {"c1", "c2", "c3", "c-unknown"}},
      {"lead_id", {"lead-unknown"}},
      {"signal_id", {"sig-unknown"}},
      {"owner_id", {"u:wang", "u:li", "u:chen"}},
      {"stage",
       {"qualification", "needs_analysis", "concept", "proposal", "negotiation", "site_survey",
        "technical_assessment", "solution_design", "nowhere"}},
      {"checkpoint_id",
       {"qualification.decision_maker", "needs.site_visit", "needs.brief_confirmed",
        "concept.expert_review", "concept.feasibility", "gate-unknown"}},
      {"product_line", {kArchitecturalDesign, kSpecialisedEquipment, "no-such-line"}},
      {"etag", {"", "0", "1", "2", "3", "4"}},
      {"request_id", {"r1", "r2", "r3"}},
      {"page_token", {"", "garbage", "Zm9v"}},
      {"currency", {"", "CNY", "EUR", "cny", "EURO", "\xff\xfe\xfd"}},
      {"reason", {"", "budget", "because"}},
  };
  f.tame_pools = {{"currency", {"CNY", "EUR"}}};
  f.aliases = {{"new_owner_id", "owner_id"},     {"actor_id", "owner_id"},
               {"team_id", "owner_id"},          {"target_stage", "stage"},
               {"gate_id", "checkpoint_id"},     {"merged_client_id", "client_id"},
               {"previous_owner_id", "owner_id"}};
  f.harvest_ids = {{"Opportunity", "opportunity_id"}, {"Lead", "lead_id"}, {"Signal", "signal_id"}};
  f.mask_paths = {"title",
                  "value",
                  "expected_close_time",
                  "desired_delivery_time",
                  "team_id",
                  "fields",
                  "stage",
                  "owner_id",
                  "",
                  "unknown.path",
                  "\xff"};
  f.valid_mask_paths = 6;
  f.tame_time = Day(0);
  return f;
}

// Messages lists every message type reachable from a descriptor through its fields (itself
// included, map entries too).
void Messages(const Descriptor* d, std::set<const Descriptor*>* out, int depth = 0) {
  if (!out->insert(d).second || depth > 5) return;
  for (int i = 0; i < d->field_count(); ++i) {
    if (const Descriptor* m = d->field(i)->message_type(); m != nullptr) {
      Messages(m, out, depth + 1);
    }
  }
}

// NamedFieldPath returns the first word of `message` that is a field path of `request`, or ""
// when there is none. A word is a whole token (letters, digits, '_', '.', "[n]"), such as
// "etag", "opportunity.value.currency" or "playbook.stages[2].id"; it is a field path when its
// first part is a field of a message reachable from the request and each next part a field of
// the previous part's message type. So "invalid" does not name the field "id", and a sentence
// that only happens to contain a field's name as a substring names nothing.
std::string NamedFieldPath(const Descriptor* request, const std::string& message) {
  std::set<const Descriptor*> messages;
  Messages(request, &messages);
  static const std::regex kToken(
      R"([A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?)*)");
  static const std::regex kIndex(R"(\[[0-9]+\])");
  for (std::sregex_iterator it(message.begin(), message.end(), kToken), end; it != end; ++it) {
    const std::string token = it->str();
    // A token glued to a neighbour word character is part of a larger word ("x-id", "id's").
    const size_t pos = static_cast<size_t>(it->position());
    if (pos > 0 && (message[pos - 1] == '-' || message[pos - 1] == '\'')) continue;
    std::vector<std::string> parts =
        absl::StrSplit(std::regex_replace(token, kIndex, ""), '.', absl::SkipEmpty());
    for (const Descriptor* start : messages) {
      const Descriptor* d = start;
      size_t matched = 0;
      for (const std::string& part : parts) {
        const FieldDescriptor* f = d == nullptr ? nullptr : d->FindFieldByName(part);
        if (f == nullptr) break;
        ++matched;
        d = f->message_type();
      }
      if (matched == parts.size()) return token;
    }
  }
  return "";
}

// ------------------------------------------------------------------------------ (a) every RPC

// The check of the random-request test below: a field is named by a whole token that is a field
// path of the request, not by any substring.
TEST(NamedFieldPathTest, NamesOnlyWholeTokensThatAreFieldPaths) {
  const Descriptor* d = v1::UpdateOpportunityRequest::descriptor();
  EXPECT_EQ(NamedFieldPath(d, "etag is required"), "etag");
  EXPECT_EQ(NamedFieldPath(d, "opportunity.value.currency cannot change"),
            "opportunity.value.currency");
  EXPECT_EQ(NamedFieldPath(d, "update_mask.paths: 'x' is not allowed"), "update_mask.paths");
  EXPECT_EQ(NamedFieldPath(d, "invalid request"), "");  // "invalid" contains "id"
  EXPECT_EQ(NamedFieldPath(d, "the request is invalid"), "");
  EXPECT_EQ(NamedFieldPath(d, "opportunity.no_such_field is required"), "");
  EXPECT_EQ(NamedFieldPath(d, "value 'etag' is bad"), "value");  // a field, not the quoted text
  EXPECT_EQ(NamedFieldPath(d, "bad value 'etag'"), "value");
  EXPECT_EQ(NamedFieldPath(d, "bad 'etag'"), "");
}

TEST_F(RobustnessTest, EveryRpcSurvivesRandomRequestsAndTheStoreStaysConsistent) {
  Register("c1", "u:wang");
  Register("c2", "u:li");
  Register("c3", "u:chen");
  for (int i = 0; i < 3; ++i) ToConcept(i % 2 == 0 ? "c1" : "c2", i == 0 ? "u:wang" : "u:li");
  MustCreate("c3", "u:chen", "EUR", 5000, kSpecialisedEquipment);

  struct Rpc {
    std::string name;
    const Descriptor* request;
    std::function<absl::Status(Fuzzer&, Message*)> call;
  };
  std::vector<Rpc> rpcs;
#define TRIAD_RPC(Name)                                                                \
  rpcs.push_back({#Name, v1::Name##Request::descriptor(), [&](Fuzzer& f, Message* m) { \
                    auto r = p_->Name(*static_cast<v1::Name##Request*>(m));            \
                    if (r.ok()) f.Learn(*r);                                           \
                    return r.status();                                                 \
                  }})
  TRIAD_RPC(GetPlaybook);
  TRIAD_RPC(ListPlaybooks);
  TRIAD_RPC(CreatePlaybookVersion);
  TRIAD_RPC(RecordSignal);
  TRIAD_RPC(GetSignal);
  TRIAD_RPC(ListSignals);
  TRIAD_RPC(CreateLead);
  TRIAD_RPC(GetLead);
  TRIAD_RPC(ListLeads);
  TRIAD_RPC(QualifyLead);
  TRIAD_RPC(DisqualifyLead);
  TRIAD_RPC(CreateOpportunity);
  TRIAD_RPC(GetOpportunity);
  TRIAD_RPC(ListOpportunities);
  TRIAD_RPC(ListOpportunityHistory);
  TRIAD_RPC(UpdateOpportunity);
  TRIAD_RPC(CompleteChecklistItem);
  TRIAD_RPC(AdvanceStage);
  TRIAD_RPC(WinOpportunity);
  TRIAD_RPC(LoseOpportunity);
  TRIAD_RPC(ReassignOpportunity);
  TRIAD_RPC(GetFunnelReport);
  TRIAD_RPC(RankOpenDeals);
  TRIAD_RPC(ListStaleDeals);
  TRIAD_RPC(ListInactiveHoldings);
#undef TRIAD_RPC
  // The table covers every method of the service.
  const auto* service =
      v1::GetPlaybookRequest::descriptor()->file()->FindServiceByName("PipelineService");
  ASSERT_NE(service, nullptr);
  ASSERT_EQ(static_cast<int>(rpcs.size()), service->method_count());
  for (const Rpc& rpc : rpcs) {
    ASSERT_NE(service->FindMethodByName(rpc.name), nullptr) << rpc.name;
  }

  std::map<std::string, std::map<absl::StatusCode, int>> outcomes;
  const uint64_t first_seed = triad::testing::TestSeed(1);
  for (uint64_t seed = first_seed; seed < first_seed + 3; ++seed) {
    Fuzzer f = NewFuzzer(seed);
    for (const v1::Opportunity& o : ListAll()) f.pools["opportunity_id"].push_back(o.id());
    for (int i = 0; i < 1000; ++i) {
      const Rpc& rpc = rpcs[f.Pick(static_cast<int>(rpcs.size()))];
      std::unique_ptr<Message> req(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(rpc.request)->New());
      // Mostly sparse requests (more likely to be valid), sometimes dense ones.
      const bool tame = f.Coin(60);
      f.tame_percent = tame ? 100 : 0;
      f.Fill(req.get(), tame ? 70 : (f.Coin(70) ? 35 : 80));
      if (tame && f.Coin(70)) Tame(f, rpc.name, req.get());
      if (f.Coin(10)) clock_.Advance(absl::Hours(f.Pick(24 * 40)));
      absl::Status st = rpc.call(f, req.get());
      ++outcomes[rpc.name][st.code()];
      if (getenv("TRIAD_FUZZ_VERBOSE") != nullptr && !st.ok()) {
        std::cerr << rpc.name << " -> " << st.ToString().substr(0, 160)
                  << " [names: " << NamedFieldPath(rpc.request, std::string(st.message())) << "]\n";
      }
      EXPECT_NE(st.code(), absl::StatusCode::kInternal) << rpc.name << ": " << st;
      EXPECT_NE(st.code(), absl::StatusCode::kUnknown) << rpc.name << ": " << st;
      EXPECT_NE(st.code(), absl::StatusCode::kDataLoss) << rpc.name << ": " << st;
      if (absl::IsInvalidArgument(st)) {
        EXPECT_NE(NamedFieldPath(rpc.request, std::string(st.message())), "")
            << rpc.name << ": INVALID_ARGUMENT names no field of " << rpc.request->full_name()
            << ": " << st;
      }
    }
    CheckConsistency();
  }
  // Some calls of most RPCs went through (the random requests reach the deep paths).
  int ok_rpcs = 0;
  for (const auto& [name, codes] : outcomes) {
    if (codes.count(absl::StatusCode::kOk) > 0) ++ok_rpcs;
  }
  EXPECT_GE(ok_rpcs, 20);
  if (HasFailure() || getenv("TRIAD_FUZZ_VERBOSE") != nullptr) {
    for (const auto& [name, codes] : outcomes) {
      std::string line = name + ":";
      for (const auto& [code, count] : codes) {
        line += " " + absl::StatusCodeToString(code) + "=" + std::to_string(count);
      }
      std::cerr << line << "\n";
    }
  }
  // The state survives a restart unchanged and consistent.
  Open();
  CheckConsistency();
}

// ------------------------------------------------------------------------------ (b) events

TEST_F(RobustnessTest, ConsumedEventsSurviveRandomPayloadsAndGarbage) {
  Register("c1", "u:wang");
  Register("c2", "u:li");
  v1::Opportunity a = ToConcept("c1");
  v1::Opportunity b = MustCreate("c2", "u:li");
  Fuzzer f = NewFuzzer(triad::testing::TestSeed(7));
  f.pools["opportunity_id"] = {a.id(), b.id(), "opp-unknown", ""};
  f.pools["client_id"] = {"c1", "c2", "c3", ""};
  std::vector<std::string> types = Pipeline::HandledTypes();
  types.push_back("triad.review.request.unknown.v1");
  auto prototype = [](const std::string& type) -> std::unique_ptr<Message> {
    if (type == "triad.clients.client.registered.v1") {
      return std::make_unique<clients::v1::ClientRegistered>();
    }
    if (type == "triad.clients.client.updated.v1")
      return std::make_unique<clients::v1::ClientUpdated>();
    if (type == "triad.clients.client.verified.v1") {
      return std::make_unique<clients::v1::ClientVerified>();
    }
    if (type == "triad.clients.client.archived.v1") {
      return std::make_unique<clients::v1::ClientArchived>();
    }
    if (type == "triad.clients.client.restored.v1") {
      return std::make_unique<clients::v1::ClientRestored>();
    }
    if (type == "triad.clients.client.owner_changed.v1") {
      return std::make_unique<clients::v1::ClientOwnerChanged>();
    }
    if (type == "triad.clients.client.merged.v1")
      return std::make_unique<clients::v1::ClientsMerged>();
    if (type == "triad.review.request.verdict_recorded.v1") {
      return std::make_unique<review::v1::ReviewVerdictRecorded>();
    }
    return std::make_unique<production::v1::FeasibilityAnswered>();
  };
  std::vector<std::string> seen_ids;
  std::map<absl::StatusCode, int> codes;
  for (int i = 0; i < 1500; ++i) {
    events::Event e;
    e.type = f.OneOf(types);
    int shape = f.Pick(10);
    if (shape == 0) {
      e.payload.resize(f.Pick(64));
      for (char& c : e.payload) c = static_cast<char>(f.Pick(256));
    } else if (shape == 1) {
      e.payload = "";
    } else {
      std::unique_ptr<Message> m = prototype(e.type);
      f.Fill(m.get(), f.Coin(50) ? 50 : 90);
      e.payload = m->SerializeAsString();
    }
    int id = f.Pick(10);
    e.id = id == 0 ? "" : (id == 1 && !seen_ids.empty()) ? f.OneOf(seen_ids) : events::NewEventId();
    seen_ids.push_back(e.id);
    absl::Status st = p_->HandleEvent(e);
    ++codes[st.code()];
    // Applied / ignored (OK) or a permanent error the consumer dead-letters at once.
    EXPECT_TRUE(st.ok() || absl::IsInvalidArgument(st)) << e.type << ": " << st;
    if (e.id.empty()) {
      EXPECT_TRUE(absl::IsInvalidArgument(st));
    }
  }
  EXPECT_GT(codes[absl::StatusCode::kOk], 100);
  EXPECT_GT(codes[absl::StatusCode::kInvalidArgument], 100);
  CheckConsistency();
  Open();
  CheckConsistency();
}

TEST_F(RobustnessTest, EdgeCaseEvents) {
  Register("c1", "u:wang");
  v1::Opportunity opp = ToConcept("c1");
  const std::string etag = Get(opp.id()).etag();
  // Unknown opportunity, unknown gate, empty ids: recorded as seen and ignored.
  EXPECT_TRUE(Verdict("opp-unknown", "concept.expert_review", review::v1::VERDICT_APPROVED).ok());
  EXPECT_TRUE(Verdict(opp.id(), "gate-unknown", review::v1::VERDICT_APPROVED).ok());
  EXPECT_TRUE(Verdict("", "", review::v1::VERDICT_APPROVED).ok());
  // A feasibility gate named in a review verdict is not a review gate: ignored.
  EXPECT_TRUE(Verdict(opp.id(), "concept.feasibility", review::v1::VERDICT_APPROVED).ok());
  EXPECT_EQ(Get(opp.id()).etag(), etag);
  // Garbage bytes and an empty event id are permanent errors (dead-lettered).
  events::Event garbage;
  garbage.id = events::NewEventId();
  garbage.type = "triad.review.request.verdict_recorded.v1";
  garbage.payload = std::string("\xff\xff\xff\xff\x0f", 5);
  EXPECT_TRUE(absl::IsInvalidArgument(p_->HandleEvent(garbage)));
  clients::v1::ClientRegistered reg;
  *reg.mutable_client() = Client("c9");
  EXPECT_TRUE(
      absl::IsInvalidArgument(p_->HandleEvent(Ev("triad.clients.client.registered.v1", reg, ""))));
  // A merge naming no merged id is malformed; a merge into itself changes nothing.
  clients::v1::ClientsMerged self;
  *self.mutable_survivor() = Client("c1", "u:wang", 2);
  EXPECT_TRUE(absl::IsInvalidArgument(p_->HandleEvent(Ev("triad.clients.client.merged.v1", self))));
  self.set_merged_client_id("c1");
  EXPECT_TRUE(p_->HandleEvent(Ev("triad.clients.client.merged.v1", self)).ok());
  EXPECT_EQ(Get(opp.id()).client_id(), "c1");
  EXPECT_TRUE(Create("c1", "u:wang").ok());
  // An owner change to the same owner moves nothing.
  clients::v1::ClientOwnerChanged same;
  *same.mutable_client() = Client("c1", "u:wang", 3);
  same.set_previous_owner_id("u:wang");
  same.set_new_owner_id("u:wang");
  EXPECT_TRUE(p_->HandleEvent(Ev("triad.clients.client.owner_changed.v1", same)).ok());
  EXPECT_EQ(Get(opp.id()).owner_id(), "u:wang");
  EXPECT_EQ(Get(opp.id()).etag(), etag);
  // Unknown types are not ours: OK, nothing happens.
  EXPECT_TRUE(p_->HandleEvent(Ev("triad.clients.client.deleted.v9", reg)).ok());
}

// Regression: a verdict for a gate of another stage (never requested) used to open it, so the
// deal later skipped the review; a verdict on a closed deal used to rewrite it.
TEST_F(RobustnessTest, VerdictForAGateNotAwaitingOneIsIgnored) {
  Register("c1");
  v1::Opportunity opp = MustCreate("c1", "u:wang");  // in qualification
  const std::string etag = Get(opp.id()).etag();
  ASSERT_TRUE(Verdict(opp.id(), "concept.expert_review", review::v1::VERDICT_APPROVED).ok());
  v1::Opportunity after = Get(opp.id());
  EXPECT_EQ(after.etag(), etag);
  EXPECT_EQ(FindCheckpointState(after, "concept.expert_review"), nullptr);
  // Entering concept later requests the review as usual.
  v1::Opportunity c = ToConcept("c1");
  const v1::CheckpointState* s = FindCheckpointState(c, "concept.expert_review");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->gate_status(), v1::GATE_STATUS_REQUESTED);
  // A closed deal keeps its state.
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(c.id());
  lose.set_reason(v1::LOSS_REASON_PRICE);
  ASSERT_TRUE(p_->LoseOpportunity(lose).ok());
  const std::string closed_etag = Get(c.id()).etag();
  ASSERT_TRUE(Verdict(c.id(), "concept.expert_review", review::v1::VERDICT_APPROVED).ok());
  EXPECT_EQ(Get(c.id()).etag(), closed_etag);
}

// Regression: merging A into B and then B back into A left redirects A->B->A; A resolved to a
// MERGED record, so deals could no longer be opened on either id.
TEST_F(RobustnessTest, MergeChainsAndCyclesResolveToTheLiveSurvivor) {
  Register("a");
  Register("b");
  Register("c");
  v1::Opportunity on_a = MustCreate("a", "u:wang");
  ASSERT_TRUE(Merge("a", "b", 2).ok());
  ASSERT_TRUE(Merge("b", "c", 3).ok());  // chain a -> b -> c
  EXPECT_EQ(Get(on_a.id()).client_id(), "c");
  auto via_a = Create("a", "u:wang");
  ASSERT_TRUE(via_a.ok()) << via_a.status();
  EXPECT_EQ(via_a->client_id(), "c");
  // Cycle: c merged back into a (a survives again).
  ASSERT_TRUE(Merge("c", "a", 4).ok());
  EXPECT_EQ(Get(on_a.id()).client_id(), "a");
  for (const char* id : {"a", "b", "c"}) {
    auto r = Create(id, "u:wang");
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    EXPECT_EQ(r->client_id(), "a") << id;
  }
  // And a -> c -> a -> c again.
  ASSERT_TRUE(Merge("a", "c", 5).ok());
  auto r = Create("b", "u:wang");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->client_id(), "c");
  CheckConsistency();
}

// Regression: strings that are not UTF-8 were stored; the record then failed to parse on every
// read (DATA_LOSS) and its events could not be decoded by any consumer.
TEST_F(RobustnessTest, InvalidUtf8IsRefusedNamingTheField) {
  Register("c1");
  v1::CreateOpportunityRequest req;
  req.set_request_id("r-utf8");
  req.set_client_id("c1");
  req.set_owner_id("u:wang");
  req.set_title(std::string("Hospital \xc3\x28", 11));
  req.mutable_value()->set_amount_minor(100);
  req.mutable_value()->set_currency("CNY");
  req.set_product_line(kArchitecturalDesign);
  auto r = p_->CreateOpportunity(req);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("title"));
  (*req.mutable_fields())[std::string("k\xff", 2)] = "v";
  req.set_title("ok");
  r = p_->CreateOpportunity(req);
  EXPECT_THAT(r.status().message(), HasSubstr("fields.key"));
  EXPECT_TRUE(ListAll().empty());
  review::v1::ReviewVerdictRecorded v;
  v.set_opportunity_id("x");
  v.set_expert_id(std::string("\xff", 1));
  events::Event e;
  e.id = "e1";
  EXPECT_TRUE(absl::IsInvalidArgument(p_->OnReviewVerdict(e, v)));
}

// Regression: NaN passed the playbook's range checks (NaN < 0 is false), and max_days /
// default_delivery_days near INT32_MAX overflowed `24 * days` (undefined behaviour).
TEST_F(RobustnessTest, PlaybookNumbersAreRangeChecked) {
  v1::GetPlaybookRequest g;
  g.set_product_line(kArchitecturalDesign);
  v1::Playbook base = *p_->GetPlaybook(g);
  auto create = [&](const std::function<void(v1::Playbook&)>& edit) {
    v1::CreatePlaybookVersionRequest req;
    *req.mutable_playbook() = base;
    edit(*req.mutable_playbook());
    return p_->CreatePlaybookVersion(req).status();
  };
  absl::Status st = create([](v1::Playbook& p) { p.mutable_stages(1)->set_win_probability(NAN); });
  EXPECT_THAT(st.message(), HasSubstr("stages[1].win_probability"));
  st = create([](v1::Playbook& p) { p.set_default_expert_hours(NAN); });
  EXPECT_THAT(st.message(), HasSubstr("default_expert_hours"));
  st = create([](v1::Playbook& p) { p.mutable_targets(0)->set_target_ratio(NAN); });
  EXPECT_THAT(st.message(), HasSubstr("target_ratio"));
  st = create([](v1::Playbook& p) { p.mutable_stages(0)->set_max_days(2147483647); });
  EXPECT_THAT(st.message(), HasSubstr("stages[0].max_days"));
  st = create([](v1::Playbook& p) { p.set_default_delivery_days(2147483647); });
  EXPECT_THAT(st.message(), HasSubstr("default_delivery_days"));
  EXPECT_TRUE(create([](v1::Playbook&) {}).ok());
}

// Regression: amounts up to INT64_MAX were accepted; the funnel sums (and value x probability)
// then overflowed int64.
TEST_F(RobustnessTest, HugeAmountsAreRefused) {
  Register("c1");
  auto r = Create("c1", "u:wang", "CNY", std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(r.status().message(), HasSubstr("value.amount_minor"));
  EXPECT_TRUE(Create("c1", "u:wang", "CNY", 1'000'000'000'000'000).ok());
}

// Regression (found by the randomized run): the report listed only the stages of the latest
// playbook versions, so deals still on an older version whose stage a newer version renamed
// vanished from the open pipeline (weighted value, counts).
TEST_F(RobustnessTest, ReportKeepsStagesOfOlderPlaybookVersions) {
  Register("c1");
  v1::Opportunity old = MustCreate("c1", "u:wang", "CNY", 1000);  // v1, in "qualification"
  v1::GetPlaybookRequest g;
  g.set_product_line(kArchitecturalDesign);
  v1::CreatePlaybookVersionRequest req;
  *req.mutable_playbook() = *p_->GetPlaybook(g);
  req.mutable_playbook()->mutable_stages(0)->set_id("intake");
  ASSERT_TRUE(p_->CreatePlaybookVersion(req).ok());
  v1::GetFunnelReportRequest fr;
  *fr.mutable_start_time() = util::ToProto(Day(-1));
  *fr.mutable_end_time() = util::ToProto(Day(1));
  auto report = p_->GetFunnelReport(fr);
  ASSERT_TRUE(report.ok());
  int64_t open = 0;
  for (const auto& w : report->weighted()) {
    if (w.stage() == "qualification") open = w.open_count();
  }
  EXPECT_EQ(open, 1);
  EXPECT_EQ(report->weighted_pipeline_minor(), 100);  // 1000 x 0.10
}

}  // namespace
}  // namespace triad::pipeline
