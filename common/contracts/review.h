// The event contracts of the review service (expert reviews, sign-offs, knowledge base): each topic
// it writes and each event it emits, declared once (see contract.h for the shape of the
// declarations). Payloads are in proto/triad/review/v1/events.proto.
#ifndef TRIAD_COMMON_CONTRACTS_REVIEW_H_
#define TRIAD_COMMON_CONTRACTS_REVIEW_H_

#include <string_view>
#include <tuple>

#include "common/contracts/contract.h"
#include "triad/review/v1/events.pb.h"

namespace triad::contracts::review {

// triad.review.request: the lifecycle of review requests (opportunity gates and milestone sign-
// offs); key = review request id.
struct RequestTopic {
  static constexpr Service kProducer = Service::kReview;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "request";
  static constexpr std::string_view kName = "triad.review.request";
  static constexpr std::string_view kKey = "review request id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.review.request.created.v1: a review request entered the queue.
struct ReviewRequestCreated {
  using Message = ::triad::review::v1::ReviewRequestCreated;
  using Topic = RequestTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "created";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.request.created.v1";
  static constexpr std::string_view kSummary = "a review request entered the queue";
  static constexpr ServiceSet kConsumers = {};
};

// triad.review.request.assigned.v1: an expert with free capacity took the request.
struct ReviewRequestAssigned {
  using Message = ::triad::review::v1::ReviewRequestAssigned;
  using Topic = RequestTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "assigned";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.request.assigned.v1";
  static constexpr std::string_view kSummary = "an expert with free capacity took the request";
  static constexpr ServiceSet kConsumers = {};
};

// triad.review.request.reassigned.v1: the request moved to another expert (or back to the queue).
struct ReviewRequestReassigned {
  using Message = ::triad::review::v1::ReviewRequestReassigned;
  using Topic = RequestTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "reassigned";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.request.reassigned.v1";
  static constexpr std::string_view kSummary =
      "the request moved to another expert (or back to the queue)";
  static constexpr ServiceSet kConsumers = {};
};

// triad.review.request.escalated.v1: no expert of the domain was free; the request waits.
struct ReviewRequestEscalated {
  using Message = ::triad::review::v1::ReviewRequestEscalated;
  using Topic = RequestTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "escalated";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.request.escalated.v1";
  static constexpr std::string_view kSummary =
      "no expert of the domain was free; the request waits";
  static constexpr ServiceSet kConsumers = {};
};

// triad.review.request.verdict_recorded.v1: the expert recorded a verdict (approved, revise,
// rejected).
struct ReviewVerdictRecorded {
  using Message = ::triad::review::v1::ReviewVerdictRecorded;
  using Topic = RequestTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "verdict_recorded";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.request.verdict_recorded.v1";
  static constexpr std::string_view kSummary =
      "the expert recorded a verdict (approved, revise, rejected)";
  static constexpr ServiceSet kConsumers = Service::kPipeline;
};

// triad.review.request.sign_off_completed.v1: the expert sign-off of a production milestone was
// given or refused.
struct SignOffCompleted {
  using Message = ::triad::review::v1::SignOffCompleted;
  using Topic = RequestTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "sign_off_completed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.request.sign_off_completed.v1";
  static constexpr std::string_view kSummary =
      "the expert sign-off of a production milestone was given or refused";
  static constexpr ServiceSet kConsumers = Service::kProduction;
};

// triad.review.solution: the knowledge base of solutions; key = solution id.
struct SolutionTopic {
  static constexpr Service kProducer = Service::kReview;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "solution";
  static constexpr std::string_view kName = "triad.review.solution";
  static constexpr std::string_view kKey = "solution id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.review.solution.published.v1: a solution entered the knowledge base.
struct SolutionPublished {
  using Message = ::triad::review::v1::SolutionPublished;
  using Topic = SolutionTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "published";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.solution.published.v1";
  static constexpr std::string_view kSummary = "a solution entered the knowledge base";
  static constexpr ServiceSet kConsumers = {};
};

// triad.review.person: review's part of offboarding people; key = person id.
struct PersonTopic {
  static constexpr Service kProducer = Service::kReview;
  static constexpr std::string_view kService = ServiceName(kProducer);
  static constexpr std::string_view kAggregate = "person";
  static constexpr std::string_view kName = "triad.review.person";
  static constexpr std::string_view kKey = "person id";
  static constexpr Retention kRetention = Retention::kForever;
};

// triad.review.person.offboarding_progressed.v1: review moved (part of) what an offboarded person
// held there.
struct PersonOffboardingProgressed {
  using Message = ::triad::review::v1::PersonOffboardingProgressed;
  using Topic = PersonTopic;
  static constexpr std::string_view kTopic = Topic::kName;
  static constexpr std::string_view kEvent = "offboarding_progressed";
  static constexpr int kVersion = 1;
  static constexpr std::string_view kType = "triad.review.person.offboarding_progressed.v1";
  static constexpr std::string_view kSummary =
      "review moved (part of) what an offboarded person held there";
  static constexpr ServiceSet kConsumers = Service::kClients;
};

// Topics lists the topics review writes; Events lists the events it emits (the registry
// walks both).
using Topics = std::tuple<RequestTopic, SolutionTopic, PersonTopic>;
using Events = std::tuple<ReviewRequestCreated, ReviewRequestAssigned, ReviewRequestReassigned,
                          ReviewRequestEscalated, ReviewVerdictRecorded, SignOffCompleted,
                          SolutionPublished, PersonOffboardingProgressed>;

}  // namespace triad::contracts::review

#endif  // TRIAD_COMMON_CONTRACTS_REVIEW_H_
