// Lease: one running instance per data role. A service owns its data; two instances of the
// same service with separate stores would silently split it (each applying half the events,
// each answering from half the state). The lease is the single partition of the topic
// triad.<service>.lease, held by a member of the consumer group "<group>.lease" with the
// cooperative-sticky assignor: the first instance holds it, a second one is never assigned it
// and refuses to run.
#ifndef TRIAD_COMMON_EVENTS_LEASE_H_
#define TRIAD_COMMON_EVENTS_LEASE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/events/kafka.h"

namespace triad::events {

class Lease {
 public:
  // LeaseTopic is the lease topic of `service` (created with one partition).
  static std::string LeaseTopic(std::string_view service);

  Lease(KafkaConfig kafka, std::string group, std::string topic);
  ~Lease();

  // Acquire joins the lease group and waits up to `wait` for the lease partition (an instance
  // killed without leaving holds it until its session times out, so `wait` should exceed the
  // session timeout). FAILED_PRECONDITION when another instance holds it; CANCELLED when
  // `cancelled` becomes true first. While held, `on_lost` runs (once, on the lease thread) if
  // the lease is lost for longer than `wait`.
  absl::Status Acquire(absl::Duration wait, const std::function<bool()>& cancelled,
                       std::function<void()> on_lost);

  // Held is true while this instance holds the lease.
  bool Held() const { return held_.load(); }

  // Release leaves the group (another instance may then take the lease).
  void Release();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> held_{false};
};

}  // namespace triad::events

#endif  // TRIAD_COMMON_EVENTS_LEASE_H_
