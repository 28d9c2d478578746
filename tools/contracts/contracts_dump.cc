// contracts_dump prints the contracts registry (common/contracts/registry.h) as JSON on stdout,
// the input of tools/contracts/generate.py:
//   {"services": [...], "headers": [...], "topics": [...], "events": [...]}
#include <iostream>

#include "common/contracts/contract.h"
#include "common/contracts/registry.h"
#include "common/events/envelope.h"
#include "nlohmann/json.hpp"

namespace {

using ::triad::contracts::Service;
using ::triad::contracts::ServiceName;

nlohmann::json Names(const std::vector<Service>& services) {
  nlohmann::json out = nlohmann::json::array();
  for (Service s : services) out.push_back(std::string(ServiceName(s)));
  return out;
}

}  // namespace

int main() {
  namespace c = ::triad::contracts;
  namespace ev = ::triad::events;
  nlohmann::json doc;
  doc["services"] = nlohmann::json::array();
  for (Service s : c::kAllServices) doc["services"].push_back(std::string(ServiceName(s)));
  // The envelope headers every event carries, in documentation order.
  doc["headers"] = {ev::kHeaderSpecVersion, ev::kHeaderId,         ev::kHeaderType,
                    ev::kHeaderSource,      ev::kHeaderTime,       ev::kHeaderSubject,
                    "ce_dataschema",        ev::kHeaderContentType};
  doc["spec_version"] = ev::kSpecVersion;
  doc["content_type"] = ev::kContentTypeProtobuf;
  doc["data_schema_prefix"] = std::string(c::kDataSchemaPrefix);
  doc["topics"] = nlohmann::json::array();
  for (const c::TopicContract& t : c::AllTopics()) {
    doc["topics"].push_back({
        {"name", std::string(t.name)},
        {"dlq", ev::DlqTopic(t.name)},
        {"producer", std::string(ServiceName(t.producer))},
        {"aggregate", std::string(t.aggregate)},
        {"key", std::string(t.key)},
        {"retention", std::string(c::RetentionName(t.retention))},
        {"consumers", Names(t.consumers)},
    });
  }
  doc["events"] = nlohmann::json::array();
  for (const c::EventContract& e : c::AllEvents()) {
    doc["events"].push_back({
        {"type", std::string(e.type)},
        {"topic", std::string(e.topic)},
        {"event", std::string(e.event)},
        {"version", e.version},
        {"message", e.message},
        {"data_schema", c::DataSchema(e)},
        {"summary", std::string(e.summary)},
        {"producer", std::string(ServiceName(e.producer))},
        {"consumers", Names(e.consumers)},
    });
  }
  std::cout << doc.dump(2) << "\n";
  return 0;
}
