// Unit tests of the pipeline domain on a real RocksDB in a temporary directory: playbook rules,
// checkpoint evaluation, gates opened by events, funnel arithmetic, ranking and stale deals.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/storage/store.h"
#include "common/util/idempotency.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/pipeline.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::Time Day(int d) { return absl::FromUnixSeconds(int64_t{20000 + d} * 86400 + 3600); }

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    p_.reset();
    outbox_.reset();
    store_.reset();
    auto storage =
        ::triad::testing::OpenServiceStorage(dir_.Sub("db"), ColumnFamilies(), "triad/pipeline");
    ASSERT_TRUE(storage.ok()) << storage.status();
    store_ = std::move(storage->store);
    outbox_ = std::move(storage->outbox);
    PipelineOptions po;
    po.clock = clock_.AsFunction();
    auto p = Pipeline::Create(store_.get(), outbox_.get(), po);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
  }

  events::Event NewEvent() {
    events::Event e;
    e.id = events::NewEventId();
    return e;
  }

  clients::v1::ClientSummary Client(const std::string& id, const std::string& owner,
                                    int64_t version = 1) {
    clients::v1::ClientSummary c;
    c.set_client_id(id);
    c.set_name("Client " + id);
    c.set_owner_id(owner);
    c.set_team_id("team-east");
    c.set_status(clients::v1::CLIENT_STATUS_VERIFIED);
    c.set_region("east");
    c.set_tier(clients::v1::CLIENT_TIER_KEY);
    c.set_version(version);
    return c;
  }

  void RegisterClient(const std::string& id, const std::string& owner = "u:wang") {
    ASSERT_TRUE(p_->OnClient(NewEvent(), Client(id, owner)).ok());
  }

  // Events of `type` in the outbox (the relay is not started in unit tests).
  std::vector<common::v1::OutboxRecord> Emitted(const std::string& type) {
    return ::triad::testing::ReadOutboxOfType(*store_, type);
  }

  int OutboxSize() { return static_cast<int>(::triad::testing::ReadOutbox(*store_).size()); }

  v1::Opportunity CreateOpp(const std::string& client, const std::string& line,
                            int64_t value = 1'000'000'00, const std::string& owner = "u:wang") {
    v1::CreateOpportunityRequest req;
    req.set_request_id(events::NewEventId());
    req.set_client_id(client);
    req.set_owner_id(owner);
    req.set_title("Hospital extension");
    req.mutable_value()->set_amount_minor(value);
    req.mutable_value()->set_currency("CNY");
    *req.mutable_expected_close() = util::ToProto(clock_.Now() + absl::Hours(24 * 90));
    req.set_product_line(line);
    auto opp = p_->CreateOpportunity(req);
    EXPECT_TRUE(opp.ok()) << opp.status();
    return opp.ok() ? *opp : v1::Opportunity();
  }

  absl::StatusOr<v1::Opportunity> Advance(const std::string& id, const std::string& stage,
                                          const std::string& reason = "") {
    v1::AdvanceStageRequest req;
    req.set_opportunity_id(id);
    req.set_target_stage(stage);
    req.set_reason(reason);
    req.mutable_actor()->set_id("u:wang");
    return p_->AdvanceStage(req);
  }

  void Tick(const std::string& id, const std::string& checkpoint) {
    v1::CompleteChecklistItemRequest req;
    req.set_opportunity_id(id);
    req.set_checkpoint_id(checkpoint);
    auto r = p_->CompleteChecklistItem(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  void SetField(const std::string& id, const std::string& key, const std::string& value) {
    auto cur = p_->GetOpportunity(Get(id));
    ASSERT_TRUE(cur.ok());
    v1::UpdateOpportunityRequest req;
    req.mutable_opportunity()->set_id(id);
    (*req.mutable_opportunity()->mutable_fields())[key] = value;
    req.mutable_update_mask()->add_paths("fields");
    req.set_etag(cur->etag());
    auto r = p_->UpdateOpportunity(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  static v1::GetOpportunityRequest Get(const std::string& id) {
    v1::GetOpportunityRequest r;
    r.set_opportunity_id(id);
    return r;
  }

  // Drives an architectural-design deal into the concept stage.
  v1::Opportunity ToConcept(const std::string& client) {
    v1::Opportunity opp = CreateOpp(client, kArchitecturalDesign);
    Tick(opp.id(), "qualification.decision_maker");
    EXPECT_TRUE(Advance(opp.id(), "needs_analysis").ok());
    SetField(opp.id(), "site_area_m2", "12000");
    Tick(opp.id(), "needs.site_visit");
    Tick(opp.id(), "needs.brief_confirmed");
    auto r = Advance(opp.id(), "concept");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : opp;
  }

  absl::Status Verdict(const events::Event& e, const std::string& opp, review::v1::Verdict v,
                       double hours, const std::string& gate = "concept.expert_review") {
    review::v1::ReviewVerdictRecorded m;
    m.set_review_id("rev-1");
    m.set_opportunity_id(opp);
    m.set_gate_id(gate);
    m.set_domain("architecture");
    m.set_expert_id("x:zhao");
    m.set_verdict(v);
    m.set_estimated_effort_hours(hours);
    return p_->OnReviewVerdict(e, m);
  }

  absl::Status Feasibility(const std::string& opp, bool feasible) {
    production::v1::FeasibilityAnswered a;
    a.set_opportunity_id(opp);
    a.set_gate_id("concept.feasibility");
    a.set_feasible(feasible);
    *a.mutable_earliest_completion() = util::ToProto(clock_.Now() + absl::Hours(24 * 200));
    a.set_bottleneck_resource("team:structural");
    return p_->OnFeasibilityAnswered(NewEvent(), a);
  }

  testing::TempDir dir_;
  ::triad::testing::FakeClock clock_{Day(0)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<events::Outbox> outbox_;
  std::unique_ptr<Pipeline> p_;
};

TEST(PlaybookRulesTest, DefaultsAreValidAndDistinct) {
  std::vector<v1::Playbook> books = DefaultPlaybooks();
  ASSERT_EQ(books.size(), 2u);
  for (const v1::Playbook& pb : books) EXPECT_TRUE(ValidatePlaybook(pb).ok()) << pb.product_line();
  EXPECT_EQ(books[0].product_line(), kArchitecturalDesign);
  EXPECT_EQ(books[1].product_line(), kSpecialisedEquipment);
}

TEST(PlaybookRulesTest, ValidationNamesTheField) {
  v1::Playbook pb = DefaultPlaybooks()[0];
  pb.mutable_stages(1)->set_id(pb.stages(0).id());
  absl::Status s = ValidatePlaybook(pb);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("playbook.stages[1].id"));
  pb = DefaultPlaybooks()[0];
  pb.mutable_stages(2)->set_win_probability(1.5);
  EXPECT_THAT(ValidatePlaybook(pb).message(), HasSubstr("stages[2].win_probability"));
  pb = DefaultPlaybooks()[0];
  pb.mutable_targets(0)->set_to_step("nowhere");
  EXPECT_THAT(ValidatePlaybook(pb).message(), HasSubstr("unknown step: nowhere"));
}

TEST(PlaybookRulesTest, CheckpointEvaluation) {
  v1::Playbook pb = DefaultPlaybooks()[0];
  v1::Opportunity opp;
  opp.set_id("o");
  opp.set_state(v1::OPPORTUNITY_STATE_OPEN);
  opp.set_stage("qualification");
  std::vector<std::string> open = OpenCheckpoints(pb, 0, opp);
  ASSERT_EQ(open.size(), 3u);
  opp.mutable_value()->set_amount_minor(5);
  opp.mutable_value()->set_currency("CNY");
  *opp.mutable_expected_close() = util::ToProto(Day(3));
  open = OpenCheckpoints(pb, 0, opp);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_THAT(open[0], HasSubstr("qualification.decision_maker"));
  MutableCheckpointState(opp, "qualification.decision_maker")->set_done(true);
  EXPECT_TRUE(OpenCheckpoints(pb, 0, opp).empty());
  // A gate is open only when its event opened it.
  opp.set_stage("concept");
  MutableCheckpointState(opp, "concept.expert_review")->set_gate_status(v1::GATE_STATUS_HELD);
  open = OpenCheckpoints(pb, 2, opp);
  ASSERT_EQ(open.size(), 2u);
  EXPECT_THAT(open[0], HasSubstr("held"));
}

TEST_F(PipelineTest, PlaybooksAreSeededAndPaginated) {
  v1::GetPlaybookRequest g;
  g.set_product_line(kSpecialisedEquipment);
  auto pb = p_->GetPlaybook(g);
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(pb->version(), 1);
  EXPECT_EQ(pb->stages_size(), 6);
  v1::ListPlaybooksRequest l;
  l.set_page_size(1);
  auto page1 = p_->ListPlaybooks(l);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->playbooks_size(), 1);
  ASSERT_FALSE(page1->next_page_token().empty());
  l.set_page_token(page1->next_page_token());
  auto page2 = p_->ListPlaybooks(l);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->playbooks_size(), 1);
  EXPECT_NE(page1->playbooks(0).product_line(), page2->playbooks(0).product_line());
  EXPECT_TRUE(page2->next_page_token().empty());
}

TEST_F(PipelineTest, OpportunityKeepsItsPlaybookVersion) {
  RegisterClient("c1");
  v1::Opportunity old = CreateOpp("c1", kArchitecturalDesign);
  v1::CreatePlaybookVersionRequest req;
  *req.mutable_playbook() = DefaultPlaybooks()[0];
  req.mutable_playbook()->mutable_stages(0)->clear_checkpoints();
  req.set_request_id("pb-2");
  auto v2 = p_->CreatePlaybookVersion(req);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  v1::Opportunity fresh = CreateOpp("c1", kArchitecturalDesign);
  EXPECT_EQ(fresh.playbook_version(), 2);
  EXPECT_TRUE(Advance(fresh.id(), "needs_analysis").ok());
  // The old deal still needs its v1 checklist item.
  auto r = Advance(old.id(), "needs_analysis");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("qualification.decision_maker"));
}

TEST_F(PipelineTest, UnknownArchivedAndMergedClients) {
  v1::CreateOpportunityRequest req;
  req.set_request_id("r1");
  req.set_client_id("ghost");
  req.set_owner_id("u:wang");
  req.set_title("t");
  req.mutable_value()->set_amount_minor(10);
  req.mutable_value()->set_currency("CNY");
  req.set_product_line(kArchitecturalDesign);
  auto r = p_->CreateOpportunity(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("ghost"));

  clients::v1::ClientSummary archived = Client("arch", "u:wang", 2);
  archived.set_status(clients::v1::CLIENT_STATUS_ARCHIVED);
  ASSERT_TRUE(p_->OnClient(NewEvent(), archived).ok());
  req.set_client_id("arch");
  req.set_request_id("r2");
  r = p_->CreateOpportunity(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("archived"));

  RegisterClient("old");
  RegisterClient("survivor");
  v1::Opportunity before = CreateOpp("old", kArchitecturalDesign);
  ASSERT_TRUE(p_->OnClient(NewEvent(), Client("survivor", "u:wang", 3), {}, {}, "old").ok());
  auto remapped = p_->GetOpportunity(Get(before.id()));
  ASSERT_TRUE(remapped.ok());
  EXPECT_EQ(remapped->client_id(), "survivor");
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.client_remapped.v1").size(), 1u);
  // New deals on the merged id land on the survivor.
  req.set_client_id("old");
  req.set_request_id("r3");
  r = p_->CreateOpportunity(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->client_id(), "survivor");
  v1::ListOpportunitiesRequest list;
  list.set_client_id("survivor");
  auto listed = p_->ListOpportunities(list);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->opportunities_size(), 2);
}

TEST_F(PipelineTest, CreateIsIdempotentAndValidates) {
  RegisterClient("c1");
  v1::CreateOpportunityRequest req;
  req.set_request_id("same");
  req.set_client_id("c1");
  req.set_owner_id("u:wang");
  req.set_title("t");
  req.mutable_value()->set_amount_minor(10);
  req.mutable_value()->set_currency("cny");
  req.set_product_line(kArchitecturalDesign);
  auto bad = p_->CreateOpportunity(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("value.currency"));
  req.mutable_value()->set_currency("CNY");
  auto a = p_->CreateOpportunity(req);
  auto b = p_->CreateOpportunity(req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->id(), b->id());
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.created.v1").size(), 1u);
}

TEST_F(PipelineTest, RefusedMoveListsExactlyTheOpenCheckpointsAndWritesNothing) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  const int outbox_before = OutboxSize();
  auto r = Advance(opp.id(), "needs_analysis");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("1 open checkpoint(s)"));
  EXPECT_THAT(r.status().message(), HasSubstr("qualification.decision_maker"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("qualification.value")));
  auto after = p_->GetOpportunity(Get(opp.id()));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->SerializeAsString(), opp.SerializeAsString());
  EXPECT_EQ(OutboxSize(), outbox_before);
  Tick(opp.id(), "qualification.decision_maker");
  auto moved = Advance(opp.id(), "needs_analysis");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->stage(), "needs_analysis");
  ASSERT_EQ(moved->stage_history_size(), 2);
  EXPECT_TRUE(moved->stage_history(0).has_exit_time());
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.stage_changed.v1").size(), 1u);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.checkpoint_completed.v1").size(), 1u);
}

TEST_F(PipelineTest, SkipAndBackwardRules) {
  RegisterClient("c1");
  // Architectural design allows no skips.
  v1::Opportunity arch = CreateOpp("c1", kArchitecturalDesign);
  Tick(arch.id(), "qualification.decision_maker");
  auto r = Advance(arch.id(), "concept");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("allows 0"));
  // Equipment: the site survey may be skipped, but not two stages.
  v1::Opportunity eq = CreateOpp("c1", kSpecialisedEquipment);
  Tick(eq.id(), "qualification.application");
  r = Advance(eq.id(), "solution_design");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("technical_assessment cannot be skipped"));
  r = Advance(eq.id(), "technical_assessment");
  ASSERT_TRUE(r.ok()) << r.status();
  // Entering the assessment requested its expert review.
  auto reviews = Emitted("triad.pipeline.opportunity.review_requested.v1");
  ASSERT_EQ(reviews.size(), 1u);
  v1::ReviewRequested rr;
  ASSERT_TRUE(rr.ParseFromString(reviews[0].payload()));
  EXPECT_EQ(rr.domain(), "process-engineering");
  EXPECT_EQ(rr.gate_id(), "assessment.expert_review");
  EXPECT_EQ(rr.value().amount_minor(), eq.value().amount_minor());
  // Backward moves need a reason.
  r = Advance(eq.id(), "qualification");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = Advance(eq.id(), "qualification", "client changed the duty");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stage(), "qualification");
  r = Advance(eq.id(), "no_such_stage");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PipelineTest, GatesOpenOnlyByEventsAndVerdictAppliesOnce) {
  RegisterClient("c1");
  v1::Opportunity opp = ToConcept("c1");
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.review_requested.v1").size(), 1u);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.feasibility_requested.v1").size(), 1u);
  // A gate is not a checklist item.
  v1::CompleteChecklistItemRequest tick;
  tick.set_opportunity_id(opp.id());
  tick.set_checkpoint_id("concept.expert_review");
  EXPECT_EQ(p_->CompleteChecklistItem(tick).status().code(), absl::StatusCode::kFailedPrecondition);
  auto r = Advance(opp.id(), "proposal");
  EXPECT_THAT(r.status().message(), HasSubstr("concept.expert_review"));
  EXPECT_THAT(r.status().message(), HasSubstr("concept.feasibility"));

  ASSERT_TRUE(Verdict(NewEvent(), opp.id(), review::v1::VERDICT_REVISE, 30).ok());
  r = Advance(opp.id(), "proposal");
  EXPECT_THAT(r.status().message(), HasSubstr("concept.expert_review (review gate, domain "
                                              "architecture: held)"));
  events::Event approved = NewEvent();
  ASSERT_TRUE(Verdict(approved, opp.id(), review::v1::VERDICT_APPROVED, 120).ok());
  auto after = p_->GetOpportunity(Get(opp.id()));
  ASSERT_TRUE(after.ok());
  const int history = after->history_size();
  EXPECT_DOUBLE_EQ(after->expert_effort_hours(), 120);
  // The same event again (a redelivery) changes nothing.
  ASSERT_TRUE(Verdict(approved, opp.id(), review::v1::VERDICT_APPROVED, 120).ok());
  auto again = p_->GetOpportunity(Get(opp.id()));
  EXPECT_EQ(again->history_size(), history);
  EXPECT_EQ(again->etag(), after->etag());

  ASSERT_TRUE(Feasibility(opp.id(), false).ok());
  r = Advance(opp.id(), "proposal");
  EXPECT_THAT(r.status().message(), HasSubstr("concept.feasibility (feasibility gate: held)"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("concept.expert_review")));
  ASSERT_TRUE(Feasibility(opp.id(), true).ok());
  r = Advance(opp.id(), "proposal");
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::CheckpointState* fs = FindCheckpointState(*r, "concept.feasibility");
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->bottleneck_resource(), "team:structural");
  EXPECT_TRUE(fs->has_earliest_completion());
}

TEST_F(PipelineTest, UpdateNeedsCurrentEtagAndKnownPaths) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  v1::UpdateOpportunityRequest req;
  req.mutable_opportunity()->set_id(opp.id());
  req.mutable_opportunity()->set_title("New title");
  req.mutable_update_mask()->add_paths("title");
  req.set_etag("stale");
  EXPECT_EQ(p_->UpdateOpportunity(req).status().code(), absl::StatusCode::kAborted);
  req.set_etag(opp.etag());
  req.mutable_update_mask()->add_paths("stage");
  auto bad = p_->UpdateOpportunity(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("update_mask.paths: unknown or read-only field 'stage'"));
  req.mutable_update_mask()->clear_paths();
  req.mutable_update_mask()->add_paths("title");
  auto ok = p_->UpdateOpportunity(req);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->title(), "New title");
  EXPECT_NE(ok->etag(), opp.etag());
}

TEST_F(PipelineTest, WinAndLoseFillTheirEvents) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kSpecialisedEquipment, 500'000'00);
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(opp.id());
  EXPECT_EQ(p_->LoseOpportunity(lose).status().code(), absl::StatusCode::kInvalidArgument);
  lose.set_reason(v1::LOSS_REASON_COMPETITOR);
  lose.set_reason_text("went with a cheaper vendor");
  auto lost = p_->LoseOpportunity(lose);
  ASSERT_TRUE(lost.ok()) << lost.status();
  auto events = Emitted("triad.pipeline.opportunity.lost.v1");
  ASSERT_EQ(events.size(), 1u);
  v1::OpportunityLost l;
  ASSERT_TRUE(l.ParseFromString(events[0].payload()));
  EXPECT_EQ(l.reason(), v1::LOSS_REASON_COMPETITOR);
  EXPECT_EQ(l.client_id(), "c1");
  EXPECT_EQ(l.value().amount_minor(), 500'000'00);
  EXPECT_EQ(p_->LoseOpportunity(lose).status().code(), absl::StatusCode::kFailedPrecondition);

  v1::Opportunity w = CreateOpp("c1", kSpecialisedEquipment, 800'000'00);
  v1::WinOpportunityRequest win;
  win.set_opportunity_id(w.id());
  auto r = p_->WinOpportunity(win);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("last stage"));
}

TEST_F(PipelineTest, ClientOwnerChangeMovesOnlyTheOldOwnersOpenDeals) {
  RegisterClient("c1", "u:wang");
  v1::Opportunity a = CreateOpp("c1", kArchitecturalDesign, 100, "u:wang");
  v1::Opportunity b = CreateOpp("c1", kArchitecturalDesign, 100, "u:li");
  clients::v1::ClientSummary c = Client("c1", "u:chen", 2);
  ASSERT_TRUE(p_->OnClient(NewEvent(), c, "u:wang", "u:chen").ok());
  auto a2 = p_->GetOpportunity(Get(a.id()));
  auto b2 = p_->GetOpportunity(Get(b.id()));
  EXPECT_EQ(a2->owner_id(), "u:chen");
  EXPECT_EQ(b2->owner_id(), "u:li");
  ASSERT_GT(a2->history_size(), 0);
  EXPECT_THAT(a2->history(a2->history_size() - 1).detail(), HasSubstr("owner changed"));
  auto ev = Emitted("triad.pipeline.opportunity.owner_changed.v1");
  ASSERT_EQ(ev.size(), 1u);
}

TEST_F(PipelineTest, FunnelArithmeticAgainstTargets) {
  RegisterClient("c1");
  // 14 signals, 2 leads (1 qualified and converted), on day 1.
  clock_.Set(Day(1));
  for (int i = 0; i < 14; ++i) {
    v1::RecordSignalRequest s;
    s.mutable_signal()->set_source("tender-portal");
    s.mutable_signal()->set_region("east");
    s.mutable_signal()->set_sector("healthcare");
    s.mutable_signal()->set_product_line(kArchitecturalDesign);
    s.mutable_signal()->mutable_estimated_size()->set_amount_minor(1000);
    s.mutable_signal()->mutable_estimated_size()->set_currency("CNY");
    ASSERT_TRUE(p_->RecordSignal(s).ok());
  }
  std::vector<std::string> leads;
  for (int i = 0; i < 2; ++i) {
    v1::CreateLeadRequest l;
    l.mutable_lead()->set_client_id("c1");
    l.mutable_lead()->set_owner_id("u:wang");
    l.mutable_lead()->set_product_line(kArchitecturalDesign);
    auto lead = p_->CreateLead(l);
    ASSERT_TRUE(lead.ok()) << lead.status();
    leads.push_back(lead->id());
  }
  v1::QualifyLeadRequest q;
  q.set_lead_id(leads[0]);
  ASSERT_TRUE(p_->QualifyLead(q).ok());
  v1::CreateOpportunityRequest c;
  c.set_request_id("from-lead");
  c.set_lead_id(leads[0]);
  c.set_client_id("c1");
  c.set_owner_id("u:wang");
  c.set_title("Clinic");
  c.mutable_value()->set_amount_minor(200'000);
  c.mutable_value()->set_currency("CNY");
  *c.mutable_expected_close() = util::ToProto(Day(60));
  auto opp = p_->CreateOpportunity(c);
  ASSERT_TRUE(opp.ok()) << opp.status();
  // Three days later it moves on: 3 days in qualification.
  clock_.Set(Day(4));
  Tick(opp->id(), "qualification.decision_maker");
  ASSERT_TRUE(Advance(opp->id(), "needs_analysis").ok());
  // A deal on day 10 is outside a [day 0, day 5) period.
  clock_.Set(Day(10));
  CreateOpp("c1", kArchitecturalDesign, 999);

  v1::GetFunnelReportRequest req;
  *req.mutable_start_time() = util::ToProto(Day(0) - absl::Hours(1));
  *req.mutable_end_time() = util::ToProto(Day(5) - absl::Hours(1));
  req.mutable_filter()->set_product_line(kArchitecturalDesign);
  auto report = p_->GetFunnelReport(req);
  ASSERT_TRUE(report.ok()) << report.status();
  auto step = [&](const std::string& name) {
    for (const auto& s : report->steps()) {
      if (s.step() == name) return s;
    }
    return v1::FunnelStep();
  };
  EXPECT_EQ(step("signal").count(), 14);
  EXPECT_EQ(step("signal").value_minor(), 14000);
  EXPECT_EQ(step("lead").count(), 2);
  EXPECT_EQ(step("qualified_lead").count(), 1);
  EXPECT_EQ(step("opportunity").count(), 1);
  EXPECT_EQ(step("opportunity").value_minor(), 200'000);
  EXPECT_EQ(step("stage:needs_analysis").count(), 1);
  ASSERT_GE(report->ratios_size(), 2);
  EXPECT_EQ(report->ratios(0).from_step(), "signal");
  EXPECT_DOUBLE_EQ(report->ratios(0).actual_ratio(), 7.0);
  EXPECT_DOUBLE_EQ(report->ratios(0).target_ratio(), 7.0);
  EXPECT_DOUBLE_EQ(report->ratios(0).gap(), 0.0);
  EXPECT_DOUBLE_EQ(report->ratios(1).actual_ratio(), 2.0);
  EXPECT_DOUBLE_EQ(report->ratios(1).gap(), -5.0);
  ASSERT_GT(report->stage_times_size(), 0);
  EXPECT_EQ(report->stage_times(0).stage(), "qualification");
  EXPECT_DOUBLE_EQ(report->stage_times(0).average_days(), 3.0);
  // Weighted pipeline: the converted deal (needs_analysis, p=0.25) and the day-10 one
  // (qualification, p=0.10) are both open now.
  EXPECT_EQ(report->weighted_pipeline_minor(), 50'000 + 100);

  // Filters: another owner sees nothing; the region filter keeps the signals.
  req.mutable_filter()->set_owner_id("u:nobody");
  report = p_->GetFunnelReport(req);
  EXPECT_EQ(step("lead").count(), 0);
  EXPECT_EQ(report->weighted_pipeline_minor(), 0);
  req.mutable_filter()->clear_owner_id();
  req.mutable_filter()->set_region("east");
  req.mutable_filter()->set_client_kind(v1::CLIENT_KIND_NEW);
  report = p_->GetFunnelReport(req);
  EXPECT_EQ(step("lead").count(), 2);
  EXPECT_EQ(step("signal").count(), 0);  // signals carry no client, so no new/repeat kind

  // The aggregates survive a restart.
  req.mutable_filter()->clear_client_kind();
  req.mutable_filter()->clear_region();
  auto before = p_->GetFunnelReport(req);
  Open();
  auto reopened = p_->GetFunnelReport(req);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->SerializeAsString(), before->SerializeAsString());
}

TEST_F(PipelineTest, WinRateAndRepeatClient) {
  RegisterClient("c1");
  // Drive an equipment deal to the end and win it.
  v1::Opportunity opp = CreateOpp("c1", kSpecialisedEquipment, 1000);
  Tick(opp.id(), "qualification.application");
  ASSERT_TRUE(Advance(opp.id(), "technical_assessment").ok());
  SetField(opp.id(), "duty_spec", "200 t/h");
  review::v1::ReviewVerdictRecorded v;
  v.set_opportunity_id(opp.id());
  v.set_gate_id("assessment.expert_review");
  v.set_verdict(review::v1::VERDICT_APPROVED);
  v.set_estimated_effort_hours(40);
  ASSERT_TRUE(p_->OnReviewVerdict(NewEvent(), v).ok());
  ASSERT_TRUE(Advance(opp.id(), "solution_design").ok());
  Tick(opp.id(), "solution.layout");
  production::v1::FeasibilityAnswered f;
  f.set_opportunity_id(opp.id());
  f.set_gate_id("solution.feasibility");
  f.set_feasible(true);
  ASSERT_TRUE(p_->OnFeasibilityAnswered(NewEvent(), f).ok());
  ASSERT_TRUE(Advance(opp.id(), "proposal").ok());
  auto cur = p_->GetOpportunity(Get(opp.id()));
  v1::UpdateOpportunityRequest u;
  u.mutable_opportunity()->set_id(opp.id());
  *u.mutable_opportunity()->mutable_desired_delivery() = util::ToProto(Day(120));
  u.mutable_update_mask()->add_paths("desired_delivery");
  u.set_etag(cur->etag());
  ASSERT_TRUE(p_->UpdateOpportunity(u).ok());
  Tick(opp.id(), "proposal.quotation_sent");
  ASSERT_TRUE(Advance(opp.id(), "negotiation").ok());
  Tick(opp.id(), "negotiation.commercial_terms");
  v1::WinOpportunityRequest win;
  win.set_opportunity_id(opp.id());
  auto r = p_->WinOpportunity(win);
  EXPECT_THAT(r.status().message(), HasSubstr("negotiation.payment_terms"));
  Tick(opp.id(), "negotiation.payment_terms");
  r = p_->WinOpportunity(win);
  ASSERT_TRUE(r.ok()) << r.status();
  auto won = Emitted("triad.pipeline.opportunity.won.v1");
  ASSERT_EQ(won.size(), 1u);
  v1::OpportunityWon w;
  ASSERT_TRUE(w.ParseFromString(won[0].payload()));
  EXPECT_EQ(w.client_id(), "c1");
  EXPECT_DOUBLE_EQ(w.estimated_effort_hours(), 40);
  EXPECT_EQ(util::FromProto(w.due_date()), Day(120));
  EXPECT_FALSE(w.repeat_client());
  v1::Opportunity lost = CreateOpp("c1", kSpecialisedEquipment, 10);
  EXPECT_TRUE(lost.repeat_client());  // the client has won before
  v1::LoseOpportunityRequest lose;
  lose.set_opportunity_id(lost.id());
  lose.set_reason(v1::LOSS_REASON_PRICE);
  ASSERT_TRUE(p_->LoseOpportunity(lose).ok());
  v1::GetFunnelReportRequest req;
  *req.mutable_start_time() = util::ToProto(Day(-1));
  *req.mutable_end_time() = util::ToProto(Day(1));
  auto report = p_->GetFunnelReport(req);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->won_count(), 1);
  EXPECT_EQ(report->lost_count(), 1);
  EXPECT_DOUBLE_EQ(report->win_rate(), 0.5);
  req.mutable_filter()->set_client_kind(v1::CLIENT_KIND_REPEAT);
  report = p_->GetFunnelReport(req);
  EXPECT_EQ(report->lost_count(), 1);
  EXPECT_EQ(report->won_count(), 0);
}

TEST_F(PipelineTest, RankByExpectedValuePerExpertHour) {
  RegisterClient("c1");
  v1::Opportunity big = CreateOpp("c1", kArchitecturalDesign, 1'000'000);  // 80 h default
  v1::Opportunity small = CreateOpp("c1", kArchitecturalDesign, 500'000);  // 80 h default
  v1::Opportunity eq = CreateOpp("c1", kSpecialisedEquipment, 600'000);    // 60 h default
  v1::RankOpenDealsRequest req;
  auto r = p_->RankOpenDeals(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->deals_size(), 3);
  EXPECT_EQ(r->deals(0).opportunity_id(), big.id());    // 100000/80 = 1250
  EXPECT_EQ(r->deals(1).opportunity_id(), eq.id());     // 60000/60 = 1000
  EXPECT_EQ(r->deals(2).opportunity_id(), small.id());  // 50000/80 = 625
  EXPECT_DOUBLE_EQ(r->deals(0).expected_value_per_expert_hour(), 1250);
  req.mutable_filter()->set_product_line(kSpecialisedEquipment);
  r = p_->RankOpenDeals(req);
  ASSERT_EQ(r->deals_size(), 1);
  EXPECT_EQ(r->open_deals_considered(), 1);
}

TEST_F(PipelineTest, StaleDealsAreReportedOncePerStageEntry) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);  // qualification: max 14 days
  clock_.Advance(absl::Hours(24 * 10));
  auto scan = p_->ScanStaleDeals({});
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->newly_reported_size(), 0);
  clock_.Advance(absl::Hours(24 * 5));
  auto list = p_->ListStaleDeals({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->deals_size(), 1);
  EXPECT_FALSE(list->deals(0).reported());
  scan = p_->ScanStaleDeals({});
  ASSERT_EQ(scan->newly_reported_size(), 1);
  EXPECT_EQ(scan->newly_reported(0).days_in_stage(), 15);
  scan = p_->ScanStaleDeals({});
  EXPECT_EQ(scan->newly_reported_size(), 0);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.stale.v1").size(), 1u);
  // A new stage entry can breach again.
  Tick(opp.id(), "qualification.decision_maker");
  ASSERT_TRUE(Advance(opp.id(), "needs_analysis").ok());
  clock_.Advance(absl::Hours(24 * 22));
  scan = p_->ScanStaleDeals({});
  EXPECT_EQ(scan->newly_reported_size(), 1);
  EXPECT_EQ(Emitted("triad.pipeline.opportunity.stale.v1").size(), 2u);
}

TEST_F(PipelineTest, LeadLifecycle) {
  RegisterClient("c1");
  v1::RecordSignalRequest sreq;
  sreq.mutable_signal()->set_source("trade-fair");
  sreq.mutable_signal()->set_region("south");
  sreq.mutable_signal()->set_sector("chemicals");
  sreq.mutable_signal()->set_product_line(kSpecialisedEquipment);
  auto signal = p_->RecordSignal(sreq);
  ASSERT_TRUE(signal.ok()) << signal.status();
  v1::CreateLeadRequest lreq;
  lreq.mutable_lead()->set_signal_id(signal->id());
  lreq.mutable_lead()->set_prospect_name("Acme Chemicals");
  lreq.mutable_lead()->set_owner_id("u:li");
  auto lead = p_->CreateLead(lreq);
  ASSERT_TRUE(lead.ok()) << lead.status();
  EXPECT_EQ(lead->region(), "south");
  EXPECT_EQ(lead->product_line(), kSpecialisedEquipment);
  EXPECT_EQ(lead->state(), v1::LEAD_STATE_NEW);
  // An unqualified lead cannot be converted.
  v1::CreateOpportunityRequest c;
  c.set_request_id("conv");
  c.set_lead_id(lead->id());
  c.set_client_id("c1");
  c.set_owner_id("u:li");
  c.set_title("Reactor");
  c.mutable_value()->set_amount_minor(5);
  c.mutable_value()->set_currency("CNY");
  EXPECT_EQ(p_->CreateOpportunity(c).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::QualifyLeadRequest q;
  q.set_lead_id(lead->id());
  q.set_etag("99");
  EXPECT_EQ(p_->QualifyLead(q).status().code(), absl::StatusCode::kAborted);
  q.clear_etag();
  ASSERT_TRUE(p_->QualifyLead(q).ok());
  EXPECT_EQ(p_->QualifyLead(q).status().code(), absl::StatusCode::kFailedPrecondition);
  c.set_request_id("conv2");
  auto opp = p_->CreateOpportunity(c);
  ASSERT_TRUE(opp.ok()) << opp.status();
  EXPECT_EQ(opp->product_line(), kSpecialisedEquipment);
  v1::GetLeadRequest g;
  g.set_lead_id(lead->id());
  EXPECT_EQ(p_->GetLead(g)->state(), v1::LEAD_STATE_CONVERTED);
  EXPECT_EQ(p_->GetLead(g)->opportunity_id(), opp->id());
  v1::DisqualifyLeadRequest d;
  d.set_lead_id(lead->id());
  d.set_reason("duplicate");
  EXPECT_EQ(p_->DisqualifyLead(d).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::ListLeadsRequest list;
  list.set_state(v1::LEAD_STATE_CONVERTED);
  EXPECT_EQ(p_->ListLeads(list)->leads_size(), 1);
  EXPECT_EQ(Emitted("triad.pipeline.lead.qualified.v1").size(), 1u);
  EXPECT_EQ(Emitted("triad.pipeline.signal.recorded.v1").size(), 1u);
}

TEST_F(PipelineTest, ConcurrentUpdatesWithOneEtagLetExactlyOneWin) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateOpportunityRequest req;
      req.mutable_opportunity()->set_id(opp.id());
      req.mutable_opportunity()->set_title("title " + std::to_string(i));
      req.mutable_update_mask()->add_paths("title");
      req.set_etag(opp.etag());
      absl::Status s = p_->UpdateOpportunity(req).status();
      if (s.ok()) ++ok;
      if (s.code() == absl::StatusCode::kAborted) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
}

TEST_F(PipelineTest, BadTimestampsAreRejected) {
  RegisterClient("c1");
  v1::CreateOpportunityRequest req;
  req.set_request_id("t");
  req.set_client_id("c1");
  req.set_owner_id("u:wang");
  req.set_title("t");
  req.mutable_value()->set_amount_minor(10);
  req.mutable_value()->set_currency("CNY");
  req.set_product_line(kArchitecturalDesign);
  req.mutable_expected_close()->set_seconds(int64_t{1} << 62);
  auto r = p_->CreateOpportunity(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("expected_close"));
}

}  // namespace
}  // namespace triad::pipeline
