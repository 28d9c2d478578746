// The event contracts of the clients service (client records, service cases, follow-ups): each
// topic it writes and each event it emits, declared once (see contract.h for the shape of the
// declarations). Payloads are in proto/triad/clients/v1/events.proto.
#ifndef TRIAD_COMMON_CONTRACTS_CLIENTS_H_
#define TRIAD_COMMON_CONTRACTS_CLIENTS_H_

#include <string_view>
#include <tuple>

#include "common/contracts/contract.h"
#include "triad/clients/v1/events.pb.h"

namespace triad::contracts::clients {

// triad.clients.client: every change of a client record (event-carried state: each event holds the
// client summary after the change); key = client id.
struct ClientTopic {
  static constexpr Service kProducer = Service::kClients;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "client";
  static constexpr std::string_view kName = "triad.clients.client";
  static constexpr std::string_view kKey = "client id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.clients.client.registered.v1: a client record was created.
struct ClientRegistered {
  using Message = ::triad::clients::v1::ClientRegistered;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "registered";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.registered.v1";
  static constexpr std::string_view kSummary = "a client record was created";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.clients.client.updated.v1: fields of a client record changed (old and new values).
struct ClientUpdated {
  using Message = ::triad::clients::v1::ClientUpdated;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "updated";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.updated.v1";
  static constexpr std::string_view kSummary =
      "fields of a client record changed (old and new values)";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.clients.client.verified.v1: a data steward verified the record.
struct ClientVerified {
  using Message = ::triad::clients::v1::ClientVerified;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "verified";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.verified.v1";
  static constexpr std::string_view kSummary = "a data steward verified the record";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.clients.client.archived.v1: the record was archived.
struct ClientArchived {
  using Message = ::triad::clients::v1::ClientArchived;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "archived";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.archived.v1";
  static constexpr std::string_view kSummary = "the record was archived";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.clients.client.restored.v1: an archived record was restored.
struct ClientRestored {
  using Message = ::triad::clients::v1::ClientRestored;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "restored";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.restored.v1";
  static constexpr std::string_view kSummary = "an archived record was restored";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.clients.client.owner_changed.v1: the responsible person changed (alone or in a portfolio
// handover).
struct ClientOwnerChanged {
  using Message = ::triad::clients::v1::ClientOwnerChanged;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "owner_changed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.owner_changed.v1";
  static constexpr std::string_view kSummary =
      "the responsible person changed (alone or in a portfolio handover)";
  static constexpr ServiceSet kConsumers = ServiceSet{} | Service::kPipeline | Service::kReview;
};

// triad.clients.client.merged.v1: a duplicate was merged into a surviving record.
struct ClientsMerged {
  using Message = ::triad::clients::v1::ClientsMerged;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "merged";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.merged.v1";
  static constexpr std::string_view kSummary = "a duplicate was merged into a surviving record";
  static constexpr ServiceSet kConsumers =
      ServiceSet{} | Service::kPipeline | Service::kReview | Service::kProduction;
};

// triad.clients.client.personal_data_erased.v1: an operator erased the personal data of a
// client; consumers blank any copy they keep (pipeline's client replica holds the name, blanked
// when the client is a natural person; review and production keep no personal data of
// clients).
struct ClientPersonalDataErased {
  using Message = ::triad::clients::v1::ClientPersonalDataErased;
  using Topic = ClientTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "personal_data_erased";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.client.personal_data_erased.v1";
  static constexpr std::string_view kSummary =
      "the personal data of a client was erased; consumers blank their copies";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.clients.case: the lifecycle of service cases; key = case id.
struct CaseTopic {
  static constexpr Service kProducer = Service::kClients;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "case";
  static constexpr std::string_view kName = "triad.clients.case";
  static constexpr std::string_view kKey = "case id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.clients.case.opened.v1: a service case was opened.
struct CaseOpened {
  using Message = ::triad::clients::v1::CaseOpened;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "opened";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.opened.v1";
  static constexpr std::string_view kSummary = "a service case was opened";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.case.assigned.v1: a case was assigned to a person.
struct CaseAssigned {
  using Message = ::triad::clients::v1::CaseAssigned;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "assigned";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.assigned.v1";
  static constexpr std::string_view kSummary = "a case was assigned to a person";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.case.started.v1: work on a case started (open or reopened to in progress).
struct CaseStarted {
  using Message = ::triad::clients::v1::CaseStatusChanged;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "started";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.started.v1";
  static constexpr std::string_view kSummary =
      "work on a case started (open or reopened to in progress)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.case.resolved.v1: a case was resolved.
struct CaseResolved {
  using Message = ::triad::clients::v1::CaseStatusChanged;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "resolved";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.resolved.v1";
  static constexpr std::string_view kSummary = "a case was resolved";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.case.closed.v1: a case was closed (with the satisfaction score).
struct CaseClosed {
  using Message = ::triad::clients::v1::CaseStatusChanged;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "closed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.closed.v1";
  static constexpr std::string_view kSummary = "a case was closed (with the satisfaction score)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.case.reopened.v1: a resolved or closed case was reopened.
struct CaseReopened {
  using Message = ::triad::clients::v1::CaseStatusChanged;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "reopened";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.reopened.v1";
  static constexpr std::string_view kSummary = "a resolved or closed case was reopened";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.case.breached.v1: a case passed its SLA (once per breach).
struct CaseBreached {
  using Message = ::triad::clients::v1::CaseBreached;
  using Topic = CaseTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "breached";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.case.breached.v1";
  static constexpr std::string_view kSummary = "a case passed its SLA (once per breach)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.followup: the follow-up plan of clients; key = client id.
struct FollowUpTopic {
  static constexpr Service kProducer = Service::kClients;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "followup";
  static constexpr std::string_view kName = "triad.clients.followup";
  static constexpr std::string_view kKey = "client id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.clients.followup.scheduled.v1: a follow-up was scheduled.
struct FollowUpScheduled {
  using Message = ::triad::clients::v1::FollowUpScheduled;
  using Topic = FollowUpTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "scheduled";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.followup.scheduled.v1";
  static constexpr std::string_view kSummary = "a follow-up was scheduled";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.followup.due.v1: a follow-up fell due (once per follow-up).
struct FollowUpDue {
  using Message = ::triad::clients::v1::FollowUpDue;
  using Topic = FollowUpTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "due";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.followup.due.v1";
  static constexpr std::string_view kSummary = "a follow-up fell due (once per follow-up)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.followup.completed.v1: a follow-up was done.
struct FollowUpCompleted {
  using Message = ::triad::clients::v1::FollowUpCompleted;
  using Topic = FollowUpTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "completed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.followup.completed.v1";
  static constexpr std::string_view kSummary = "a follow-up was done";
  static constexpr ServiceSet kConsumers = {};
};

// triad.clients.person: clients's part of offboarding people; key = person id.
struct PersonTopic {
  static constexpr Service kProducer = Service::kClients;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "person";
  static constexpr std::string_view kName = "triad.clients.person";
  static constexpr std::string_view kKey = "person id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.clients.person.offboarded.v1: a person left (inactive from now on); every service moves
// what they hold.
struct PersonOffboarded {
  using Message = ::triad::clients::v1::PersonOffboarded;
  using Topic = PersonTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "offboarded";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.clients.person.offboarded.v1";
  static constexpr std::string_view kSummary =
      "a person left (inactive from now on); every service moves what they hold";
  static constexpr ServiceSet kConsumers =
      ServiceSet{} | Service::kPipeline | Service::kReview | Service::kProduction;
};

// Topics lists the topics clients writes; Events lists the events it emits (the registry
// walks both).
using Topics = std::tuple<ClientTopic, CaseTopic, FollowUpTopic, PersonTopic>;
using Events =
    std::tuple<ClientRegistered, ClientUpdated, ClientVerified, ClientArchived, ClientRestored,
               ClientOwnerChanged, ClientsMerged, ClientPersonalDataErased, CaseOpened,
               CaseAssigned, CaseStarted, CaseResolved, CaseClosed, CaseReopened, CaseBreached,
               FollowUpScheduled, FollowUpDue, FollowUpCompleted, PersonOffboarded>;

}  // namespace triad::contracts::clients

#endif  // TRIAD_COMMON_CONTRACTS_CLIENTS_H_
