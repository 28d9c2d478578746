// Structured JSON logging: one JSON object per line on stderr, with typed fields.
//   triad::logging::Info("relay started", {{"topic", t}, {"partitions", 3}});
#ifndef TRIAD_COMMON_CONFIG_LOGGING_H_
#define TRIAD_COMMON_CONFIG_LOGGING_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/status.h"

namespace triad::logging {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Field is one key/value of a log line; values keep their JSON type.
class Field {
 public:
  Field(std::string_view key, std::string_view v) : key_(key), value_(std::string(v)) {}
  Field(std::string_view key, const char* v) : key_(key), value_(std::string(v ? v : "")) {}
  Field(std::string_view key, const std::string& v) : key_(key), value_(v) {}
  Field(std::string_view key, bool v) : key_(key), value_(v) {}
  Field(std::string_view key, int v) : key_(key), value_(static_cast<int64_t>(v)) {}
  Field(std::string_view key, long v) : key_(key), value_(static_cast<int64_t>(v)) {}
  Field(std::string_view key, long long v) : key_(key), value_(static_cast<int64_t>(v)) {}
  Field(std::string_view key, unsigned v) : key_(key), value_(static_cast<int64_t>(v)) {}
  Field(std::string_view key, unsigned long v) : key_(key), value_(static_cast<int64_t>(v)) {}
  Field(std::string_view key, unsigned long long v) : key_(key), value_(static_cast<int64_t>(v)) {}
  Field(std::string_view key, double v) : key_(key), value_(v) {}
  Field(std::string_view key, const absl::Status& s) : key_(key), value_(s.ToString()) {}

  std::string_view key() const { return key_; }
  const std::variant<std::string, bool, int64_t, double>& value() const { return value_; }

 private:
  std::string_view key_;
  std::variant<std::string, bool, int64_t, double> value_;
};

// Init sets the service name stamped on every line and the minimum level
// ("debug", "info", "warn", "error"). Safe to call again.
void Init(std::string_view service, std::string_view level);

// Enabled is true when lines at `level` are written.
bool Enabled(Level level);

// SetLineObserver installs a function that also receives every line written (the JSON text),
// e.g. for a test that checks what the logs contain; nullptr removes it.
void SetLineObserver(std::function<void(std::string_view line)> observer);

// Log writes one line at `level` with the message and fields.
void Log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

// Debug, Info, Warn and Error are Log at that level.
inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Log(Level::kDebug, msg, fields);
}
inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Log(Level::kError, msg, fields);
}

}  // namespace triad::logging

#endif  // TRIAD_COMMON_CONFIG_LOGGING_H_
