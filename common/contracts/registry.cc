// The registry: walks the Topics and Events lists of every service's contract header.
#include "common/contracts/registry.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "common/contracts/clients.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/contracts/review.h"

namespace triad::contracts {
namespace {

std::vector<Service> Members(ServiceSet set) {
  std::vector<Service> out;
  for (Service s : kAllServices) {
    if (set.Contains(s)) out.push_back(s);
  }
  return out;
}

template <typename E>
EventContract DescribeEvent() {
  return EventContract{
      .type = E::kType,
      .topic = E::kTopic,
      .event = E::kEvent,
      .version = E::kVersion,
      .message = std::string(E::Message::descriptor()->full_name()),
      .summary = E::kSummary,
      .producer = E::Topic::kProducer,
      .consumers = Members(E::kConsumers),
  };
}

template <typename T>
TopicContract DescribeTopic() {
  return TopicContract{
      .name = T::kName,
      .producer = T::kProducer,
      .aggregate = T::kAggregate,
      .key = T::kKey,
      .retention = T::kRetention,
      .consumers = {},
  };
}

template <typename... E>
void AppendEvents(std::vector<EventContract>& out, std::tuple<E...>*) {
  (out.push_back(DescribeEvent<E>()), ...);
}

template <typename... T>
void AppendTopics(std::vector<TopicContract>& out, std::tuple<T...>*) {
  (out.push_back(DescribeTopic<T>()), ...);
}

// Events of every service, stably ordered by topic in AllTopics order.
std::vector<EventContract> BuildEvents(const std::vector<TopicContract>& topics) {
  std::vector<EventContract> events;
  AppendEvents(events, static_cast<clients::Events*>(nullptr));
  AppendEvents(events, static_cast<pipeline::Events*>(nullptr));
  AppendEvents(events, static_cast<review::Events*>(nullptr));
  AppendEvents(events, static_cast<production::Events*>(nullptr));
  auto rank = [&](std::string_view topic) {
    return std::find_if(topics.begin(), topics.end(),
                        [&](const TopicContract& t) { return t.name == topic; }) -
           topics.begin();
  };
  std::stable_sort(events.begin(), events.end(),
                   [&](const EventContract& a, const EventContract& b) {
                     return rank(a.topic) < rank(b.topic);
                   });
  return events;
}

std::vector<TopicContract> BuildTopics() {
  std::vector<TopicContract> topics;
  AppendTopics(topics, static_cast<clients::Topics*>(nullptr));
  AppendTopics(topics, static_cast<pipeline::Topics*>(nullptr));
  AppendTopics(topics, static_cast<review::Topics*>(nullptr));
  AppendTopics(topics, static_cast<production::Topics*>(nullptr));
  return topics;
}

struct Registry {
  std::vector<TopicContract> topics;
  std::vector<EventContract> events;
};

const Registry& TheRegistry() {
  static const Registry* registry = [] {
    auto* r = new Registry{.topics = BuildTopics(), .events = {}};
    r->events = BuildEvents(r->topics);
    for (TopicContract& t : r->topics) {
      ServiceSet readers;
      for (const EventContract& e : r->events) {
        if (e.topic != t.name) continue;
        for (Service s : e.consumers) readers = readers | s;
      }
      t.consumers = Members(readers);
    }
    return r;
  }();
  return *registry;
}

}  // namespace

const std::vector<TopicContract>& AllTopics() { return TheRegistry().topics; }

const std::vector<EventContract>& AllEvents() { return TheRegistry().events; }

const EventContract* FindEvent(std::string_view type) {
  for (const EventContract& e : AllEvents()) {
    if (e.type == type) return &e;
  }
  return nullptr;
}

std::string DataSchema(const EventContract& event) {
  return std::string(kDataSchemaPrefix) + event.message;
}

std::string SourceOf(Service service) { return "triad/" + std::string(ServiceName(service)); }

std::vector<const EventContract*> ConsumedBy(Service service) {
  std::vector<const EventContract*> out;
  for (const EventContract& e : AllEvents()) {
    if (std::find(e.consumers.begin(), e.consumers.end(), service) != e.consumers.end()) {
      out.push_back(&e);
    }
  }
  return out;
}

}  // namespace triad::contracts
