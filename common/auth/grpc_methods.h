// Macros shared by the services' gRPC adapters (services/<svc>/grpc_service.h), which list their
// RPCs as X-macros X(Method, Request, Response, ...): writes answered on gRPC's sync API, reads
// inline on its callback API (auth::FinishInline in common/auth/guard.h).
//
// TRIAD_GRPC_SERVICE must name the generated service class (e.g. v1::ClientsService) where
// TRIAD_INLINE_READ_BASE_OPEN is expanded:
//
//   #define TRIAD_GRPC_SERVICE v1::ClientsService
//   using Base = TRIAD_CLIENTS_READS(TRIAD_INLINE_READ_BASE_OPEN) v1::ClientsService::Service
//       TRIAD_CLIENTS_READS(TRIAD_INLINE_READ_BASE_CLOSE);
//   #undef TRIAD_GRPC_SERVICE
//
// gives the generated service with each listed read switched to the callback API; inside the
// adapter class, TRIAD_SYNC_WRITE_DECLARE and TRIAD_INLINE_READ_DECLARE declare the overrides.
// Request and response types are looked up in the adapter's namespace `v1`.
#ifndef TRIAD_COMMON_AUTH_GRPC_METHODS_H_
#define TRIAD_COMMON_AUTH_GRPC_METHODS_H_

#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

#define TRIAD_INLINE_READ_BASE_OPEN(Method, ...) TRIAD_GRPC_SERVICE::WithCallbackMethod_##Method <
#define TRIAD_INLINE_READ_BASE_CLOSE(...) >

#define TRIAD_SYNC_WRITE_DECLARE(Method, Request, Response, ...)                            \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Request* req, v1::Response* resp) \
      override;

#define TRIAD_INLINE_READ_DECLARE(Method, Request, Response, ...)                            \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const v1::Request* req, \
                                   v1::Response* resp) override;

#endif  // TRIAD_COMMON_AUTH_GRPC_METHODS_H_
