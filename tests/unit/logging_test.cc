// Tests of the structured JSON logs: one valid JSON object per line, typed fields, escaping,
// level filtering.
#include "common/config/logging.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_env.h"

namespace triad::logging {
namespace {

// CaptureStderr runs `fn` with fd 2 redirected to a file and returns what was written.
std::string CaptureStderr(const std::function<void()>& fn) {
  testing::TempDir dir;
  std::string path = dir.Sub("stderr");
  fflush(stderr);
  int saved = dup(2);
  FILE* f = std::fopen(path.c_str(), "w");
  dup2(fileno(f), 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(f);
  FILE* in = std::fopen(path.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), in)) > 0) out.append(buf, n);
  std::fclose(in);
  return out;
}

std::vector<nlohmann::json> Lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(nlohmann::json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

TEST(LoggingTest, WritesOneJsonObjectPerLineWithTypedFields) {
  Init("svc-test", "info");
  std::string out = CaptureStderr([] {
    Info("hello \"world\"\nnext", {{"count", 3}, {"ratio", 0.5}, {"ok", true}, {"who", "ann"}});
  });
  std::vector<nlohmann::json> lines = Lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  const nlohmann::json& l = lines[0];
  EXPECT_EQ(l["msg"], "hello \"world\"\nnext");
  EXPECT_EQ(l["level"], "info");
  EXPECT_EQ(l["service"], "svc-test");
  EXPECT_EQ(l["count"], 3);
  EXPECT_EQ(l["ratio"], 0.5);
  EXPECT_EQ(l["ok"], true);
  EXPECT_EQ(l["who"], "ann");
  EXPECT_TRUE(l["ts"].is_string());
}

TEST(LoggingTest, FiltersByLevelAndSurvivesInvalidUtf8) {
  Init("svc-test", "warn");
  std::string out = CaptureStderr([] {
    Info("hidden");
    Debug("hidden too");
    Warn("shown", {{"bytes", std::string("\xff\xfe", 2)}});
    Error("also shown", {{"error", absl::InternalError("boom")}});
  });
  std::vector<nlohmann::json> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0]["msg"], "shown");
  EXPECT_EQ(lines[1]["error"], "INTERNAL: boom");
  Init("svc-test", "info");
}

}  // namespace
}  // namespace triad::logging
