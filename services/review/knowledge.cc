// Implements the knowledge base of the Reviews domain: solutions and technical standards in
// versions (draft -> published -> superseded), an inverted index in RocksDB (by word, tag,
// domain, and domain+tag) maintained in the same batch as the records, searched by a leapfrog
// join of the posting lists (never a scan of the documents), and similar past solutions of a
// request by domain and shared tags.
#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/api/etag.h"
#include "common/api/field_mask.h"
#include "common/api/limits.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/review.h"
#include "common/status/status_macros.h"
#include "common/storage/key_codec.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "rocksdb/db.h"
#include "services/review/review.h"
#include "services/review/review_internal.h"

namespace triad::review {

namespace rc = contracts::review;
using api::InvalidField;
using util::ToProto;

namespace {

constexpr size_t kMaxTagLength = 50;
constexpr int kMaxTags = 20;
constexpr size_t kMaxBodyLength = api::kMaxDocumentLength;
constexpr size_t kMaxRefLength = 1000;
constexpr int kMaxQueryWords = 10;
constexpr int kMaxSimilarScan = 1000;

std::string Posting(std::initializer_list<std::string_view> parts) {
  storage::KeyBuilder k;
  for (std::string_view p : parts) k.Str(p);
  return k.Build();
}

// IndexKeys lists the index entries of a solution version.
std::vector<std::string> IndexKeys(const v1::Solution& s) {
  std::vector<std::string> keys;
  const std::string& id = s.solution_id();
  keys.push_back(Posting({"d", s.domain(), id}));
  for (const std::string& t : s.tags()) {
    keys.push_back(Posting({"t", t, id}));
    keys.push_back(Posting({"dt", s.domain(), t, id}));
  }
  for (const std::string& w : Tokenize(absl::StrCat(s.title(), " ", s.summary(), " ", s.body()))) {
    keys.push_back(Posting({"w", w, id}));
  }
  return keys;
}

// Normalize lower-cases and dedupes the tags, then validates the writable fields.
absl::Status NormalizeAndValidate(v1::Solution& s) {
  RETURN_IF_ERROR(api::CheckUtf8(s, "solution"));
  RETURN_IF_ERROR(api::CheckRequired("solution.title", s.title()));
  RETURN_IF_ERROR(api::CheckText("solution.title", s.title(), kMaxTitleLength));
  RETURN_IF_ERROR(api::CheckId("solution.domain", s.domain()));
  RETURN_IF_ERROR(api::CheckLength("solution.domain", s.domain(), kMaxDomainLength));
  RETURN_IF_ERROR(api::CheckCount("solution.tags", s.tags_size(), kMaxTags));
  std::set<std::string> tags;
  for (int i = 0; i < s.tags_size(); ++i) {
    std::string path = absl::StrCat("solution.tags[", i, "]");
    RETURN_IF_ERROR(api::CheckRequired(path, s.tags(i)));
    RETURN_IF_ERROR(api::CheckLength(path, s.tags(i), kMaxTagLength));
    tags.insert(absl::AsciiStrToLower(s.tags(i)));
  }
  s.clear_tags();
  for (const std::string& t : tags) s.add_tags(t);
  RETURN_IF_ERROR(api::CheckText("solution.summary", s.summary()));
  RETURN_IF_ERROR(api::CheckText("solution.body", s.body(), kMaxBodyLength));
  RETURN_IF_ERROR(api::CheckText("solution.document_ref", s.document_ref(), kMaxRefLength));
  // Every distinct word is an index entry written with the document.
  const size_t words = Tokenize(absl::StrCat(s.title(), " ", s.summary(), " ", s.body())).size();
  if (words > static_cast<size_t>(kMaxIndexedWords)) {
    return InvalidField("solution.body",
                        absl::StrCat("at most ", kMaxIndexedWords,
                                     " distinct words per document (got ", words, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> Tokenize(std::string_view text) {
  std::set<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (cur.size() >= 2) words.insert(cur.substr(0, 40));
    cur.clear();
  };
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c >= 0x80) {
      cur.push_back(absl::ascii_tolower(c));
    } else {
      flush();
    }
  }
  flush();
  return {words.begin(), words.end()};
}

absl::StatusOr<v1::Solution> Reviews::LatestSolution(const std::string& id, int version) const {
  return repo_->GetSolution(id, version);
}

void Reviews::PutSolution(events::Transaction& txn, const v1::Solution* previous_latest,
                          const v1::Solution& s) {
  if (previous_latest != nullptr) {
    for (const std::string& k : IndexKeys(*previous_latest))
      repo_->DeleteIndexEntry(txn.batch(), k);
  }
  for (const std::string& k : IndexKeys(s)) repo_->PutIndexEntry(txn.batch(), k);
  repo_->PutSolution(txn.batch(), s);
}

void Reviews::PutSolutionVersion(events::Transaction& txn, const v1::Solution& s) {
  repo_->PutSolution(txn.batch(), s);
}

void Reviews::EmitPublished(events::Transaction& txn, const v1::Solution& s) {
  v1::SolutionPublished ev;
  ev.set_solution_id(s.solution_id());
  ev.set_title(s.title());
  ev.set_domain(s.domain());
  ev.set_summary(s.summary());
  *ev.mutable_tags() = s.tags();
  ev.set_source_review_id(s.source_review_id());
  ev.set_opportunity_id(s.opportunity_id());
  ev.set_author_expert_id(s.author_id());
  *ev.mutable_publish_time() = s.publish_time();
  txn.Emit(rc::SolutionPublished::kTopic, s.solution_id(), rc::SolutionPublished::kType, ev);
}

absl::StatusOr<v1::Solution> Reviews::CreateSolution(const v1::CreateSolutionRequest& req) {
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(api::CheckOptionalId("source_review_id", req.source_review_id()));
  v1::Solution s = req.solution();
  std::lock_guard lock(mu_);
  api::Replay<v1::Solution> replay(*store_, "CreateSolution", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Solution> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  if (!req.source_review_id().empty()) {
    ASSIGN_OR_RETURN(const v1::ReviewRequest r, ReviewByIdLocked(req.source_review_id()));
    if (r.state() != v1::REVIEW_STATE_DECIDED || r.verdict().verdict() != v1::VERDICT_APPROVED) {
      return absl::FailedPreconditionError(
          absl::StrCat("review ", r.review_id(), " has no approved verdict"));
    }
    if (s.domain().empty()) s.set_domain(r.domain());
    if (s.summary().empty()) s.set_summary(r.verdict().solution_summary());
    s.set_opportunity_id(r.opportunity_id());
    s.set_source_review_id(r.review_id());
  } else {
    s.clear_source_review_id();
    s.clear_opportunity_id();
  }
  RETURN_IF_ERROR(NormalizeAndValidate(s));
  absl::Time now = options_.clock();
  s.set_solution_id(util::NewId("sol"));
  s.set_version(1);
  s.set_author_id(req.actor().id());
  s.set_status(req.publish() ? v1::SOLUTION_STATUS_PUBLISHED : v1::SOLUTION_STATUS_DRAFT);
  *s.mutable_create_time() = ToProto(now);
  *s.mutable_update_time() = ToProto(now);
  if (req.publish()) *s.mutable_publish_time() = ToProto(now);
  s.set_etag("1");
  s.clear_history();
  AddAudit(s.mutable_history(), now, req.actor().id(), req.publish() ? "published" : "created",
           req.actor().reason());
  events::Transaction txn;
  PutSolution(txn, nullptr, s);
  if (req.publish()) EmitPublished(txn, s);
  RETURN_IF_ERROR(replay.Record(txn.batch(), s));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return s;
}

absl::StatusOr<v1::Solution> Reviews::GetSolution(const v1::GetSolutionRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("solution_id", req.solution_id()));
  if (req.version() < 0) return InvalidField("version", "must be >= 0");
  return LatestSolution(req.solution_id(), req.version());
}

absl::StatusOr<v1::Solution> Reviews::UpdateSolution(const v1::UpdateSolutionRequest& req) {
  static constexpr std::string_view kAllowed[] = {"title", "domain",       "tags",    "summary",
                                                  "body",  "document_ref", "standard"};
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(api::CheckId("solution.solution_id", req.solution().solution_id()));
  RETURN_IF_ERROR(api::CheckUpdateMask(req.update_mask(), kAllowed));
  std::lock_guard lock(mu_);
  api::Replay<v1::Solution> replay(*store_, "UpdateSolution", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Solution> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  ASSIGN_OR_RETURN(v1::Solution latest, LatestSolution(req.solution().solution_id(), 0));
  RETURN_IF_ERROR(api::CheckEtag(api::StoredEtag(latest.etag()), api::GivenEtag(req.etag()),
                                 "solution", api::EtagPolicy::kRequired));
  if (latest.status() != v1::SOLUTION_STATUS_DRAFT) {
    return absl::FailedPreconditionError(
        absl::StrCat("solution ", latest.solution_id(), " version ", latest.version(),
                     " is published; create a new version to change it"));
  }
  v1::Solution s = latest;
  RETURN_IF_ERROR(api::ApplyUpdateMask(req.update_mask(), kAllowed, req.solution(), s));
  RETURN_IF_ERROR(NormalizeAndValidate(s));
  absl::Time now = options_.clock();
  s.set_etag(api::NextEtag(s.etag()));
  *s.mutable_update_time() = ToProto(now);
  AddAudit(s.mutable_history(), now, req.actor().id(), "updated",
           absl::StrCat(absl::StrJoin(req.update_mask().paths(), ","), ": ", req.actor().reason()));
  events::Transaction txn;
  PutSolution(txn, &latest, s);
  RETURN_IF_ERROR(replay.Record(txn.batch(), s));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return s;
}

absl::StatusOr<v1::Solution> Reviews::PublishSolution(const v1::PublishSolutionRequest& req) {
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(api::CheckId("solution_id", req.solution_id()));
  std::lock_guard lock(mu_);
  api::Replay<v1::Solution> replay(*store_, "PublishSolution", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Solution> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  ASSIGN_OR_RETURN(v1::Solution latest, LatestSolution(req.solution_id(), 0));
  RETURN_IF_ERROR(
      api::CheckEtag(api::StoredEtag(latest.etag()), api::GivenEtag(req.etag()), "solution"));
  if (latest.status() != v1::SOLUTION_STATUS_DRAFT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "solution ", latest.solution_id(), " version ", latest.version(), " is not a draft"));
  }
  absl::Time now = options_.clock();
  events::Transaction txn;
  if (latest.version() > 1) {
    ASSIGN_OR_RETURN(v1::Solution old, LatestSolution(req.solution_id(), latest.version() - 1));
    old.set_status(v1::SOLUTION_STATUS_SUPERSEDED);
    old.set_etag(api::NextEtag(old.etag()));
    AddAudit(old.mutable_history(), now, req.actor().id(), "superseded",
             absl::StrCat("by version ", latest.version()));
    PutSolutionVersion(txn, old);
  }
  v1::Solution s = latest;
  s.set_status(v1::SOLUTION_STATUS_PUBLISHED);
  s.set_etag(api::NextEtag(s.etag()));
  *s.mutable_update_time() = ToProto(now);
  *s.mutable_publish_time() = ToProto(now);
  AddAudit(s.mutable_history(), now, req.actor().id(), "published", req.actor().reason());
  PutSolution(txn, &latest, s);
  EmitPublished(txn, s);
  RETURN_IF_ERROR(replay.Record(txn.batch(), s));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return s;
}

absl::StatusOr<v1::Solution> Reviews::CreateSolutionVersion(
    const v1::CreateSolutionVersionRequest& req) {
  RETURN_IF_ERROR(CheckActor(req.actor(), false));
  RETURN_IF_ERROR(api::CheckId("solution_id", req.solution_id()));
  std::lock_guard lock(mu_);
  api::Replay<v1::Solution> replay(*store_, "CreateSolutionVersion", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Solution> prior, replay.Prior());
  if (prior.has_value()) return *prior;
  ASSIGN_OR_RETURN(v1::Solution latest, LatestSolution(req.solution_id(), 0));
  if (latest.status() != v1::SOLUTION_STATUS_PUBLISHED) {
    return absl::FailedPreconditionError(absl::StrCat("solution ", latest.solution_id(),
                                                      " already has a draft (version ",
                                                      latest.version(), ")"));
  }
  if (latest.version() >= kMaxSolutionVersions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "solution_id: at most ", kMaxSolutionVersions, " versions are kept per solution (",
        latest.solution_id(), " has ", latest.version(), ")"));
  }
  absl::Time now = options_.clock();
  v1::Solution s = latest;
  s.set_version(latest.version() + 1);
  s.set_status(v1::SOLUTION_STATUS_DRAFT);
  s.set_author_id(req.actor().id());
  s.set_etag("1");
  s.clear_publish_time();
  *s.mutable_create_time() = ToProto(now);
  *s.mutable_update_time() = ToProto(now);
  s.clear_history();
  AddAudit(s.mutable_history(), now, req.actor().id(), "version_created",
           absl::StrCat("from version ", latest.version(), ": ", req.actor().reason()));
  events::Transaction txn;
  PutSolution(txn, &latest, s);
  RETURN_IF_ERROR(replay.Record(txn.batch(), s));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return s;
}

absl::StatusOr<v1::SearchSolutionsResponse> Reviews::SearchSolutions(
    const v1::SearchSolutionsRequest& req) const {
  RETURN_IF_ERROR(api::CheckText("domain", req.domain(), kMaxDomainLength));
  RETURN_IF_ERROR(api::CheckText("tag", req.tag(), kMaxTagLength));
  RETURN_IF_ERROR(api::CheckText("words", req.words(), kMaxTitleLength));
  if (!v1::SolutionStatus_IsValid(req.status())) return InvalidField("status", "unknown status");
  std::vector<std::string> prefixes;
  std::string tag = absl::AsciiStrToLower(req.tag());
  if (!req.domain().empty() && !tag.empty()) {
    prefixes.push_back(Posting({"dt", req.domain(), tag}));  // one exact posting list
  } else if (!req.domain().empty()) {
    prefixes.push_back(Posting({"d", req.domain()}));
  } else if (!tag.empty()) {
    prefixes.push_back(Posting({"t", tag}));
  }
  std::vector<std::string> words = Tokenize(req.words());
  if (static_cast<int>(words.size()) > kMaxQueryWords) {
    return InvalidField("words", absl::StrCat("at most ", kMaxQueryWords, " words"));
  }
  if (!req.words().empty() && words.empty()) {
    return InvalidField("words", "no word of at least 2 letters or digits");
  }
  for (const std::string& w : words) prefixes.push_back(Posting({"w", w}));
  if (prefixes.empty()) return InvalidField("domain", "give a domain, a tag or words");
  ASSIGN_OR_RETURN(
      api::Pager pager,
      api::Pager::Start(req.page_size(), req.page_token(),
                        api::FilterFingerprint({req.domain(), req.tag(), req.words(),
                                                v1::SolutionStatus_Name(req.status())})));
  v1::SearchSolutionsResponse resp;
  // Leapfrog join of the posting lists, each ordered by solution id: every list is moved to
  // the largest id any list is at, until all agree (a match) or one list ends.
  const size_t n = prefixes.size();
  std::vector<std::unique_ptr<rocksdb::Iterator>> its;
  std::vector<std::string> at(n);
  for (size_t i = 0; i < n; ++i) {
    its.emplace_back(repo_->NewIndexIterator());
  }
  // Read makes at[i] the id under iterator i; false when the list ended.
  auto read = [&](size_t i) -> absl::StatusOr<bool> {
    if (!its[i]->Valid()) {
      RETURN_IF_ERROR(storage::ToStatus(its[i]->status()));
      return false;
    }
    std::string_view key = its[i]->key().ToStringView();
    if (!key.starts_with(prefixes[i])) return false;
    storage::KeyReader reader(key.substr(prefixes[i].size()));
    ASSIGN_OR_RETURN(at[i], reader.Str());
    return true;
  };
  // SeekTo moves iterator i to the first id >= id ("" = the first).
  auto seek_to = [&](size_t i, const std::string& id) -> absl::StatusOr<bool> {
    storage::KeyBuilder k;
    k.Str(id);
    its[i]->Seek(id.empty() ? prefixes[i] : prefixes[i] + k.Build());
    return read(i);
  };
  const std::string start =
      pager.after_key().empty() ? "" : pager.after_key() + std::string(1, '\0');
  bool more = true;
  for (size_t i = 0; i < n && more; ++i) {
    ASSIGN_OR_RETURN(more, seek_to(i, start));
  }
  while (more) {
    const std::string max_id = *std::max_element(at.begin(), at.end());
    bool all_equal = true;
    for (size_t i = 0; i < n && more; ++i) {
      if (at[i] == max_id) continue;
      all_equal = false;
      ASSIGN_OR_RETURN(more, seek_to(i, max_id));
    }
    if (!more) break;
    if (!all_equal) continue;
    ASSIGN_OR_RETURN(v1::Solution s, LatestSolution(max_id, 0));
    if (req.status() == v1::SOLUTION_STATUS_UNSPECIFIED || s.status() == req.status()) {
      if (!pager.Accept(max_id)) break;
      *resp.add_solutions() = std::move(s);
    }
    for (size_t i = 0; i < n && more; ++i) {
      its[i]->Next();
      ASSIGN_OR_RETURN(more, read(i));
    }
  }
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

absl::StatusOr<v1::SimilarSolutionsResponse> Reviews::SimilarSolutions(
    const v1::SimilarSolutionsRequest& req) const {
  RETURN_IF_ERROR(api::CheckId("review_id", req.review_id()));
  if (req.limit() < 0) return InvalidField("limit", "must be >= 0");
  int limit = req.limit() == 0 ? 10 : std::min(req.limit(), 100);
  v1::ReviewRequest r;
  {
    std::shared_lock lock(mu_);
    ASSIGN_OR_RETURN(r, ReviewByIdLocked(req.review_id()));
  }
  std::map<std::string, std::vector<std::string>> shared;  // solution id -> shared tags
  std::set<std::string> tags;
  for (const std::string& t : r.tags()) tags.insert(absl::AsciiStrToLower(t));
  auto collect = [&](const std::string& prefix, const std::string& tag) -> absl::Status {
    int seen = 0;
    return repo_->ScanIndexReverse(prefix, [&](std::string_view k, std::string_view) {
      storage::KeyReader reader(k.substr(prefix.size()));
      absl::StatusOr<std::string> id = reader.Str();
      if (id.ok()) {
        std::vector<std::string>& v = shared[*id];
        if (!tag.empty()) v.push_back(tag);
      }
      return ++seen < kMaxSimilarScan;  // the newest solutions first
    });
  };
  for (const std::string& t : tags) RETURN_IF_ERROR(collect(Posting({"dt", r.domain(), t}), t));
  if (tags.empty()) RETURN_IF_ERROR(collect(Posting({"d", r.domain()}), ""));
  std::vector<std::pair<std::string, std::vector<std::string>>> ranked(shared.begin(),
                                                                       shared.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second.size() != b.second.size() ? a.second.size() > b.second.size()
                                              : a.first > b.first;
  });
  v1::SimilarSolutionsResponse resp;
  for (const auto& [id, tags_shared] : ranked) {
    if (resp.solutions_size() >= limit) break;
    ASSIGN_OR_RETURN(v1::Solution s, LatestSolution(id, 0));
    // Only published knowledge is suggested: a draft of a new version stands for its
    // published predecessor.
    if (s.status() == v1::SOLUTION_STATUS_DRAFT && s.version() > 1) {
      ASSIGN_OR_RETURN(s, LatestSolution(id, s.version() - 1));
    }
    if (s.status() != v1::SOLUTION_STATUS_PUBLISHED) continue;
    v1::SimilarSolution* out = resp.add_solutions();
    *out->mutable_solution() = std::move(s);
    for (const std::string& t : tags_shared) out->add_shared_tags(t);
  }
  return resp;
}

}  // namespace triad::review
