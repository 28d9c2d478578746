// ResourceAccess: a service's ownership rules, which the request guard applies after
// authentication and the role check (a role may call a method; ownership decides on which
// records). Services whose records are not owned by salespeople (review, production) have none.
#ifndef TRIAD_COMMON_AUTH_ACCESS_H_
#define TRIAD_COMMON_AUTH_ACCESS_H_

#include <string_view>

#include "absl/status/status.h"
#include "common/auth/principal.h"
#include "google/protobuf/message.h"

namespace triad::auth {

class ResourceAccess {
 public:
  virtual ~ResourceAccess() = default;

  // CheckRequest returns OK when `principal` may make the call `method` (the RPC's short name,
  // e.g. "GetClient") with `request` on the records it addresses, PERMISSION_DENIED naming the
  // record (or the list scope) otherwise, or another error (e.g. UNAVAILABLE) when it cannot
  // tell. A record that does not exist is OK here: the domain answers NOT_FOUND.
  virtual absl::Status CheckRequest(const Principal& principal, std::string_view method,
                                    const google::protobuf::Message& request) = 0;

  // FilterResponse removes or redacts from a successful `response` what `principal` may not
  // see (e.g. duplicate candidates owned by another team). The default keeps everything.
  virtual void FilterResponse(const Principal& principal, std::string_view method,
                              google::protobuf::Message* response) {
    (void)principal;
    (void)method;
    (void)response;
  }
};

}  // namespace triad::auth

#endif  // TRIAD_COMMON_AUTH_ACCESS_H_
