// Implements the CloudEvents binary-mode envelope and topic naming.
#include "common/events/envelope.h"

#include <sys/random.h>

#include <atomic>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/util/digest.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::events {

RdKafka::Headers* ToHeaders(const Event& event) {
  RdKafka::Headers* h = RdKafka::Headers::create();
  h->add(kHeaderSpecVersion, kSpecVersion);
  h->add(kHeaderId, event.id);
  h->add(kHeaderType, event.type);
  h->add(kHeaderSource, event.source);
  h->add(kHeaderTime, FormatEventTime(event.time));
  if (!event.subject.empty()) h->add(kHeaderSubject, event.subject);
  if (!event.dataschema.empty()) h->add(kHeaderDataSchema, event.dataschema);
  h->add(kHeaderContentType, event.content_type);
  return h;
}

absl::StatusOr<Event> FromMessage(const RdKafka::Message& message) {
  auto& msg = const_cast<RdKafka::Message&>(message);  // headers() is not const in librdkafka
  Event e;
  e.topic = message.topic_name();
  if (message.key() != nullptr) e.key = *message.key();
  if (message.payload() != nullptr) {
    e.payload.assign(static_cast<const char*>(message.payload()), message.len());
  }
  e.partition = message.partition();
  e.offset = message.offset();
  RdKafka::Headers* headers = msg.headers();
  if (headers == nullptr) return absl::InvalidArgumentError("message has no CloudEvents headers");
  std::string spec, time;
  e.content_type.clear();
  for (const RdKafka::Headers::Header& hdr : headers->get_all()) {
    std::string value;
    if (hdr.value() != nullptr)
      value.assign(static_cast<const char*>(hdr.value()), hdr.value_size());
    const std::string& k = hdr.key();
    if (k == kHeaderId)
      e.id = value;
    else if (k == kHeaderType)
      e.type = value;
    else if (k == kHeaderSource)
      e.source = value;
    else if (k == kHeaderTime)
      time = value;
    else if (k == kHeaderSpecVersion)
      spec = value;
    else if (k == kHeaderSubject)
      e.subject = value;
    else if (k == kHeaderDataSchema)
      e.dataschema = value;
    else if (k == kHeaderContentType)
      e.content_type = value;
  }
  if (spec.empty()) return absl::InvalidArgumentError("missing header ce_specversion");
  if (spec != kSpecVersion) return absl::InvalidArgumentError("unsupported ce_specversion " + spec);
  if (e.id.empty()) return absl::InvalidArgumentError("missing header ce_id");
  if (e.type.empty()) return absl::InvalidArgumentError("missing header ce_type");
  if (e.source.empty()) return absl::InvalidArgumentError("missing header ce_source");
  if (!time.empty()) {
    absl::StatusOr<absl::Time> t = ParseEventTime(time);
    if (!t.ok()) return absl::InvalidArgumentError("malformed header ce_time: " + time);
    e.time = *t;
  }
  if (e.content_type.empty()) e.content_type = kContentTypeProtobuf;
  return e;
}

namespace {

// FormatUuid renders 16 bytes in the 8-4-4-4-12 hex form.
std::string FormatUuid(const unsigned char b[16]) {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | b[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | b[i];
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFull);
}

// FillRandom fills `n` bytes from the kernel CSPRNG; it never falls back to a weak source.
void FillRandom(unsigned char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = getrandom(out + done, n - done, 0);
    if (r > 0) done += static_cast<size_t>(r);
    // EINTR: try again. getrandom on Linux >= 3.17 does not fail otherwise once seeded.
  }
}

}  // namespace

std::string NewEventId() {
  unsigned char b[16];
  FillRandom(b + 6, 10);
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);  // version 7
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // variant 10
  return FormatUuid(b);
}

std::string DerivedEventId(std::string_view seed, uint64_t index) {
  // Length-prefixed seed, then the index: no two (seed, index) pairs share an input.
  std::string input;
  const uint64_t len = seed.size();
  input.append(reinterpret_cast<const char*>(&len), sizeof(len));
  input.append(seed);
  input.append(reinterpret_cast<const char*>(&index), sizeof(index));
  std::string digest = util::Sha256(input);
  digest.resize(32, '\0');  // Empty only if OpenSSL fails: the id stays well-formed.
  unsigned char b[16];
  std::memcpy(b, digest.data(), 16);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x80);  // version 8 (custom)
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // variant 10
  return FormatUuid(b);
}

std::string DataSchemaOf(std::string_view full_message_name) {
  return absl::StrCat("proto:", std::string(full_message_name));
}

std::string TopicName(std::string_view service, std::string_view aggregate) {
  return absl::StrCat("triad.", std::string(service), ".", std::string(aggregate));
}

std::string EventType(std::string_view service, std::string_view aggregate, std::string_view name,
                      int version) {
  return absl::StrCat("triad.", std::string(service), ".", std::string(aggregate), ".",
                      std::string(name), ".v", version);
}

std::string DlqTopic(std::string_view topic) { return std::string(topic) + ".dlq"; }

absl::Status ValidateTopicName(std::string_view topic_view) {
  const std::string topic(topic_view);
  std::vector<std::string> parts = absl::StrSplit(topic, '.');
  if (parts.size() < 3 || parts[0] != "triad") {
    return absl::InvalidArgumentError(
        absl::StrCat("topic ", topic, ": want triad.<service>.<aggregate>"));
  }
  for (const std::string& p : parts) {
    if (p.empty())
      return absl::InvalidArgumentError(absl::StrCat("topic ", topic, ": empty segment"));
    for (char c : p) {
      if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-')) {
        return absl::InvalidArgumentError(absl::StrCat("topic ", topic, ": invalid character"));
      }
    }
  }
  return absl::OkStatus();
}

std::string FormatEventTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseEventTime(std::string_view s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err)) {
    return absl::InvalidArgumentError("time " + std::string(s) + ": " + err);
  }
  return t;
}

}  // namespace triad::events
