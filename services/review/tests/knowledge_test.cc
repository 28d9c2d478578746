// Tests of the knowledge base: versions and status (draft, published, superseded), publishing
// from an approved review, search by domain, tag and words through the index (paged, the index
// following the latest version), and similar past solutions by domain and shared tags.
#include "absl/strings/str_cat.h"
#include "common/contracts/review.h"
#include "gmock/gmock.h"
#include "services/review/review_internal.h"
#include "services/review/tests/test_support.h"

namespace triad::review {
namespace {

namespace rc = contracts::review;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class KnowledgeTest : public ReviewsTest {
 protected:
  v1::Solution Add(const std::string& title, const std::string& domain,
                   std::vector<std::string> tags, bool publish, const std::string& body = "") {
    v1::CreateSolutionRequest req;
    req.mutable_solution()->set_title(title);
    req.mutable_solution()->set_domain(domain);
    for (const std::string& t : tags) req.mutable_solution()->add_tags(t);
    req.mutable_solution()->set_body(body);
    req.set_publish(publish);
    *req.mutable_actor() = Actor("x-li");
    auto s = r_->CreateSolution(req);
    EXPECT_TRUE(s.ok()) << s.status();
    clock_.Advance(absl::Seconds(1));
    return s.ok() ? *s : v1::Solution();
  }

  std::vector<std::string> Titles(const v1::SearchSolutionsRequest& req) {
    auto resp = r_->SearchSolutions(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    std::vector<std::string> out;
    if (resp.ok()) {
      for (const v1::Solution& s : resp->solutions()) out.push_back(s.title());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(KnowledgeTest, SearchByDomainTagAndWords) {
  Add("Braced steel core", "structural", {"Steel", "high-rise"}, true,
      "A braced core carries the wind load.");
  Add("Timber long span", "structural", {"timber"}, true, "Glulam beams over 30 m.");
  Add("Chilled beams", "hvac", {"steel"}, false, "Chilled beams in open offices.");
  v1::SearchSolutionsRequest q;
  q.set_domain("structural");
  EXPECT_THAT(Titles(q), ElementsAre("Braced steel core", "Timber long span"));
  q.set_tag("STEEL");  // tags are case-insensitive
  EXPECT_THAT(Titles(q), ElementsAre("Braced steel core"));
  q.Clear();
  q.set_tag("steel");
  EXPECT_THAT(Titles(q), ElementsAre("Braced steel core", "Chilled beams"));
  q.set_status(v1::SOLUTION_STATUS_PUBLISHED);
  EXPECT_THAT(Titles(q), ElementsAre("Braced steel core"));
  q.Clear();
  q.set_words("beams, OPEN");
  EXPECT_THAT(Titles(q), ElementsAre("Chilled beams"));
  q.set_words("beams");
  EXPECT_THAT(Titles(q), ElementsAre("Chilled beams", "Timber long span"));
  q.set_words("nothing-like-this");
  EXPECT_TRUE(Titles(q).empty());
  q.Clear();
  EXPECT_THAT(r_->SearchSolutions(q).status().message(), HasSubstr("domain"));
  q.set_words("! ?");
  EXPECT_THAT(r_->SearchSolutions(q).status().message(), HasSubstr("words"));
}

TEST_F(KnowledgeTest, SearchPages) {
  for (int i = 0; i < 5; ++i) Add("Roof " + std::to_string(i), "structural", {"roof"}, true);
  v1::SearchSolutionsRequest q;
  q.set_tag("roof");
  q.set_page_size(2);
  std::vector<std::string> all;
  int pages = 0;
  do {
    auto resp = r_->SearchSolutions(q);
    ASSERT_TRUE(resp.ok()) << resp.status();
    for (const v1::Solution& s : resp->solutions()) all.push_back(s.title());
    q.set_page_token(resp->next_page_token());
    ++pages;
  } while (!q.page_token().empty());
  EXPECT_EQ(pages, 3);
  // Every match exactly once over the pages (ids order them; ids made in one millisecond tie).
  std::sort(all.begin(), all.end());
  EXPECT_THAT(all, ElementsAre("Roof 0", "Roof 1", "Roof 2", "Roof 3", "Roof 4"));
}

TEST_F(KnowledgeTest, ADocumentIndexesAtMostMaxIndexedWords) {
  std::string body;
  for (int i = 0; i < kMaxIndexedWords - 2; ++i) absl::StrAppend(&body, "w", i, " ");
  // With the title's two words the document is at the limit.
  Add("Braced core", "structural", {}, true, body);
  absl::StrAppend(&body, "one more");
  v1::CreateSolutionRequest req;
  req.mutable_solution()->set_title("Braced core");
  req.mutable_solution()->set_domain("structural");
  req.mutable_solution()->set_body(body);
  *req.mutable_actor() = Actor("x-li");
  auto over = r_->CreateSolution(req);
  EXPECT_TRUE(absl::IsInvalidArgument(over.status())) << over.status();
  EXPECT_EQ(over.status().message(),
            "solution.body: at most 3000 distinct words per document (got 3002)");
}

TEST_F(KnowledgeTest, AtMostMaxSolutionVersionsAreKept) {
  v1::Solution s = Add("Braced core", "structural", {"steel"}, true, "wind bracing");
  for (int v = 2; v <= kMaxSolutionVersions; ++v) {
    v1::CreateSolutionVersionRequest nv;
    nv.set_solution_id(s.solution_id());
    *nv.mutable_actor() = Actor("x-wu");
    auto draft = r_->CreateSolutionVersion(nv);
    ASSERT_TRUE(draft.ok()) << draft.status();
    v1::PublishSolutionRequest pub;
    pub.set_solution_id(s.solution_id());
    pub.set_etag(draft->etag());
    *pub.mutable_actor() = Actor("x-wu");
    ASSERT_TRUE(r_->PublishSolution(pub).ok());
  }
  v1::CreateSolutionVersionRequest nv;
  nv.set_solution_id(s.solution_id());
  *nv.mutable_actor() = Actor("x-wu");
  auto over = r_->CreateSolutionVersion(nv);
  EXPECT_TRUE(absl::IsResourceExhausted(over.status())) << over.status();
  EXPECT_THAT(over.status().message(), HasSubstr("at most 100 versions are kept per solution"));
}

TEST_F(KnowledgeTest, VersionsSupersedeAndTheIndexFollowsTheLatest) {
  v1::Solution v1s = Add("Braced core", "structural", {"steel"}, true, "wind bracing");
  auto published = Emitted<v1::SolutionPublished>(rc::SolutionPublished::kType);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].solution_id(), v1s.solution_id());
  v1::UpdateSolutionRequest up;
  up.mutable_solution()->set_solution_id(v1s.solution_id());
  up.mutable_solution()->set_body("outrigger");
  up.mutable_update_mask()->add_paths("body");
  up.set_etag(v1s.etag());
  *up.mutable_actor() = Actor("x-li");
  EXPECT_EQ(r_->UpdateSolution(up).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::CreateSolutionVersionRequest nv;
  nv.set_solution_id(v1s.solution_id());
  *nv.mutable_actor() = Actor("x-wu");
  auto v2 = r_->CreateSolutionVersion(nv);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  EXPECT_EQ(v2->status(), v1::SOLUTION_STATUS_DRAFT);
  EXPECT_EQ(r_->CreateSolutionVersion(nv).status().code(), absl::StatusCode::kFailedPrecondition);
  up.set_etag(v2->etag());
  auto edited = r_->UpdateSolution(up);
  ASSERT_TRUE(edited.ok()) << edited.status();
  v1::PublishSolutionRequest pub;
  pub.set_solution_id(v1s.solution_id());
  pub.set_etag(edited->etag());
  *pub.mutable_actor() = Actor("x-wu");
  ASSERT_TRUE(r_->PublishSolution(pub).ok());
  v1::GetSolutionRequest get;
  get.set_solution_id(v1s.solution_id());
  get.set_version(1);
  EXPECT_EQ(r_->GetSolution(get)->status(), v1::SOLUTION_STATUS_SUPERSEDED);
  get.set_version(0);
  EXPECT_EQ(r_->GetSolution(get)->version(), 2);
  v1::SearchSolutionsRequest q;
  q.set_words("outrigger");
  EXPECT_THAT(Titles(q), ElementsAre("Braced core"));
  q.set_words("bracing");  // only in version 1's body
  EXPECT_TRUE(Titles(q).empty());
  EXPECT_EQ(Emitted<v1::SolutionPublished>(rc::SolutionPublished::kType).size(), 2u);
}

TEST_F(KnowledgeTest, ApprovedReviewPublishesItsSolutionAndFindsSimilarOnes) {
  AddExpert("a", 40);
  auto req = NewRequest(4);
  req.mutable_review()->add_tags("steel");
  req.mutable_review()->add_tags("high-rise");
  auto review = r_->CreateReviewRequest(req);
  ASSERT_TRUE(review.ok());
  v1::CreateSolutionRequest from;
  from.mutable_solution()->set_title("From the review");
  from.set_source_review_id(review->review_id());
  from.set_publish(true);
  *from.mutable_actor() = Actor("a");
  EXPECT_EQ(r_->CreateSolution(from).status().code(), absl::StatusCode::kFailedPrecondition);

  Add("Both tags", "structural", {"steel", "high-rise"}, true);
  Add("One tag", "structural", {"steel"}, true);
  Add("Draft only", "structural", {"steel", "high-rise"}, false);
  Add("Other domain", "hvac", {"steel", "high-rise"}, true);
  Add("No shared tag", "structural", {"timber"}, true);
  v1::SimilarSolutionsRequest sim;
  sim.set_review_id(review->review_id());
  auto similar = r_->SimilarSolutions(sim);
  ASSERT_TRUE(similar.ok()) << similar.status();
  ASSERT_EQ(similar->solutions_size(), 2);
  EXPECT_EQ(similar->solutions(0).solution().title(), "Both tags");
  EXPECT_EQ(similar->solutions(0).shared_tags_size(), 2);
  EXPECT_EQ(similar->solutions(1).solution().title(), "One tag");

  ASSERT_TRUE(Accept(review->review_id()).ok());
  ASSERT_TRUE(Verdict(review->review_id(), v1::VERDICT_APPROVED).ok());
  auto sol = r_->CreateSolution(from);
  ASSERT_TRUE(sol.ok()) << sol.status();
  EXPECT_EQ(sol->status(), v1::SOLUTION_STATUS_PUBLISHED);
  EXPECT_EQ(sol->domain(), "structural");
  EXPECT_EQ(sol->opportunity_id(), review->opportunity_id());
  EXPECT_EQ(sol->summary(), "Steel frame with braced core");
  auto published = Emitted<v1::SolutionPublished>(rc::SolutionPublished::kType);
  EXPECT_EQ(published.back().source_review_id(), review->review_id());
}

}  // namespace
}  // namespace triad::review
