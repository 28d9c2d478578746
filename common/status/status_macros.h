// Status propagation helpers for code returning absl::Status / absl::StatusOr<T>.
#ifndef TRIAD_COMMON_STATUS_STATUS_MACROS_H_
#define TRIAD_COMMON_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// RETURN_IF_ERROR returns the status of `expr` from the current function when it is not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status triad_status_ = (expr);         \
    if (!triad_status_.ok()) return triad_status_; \
  } while (0)

#define TRIAD_STATUS_CONCAT_INNER_(a, b) a##b
#define TRIAD_STATUS_CONCAT_(a, b) TRIAD_STATUS_CONCAT_INNER_(a, b)

// ASSIGN_OR_RETURN(lhs, expr) evaluates the StatusOr `expr`; on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration, e.g. `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  TRIAD_ASSIGN_OR_RETURN_IMPL_(TRIAD_STATUS_CONCAT_(triad_statusor_, __LINE__), lhs, expr)

#define TRIAD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)  \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TRIAD_COMMON_STATUS_STATUS_MACROS_H_
