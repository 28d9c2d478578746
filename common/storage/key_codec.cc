// Implements the order-preserving key encoding.
#include "common/storage/key_codec.h"

#include <cstring>

#include "absl/status/status.h"

namespace triad::storage {
namespace {

void AppendBigEndian(std::string& out, uint64_t v) {
  char bytes[8];
  for (int i = 7; i >= 0; --i, v >>= 8) bytes[i] = static_cast<char>(v & 0xFF);
  out.append(bytes, sizeof(bytes));
}

}  // namespace

KeyBuilder& KeyBuilder::StrPrefix(std::string_view s) {
  // The runs between NUL bytes are copied whole; each NUL becomes NUL 0xFF.
  key_.reserve(key_.size() + s.size() + 2);
  while (!s.empty()) {
    const void* nul = std::memchr(s.data(), '\0', s.size());
    if (nul == nullptr) {
      key_.append(s.data(), s.size());
      break;
    }
    const size_t run = static_cast<size_t>(static_cast<const char*>(nul) - s.data());
    key_.append(s.data(), run);
    key_.append("\0\xFF", 2);
    s.remove_prefix(run + 1);
  }
  return *this;
}

KeyBuilder& KeyBuilder::Str(std::string_view s) {
  StrPrefix(s);
  key_.append("\0\x01", 2);
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
  // The runs between NUL bytes are copied whole; NUL 0x01 ends the component, NUL 0xFF is a
  // NUL of the string, anything else is malformed.
  std::string out;
  std::string_view rest = rest_;
  while (!rest.empty()) {
    const void* nul = std::memchr(rest.data(), '\0', rest.size());
    if (nul == nullptr) break;
    const size_t run = static_cast<size_t>(static_cast<const char*>(nul) - rest.data());
    if (run + 1 >= rest.size()) break;
    out.append(rest.data(), run);
    const char marker = rest[run + 1];
    rest.remove_prefix(run + 2);
    if (marker == '\x01') {
      rest_ = rest;
      return out;
    }
    if (marker != '\xFF') break;
    out.push_back('\0');
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

size_t StringComponentsLength(std::string_view key, int n) {
  size_t pos = 0;
  for (int i = 0; i < n; ++i) {
    // A component ends at NUL 0x01; NUL 0xFF is a NUL of the string; anything else after a
    // NUL, or no end, is not a whole string component.
    while (true) {
      const void* nul = std::memchr(key.data() + pos, '\0', key.size() - pos);
      if (nul == nullptr) return std::string_view::npos;
      pos = static_cast<size_t>(static_cast<const char*>(nul) - key.data());
      if (pos + 1 >= key.size()) return std::string_view::npos;
      const char marker = key[pos + 1];
      pos += 2;
      if (marker == '\x01') break;
      if (marker != '\xFF') return std::string_view::npos;
    }
  }
  return pos;
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
