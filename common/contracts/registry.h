// The registry of every event contract (topics and events of all services) as plain records, for
// generators (tools/contracts), tests and tooling. Code that emits or handles one event should use
// its declaration in clients.h, pipeline.h, review.h or production.h directly.
#ifndef TRIAD_COMMON_CONTRACTS_REGISTRY_H_
#define TRIAD_COMMON_CONTRACTS_REGISTRY_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/contracts/contract.h"

namespace triad::contracts {

// TopicContract is one topic: its name, producer, key meaning, retention and readers.
struct TopicContract {
  std::string_view name;  // triad.<service>.<aggregate>
  Service producer;
  std::string_view aggregate;
  std::string_view key;  // what the message key is, e.g. "client id"
  Retention retention;
  // Services that handle at least one event of the topic, in kAllServices order.
  std::vector<Service> consumers;
};

// EventContract is one event type: where it is published, what it carries, who reads it.
struct EventContract {
  std::string_view type;  // ce_type, triad.<service>.<aggregate>.<event>.v<version>
  std::string_view topic;
  std::string_view event;  // the <event> part of the type
  int version;
  std::string message;  // full protobuf message name, e.g. triad.pipeline.v1.OpportunityWon
  std::string_view summary;
  Service producer;
  std::vector<Service> consumers;  // in kAllServices order
};

// AllTopics returns every topic, grouped by producer in kAllServices order, each service's
// topics in declaration order.
const std::vector<TopicContract>& AllTopics();

// AllEvents returns every event type, in the order of AllTopics and, within a topic, in
// declaration order.
const std::vector<EventContract>& AllEvents();

// FindEvent returns the contract of ce_type `type`, or nullptr when no contract declares it.
const EventContract* FindEvent(std::string_view type);

// DataSchema returns the ce_dataschema header value of an event: kDataSchemaPrefix followed by
// the full protobuf message name.
std::string DataSchema(const EventContract& event);

// SourceOf returns the ce_source of the events `service` produces: "triad/<service>".
std::string SourceOf(Service service);

// ConsumedBy returns the events `service` handles, in AllEvents order.
std::vector<const EventContract*> ConsumedBy(Service service);

}  // namespace triad::contracts

#endif  // TRIAD_COMMON_CONTRACTS_REGISTRY_H_
