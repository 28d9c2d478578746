// Implements the order-preserving key encoding.
#include "common/storage/key_codec.h"

#include "absl/status/status.h"

namespace triad::storage {
namespace {

void AppendBigEndian(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

}  // namespace

KeyBuilder& KeyBuilder::StrPrefix(std::string_view s) {
  for (char c : s) {
    key_.push_back(c);
    if (c == '\0') key_.push_back('\xFF');
  }
  return *this;
}

KeyBuilder& KeyBuilder::Str(std::string_view s) {
  StrPrefix(s);
  key_.push_back('\0');
  key_.push_back('\x01');
  return *this;
}

KeyBuilder& KeyBuilder::U64(uint64_t v) {
  AppendBigEndian(key_, v);
  return *this;
}

KeyBuilder& KeyBuilder::I64(int64_t v) {
  AppendBigEndian(key_, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
  return *this;
}

absl::StatusOr<std::string> KeyReader::Str() {
  std::string out;
  size_t i = 0;
  while (i < rest_.size()) {
    char c = rest_[i];
    if (c != '\0') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= rest_.size()) break;
    if (rest_[i + 1] == '\x01') {
      rest_.remove_prefix(i + 2);
      return out;
    }
    if (rest_[i + 1] == '\xFF') {
      out.push_back('\0');
      i += 2;
      continue;
    }
    break;
  }
  return absl::DataLossError("key: malformed string component");
}

absl::StatusOr<uint64_t> KeyReader::U64() {
  if (rest_.size() < 8) return absl::DataLossError("key: truncated integer component");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(rest_[i]);
  rest_.remove_prefix(8);
  return v;
}

absl::StatusOr<int64_t> KeyReader::I64() {
  absl::StatusOr<uint64_t> v = U64();
  if (!v.ok()) return v.status();
  return static_cast<int64_t>(*v ^ (uint64_t{1} << 63));
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    unsigned char last = static_cast<unsigned char>(out.back());
    if (last != 0xFF) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace triad::storage
