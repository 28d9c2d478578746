// The protobuf wire-format kit (see wire.h).
#include "common/api/wire.h"

#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/wire_format_lite.h"

namespace triad::api {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

namespace {

// ReadVarint reads the varint at `p` (before `end`) into `v` and moves `p` past it; false when
// it is cut off or longer than ten bytes.
bool ReadVarint(const char*& p, const char* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    const auto b = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (b < 0x80) return true;
  }
  return false;
}

// ReadFixed reads the little-endian value of `bytes` bytes at `p` into `v` and moves `p` past
// it; false when it is cut off.
bool ReadFixed(const char*& p, const char* end, int bytes, uint64_t& v) {
  if (end - p < bytes) return false;
  v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  p += bytes;
  return true;
}

}  // namespace

bool ForEachWireField(std::string_view message, absl::FunctionRef<bool(const WireField&)> fn) {
  const char* p = message.data();
  const char* const end = p + message.size();
  while (p < end) {
    const char* const start = p;
    uint64_t tag = 0;
    if (!ReadVarint(p, end, tag) || tag > UINT32_MAX) return false;
    WireField f;
    f.number = static_cast<int>(tag >> 3);
    f.wire_type = static_cast<int>(tag & 7);
    if (f.number == 0) return false;
    switch (f.wire_type) {
      case WireFormatLite::WIRETYPE_VARINT:
        if (!ReadVarint(p, end, f.value)) return false;
        break;
      case WireFormatLite::WIRETYPE_FIXED64:
        if (!ReadFixed(p, end, 8, f.value)) return false;
        break;
      case WireFormatLite::WIRETYPE_FIXED32:
        if (!ReadFixed(p, end, 4, f.value)) return false;
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint64_t length = 0;
        if (!ReadVarint(p, end, length) || length > static_cast<uint64_t>(end - p)) return false;
        f.payload = std::string_view(p, static_cast<size_t>(length));
        p += length;
        break;
      }
      default:  // Groups (start and end) and the unused wire types 6 and 7.
        return false;
    }
    f.raw = std::string_view(start, static_cast<size_t>(p - start));
    if (!fn(f)) return true;
  }
  return true;
}

void AppendLengthDelimitedField(int number, std::string_view payload, std::string& out) {
  uint8_t head[10];  // Two varints of at most five bytes: the tag and the length.
  uint8_t* p = CodedOutputStream::WriteVarint32ToArray(
      WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), head);
  p = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(payload.size()), p);
  out.append(reinterpret_cast<const char*>(head), static_cast<size_t>(p - head));
  out.append(payload);
}

void AddEncodedField(google::protobuf::Message& message, int number, std::string payload) {
  *message.GetReflection()->MutableUnknownFields(&message)->AddLengthDelimited(number) =
      std::move(payload);
}

}  // namespace triad::api
