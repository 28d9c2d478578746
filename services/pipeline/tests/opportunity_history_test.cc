// Tests of the opportunity history's API view: responses carry the latest entries only and
// ListOpportunityHistory pages through all of them, newest first, stable while the deal changes.
#include "services/pipeline/opportunity_history.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/tests/test_support.h"

namespace triad::pipeline {
namespace {

class OpportunityHistoryTest : public PipelineTest {
 protected:
  // Update sets a custom field, which appends one "updated" history entry.
  void Update(const std::string& id, int i) {
    SetField(id, "site_area_m2", absl::StrCat(1000 + i));
  }

  v1::ListOpportunityHistoryResponse Page(const std::string& id, int size,
                                          const std::string& token) {
    v1::ListOpportunityHistoryRequest req;
    req.set_opportunity_id(id);
    req.set_page_size(size);
    req.set_page_token(token);
    auto r = p_->ListOpportunityHistory(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ListOpportunityHistoryResponse();
  }
};

TEST_F(OpportunityHistoryTest, PagesNewestFirstAndStaysStableWhileTheDealChanges) {
  RegisterClient("c1");
  v1::Opportunity opp = CreateOpp("c1", kArchitecturalDesign);
  for (int i = 0; i < 45; ++i) Update(opp.id(), i);
  auto stored = p_->GetOpportunity(Get(opp.id()));
  ASSERT_TRUE(stored.ok());
  const int total = stored->history_size();
  ASSERT_GE(total, 45);

  v1::ListOpportunityHistoryResponse first = Page(opp.id(), 20, "");
  ASSERT_EQ(first.entries_size(), 20);
  EXPECT_EQ(first.total_size(), total);
  EXPECT_FALSE(first.next_page_token().empty());
  // Newest first: the first entry is the stored last one.
  EXPECT_EQ(first.entries(0).detail(), stored->history(total - 1).detail());
  EXPECT_EQ(first.entries(0).time().seconds(), stored->history(total - 1).time().seconds());

  // The deal changes between pages: the next page neither repeats nor skips an entry.
  Update(opp.id(), 100);
  int seen = first.entries_size();
  std::string token = first.next_page_token();
  int pages = 1;
  while (!token.empty()) {
    v1::ListOpportunityHistoryResponse page = Page(opp.id(), 20, token);
    seen += page.entries_size();
    token = page.next_page_token();
    ASSERT_LT(++pages, 10);
  }
  EXPECT_EQ(seen, total);
  // An exactly-full last page has no token: the pages are 20, 20, then the rest.
  EXPECT_EQ(pages, (total + 19) / 20);
}

TEST_F(OpportunityHistoryTest, RejectsBadRequestsNamingTheField) {
  v1::ListOpportunityHistoryRequest req;
  EXPECT_THAT(std::string(p_->ListOpportunityHistory(req).status().message()),
              ::testing::HasSubstr("opportunity_id"));
  req.set_opportunity_id("opp-missing");
  EXPECT_EQ(p_->ListOpportunityHistory(req).status().code(), absl::StatusCode::kNotFound);
  RegisterClient("c1");
  req.set_opportunity_id(CreateOpp("c1", kArchitecturalDesign).id());
  req.set_page_token("not-a-token");
  EXPECT_EQ(p_->ListOpportunityHistory(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.clear_page_token();
  req.set_page_size(-1);
  EXPECT_THAT(std::string(p_->ListOpportunityHistory(req).status().message()),
              ::testing::HasSubstr("page_size"));
}

TEST(PresentForApiTest, KeepsTheLatestEntriesAndCountsAll) {
  v1::Opportunity opp;
  for (int i = 0; i < kHistoryInResponse + 7; ++i) {
    opp.add_history()->set_detail(absl::StrCat("entry ", i));
  }
  v1::ListOpportunitiesResponse list;
  *list.add_opportunities() = opp;
  PresentForApi(&opp);
  EXPECT_EQ(opp.history_size(), kHistoryInResponse);
  EXPECT_EQ(opp.history_total(), kHistoryInResponse + 7);
  EXPECT_EQ(opp.history(0).detail(), "entry 7");
  EXPECT_EQ(opp.history(kHistoryInResponse - 1).detail(),
            absl::StrCat("entry ", kHistoryInResponse + 6));
  PresentForApi(&list);
  EXPECT_EQ(list.opportunities(0).history_size(), kHistoryInResponse);

  v1::Opportunity small;
  small.add_history()->set_detail("only");
  PresentForApi(&small);
  EXPECT_EQ(small.history_size(), 1);
  EXPECT_EQ(small.history_total(), 1);
}

}  // namespace
}  // namespace triad::pipeline
