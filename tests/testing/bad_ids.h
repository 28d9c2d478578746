// BadIdFindings: calls every method of a gRPC service over a channel with each id field of its
// request (fields named as api::IsIdFieldName says, recursively through nested messages) set to
// a value with a control character, and reports every method that does not answer
// INVALID_ARGUMENT naming one of those fields. Header-only; used by the services' gRPC tests.
#ifndef TRIAD_TESTS_TESTING_BAD_IDS_H_
#define TRIAD_TESTS_TESTING_BAD_IDS_H_

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/rpc_method.h"

namespace triad::testing {

// SetBadIds sets every id field of `m` (and of nested messages, up to `depth` levels) to `bad`
// and adds the paths it set to `paths`.
inline void SetBadIds(google::protobuf::Message& m, const std::string& bad,
                      const std::string& prefix, int depth, std::set<std::string>& paths) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (f->type() == FieldDescriptor::TYPE_STRING && api::IsIdFieldName(f->name())) {
      if (f->is_repeated()) {
        r->AddString(&m, f, bad);
        paths.insert(absl::StrCat(path, "[0]"));
      } else {
        r->SetString(&m, f, bad);
        paths.insert(path);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map() && depth > 0 &&
               f->message_type()->file()->package().rfind("google.protobuf", 0) != 0) {
      google::protobuf::Message* sub =
          f->is_repeated() ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
      SetBadIds(*sub, bad, f->is_repeated() ? absl::StrCat(path, "[0]") : path, depth - 1, paths);
    }
  }
}

// BadIdFindings returns one line per method of `service` that answered anything but
// INVALID_ARGUMENT "<one of the id paths>: contains a control character"; `methods_called`
// counts the methods called.
inline std::vector<std::string> BadIdFindings(const google::protobuf::ServiceDescriptor& service,
                                              const std::shared_ptr<grpc::Channel>& channel,
                                              int* methods_called) {
  std::vector<std::string> findings;
  *methods_called = 0;
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor* method = service.method(i);
    std::unique_ptr<google::protobuf::Message> req(
        factory->GetPrototype(method->input_type())->New());
    std::unique_ptr<google::protobuf::Message> resp(
        factory->GetPrototype(method->output_type())->New());
    std::set<std::string> paths;
    SetBadIds(*req, "bad\x01id", "", 3, paths);
    if (paths.empty()) continue;  // no id field to check
    const std::string name = absl::StrCat("/", service.full_name(), "/", method->name());
    grpc::internal::RpcMethod rpc(name.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s =
        grpc::internal::BlockingUnaryCall<google::protobuf::Message, google::protobuf::Message>(
            channel.get(), rpc, &ctx, *req, resp.get());
    ++*methods_called;
    const std::string& msg = s.error_message();
    const std::string field = msg.substr(0, msg.find(": "));
    if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT ||
        msg.find(": contains a control character") == std::string::npos || !paths.count(field)) {
      findings.push_back(absl::StrCat(method->name(), ": code ", s.error_code(), " \"", msg, "\""));
    }
  }
  return findings;
}

}  // namespace triad::testing

#endif  // TRIAD_TESTS_TESTING_BAD_IDS_H_
