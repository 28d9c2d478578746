// The vocabulary of the event contracts: services, topics and events as compile-time
// declarations (see clients.h, pipeline.h, review.h, production.h), and the runtime records the
// registry (registry.h) lists them as.
//
// Each topic is a struct with
//   static constexpr Service kProducer;                 // the only service that writes it
//   static constexpr std::string_view kService, kAggregate;
//   static constexpr std::string_view kName;            // triad.<service>.<aggregate>
//   static constexpr std::string_view kKey;             // what the message key is
//   static constexpr Retention kRetention;
// and each event a struct with
//   using Message = <protobuf message>;                 // the payload
//   using Topic = <topic struct>;
//   static constexpr std::string_view kTopic;           // == Topic::kName
//   static constexpr std::string_view kEvent;           // the <name> part of the type
//   static constexpr int kVersion;
//   static constexpr std::string_view kType;            // triad.<svc>.<agg>.<name>.v<N>
//   static constexpr ServiceSet kConsumers;             // services that handle it
// The names follow triad::events::TopicName and triad::events::EventType
// (common/events/envelope.h); contracts_test checks every declaration against them.
#ifndef TRIAD_COMMON_CONTRACTS_CONTRACT_H_
#define TRIAD_COMMON_CONTRACTS_CONTRACT_H_

#include <cstdint>
#include <string_view>

namespace triad::contracts {

// Service names one Triad service.
enum class Service : uint8_t { kClients, kPipeline, kReview, kProduction };

// ServiceName returns the lowercase name of `service` ("clients", ...), as used in topic names,
// ce_source (triad/<name>) and consumer groups (triad-<name>).
constexpr std::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kClients:
      return "clients";
    case Service::kPipeline:
      return "pipeline";
    case Service::kReview:
      return "review";
    case Service::kProduction:
      return "production";
  }
  return "";
}

// ServiceSet is a set of services (the consumers of an event), e.g.
// `ServiceSet{} | Service::kClients | Service::kProduction`.
class ServiceSet {
 public:
  constexpr ServiceSet() = default;
  constexpr ServiceSet(Service s) : bits_(Bit(s)) {}  // NOLINT(google-explicit-constructor)

  // Contains reports whether `s` is in the set.
  constexpr bool Contains(Service s) const { return (bits_ & Bit(s)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }

  friend constexpr ServiceSet operator|(ServiceSet a, ServiceSet b) {
    ServiceSet r;
    r.bits_ = a.bits_ | b.bits_;
    return r;
  }
  friend constexpr bool operator==(ServiceSet a, ServiceSet b) = default;

 private:
  static constexpr uint8_t Bit(Service s) { return uint8_t{1} << static_cast<uint8_t>(s); }
  uint8_t bits_ = 0;
};

// kAllServices lists every service in a fixed order (the order of generated documents).
inline constexpr Service kAllServices[] = {Service::kClients, Service::kPipeline, Service::kReview,
                                           Service::kProduction};

// Retention is how long a topic keeps its messages.
enum class Retention : uint8_t {
  // Kept forever: the topic is the record every read model is rebuilt from.
  kForever,
};

// RetentionName returns the retention class as a word ("forever").
constexpr std::string_view RetentionName(Retention retention) {
  switch (retention) {
    case Retention::kForever:
      return "forever";
  }
  return "";
}

// kDataSchemaPrefix prefixes the full protobuf message name in the ce_dataschema header:
// ce_dataschema = "proto:triad.pipeline.v1.OpportunityWon".
inline constexpr std::string_view kDataSchemaPrefix = "proto:";

}  // namespace triad::contracts

#endif  // TRIAD_COMMON_CONTRACTS_CONTRACT_H_
