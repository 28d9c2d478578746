// triad-review: the expert review service process (experts, review requests and their
// assignment, verdicts, milestone sign-offs, load view). Declares the service for RunService:
// the Reviews domain on the shared runtime, its consumer and the periodic leave scan.

#include <memory>

#include "absl/flags/flag.h"
#include "common/config/logging.h"
#include "common/server/service_main.h"
#include "services/review/grpc_service.h"
#include "services/review/review.h"

ABSL_FLAG(absl::Duration, leave_scan_interval, absl::Minutes(15),
          "How often the open work of experts whose leave has started is re-assigned (and the "
          "queue served); a duration such as 15m; 0 disables the scan.");
ABSL_FLAG(absl::Duration, escalation_scan_interval, absl::Minutes(5),
          "How often undecided requests whose SLA passed are escalated again (the due time, then "
          "--escalation_sla after each escalation); 0 disables the scan.");
ABSL_FLAG(absl::Duration, escalation_sla, absl::Hours(24),
          "After an escalation, how long a request may stay undecided before it escalates again.");

namespace triad::review {
namespace {

// Process is what the review process keeps alive: the domain and its gRPC adapter.
struct Process {
  Process(std::unique_ptr<Reviews> r, auth::CallSecurity security)
      : reviews(std::move(r)), service(reviews.get(), std::move(security)) {}
  std::unique_ptr<Reviews> reviews;
  ReviewGrpcService service;
};

absl::StatusOr<std::shared_ptr<void>> Wire(server::ServiceRuntime& rt) {
  ReviewOptions options;
  options.consumer_group = rt.consumer_group();
  options.escalation_sla = absl::GetFlag(FLAGS_escalation_sla);
  absl::StatusOr<std::unique_ptr<Reviews>> reviews =
      Reviews::Create(&rt.store(), &rt.outbox(), options);
  if (!reviews.ok()) return reviews.status();
  // Review records are not owned by salespeople: no ResourceAccess, the role table only.
  auto process = std::make_shared<Process>(std::move(*reviews), rt.call_security());
  Reviews* domain = process->reviews.get();

  events::ConsumerOptions consumer;
  consumer.group_id = options.consumer_group;
  consumer.topics = Reviews::ConsumedTopics();
  consumer.apply_mutex = &domain->mutex();
  domain->RegisterHandlers(rt.AddConsumer(std::move(consumer)));
  rt.host().AddService(&process->service, kServiceFullName);

  rt.AddPeriodicTask("leave scan", absl::GetFlag(FLAGS_leave_scan_interval), [domain] {
    absl::StatusOr<int> moved = domain->ScanLeave();
    if (!moved.ok()) {
      logging::Warn("leave scan failed", {{"error", moved.status()}});
    } else if (*moved > 0) {
      logging::Info("work of experts on leave re-assigned", {{"count", *moved}});
    }
  });
  rt.AddPeriodicTask("escalation scan", absl::GetFlag(FLAGS_escalation_scan_interval), [domain] {
    absl::StatusOr<int> escalated = domain->ScanEscalations();
    if (!escalated.ok()) {
      logging::Warn("escalation scan failed", {{"error", escalated.status()}});
    } else if (*escalated > 0) {
      logging::Info("requests escalated past their SLA", {{"count", *escalated}});
    }
  });
  return std::shared_ptr<void>(std::move(process));
}

}  // namespace
}  // namespace triad::review

int main(int argc, char** argv) {
  triad::server::ServiceSpec spec;
  spec.name = "review";
  spec.usage = "triad-review: expert review service (gRPC API triad.review.v1.ReviewService)";
  spec.column_families = triad::review::ColumnFamilies();
  spec.topics = triad::review::Reviews::Topics();
  spec.wire = triad::review::Wire;
  return triad::server::RunService(argc, argv, spec);
}
