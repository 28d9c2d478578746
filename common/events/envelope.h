// The CloudEvents (Kafka binding, binary mode) envelope of every Triad event, and topic naming.
//
// Headers: ce_specversion=1.0, ce_id, ce_type, ce_source, ce_time (RFC 3339), optional
// ce_subject, ce_dataschema ("proto:<full protobuf message name>") and
// content-type=application/x-protobuf. The message key is the aggregate id; the
// value is the serialized protobuf event. Topics are triad.<service>.<aggregate>; dead letters
// go to <topic>.dlq.
#ifndef TRIAD_COMMON_EVENTS_ENVELOPE_H_
#define TRIAD_COMMON_EVENTS_ENVELOPE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace RdKafka {
class Headers;
class Message;
}  // namespace RdKafka

namespace triad::events {

inline constexpr char kSpecVersion[] = "1.0";
inline constexpr char kContentTypeProtobuf[] = "application/x-protobuf";
inline constexpr char kHeaderId[] = "ce_id";
inline constexpr char kHeaderType[] = "ce_type";
inline constexpr char kHeaderSource[] = "ce_source";
inline constexpr char kHeaderTime[] = "ce_time";
inline constexpr char kHeaderSpecVersion[] = "ce_specversion";
inline constexpr char kHeaderSubject[] = "ce_subject";
inline constexpr char kHeaderDataSchema[] = "ce_dataschema";
inline constexpr char kHeaderContentType[] = "content-type";
// Headers added to dead letters.
inline constexpr char kHeaderDlqReason[] = "triad_dlq_reason";
inline constexpr char kHeaderDlqTopic[] = "triad_dlq_topic";
inline constexpr char kHeaderDlqPartition[] = "triad_dlq_partition";
inline constexpr char kHeaderDlqOffset[] = "triad_dlq_offset";
inline constexpr char kHeaderDlqGroup[] = "triad_dlq_group";

// Event is one CloudEvent with its Kafka coordinates.
struct Event {
  std::string id;
  std::string type;
  std::string source;
  std::string subject;
  // "proto:<full message name>" of the payload; empty when unknown.
  std::string dataschema;
  absl::Time time = absl::UnixEpoch();
  std::string content_type = kContentTypeProtobuf;
  std::string topic;
  std::string key;
  std::string payload;
  // Set on consumed events.
  int32_t partition = -1;
  int64_t offset = -1;
};

// ToHeaders renders the envelope as Kafka headers; the caller owns the result.
RdKafka::Headers* ToHeaders(const Event& event);

// FromMessage reads an event from a consumed message. InvalidArgument names the missing or
// malformed header.
absl::StatusOr<Event> FromMessage(const RdKafka::Message& message);

// NewEventId returns a fresh time-ordered UUID (version 7, RFC 9562): 48 bits of Unix
// milliseconds, then 74 bits from the kernel's CSPRNG (getrandom), so ids never depend on a
// per-thread seed and sort by creation time.
std::string NewEventId();

// DerivedEventId returns a deterministic UUID (version 8, RFC 9562) from `seed` and `index`:
// SHA-256 of both, truncated. Events emitted while applying a consumed event take ids derived
// from that event's identity, so a replay of the same consumed event emits the same ids and
// downstream consumers recognise them as duplicates.
std::string DerivedEventId(std::string_view seed, uint64_t index);

// DataSchemaOf returns the ce_dataschema value of a protobuf message type name.
std::string DataSchemaOf(std::string_view full_message_name);

// TopicName returns triad.<service>.<aggregate>.
std::string TopicName(std::string_view service, std::string_view aggregate);

// EventType returns triad.<service>.<aggregate>.<name>.v<version>.
std::string EventType(std::string_view service, std::string_view aggregate, std::string_view name,
                      int version = 1);

// DlqTopic returns <topic>.dlq.
std::string DlqTopic(std::string_view topic);

// ValidateTopicName checks the triad.<service>.<aggregate> form (lowercase, digits, '_', dots).
absl::Status ValidateTopicName(std::string_view topic);

// FormatEventTime renders RFC 3339 with microseconds in UTC; ParseEventTime reads RFC 3339.
std::string FormatEventTime(absl::Time t);
absl::StatusOr<absl::Time> ParseEventTime(std::string_view s);

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_ENVELOPE_H_
