// The event contracts of the production service (feasibility, projects, schedule): each topic it
// writes and each event it emits, declared once (see contract.h for the shape of the declarations).
// Payloads are in proto/triad/production/v1/events.proto.
#ifndef TRIAD_COMMON_CONTRACTS_PRODUCTION_H_
#define TRIAD_COMMON_CONTRACTS_PRODUCTION_H_

#include <string_view>
#include <tuple>

#include "common/contracts/contract.h"
#include "triad/production/v1/events.pb.h"

namespace triad::contracts::production {

// triad.production.feasibility: answers to feasibility requests; key = opportunity id.
struct FeasibilityTopic {
  static constexpr Service kProducer = Service::kProduction;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "feasibility";
  static constexpr std::string_view kName = "triad.production.feasibility";
  static constexpr std::string_view kKey = "opportunity id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.production.feasibility.answered.v1: production answered whether (and by when) it can
// deliver.
struct FeasibilityAnswered {
  using Message = ::triad::production::v1::FeasibilityAnswered;
  using Topic = FeasibilityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "answered";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.feasibility.answered.v1";
  static constexpr std::string_view kSummary =
      "production answered whether (and by when) it can deliver";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.production.project: the lifecycle and schedule of production projects; key = project id.
struct ProjectTopic {
  static constexpr Service kProducer = Service::kProduction;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "project";
  static constexpr std::string_view kName = "triad.production.project";
  static constexpr std::string_view kKey = "project id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.production.project.created.v1: a won opportunity became a project with its phases.
struct ProjectCreated {
  using Message = ::triad::production::v1::ProjectCreated;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "created";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.created.v1";
  static constexpr std::string_view kSummary = "a won opportunity became a project with its phases";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.scheduled.v1: the project was first scheduled against resource capacity.
struct ProjectScheduled {
  using Message = ::triad::production::v1::ProjectScheduled;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "scheduled";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.scheduled.v1";
  static constexpr std::string_view kSummary =
      "the project was first scheduled against resource capacity";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.rescheduled.v1: the schedule changed.
struct ProjectRescheduled {
  using Message = ::triad::production::v1::ProjectRescheduled;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "rescheduled";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.rescheduled.v1";
  static constexpr std::string_view kSummary = "the schedule changed";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.phase_started.v1: a phase started.
struct PhaseStarted {
  using Message = ::triad::production::v1::PhaseStarted;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "phase_started";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.phase_started.v1";
  static constexpr std::string_view kSummary = "a phase started";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.phase_completed.v1: a phase was completed.
struct PhaseCompleted {
  using Message = ::triad::production::v1::PhaseCompleted;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "phase_completed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.phase_completed.v1";
  static constexpr std::string_view kSummary = "a phase was completed";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.sign_off_requested.v1: a key milestone asks for an expert sign-off.
struct SignOffRequested {
  using Message = ::triad::production::v1::SignOffRequested;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "sign_off_requested";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.sign_off_requested.v1";
  static constexpr std::string_view kSummary = "a key milestone asks for an expert sign-off";
  static constexpr ServiceSet kConsumers = Service::kReview;
};

// triad.production.project.at_risk.v1: the planned end passed the contract due date.
struct ProjectAtRisk {
  using Message = ::triad::production::v1::ProjectAtRisk;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "at_risk";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.at_risk.v1";
  static constexpr std::string_view kSummary = "the planned end passed the contract due date";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.back_on_track.v1: the planned end is again within the due date.
struct ProjectBackOnTrack {
  using Message = ::triad::production::v1::ProjectBackOnTrack;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "back_on_track";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.back_on_track.v1";
  static constexpr std::string_view kSummary = "the planned end is again within the due date";
  static constexpr ServiceSet kConsumers = {};
};

// triad.production.project.completed.v1: the project was delivered.
struct ProjectCompleted {
  using Message = ::triad::production::v1::ProjectCompleted;
  using Topic = ProjectTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "completed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.project.completed.v1";
  static constexpr std::string_view kSummary = "the project was delivered";
  static constexpr ServiceSet kConsumers = Service::kClients;
};

// triad.production.person: production's part of offboarding people; key = person id.
struct PersonTopic {
  static constexpr Service kProducer = Service::kProduction;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "person";
  static constexpr std::string_view kName = "triad.production.person";
  static constexpr std::string_view kKey = "person id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.production.person.offboarding_progressed.v1: production moved (part of) what an offboarded
// person held there.
struct PersonOffboardingProgressed {
  using Message = ::triad::production::v1::PersonOffboardingProgressed;
  using Topic = PersonTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "offboarding_progressed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.production.person.offboarding_progressed.v1";
  static constexpr std::string_view kSummary =
      "production moved (part of) what an offboarded person held there";
  static constexpr ServiceSet kConsumers = Service::kClients;
};

// Topics lists the topics production writes; Events lists the events it emits (the registry
// walks both).
using Topics = std::tuple<FeasibilityTopic, ProjectTopic, PersonTopic>;
using Events = std::tuple<FeasibilityAnswered, ProjectCreated, ProjectScheduled, ProjectRescheduled,
                          PhaseStarted, PhaseCompleted, SignOffRequested, ProjectAtRisk,
                          ProjectBackOnTrack, ProjectCompleted, PersonOffboardingProgressed>;

}  // namespace triad::contracts::production

#endif  // TRIAD_COMMON_CONTRACTS_PRODUCTION_H_
