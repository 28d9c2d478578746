// The API view of an opportunity's history: responses carry only the latest entries (the
// history grows with every change of a long-running deal), ListOpportunityHistory pages through
// all of them.
#ifndef TRIAD_SERVICES_PIPELINE_OPPORTUNITY_HISTORY_H_
#define TRIAD_SERVICES_PIPELINE_OPPORTUNITY_HISTORY_H_

#include "google/protobuf/message.h"
#include "triad/pipeline/v1/pipeline_service.pb.h"

namespace triad::pipeline {

// The number of history entries an opportunity carries in API responses.
inline constexpr int kHistoryInResponse = 20;

// PresentForApi trims an opportunity's history to the latest kHistoryInResponse entries and
// sets history_total; the overloads apply it to every opportunity a response holds. Other
// responses are left as they are.
void PresentForApi(v1::Opportunity* opp);
void PresentForApi(v1::ListOpportunitiesResponse* resp);
inline void PresentForApi(google::protobuf::Message*) {}

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_OPPORTUNITY_HISTORY_H_
