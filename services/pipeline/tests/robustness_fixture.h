// RobustnessTest: the fixture of the pipeline tests that drive the domain as a whole (randomized
// requests, consumed events, list indexes, currencies): a Pipeline on the fake clock with
// builders of clients, opportunities and moves, the table of every RPC, and a consistency check
// of the store.
#ifndef TRIAD_SERVICES_PIPELINE_TESTS_ROBUSTNESS_FIXTURE_H_
#define TRIAD_SERVICES_PIPELINE_TESTS_ROBUSTNESS_FIXTURE_H_

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
#include "services/pipeline/tests/test_support.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fuzzer.h"
#include "tests/testing/outbox_reader.h"
#include "tests/testing/test_env.h"
#include "triad/common/v1/outbox.pb.h"

namespace triad::pipeline {

// Shorthands of the test files that include this (test-only) header.
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using triad::testing::Fuzzer;

class RobustnessTest : public PipelineEnvTest {
 protected:
  void SetUp() override {
    // The random payloads make protobuf log every invalid UTF-8 string it meets: keep quiet.
    google::protobuf::SetLogHandler(nullptr);
    PipelineEnvTest::SetUp();
  }

  static events::Event Ev(const std::string& type, const Message& payload,
                          std::string id = events::NewEventId()) {
    events::Event e;
    e.id = std::move(id);
    e.type = type;
    e.payload = payload.SerializeAsString();
    return e;
  }

  void Register(const std::string& id, const std::string& owner = "u:wang") {
    clients::v1::ClientRegistered m;
    *m.mutable_client() = Client(id, owner);
    ASSERT_TRUE(p_->HandleEvent(Ev("triad.clients.client.registered.v1", m)).ok());
  }

  absl::Status Merge(const std::string& merged, const std::string& survivor, int64_t version) {
    clients::v1::ClientsMerged m;
    *m.mutable_survivor() = Client(survivor, "u:wang", version);
    m.set_merged_client_id(merged);
    return p_->HandleEvent(Ev("triad.clients.client.merged.v1", m));
  }

  absl::StatusOr<v1::Opportunity> Create(const std::string& client, const std::string& owner,
                                         const std::string& currency = "CNY",
                                         int64_t value = 100'000,
                                         const std::string& line = kArchitecturalDesign) {
    v1::CreateOpportunityRequest req;
    req.set_request_id(events::NewEventId());
    req.set_client_id(client);
    req.set_owner_id(owner);
    req.set_title("Deal");
    req.mutable_value()->set_amount_minor(value);
    req.mutable_value()->set_currency(currency);
    req.set_product_line(line);
    *req.mutable_expected_close_time() = util::ToProto(clock_.Now() + absl::Hours(24 * 90));
    *req.mutable_desired_delivery_time() = util::ToProto(clock_.Now() + absl::Hours(24 * 300));
    return p_->CreateOpportunity(req);
  }

  v1::Opportunity MustCreate(const std::string& client, const std::string& owner,
                             const std::string& currency = "CNY", int64_t value = 100'000,
                             const std::string& line = kArchitecturalDesign) {
    auto r = Create(client, owner, currency, value, line);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Opportunity();
  }

  v1::Opportunity Get(const std::string& id) {
    v1::GetOpportunityRequest g;
    g.set_opportunity_id(id);
    auto r = p_->GetOpportunity(g);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Opportunity();
  }

  absl::StatusOr<v1::Opportunity> Advance(const std::string& id, const std::string& stage) {
    v1::AdvanceStageRequest req;
    req.set_opportunity_id(id);
    req.set_target_stage(stage);
    return p_->AdvanceStage(req);
  }

  void Tick(const std::string& id, const std::string& checkpoint) {
    v1::CompleteChecklistItemRequest req;
    req.set_opportunity_id(id);
    req.set_checkpoint_id(checkpoint);
    auto r = p_->CompleteChecklistItem(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // Drives an architectural-design deal into the concept stage (gates requested).
  v1::Opportunity ToConcept(const std::string& client, const std::string& owner = "u:wang") {
    v1::Opportunity opp = MustCreate(client, owner);
    Tick(opp.id(), "qualification.decision_maker");
    EXPECT_TRUE(Advance(opp.id(), "needs_analysis").ok());
    v1::UpdateOpportunityRequest u;
    u.mutable_opportunity()->set_id(opp.id());
    (*u.mutable_opportunity()->mutable_fields())["site_area_m2"] = "12000";
    u.mutable_update_mask()->add_paths("fields");
    u.set_etag(Get(opp.id()).etag());
    EXPECT_TRUE(p_->UpdateOpportunity(u).ok());
    Tick(opp.id(), "needs.site_visit");
    Tick(opp.id(), "needs.brief_confirmed");
    auto r = Advance(opp.id(), "concept");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : opp;
  }

  absl::Status Verdict(const std::string& opp, const std::string& gate, review::v1::Verdict v,
                       double hours = 40) {
    review::v1::ReviewVerdictRecorded m;
    m.set_review_id("rev");
    m.set_opportunity_id(opp);
    m.set_gate_id(gate);
    m.set_expert_id("x:zhao");
    m.set_verdict(v);
    m.set_estimated_effort_hours(hours);
    return p_->HandleEvent(Ev("triad.review.request.verdict_recorded.v1", m));
  }

  // Every page of the unfiltered (or filtered) list.
  std::vector<v1::Opportunity> ListAll(v1::ListOpportunitiesRequest req = {}) {
    std::vector<v1::Opportunity> all;
    req.set_page_size(7);
    for (int guard = 0; guard < 1000; ++guard) {
      auto r = p_->ListOpportunities(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      for (const auto& o : r->opportunities()) all.push_back(o);
      if (r->next_page_token().empty()) break;
      req.set_page_token(r->next_page_token());
    }
    return all;
  }

  static std::vector<std::string> Ids(const std::vector<v1::Opportunity>& opps) {
    std::vector<std::string> ids;
    for (const auto& o : opps) ids.push_back(o.id());
    return ids;
  }

  // Tame completes a tame random request so that it is likely valid: the current etag, the
  // required fields of CreateOpportunity (other fields stay random).
  void Tame(Fuzzer& f, const std::string& rpc, Message* m) {
    if (rpc == "CreateOpportunity") {
      auto* req = static_cast<v1::CreateOpportunityRequest*>(m);
      req->set_request_id(events::NewEventId());
      req->set_client_id(f.OneOf(std::vector<std::string>{"c1", "c2", "c3"}));
      req->set_owner_id(f.OneOf(f.pools["owner_id"]));
      req->set_title("deal");
      req->set_product_line(f.Coin(50) ? kArchitecturalDesign : kSpecialisedEquipment);
      req->mutable_value()->set_amount_minor(f.Pick(100000) + 1);
      req->mutable_value()->set_currency(f.Coin(50) ? "CNY" : "EUR");
      if (f.Coin(70)) req->clear_lead_id();
    }
    if (rpc == "CreatePlaybookVersion") {
      // A shipped playbook with one random field changed.
      auto* req = static_cast<v1::CreatePlaybookVersionRequest*>(m);
      v1::GetPlaybookRequest g;
      g.set_product_line(f.Coin(50) ? kArchitecturalDesign : kSpecialisedEquipment);
      v1::Playbook pb = *p_->GetPlaybook(g);
      v1::Stage* st = pb.mutable_stages(f.Pick(pb.stages_size()));
      switch (f.Pick(4)) {
        case 0:
          st->set_max_days(f.Int32());
          break;
        case 1:
          st->set_skippable(true);
          break;
        case 2:
          pb.set_default_expert_hours(f.Double());
          break;
        default:
          break;
      }
      *req->mutable_playbook() = pb;
      return;
    }
    const Descriptor* d = m->GetDescriptor();
    const Reflection* r = m->GetReflection();
    auto fill_if_empty = [&](const char* field, const std::string& pool) {
      const FieldDescriptor* fd = d->FindFieldByName(field);
      if (fd != nullptr && r->GetString(*m, fd).empty())
        r->SetString(m, fd, f.OneOf(f.pools[pool]));
    };
    fill_if_empty("opportunity_id", "opportunity_id");
    fill_if_empty("target_stage", "stage");
    fill_if_empty("checkpoint_id", "checkpoint_id");
    fill_if_empty("lead_id", "lead_id");
    if (rpc == "UpdateOpportunity") {
      auto* req = static_cast<v1::UpdateOpportunityRequest*>(m);
      if (req->opportunity().id().empty()) {
        req->mutable_opportunity()->set_id(f.OneOf(f.pools["opportunity_id"]));
      }
      if (req->update_mask().paths_size() == 0) req->mutable_update_mask()->add_paths("fields");
    }
    const FieldDescriptor* etag = d->FindFieldByName("etag");
    if (etag == nullptr) return;
    std::string id;
    if (const auto* f_id = d->FindFieldByName("opportunity_id"); f_id != nullptr) {
      id = r->GetString(*m, f_id);
    } else if (const auto* f_opp = d->FindFieldByName("opportunity"); f_opp != nullptr) {
      id = static_cast<const v1::Opportunity&>(r->GetMessage(*m, f_opp)).id();
    }
    v1::GetOpportunityRequest g;
    g.set_opportunity_id(id);
    auto cur = id.empty() ? absl::NotFoundError("") : p_->GetOpportunity(g);
    r->SetString(m, etag, cur.ok() ? cur->etag() : "");
  }

  // CheckConsistency: every listed item can be fetched; each list index returns exactly the
  // records its filter names; the open-deal gauges and the won/lost/opportunity counts equal a
  // recount from the opportunities; the ranking considers every open deal.
  void CheckConsistency() {
    std::vector<v1::Opportunity> all = ListAll();
    std::map<std::string, std::vector<std::string>> by_owner, by_stage, by_line, by_client;
    std::map<int, std::vector<std::string>> by_state;
    std::map<std::string, int64_t> open_count;
    std::map<std::string, std::map<std::string, int64_t>> open_value;
    int64_t won = 0, lost = 0, open = 0;
    for (const v1::Opportunity& o : all) {
      v1::Opportunity fetched = Get(o.id());
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fetched, o)) << o.id();
      by_owner[o.owner_id()].push_back(o.id());
      by_stage[o.stage()].push_back(o.id());
      by_line[o.product_line()].push_back(o.id());
      by_client[o.client_id()].push_back(o.id());
      by_state[o.state()].push_back(o.id());
      if (o.state() == v1::OPPORTUNITY_STATE_OPEN) {
        ++open;
        ++open_count[o.stage()];
        open_value[o.stage()][o.value().currency()] += o.value().amount_minor();
      }
      if (o.state() == v1::OPPORTUNITY_STATE_WON) ++won;
      if (o.state() == v1::OPPORTUNITY_STATE_LOST) ++lost;
    }
    for (const auto& [owner, ids] : by_owner) {
      v1::ListOpportunitiesRequest r;
      r.set_owner_id(owner);
      EXPECT_THAT(Ids(ListAll(r)), ::testing::UnorderedElementsAreArray(ids)) << "owner " << owner;
    }
    for (const auto& [stage, ids] : by_stage) {
      v1::ListOpportunitiesRequest r;
      r.set_stage(stage);
      EXPECT_THAT(Ids(ListAll(r)), ::testing::UnorderedElementsAreArray(ids)) << "stage " << stage;
    }
    for (const auto& [line, ids] : by_line) {
      v1::ListOpportunitiesRequest r;
      r.set_product_line(line);
      EXPECT_THAT(Ids(ListAll(r)), ::testing::UnorderedElementsAreArray(ids)) << "line " << line;
    }
    for (const auto& [client, ids] : by_client) {
      v1::ListOpportunitiesRequest r;
      r.set_client_id(client);
      EXPECT_THAT(Ids(ListAll(r)), ::testing::UnorderedElementsAreArray(ids))
          << "client " << client;
    }
    for (const auto& [state, ids] : by_state) {
      v1::ListOpportunitiesRequest r;
      r.set_state(static_cast<v1::OpportunityState>(state));
      EXPECT_THAT(Ids(ListAll(r)), ::testing::UnorderedElementsAreArray(ids)) << "state " << state;
    }
    // Leads and signals: every listed one can be fetched.
    v1::ListLeadsRequest lr;
    lr.set_page_size(1000);
    auto leads = p_->ListLeads(lr);
    ASSERT_TRUE(leads.ok()) << leads.status();
    for (const v1::Lead& l : leads->leads()) {
      v1::GetLeadRequest g;
      g.set_lead_id(l.id());
      EXPECT_TRUE(p_->GetLead(g).ok()) << l.id();
      v1::ListLeadsRequest byowner;
      byowner.set_owner_id(l.owner_id());
      byowner.set_page_size(1000);
      auto mine = p_->ListLeads(byowner);
      ASSERT_TRUE(mine.ok());
      EXPECT_TRUE(std::any_of(mine->leads().begin(), mine->leads().end(),
                              [&](const v1::Lead& x) { return x.id() == l.id(); }));
    }
    v1::ListSignalsRequest sr;
    sr.set_page_size(1000);
    auto signals = p_->ListSignals(sr);
    ASSERT_TRUE(signals.ok()) << signals.status();
    for (const v1::Signal& s : signals->signals()) {
      v1::GetSignalRequest g;
      g.set_signal_id(s.id());
      EXPECT_TRUE(p_->GetSignal(g).ok()) << s.id();
    }
    // Funnel: a period covering everything.
    v1::GetFunnelReportRequest fr;
    *fr.mutable_start_time() = util::ToProto(Day(-1000));
    *fr.mutable_end_time() = util::ToProto(clock_.Now() + absl::Hours(48));
    auto report = p_->GetFunnelReport(fr);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->won_count(), won);
    EXPECT_EQ(report->lost_count(), lost);
    for (const v1::FunnelStep& s : report->steps()) {
      if (s.step() == "opportunity") {
        EXPECT_EQ(s.count(), static_cast<int64_t>(all.size()));
      }
    }
    int64_t gauge_total = 0;
    for (const v1::WeightedStage& w : report->weighted()) {
      EXPECT_EQ(w.open_count(), open_count[w.stage()]) << w.stage();
      gauge_total += w.open_count();
      std::map<std::string, int64_t> got;
      for (const v1::CurrencyValue& cv : w.open_values()) got[cv.currency()] = cv.value_minor();
      std::map<std::string, int64_t> want;
      for (const auto& [c, v] : open_value[w.stage()]) {
        if (v != 0) want[c] = v;
      }
      EXPECT_EQ(got, want) << w.stage();
    }
    EXPECT_EQ(gauge_total, open);
    v1::RankOpenDealsRequest rank;
    auto ranked = p_->RankOpenDeals(rank);
    ASSERT_TRUE(ranked.ok());
    EXPECT_EQ(ranked->open_deals_considered(), open);
  }
};

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_TESTS_ROBUSTNESS_FIXTURE_H_
