// The role tables of the pipeline service's gRPC APIs (method short name -> roles; default
// deny), which its adapters' request guards apply.
#ifndef TRIAD_SERVICES_PIPELINE_ACCESS_POLICY_H_
#define TRIAD_SERVICES_PIPELINE_ACCESS_POLICY_H_

#include "common/auth/policy.h"

namespace triad::pipeline {

// PipelineServicePolicy is the role table of triad.pipeline.v1.PipelineService: salespeople work
// their own and their team's leads and deals (ownership: PipelineAccess), sales managers also
// reassign and change playbooks, experts read deals, product heads and production managers read
// all.
const auth::Policy& PipelineServicePolicy();

// PipelineAdminPolicy is the role table of triad.pipeline.v1.PipelineAdminService: operators only.
const auth::Policy& PipelineAdminPolicy();

}  // namespace triad::pipeline

#endif  // TRIAD_SERVICES_PIPELINE_ACCESS_POLICY_H_
