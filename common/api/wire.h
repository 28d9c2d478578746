// Holds the protobuf wire-format kit for answers built from stored bytes: reading the top-level
// fields of an encoded message without decoding it, and appending fields to an encoding. A list
// read can then filter stored records by a few fields and copy the matching ones into its
// answer unparsed (see ClientsDomain::ListClientsEncoded).
#ifndef TRIAD_COMMON_API_WIRE_H_
#define TRIAD_COMMON_API_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "google/protobuf/message.h"

namespace triad::api {

// WireField is one top-level field of an encoded message.
struct WireField {
  int number = 0;
  // The wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
  int wire_type = 0;
  // The value of a varint field (a fixed field's too, little-endian).
  uint64_t value = 0;
  // The payload of a length-delimited field (a string, bytes, a message or a packed run).
  std::string_view payload;
  // The whole field as encoded, tag included.
  std::string_view raw;
};

// ForEachWireField calls `fn` with each top-level field of the encoded `message`, in order, and
// stops early when `fn` returns false. Returns false, having called `fn` only for the fields
// before it, when `message` is not well-formed wire format: a truncated field, a varint longer
// than ten bytes, a tag above 32 bits, a field number of 0, a length past the end, a group
// (never written by proto3) or wire type 6 or 7.
bool ForEachWireField(std::string_view message, absl::FunctionRef<bool(const WireField&)> fn);

// AppendLengthDelimitedField appends field `number` with `payload` (a string or an encoded
// message) to the encoding `out`.
void AppendLengthDelimitedField(int number, std::string_view payload, std::string& out);

// AddEncodedField adds field `number`, whose payload is `payload` (e.g. a stored record for a
// repeated message field), to `message` as an unknown field: serialising `message` writes it
// unchanged, after the fields `message` holds itself, so a reader sees it as that field. The
// message itself does not see it (e.g. a repeated field's size stays the same).
void AddEncodedField(google::protobuf::Message& message, int number, std::string payload);

}  // namespace triad::api

#endif  // TRIAD_COMMON_API_WIRE_H_
