// The single mapping from absl::Status (domain code) to grpc::Status (the wire).
#ifndef TRIAD_COMMON_STATUS_GRPC_STATUS_H_
#define TRIAD_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triad {

// ToGrpcStatus converts a domain status to a gRPC status with the same canonical code and
// message. Abseil's and gRPC's canonical codes share their numbers; unknown codes become UNKNOWN.
grpc::Status ToGrpcStatus(const absl::Status& status);

// FromGrpcStatus converts a gRPC status (e.g. from a client call) back to an absl::Status.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Reply moves a domain result into the gRPC response, or maps its error with ToGrpcStatus:
// the whole body of a typical gRPC adapter method.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace triad

#endif  // TRIAD_COMMON_STATUS_GRPC_STATUS_H_
