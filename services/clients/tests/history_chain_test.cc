// Tests of the clients' tamper-evident history chain (history_chain.h): entries written through
// the domain verify, and each kind of tampering with the stored entries is found at its seq.
#include "services/clients/history_chain.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/storage/key_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "services/clients/tests/test_support.h"

namespace triad::clients {
namespace {

using ::testing::AllOf;
using testing::DomainTest;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeActor;

class HistoryChainTest : public DomainTest {
 protected:
  // UpdatePhone changes the client's phone through the domain.
  v1::Client UpdatePhone(const v1::Client& c, const std::string& phone) {
    v1::UpdateClientRequest up;
    up.mutable_client()->set_client_id(c.client_id());
    up.mutable_client()->set_phone(phone);
    up.mutable_update_mask()->add_paths("phone");
    up.set_etag(c.etag());
    *up.mutable_actor() = MakeActor("u:zhang", "new number");
    auto r = d().UpdateClient(up);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : c;
  }

  // Verify runs the offline verification and returns its lines; `broken` gets the count.
  std::vector<std::string> Verify(int* broken) {
    std::vector<std::string> lines;
    auto n = VerifyClientHistory(*env_.store, [&](const std::string& l) { lines.push_back(l); });
    EXPECT_TRUE(n.ok()) << n.status();
    *broken = n.ok() ? *n : -1;
    return lines;
  }

  // StoredEntries lists the client's by-client history keys and entries, in key order.
  std::vector<std::pair<std::string, v1::HistoryEntry>> StoredEntries(const std::string& id) {
    std::vector<std::pair<std::string, v1::HistoryEntry>> out;
    EXPECT_TRUE(env_.repo
                    ->ScanHistory(false, id, "",
                                  [&](std::string_view key, const v1::HistoryEntry& e) {
                                    out.emplace_back(std::string(key), e);
                                    return true;
                                  })
                    .ok());
    return out;
  }

  // Overwrite puts `entry` at `key` of the history column family, bypassing the domain.
  void Overwrite(const std::string& key, const v1::HistoryEntry& entry) {
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put(env_.store->Cf(kCfHistory), key, entry.SerializeAsString()).ok());
    ASSERT_TRUE(env_.store->Write(b).ok());
  }

  void Delete(const std::string& key) {
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Delete(env_.store->Cf(kCfHistory), key).ok());
    ASSERT_TRUE(env_.store->Write(b).ok());
  }

  // ThreeEntries creates a client and changes its phone twice: seqs 1, 2, 3.
  v1::Client ThreeEntries() {
    v1::Client c = Create("Acme", "u:li", [](v1::Client& x) { x.set_phone("13800138000"); });
    c = UpdatePhone(c, "13900139000");
    return UpdatePhone(c, "13700137000");
  }
};

TEST_F(HistoryChainTest, EntriesWrittenThroughTheDomainVerify) {
  v1::Client c = ThreeEntries();
  auto entries = StoredEntries(c.client_id());
  ASSERT_EQ(entries.size(), 3u);
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].second.chain_seq(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(entries[i].second.entry_hash().size(), 64u);
  }
  // Each value is stored with a salt and a digest of both.
  const v1::FieldChange& ch = entries[1].second.changes(0);
  EXPECT_EQ(ch.field(), "phone");
  EXPECT_EQ(ch.new_value(), "13900139000");
  EXPECT_EQ(ch.new_value_digest(), audit::ValueDigest(ch.new_value_salt(), "13900139000"));
  int broken = 0;
  auto lines = Verify(&broken);
  EXPECT_EQ(broken, 0);
  EXPECT_THAT(absl::StrJoin(lines, "\n"),
              HasSubstr("client " + c.client_id() + ": ok (3 entries)"));
}

TEST_F(HistoryChainTest, TheApiReturnsDigestsAndHashesButNoSalts) {
  v1::Client c = ThreeEntries();
  v1::ListClientHistoryRequest req;
  req.set_client_id(c.client_id());
  auto resp = d().ListClientHistory(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->entries_size(), 3);
  for (const auto& e : resp->entries()) {
    EXPECT_FALSE(e.entry_hash().empty());
    for (const auto& ch : e.changes()) {
      EXPECT_THAT(ch.old_value_salt(), IsEmpty());
      EXPECT_THAT(ch.new_value_salt(), IsEmpty());
    }
  }
  EXPECT_FALSE(resp->entries(1).changes(0).new_value_digest().empty());
}

TEST_F(HistoryChainTest, AChangedValueIsFoundAtItsSeq) {
  v1::Client c = ThreeEntries();
  auto entries = StoredEntries(c.client_id());
  v1::HistoryEntry e = entries[1].second;
  e.mutable_changes(0)->set_new_value("13500135000");
  Overwrite(entries[1].first, e);
  int broken = 0;
  auto lines = Verify(&broken);
  EXPECT_EQ(broken, 2);  // the chain, and the by-actor copy that no longer matches it
  EXPECT_THAT(absl::StrJoin(lines, "\n"),
              AllOf(HasSubstr("BROKEN at seq 2"), HasSubstr("does not match its digest")));
}

TEST_F(HistoryChainTest, AChangedReasonOrDigestBreaksTheHash) {
  v1::Client c = ThreeEntries();
  auto entries = StoredEntries(c.client_id());
  v1::HistoryEntry e = entries[2].second;
  e.mutable_actor()->set_reason("someone else's reason");
  Overwrite(entries[2].first, e);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"),
              AllOf(HasSubstr("BROKEN at seq 3"), HasSubstr("hash does not match")));
  EXPECT_EQ(broken, 2);  // the chain, and the by-actor copy
  // Recomputing the entry's own hash does not help: the next entries chain over the old one.
  Overwrite(entries[2].first, entries[2].second);
  e = entries[1].second;
  e.mutable_changes(0)->set_new_value("13500135000");
  e.mutable_changes(0)->set_new_value_digest(
      audit::ValueDigest(e.changes(0).new_value_salt(), "13500135000"));
  SealHistoryEntry(e, 2, entries[0].second.entry_hash());
  Overwrite(entries[1].first, e);
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"), HasSubstr("BROKEN at seq 3"));
}

TEST_F(HistoryChainTest, ARemovedEntryIsFound) {
  v1::Client c = ThreeEntries();
  auto entries = StoredEntries(c.client_id());
  Delete(entries[1].first);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"),
              AllOf(HasSubstr("BROKEN at seq 2"), HasSubstr("missing")));
  EXPECT_EQ(broken, 2);  // the chain, and the by-actor copy left without its entry
}

TEST_F(HistoryChainTest, ARemovedNewestEntryIsFoundThroughTheHead) {
  v1::Client c = ThreeEntries();
  auto entries = StoredEntries(c.client_id());
  Delete(entries[2].first);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"),
              AllOf(HasSubstr("BROKEN at seq 3"), HasSubstr("chain head names seq 3")));
  EXPECT_EQ(broken, 2);  // the chain, and the by-actor copy left without its entry
}

TEST_F(HistoryChainTest, AnActorCopyThatDiffersIsFound) {
  v1::Client c = ThreeEntries();
  auto entries = StoredEntries(c.client_id());
  v1::HistoryEntry e = entries[1].second;
  e.mutable_changes(0)->set_new_value("13500135000");
  storage::KeyReader r(entries[1].first);
  (void)r.Str();
  (void)r.Str();
  const int64_t micros = *r.I64();
  const uint64_t seq = *r.U64();
  Overwrite(storage::KeyBuilder().Str("a").Str("u:zhang").I64(micros).U64(seq).Build(), e);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"),
              HasSubstr("actor u:zhang: BROKEN: its copy of client " + c.client_id()));
  EXPECT_EQ(broken, 1);
}

TEST_F(HistoryChainTest, EntriesOfOneClientInOneBatchChainInOrder) {
  v1::Client c = Create("Acme");
  rocksdb::WriteBatch batch;
  for (int i = 0; i < 3; ++i) {
    v1::HistoryEntry h;
    h.set_client_id(c.client_id());
    h.set_action("updated");
    h.mutable_actor()->set_id("u:li");
    *h.add_changes() = v1::FieldChange();
    h.mutable_changes(0)->set_field("notes");
    h.mutable_changes(0)->set_new_value(absl::StrCat("note ", i));
    ASSERT_TRUE(env_.repo->AddHistory(batch, h).ok());
  }
  ASSERT_TRUE(env_.store->Write(batch).ok());
  auto entries = StoredEntries(c.client_id());
  ASSERT_EQ(entries.size(), 4u);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"), HasSubstr("ok (4 entries)"));
  EXPECT_EQ(broken, 0);
}

TEST_F(HistoryChainTest, EntriesWrittenBeforeChainingComeFirstUnchained) {
  // Two entries as a release without the chain wrote them (no hash, no head).
  const std::string id = "cl-legacy";
  for (int i = 0; i < 2; ++i) {
    v1::HistoryEntry h;
    h.set_client_id(id);
    h.set_action(i == 0 ? "registered" : "updated");
    h.mutable_actor()->set_id("u:old");
    Overwrite(storage::KeyBuilder().Str("c").Str(id).I64(1000 + i).U64(7 + i).Build(), h);
  }
  v1::HistoryEntry h;
  h.set_client_id(id);
  h.set_action("updated");
  h.mutable_actor()->set_id("u:new");
  h.mutable_time()->set_seconds(10);  // after the legacy entries
  h.set_version(3);
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(env_.repo->AddHistory(batch, h).ok());
  ASSERT_TRUE(env_.store->Write(batch).ok());
  auto entries = StoredEntries(id);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].second.chain_seq(), 3);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"),
              HasSubstr("client cl-legacy: ok (1 entries, unchained before seq 3)"));
  EXPECT_EQ(broken, 0);
}

TEST_F(HistoryChainTest, AFirstVersionStartsItsChainWithoutLookingForOlderEntries) {
  const std::string id = "cl-new";
  v1::HistoryEntry h;
  h.set_client_id(id);
  h.set_action("registered");
  h.mutable_actor()->set_id("u:zhang");
  h.set_version(1);
  rocksdb::WriteBatch batch;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  absl::Status added = env_.repo->AddHistory(batch, h);
  const uint64_t seeks = rocksdb::get_perf_context()->seek_on_memtable_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(added.ok()) << added;
  // No iterator looked for entries from before chaining: a new client has none.
  EXPECT_EQ(seeks, 0u);
  ASSERT_TRUE(env_.store->Write(batch).ok());
  auto entries = StoredEntries(id);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].second.chain_seq(), 1);
  int broken = 0;
  EXPECT_THAT(absl::StrJoin(Verify(&broken), "\n"), HasSubstr("client cl-new: ok (1 entries)"));
  EXPECT_EQ(broken, 0);
}

TEST_F(HistoryChainTest, EveryRecordedValueGetsASaltOfItsOwn) {
  const std::string id = "cl-salts";
  v1::HistoryEntry h;
  h.set_client_id(id);
  h.set_action("updated");
  h.set_version(2);
  for (int i = 0; i < 3; ++i) {
    v1::FieldChange* ch = h.add_changes();
    ch->set_field(absl::StrCat("field", i));
    ch->set_old_value(absl::StrCat("old ", i));
    ch->set_new_value(i == 1 ? "" : absl::StrCat("new ", i));  // "" records nothing
  }
  SealHistoryEntry(h, 1, "");
  std::vector<std::string> salts;
  for (const v1::FieldChange& ch : h.changes()) {
    EXPECT_EQ(ch.old_value_digest(), audit::ValueDigest(ch.old_value_salt(), ch.old_value()));
    salts.push_back(ch.old_value_salt());
    if (ch.new_value().empty()) {
      EXPECT_THAT(ch.new_value_salt(), IsEmpty());
      EXPECT_THAT(ch.new_value_digest(), IsEmpty());
    } else {
      EXPECT_EQ(ch.new_value_digest(), audit::ValueDigest(ch.new_value_salt(), ch.new_value()));
      salts.push_back(ch.new_value_salt());
    }
  }
  ASSERT_EQ(salts.size(), 5u);
  std::sort(salts.begin(), salts.end());
  EXPECT_EQ(std::adjacent_find(salts.begin(), salts.end()), salts.end()) << "a salt repeats";
  for (const std::string& salt : salts) EXPECT_EQ(salt.size(), 32u) << salt;
}

}  // namespace
}  // namespace triad::clients
