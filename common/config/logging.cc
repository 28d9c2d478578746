// Implements structured JSON logging on spdlog.
#include "common/config/logging.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace triad::logging {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
std::string* g_service = new std::string("triad");
std::mutex g_observer_mu;
auto* g_observer = new std::function<void(std::string_view)>();

spdlog::logger& Logger() {
  static spdlog::logger* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto* l = new spdlog::logger("triad", sink);
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void Init(std::string_view service, std::string_view level) {
  std::lock_guard<std::mutex> lock(g_mu);
  *g_service = std::string(service);
  Level l = Level::kInfo;
  if (level == "debug") l = Level::kDebug;
  if (level == "warn" || level == "warning") l = Level::kWarn;
  if (level == "error") l = Level::kError;
  g_min_level.store(static_cast<int>(l));
}

void SetLineObserver(std::function<void(std::string_view line)> observer) {
  std::lock_guard<std::mutex> lock(g_observer_mu);
  *g_observer = std::move(observer);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

void Log(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  nlohmann::json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    line["service"] = *g_service;
  }
  line["msg"] = std::string(msg);
  for (const Field& f : fields) {
    std::string key(f.key());
    std::visit([&](const auto& v) { line[key] = v; }, f.value());
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Logger().info(text);
  std::lock_guard<std::mutex> lock(g_observer_mu);
  if (*g_observer) (*g_observer)(text);
}

}  // namespace triad::logging
