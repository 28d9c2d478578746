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

// StringComponentEnd is the number of bytes of the string component `s` begins with, its
// terminator included, or npos when `s` does not begin with a whole one: NUL 0x01 ends the
// component, NUL 0xFF is a NUL of the string, anything else after a NUL is malformed.
size_t StringComponentEnd(std::string_view s) {
  size_t pos = 0;
  while (true) {
    const void* nul = std::memchr(s.data() + pos, '\0', s.size() - pos);
    if (nul == nullptr) return std::string_view::npos;
    pos = static_cast<size_t>(static_cast<const char*>(nul) - s.data());
    if (pos + 1 >= s.size()) return std::string_view::npos;
    const char marker = s[pos + 1];
    pos += 2;
    if (marker == '\x01') return pos;
    if (marker != '\xFF') return std::string_view::npos;
  }
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
  const size_t end = StringComponentEnd(rest_);
  if (end == std::string_view::npos) {
    return absl::DataLossError("key: malformed string component");
  }
  // The runs between NUL bytes are copied whole; each NUL 0xFF is a NUL of the string.
  std::string out;
  std::string_view body = rest_.substr(0, end - 2);
  while (!body.empty()) {
    const void* nul = std::memchr(body.data(), '\0', body.size());
    if (nul == nullptr) {
      out.append(body.data(), body.size());
      break;
    }
    const size_t run = static_cast<size_t>(static_cast<const char*>(nul) - body.data());
    out.append(body.data(), run);
    out.push_back('\0');
    body.remove_prefix(run + 2);
  }
  rest_.remove_prefix(end);
  return out;
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
    const size_t end = StringComponentEnd(key.substr(pos));
    if (end == std::string_view::npos) return std::string_view::npos;
    pos += end;
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
