// Implements ReviewRepository on RocksDB (storage::Store).
#include "services/review/repository.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "rocksdb/db.h"

namespace triad::review {
namespace {

std::string VersionKey(const std::string& id, int version) {
  storage::KeyBuilder k;
  k.Str(id).U64(static_cast<uint64_t>(version));
  return k.Build();
}

// ScanRecords decodes every record of `cf` as Msg and hands it to `fn`.
template <typename Msg>
absl::Status ScanRecords(const storage::Store& store, const char* cf, const char* what,
                         const std::function<void(Msg)>& fn) {
  absl::Status bad;
  RETURN_IF_ERROR(store.ScanPrefix(cf, "", [&](std::string_view, std::string_view v) {
    Msg m;
    if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError(absl::StrCat("corrupt ", what, " record"));
      return false;
    }
    fn(std::move(m));
    return true;
  }));
  return bad;
}

class RocksReviewRepository final : public ReviewRepository {
 public:
  explicit RocksReviewRepository(storage::Store* store) : store_(store) {}

  absl::Status ScanExperts(const std::function<void(v1::Expert)>& fn) const override {
    return ScanRecords<v1::Expert>(*store_, kExpertsCf, "expert", fn);
  }
  absl::Status ScanReviews(const std::function<void(v1::ReviewRequest)>& fn) const override {
    return ScanRecords<v1::ReviewRequest>(*store_, kReviewsCf, "review", fn);
  }
  absl::Status ScanUndecidedReviews(
      const std::function<void(v1::ReviewRequest)>& fn) const override {
    storage::KeyBuilder prefix;
    prefix.Str("undecided");
    std::vector<std::string> ids;
    absl::Status bad;
    RETURN_IF_ERROR(
        store_->ScanPrefix(kMetaCf, prefix.Build(), [&](std::string_view k, std::string_view) {
          storage::KeyReader reader(k);
          absl::StatusOr<std::string> tag = reader.Str();
          absl::StatusOr<std::string> id = reader.Str();
          if (!tag.ok() || !id.ok()) {
            bad = absl::DataLossError("corrupt undecided index entry");
            return false;
          }
          ids.push_back(*std::move(id));
          return true;
        }));
    RETURN_IF_ERROR(bad);
    for (const std::string& id : ids) {
      absl::StatusOr<v1::ReviewRequest> r = GetReview(id);
      if (absl::IsNotFound(r.status())) {
        return absl::DataLossError(absl::StrCat("undecided index lists a missing review ", id));
      }
      RETURN_IF_ERROR(r.status());
      fn(*std::move(r));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<v1::ReviewRequest> GetReview(const std::string& id) const override {
    absl::StatusOr<std::string> raw = store_->Get(kReviewsCf, id);
    if (!raw.ok()) {
      return absl::IsNotFound(raw.status()) ? absl::NotFoundError(absl::StrCat("review ", id))
                                            : raw.status();
    }
    v1::ReviewRequest r;
    if (!r.ParseFromString(*raw)) return absl::DataLossError("corrupt review record");
    return r;
  }
  absl::Status ScanReviewsAfter(std::string_view after_key,
                                const std::function<bool(v1::ReviewRequest)>& fn) const override {
    absl::Status bad;
    RETURN_IF_ERROR(store_->ScanPrefix(
        kReviewsCf, "",
        [&](std::string_view, std::string_view v) {
          v1::ReviewRequest r;
          if (!r.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            bad = absl::DataLossError("corrupt review record");
            return false;
          }
          return fn(std::move(r));
        },
        after_key));
    return bad;
  }
  absl::Status ScanLeads(const std::function<void(std::string, std::string)>& fn) const override {
    storage::KeyBuilder prefix;
    prefix.Str("lead");
    return store_->ScanPrefix(kMetaCf, prefix.Build(), [&](std::string_view k, std::string_view v) {
      storage::KeyReader reader(k);
      (void)reader.Str();
      absl::StatusOr<std::string> opp = reader.Str();
      if (opp.ok()) fn(*opp, std::string(v));
      return true;
    });
  }
  absl::StatusOr<std::optional<std::string>> GetLead(
      const std::string& opportunity) const override {
    return GetMeta(LeadKey(opportunity));
  }
  absl::StatusOr<std::optional<std::string>> GetApprover(
      const std::string& opportunity) const override {
    return GetMeta(ApproverKey(opportunity));
  }
  absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key) const override {
    absl::StatusOr<std::string> v = store_->Get(kMetaCf, key);
    if (absl::IsNotFound(v.status())) return std::optional<std::string>();
    if (!v.ok()) return v.status();
    return std::optional<std::string>(*std::move(v));
  }
  absl::StatusOr<std::set<std::string>> ContinuityOf(const std::string& client) const override {
    std::set<std::string> experts;
    storage::KeyBuilder prefix;
    prefix.Str("continuity").Str(client);
    RETURN_IF_ERROR(
        store_->ScanPrefix(kMetaCf, prefix.Build(), [&](std::string_view k, std::string_view) {
          storage::KeyReader reader(k);
          (void)reader.Str();
          (void)reader.Str();
          absl::StatusOr<std::string> expert = reader.Str();
          if (expert.ok()) experts.insert(*std::move(expert));
          return true;
        }));
    return experts;
  }
  void PutDecided(rocksdb::WriteBatch& batch, const v1::ReviewRequest& r) override {
    if (r.state() != v1::REVIEW_STATE_DECIDED) return;
    const std::string& expert = r.verdict().expert_id();
    if (!r.client_id().empty()) {
      storage::KeyBuilder k;
      k.Str("continuity").Str(r.client_id()).Str(expert);
      batch.Put(store_->Cf(kMetaCf), k.Build(), "");
    }
    if (r.kind() == v1::REVIEW_KIND_OPPORTUNITY_GATE &&
        r.verdict().verdict() == v1::VERDICT_APPROVED && !r.opportunity_id().empty()) {
      batch.Put(store_->Cf(kMetaCf), ApproverKey(r.opportunity_id()), expert);
    }
  }
  void PutMeta(rocksdb::WriteBatch& batch, const std::string& key,
               const std::string& value) override {
    batch.Put(store_->Cf(kMetaCf), key, value);
  }
  void PutExpert(rocksdb::WriteBatch& batch, const v1::Expert& e) override {
    batch.Put(store_->Cf(kExpertsCf), e.expert_id(), e.SerializeAsString());
  }
  void PutReview(rocksdb::WriteBatch& batch, const v1::ReviewRequest& r) override {
    batch.Put(store_->Cf(kReviewsCf), r.review_id(), r.SerializeAsString());
    if (r.state() == v1::REVIEW_STATE_DECIDED) {
      batch.Delete(store_->Cf(kMetaCf), UndecidedKey(r.review_id()));
    } else {
      batch.Put(store_->Cf(kMetaCf), UndecidedKey(r.review_id()), "");
    }
  }
  void PutLead(rocksdb::WriteBatch& batch, const std::string& opportunity,
               const std::string& expert) override {
    batch.Put(store_->Cf(kMetaCf), LeadKey(opportunity), expert);
  }

  absl::StatusOr<v1::Solution> GetSolution(const std::string& id, int version) const override {
    std::string raw;
    if (version > 0) {
      absl::StatusOr<std::string> got = store_->Get(kSolutionsCf, VersionKey(id, version));
      if (!got.ok()) {
        return got.status().code() == absl::StatusCode::kNotFound
                   ? absl::NotFoundError(absl::StrCat("solution ", id, " version ", version))
                   : got.status();
      }
      raw = std::move(*got);
    } else {
      storage::KeyBuilder prefix;
      prefix.Str(id);
      RETURN_IF_ERROR(store_->ScanPrefixReverse(kSolutionsCf, prefix.Build(),
                                                [&](std::string_view, std::string_view v) {
                                                  raw = std::string(v);
                                                  return false;
                                                }));
      if (raw.empty()) return absl::NotFoundError(absl::StrCat("solution ", id));
    }
    v1::Solution s;
    if (!s.ParseFromString(raw)) return absl::DataLossError("corrupt solution record");
    return s;
  }
  void PutSolution(rocksdb::WriteBatch& batch, const v1::Solution& s) override {
    batch.Put(store_->Cf(kSolutionsCf), VersionKey(s.solution_id(), s.version()),
              s.SerializeAsString());
  }
  void PutIndexEntry(rocksdb::WriteBatch& batch, std::string_view key) override {
    batch.Put(store_->Cf(kKbIndexCf), rocksdb::Slice(key.data(), key.size()), "");
  }
  void DeleteIndexEntry(rocksdb::WriteBatch& batch, std::string_view key) override {
    batch.Delete(store_->Cf(kKbIndexCf), rocksdb::Slice(key.data(), key.size()));
  }
  std::unique_ptr<rocksdb::Iterator> NewIndexIterator() const override {
    return std::unique_ptr<rocksdb::Iterator>(
        store_->db()->NewIterator(storage::ScanReadOptions(), store_->Cf(kKbIndexCf)));
  }
  absl::Status ScanIndexReverse(std::string_view prefix, const storage::ScanFn& fn) const override {
    return store_->ScanPrefixReverse(kKbIndexCf, prefix, fn);
  }

 private:
  storage::Store* store_;
};

}  // namespace

namespace {

// MetaKey is a key of the meta column family: what it records, then the id it is about.
std::string MetaKey(std::string_view kind, std::string_view id) {
  return storage::KeyBuilder().Str(kind).Str(id).Build();
}

}  // namespace

std::string ApproverKey(const std::string& opportunity_id) {
  return MetaKey("approver", opportunity_id);
}

std::string DecidedIndexedKey() { return MetaKey("indexed", "decided"); }

std::string UndecidedKey(const std::string& review_id) { return MetaKey("undecided", review_id); }

std::string UndecidedIndexedKey() { return MetaKey("indexed", "undecided"); }

std::string LeadKey(const std::string& opportunity_id) { return MetaKey("lead", opportunity_id); }

std::vector<std::string> RepositoryColumnFamilies() {
  return {kExpertsCf, kReviewsCf, kMetaCf, kSolutionsCf, kKbIndexCf};
}

std::unique_ptr<ReviewRepository> NewRocksReviewRepository(storage::Store* store) {
  return std::make_unique<RocksReviewRepository>(store);
}

}  // namespace triad::review
