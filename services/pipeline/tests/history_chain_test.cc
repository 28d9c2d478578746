// Tests of the opportunities' tamper-evident history (history_chain.h) and of the client
// replica's erasure (ApplyClientErased): sealed entries verify, a changed or removed entry is
// found at its seq, entries stored before chaining come first unchained, and an erased
// person's name leaves the replica.
#include "services/pipeline/history_chain.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/contracts/clients.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"

namespace triad::pipeline {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class PipelineHistoryChainTest : public PipelineTest {
 protected:
  // Stored reads the opportunity as stored (the whole history) and its key.
  v1::Opportunity Stored(const std::string& id, std::string* key) {
    v1::Opportunity out;
    EXPECT_TRUE(store_
                    ->ScanPrefix("opportunities", "",
                                 [&](std::string_view k, std::string_view v) {
                                   v1::Opportunity o;
                                   if (o.ParseFromArray(v.data(), static_cast<int>(v.size())) &&
                                       o.id() == id) {
                                     out = o;
                                     *key = std::string(k);
                                     return false;
                                   }
                                   return true;
                                 })
                    .ok());
    return out;
  }

  // Replica reads the client summary the pipeline keeps.
  absl::StatusOr<clients::v1::ClientSummary> Replica(const std::string& id) {
    absl::StatusOr<std::string> raw = store_->Get("clients", id);
    if (!raw.ok()) return raw.status();
    clients::v1::ClientSummary c;
    if (!c.ParseFromString(*raw)) return absl::DataLossError("replica does not decode");
    return c;
  }

  void Overwrite(const std::string& key, const v1::Opportunity& opp) {
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put(store_->Cf("opportunities"), key, opp.SerializeAsString()).ok());
    ASSERT_TRUE(store_->Write(b).ok());
  }

  std::string Verify(int* broken) {
    std::vector<std::string> lines;
    auto n = VerifyOpportunityHistory(*store_, [&](const std::string& l) { lines.push_back(l); });
    EXPECT_TRUE(n.ok()) << n.status();
    *broken = n.ok() ? *n : -1;
    return absl::StrJoin(lines, "\n");
  }

  // ADealWithHistory creates a deal and changes it three times.
  v1::Opportunity ADealWithHistory() {
    RegisterClient("c1");
    v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
    for (int i = 0; i < 3; ++i) SetField(opp.id(), "site_area_m2", absl::StrCat(1000 + i));
    return opp;
  }
};

TEST_F(PipelineHistoryChainTest, EveryEntryIsSealedAndVerifies) {
  v1::Opportunity opp = ADealWithHistory();
  std::string key;
  v1::Opportunity stored = Stored(opp.id(), &key);
  ASSERT_GE(stored.history_size(), 3);
  for (int i = 0; i < stored.history_size(); ++i) {
    EXPECT_EQ(stored.history(i).chain_seq(), i + 1);
    EXPECT_EQ(stored.history(i).entry_hash().size(), 64u);
  }
  int broken = 0;
  EXPECT_THAT(Verify(&broken), HasSubstr(absl::StrCat("opportunity ", opp.id(), ": ok (",
                                                      stored.history_size(), " entries)")));
  EXPECT_EQ(broken, 0);
}

TEST_F(PipelineHistoryChainTest, AChangedEntryIsFoundAtItsSeq) {
  v1::Opportunity opp = ADealWithHistory();
  std::string key;
  v1::Opportunity stored = Stored(opp.id(), &key);
  stored.mutable_history(1)->set_actor_id("u:someone-else");
  Overwrite(key, stored);
  int broken = 0;
  EXPECT_THAT(Verify(&broken), AllOf(HasSubstr("BROKEN at seq 2"), HasSubstr("hash")));
  EXPECT_EQ(broken, 1);
}

TEST_F(PipelineHistoryChainTest, ARemovedEntryIsFound) {
  v1::Opportunity opp = ADealWithHistory();
  std::string key;
  v1::Opportunity stored = Stored(opp.id(), &key);
  stored.mutable_history()->DeleteSubrange(1, 1);
  Overwrite(key, stored);
  int broken = 0;
  EXPECT_THAT(Verify(&broken), HasSubstr("BROKEN at seq 2"));
  EXPECT_EQ(broken, 1);
}

TEST_F(PipelineHistoryChainTest, EntriesStoredBeforeChainingComeFirstUnchained) {
  v1::Opportunity opp = ADealWithHistory();
  std::string key;
  v1::Opportunity stored = Stored(opp.id(), &key);
  const int n = stored.history_size();
  // As a release without the chain stored them: no seq, no hash.
  for (int i = 0; i < n; ++i) {
    stored.mutable_history(i)->clear_chain_seq();
    stored.mutable_history(i)->clear_entry_hash();
  }
  Overwrite(key, stored);
  SetField(opp.id(), "site_area_m2", "2000");
  int broken = 0;
  EXPECT_THAT(Verify(&broken),
              HasSubstr(absl::StrCat("ok (1 entries, unchained before seq ", n + 1, ")")));
  EXPECT_EQ(broken, 0);
}

TEST_F(PipelineHistoryChainTest, AnErasedPersonsNameLeavesTheReplica) {
  RegisterClient("c-person");
  RegisterClient("c-merged");
  clients::v1::ClientPersonalDataErased m;
  *m.mutable_client() = Client("c-person", "u:wang", 5);
  m.mutable_client()->set_name("[erased]");
  m.set_client_is_person(true);
  m.add_merged_client_ids("c-merged");
  m.set_erasure_id("er-1");
  events::Event e = NewEvent();
  e.type = std::string(contracts::clients::ClientPersonalDataErased::kType);
  e.payload = m.SerializeAsString();
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  for (const char* id : {"c-person", "c-merged"}) {
    auto c = Replica(id);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->name(), "[erased]") << id;
  }
}

TEST_F(PipelineHistoryChainTest, ACompanysNameStaysInTheReplica) {
  RegisterClient("c-company");
  clients::v1::ClientPersonalDataErased m;
  *m.mutable_client() = Client("c-company", "u:wang", 5);
  m.set_client_is_person(false);
  events::Event e = NewEvent();
  e.type = std::string(contracts::clients::ClientPersonalDataErased::kType);
  e.payload = m.SerializeAsString();
  ASSERT_TRUE(p_->HandleEvent(e).ok());
  auto c = Replica("c-company");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name(), "Client c-company");
  // Bad ids among the merged ones make the event poison.
  m.add_merged_client_ids(std::string(300, 'x'));
  e = NewEvent();
  e.type = std::string(contracts::clients::ClientPersonalDataErased::kType);
  e.payload = m.SerializeAsString();
  EXPECT_EQ(p_->HandleEvent(e).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace triad::pipeline
