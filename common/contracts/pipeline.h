// The event contracts of the pipeline service (signals, leads, opportunities): each topic it writes
// and each event it emits, declared once (see contract.h for the shape of the declarations).
// Payloads are in proto/triad/pipeline/v1/events.proto.
#ifndef TRIAD_COMMON_CONTRACTS_PIPELINE_H_
#define TRIAD_COMMON_CONTRACTS_PIPELINE_H_

#include <string_view>
#include <tuple>

#include "common/contracts/contract.h"
#include "triad/pipeline/v1/events.pb.h"

namespace triad::contracts::pipeline {

// triad.pipeline.signal: market-demand signals; key = signal id.
struct SignalTopic {
  static constexpr Service kProducer = Service::kPipeline;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "signal";
  static constexpr std::string_view kName = "triad.pipeline.signal";
  static constexpr std::string_view kKey = "signal id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.pipeline.signal.recorded.v1: a market-demand signal entered the funnel.
struct SignalRecorded {
  using Message = ::triad::pipeline::v1::SignalRecorded;
  using Topic = SignalTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "recorded";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.signal.recorded.v1";
  static constexpr std::string_view kSummary = "a market-demand signal entered the funnel";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.lead: the lifecycle of leads; key = lead id.
struct LeadTopic {
  static constexpr Service kProducer = Service::kPipeline;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "lead";
  static constexpr std::string_view kName = "triad.pipeline.lead";
  static constexpr std::string_view kKey = "lead id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.pipeline.lead.created.v1: a lead was entered (from a signal or directly).
struct LeadCreated {
  using Message = ::triad::pipeline::v1::LeadCreated;
  using Topic = LeadTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "created";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.lead.created.v1";
  static constexpr std::string_view kSummary = "a lead was entered (from a signal or directly)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.lead.qualified.v1: a lead was qualified.
struct LeadQualified {
  using Message = ::triad::pipeline::v1::LeadQualified;
  using Topic = LeadTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "qualified";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.lead.qualified.v1";
  static constexpr std::string_view kSummary = "a lead was qualified";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.lead.disqualified.v1: a lead was disqualified.
struct LeadDisqualified {
  using Message = ::triad::pipeline::v1::LeadDisqualified;
  using Topic = LeadTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "disqualified";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.lead.disqualified.v1";
  static constexpr std::string_view kSummary = "a lead was disqualified";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.opportunity: the lifecycle of opportunities (deals) through the playbook stages;
// key = opportunity id.
struct OpportunityTopic {
  static constexpr Service kProducer = Service::kPipeline;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "opportunity";
  static constexpr std::string_view kName = "triad.pipeline.opportunity";
  static constexpr std::string_view kKey = "opportunity id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.pipeline.opportunity.created.v1: an opportunity was created on a known client.
struct OpportunityCreated {
  using Message = ::triad::pipeline::v1::OpportunityCreated;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "created";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.created.v1";
  static constexpr std::string_view kSummary = "an opportunity was created on a known client";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.opportunity.stage_changed.v1: an opportunity moved to another stage.
struct OpportunityStageChanged {
  using Message = ::triad::pipeline::v1::OpportunityStageChanged;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "stage_changed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.stage_changed.v1";
  static constexpr std::string_view kSummary = "an opportunity moved to another stage";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.opportunity.checkpoint_completed.v1: a checkpoint of the current stage was
// completed.
struct CheckpointCompleted {
  using Message = ::triad::pipeline::v1::CheckpointCompleted;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "checkpoint_completed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.checkpoint_completed.v1";
  static constexpr std::string_view kSummary = "a checkpoint of the current stage was completed";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.opportunity.review_requested.v1: a stage gate asks for an expert review.
struct ReviewRequested {
  using Message = ::triad::pipeline::v1::ReviewRequested;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "review_requested";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.review_requested.v1";
  static constexpr std::string_view kSummary = "a stage gate asks for an expert review";
  static constexpr ServiceSet kConsumers = Service::kReview;
};

// triad.pipeline.opportunity.feasibility_requested.v1: a stage gate asks production whether it can
// deliver.
struct FeasibilityRequested {
  using Message = ::triad::pipeline::v1::FeasibilityRequested;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "feasibility_requested";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.feasibility_requested.v1";
  static constexpr std::string_view kSummary =
      "a stage gate asks production whether it can deliver";
  static constexpr ServiceSet kConsumers = Service::kProduction;
};

// triad.pipeline.opportunity.won.v1: the deal was won.
struct OpportunityWon {
  using Message = ::triad::pipeline::v1::OpportunityWon;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "won";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.won.v1";
  static constexpr std::string_view kSummary = "the deal was won";
  static constexpr ServiceSet kConsumers = ServiceSet{} | Service::kClients | Service::kProduction;
};

// triad.pipeline.opportunity.lost.v1: the deal was lost (with the reason).
struct OpportunityLost {
  using Message = ::triad::pipeline::v1::OpportunityLost;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "lost";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.lost.v1";
  static constexpr std::string_view kSummary = "the deal was lost (with the reason)";
  static constexpr ServiceSet kConsumers = Service::kClients;
};

// triad.pipeline.opportunity.owner_changed.v1: the deal owner changed.
struct OpportunityOwnerChanged {
  using Message = ::triad::pipeline::v1::OpportunityOwnerChanged;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "owner_changed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.owner_changed.v1";
  static constexpr std::string_view kSummary = "the deal owner changed";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.opportunity.stale.v1: an open deal stayed in its stage past the maximum days (once
// per stage entry).
struct OpportunityStale {
  using Message = ::triad::pipeline::v1::OpportunityStale;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "stale";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.stale.v1";
  static constexpr std::string_view kSummary =
      "an open deal stayed in its stage past the maximum days (once per stage entry)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.opportunity.client_remapped.v1: the deal moved to the surviving client of a merge.
struct OpportunityClientRemapped {
  using Message = ::triad::pipeline::v1::OpportunityClientRemapped;
  using Topic = OpportunityTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "client_remapped";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.opportunity.client_remapped.v1";
  static constexpr std::string_view kSummary = "the deal moved to the surviving client of a merge";
  static constexpr ServiceSet kConsumers = {};
};

// triad.pipeline.person: pipeline's part of offboarding people; key = person id.
struct PersonTopic {
  static constexpr Service kProducer = Service::kPipeline;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "person";
  static constexpr std::string_view kName = "triad.pipeline.person";
  static constexpr std::string_view kKey = "person id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.pipeline.person.offboarding_progressed.v1: pipeline moved (part of) what an offboarded
// person held there (one report per chunk).
struct PersonOffboardingProgressed {
  using Message = ::triad::pipeline::v1::PersonOffboardingProgressed;
  using Topic = PersonTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "offboarding_progressed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.pipeline.person.offboarding_progressed.v1";
  static constexpr std::string_view kSummary =
      "pipeline moved (part of) what an offboarded person held there (one report per chunk)";
  static constexpr ServiceSet kConsumers = Service::kClients;
};

// Topics lists the topics pipeline writes; Events lists the events it emits (the registry
// walks both).
using Topics = std::tuple<SignalTopic, LeadTopic, OpportunityTopic, PersonTopic>;
using Events =
    std::tuple<SignalRecorded, LeadCreated, LeadQualified, LeadDisqualified, OpportunityCreated,
               OpportunityStageChanged, CheckpointCompleted, ReviewRequested, FeasibilityRequested,
               OpportunityWon, OpportunityLost, OpportunityOwnerChanged, OpportunityStale,
               OpportunityClientRemapped, PersonOffboardingProgressed>;

}  // namespace triad::contracts::pipeline

#endif  // TRIAD_COMMON_CONTRACTS_PIPELINE_H_
