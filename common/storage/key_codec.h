// Order-preserving key encoding for RocksDB keys made of several components.
//
// Encoded keys sort (bytewise) in the same order as their component tuples, and the encoding of
// a tuple prefix is a byte prefix of the encoding of every longer tuple, so prefix scans work:
//   strings: bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01;
//   uint64:  8 bytes big-endian;  int64: 8 bytes big-endian with the sign bit flipped.
#ifndef TRIAD_COMMON_STORAGE_KEY_CODEC_H_
#define TRIAD_COMMON_STORAGE_KEY_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace triad::storage {

// KeyBuilder appends components to a key.
class KeyBuilder {
 public:
  KeyBuilder() = default;

  // Str appends a whole string component.
  KeyBuilder& Str(std::string_view s);
  // StrPrefix appends the beginning of a string component with no terminator: the result is a
  // prefix of every key whose next component starts with `s` (for "name starts with" scans).
  KeyBuilder& StrPrefix(std::string_view s);
  // U64 appends an unsigned integer component.
  KeyBuilder& U64(uint64_t v);
  // I64 appends a signed integer component.
  KeyBuilder& I64(int64_t v);

  // Build returns the encoded key so far.
  const std::string& Build() const { return key_; }

 private:
  std::string key_;
};

// KeyReader reads components back, in the order they were written.
class KeyReader {
 public:
  explicit KeyReader(std::string_view key) : rest_(key) {}

  // Str reads a string component.
  absl::StatusOr<std::string> Str();
  // U64 reads an unsigned integer component.
  absl::StatusOr<uint64_t> U64();
  // I64 reads a signed integer component.
  absl::StatusOr<int64_t> I64();
  // done is true when every byte has been read.
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// StringComponentsLength is the length in bytes of the first `n` components of `key` read as
// whole string components (Str), or std::string_view::npos when the key does not begin with
// `n` of them. Every key that begins with those bytes gives the same length.
size_t StringComponentsLength(std::string_view key, int n);

// PrefixSuccessor returns the smallest key greater than every key with `prefix` ("" if none).
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace triad::storage

#endif  // TRIAD_COMMON_STORAGE_KEY_CODEC_H_
