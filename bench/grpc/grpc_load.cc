// grpc_load: the load generator of the gRPC-limit benchmark (bench/grpc/bench_grpc.py). It sends
// unary calls to any method of Triad's services or of the hello baseline through one channel,
// keeping --concurrency calls in flight (or starting them at --rps), and prints a JSON summary
// in the shape of ghz's (`rps`, `count`, `latencyDistribution` in ns, `statusCodeDistribution`,
// `errorDistribution`), so both sides of a comparison are driven by the same tool.
//
//   grpc_load --call=pkg.Service/Method --target=127.0.0.1:PORT [--data_file=F | --data=JSON]
//             [--metadata=JSON] [--concurrency=16] [--count=N | --duration=4s] [--rps=R]
//
// Why not only ghz: ghz decodes every answer into a dynamic message, and on a two-core box that
// decoding competes with the server measured; a call whose answer is large (a page of 50
// clients, a funnel report) then measures the load tool's decoder as much as the server. This
// tool sends requests encoded once through gRPC's generic API (a request holding a template is
// parsed once too: each call copies that message and fills in its placeholders, no JSON per
// call) and keeps each answer's bytes undecoded: it checks the status, not the content.
//
// Requests come from JSON (protobuf's JSON mapping) of the method's input type, found in the
// descriptors linked into this binary (every proto of proto/ and the hello baseline's). A data
// file holds one request or an array used round-robin. In a string, `{{newUUID}}` becomes a new
// random UUID and `{{.RequestNumber}}` the call's number (from 0), as in ghz's templates.
// Calls in flight when --duration ends are waited for and counted (ghz's --duration-stop=wait).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, call, "", "Method to call: package.Service/Method.");
ABSL_FLAG(std::string, target, "", "host:port of the server (plaintext).");
ABSL_FLAG(std::string, data, "", "One request, or an array of requests, as JSON.");
ABSL_FLAG(std::string, data_file, "", "File holding --data (for arrays too long for a flag).");
ABSL_FLAG(std::string, metadata, "", "JSON object of metadata sent with every call.");
ABSL_FLAG(int32_t, concurrency, 16, "Calls kept in flight.");
ABSL_FLAG(int64_t, count, 0, "Number of calls to make (0: run for --duration).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(4), "How long to start calls for.");
ABSL_FLAG(double, rps, 0, "Calls started per second (0: as fast as answers come back).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Deadline of each call.");

namespace {

namespace pb = google::protobuf;

constexpr char kUuid[] = "{{newUUID}}";
constexpr char kNumber[] = "{{.RequestNumber}}";

// TemplateField is a string field of a templated request whose value holds a placeholder: the
// path of singular message fields down to it, the field itself and, when it is repeated, the
// element's index.
struct TemplateField {
  std::vector<const pb::FieldDescriptor*> path;
  const pb::FieldDescriptor* field = nullptr;
  int index = -1;
  std::string value;
};

// Request is one element of the data: its bytes when fixed; when it holds a template, the
// message parsed once with the placeholders left in its strings and the fields that hold them
// (filled in per call), or its JSON when a placeholder is outside a string field of a message
// reachable through singular fields (then it is parsed per call).
struct Request {
  std::string bytes;
  bool templated = false;
  std::unique_ptr<pb::Message> prototype;
  std::vector<TemplateField> fields;
  std::string json_template;
};

std::string NewUuid(absl::BitGen& gen) {
  const uint64_t hi = absl::Uniform<uint64_t>(gen);
  const uint64_t lo = absl::Uniform<uint64_t>(gen);
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xfff,
                         0x8000 | (lo >> 48 & 0x3fff), lo & 0xffffffffffffULL);
}

// Encode turns one request's JSON into the input type's wire bytes.
bool Encode(const pb::Descriptor* input, const std::string& json, std::string* out,
            std::string* error) {
  std::unique_ptr<pb::Message> msg(
      pb::MessageFactory::generated_factory()->GetPrototype(input)->New());
  pb::util::JsonParseOptions options;
  const auto status = pb::util::JsonStringToMessage(json, msg.get(), options);
  if (!status.ok()) {
    *error =
        absl::StrCat("request ", json, " is not a ", input->full_name(), ": ", status.ToString());
    return false;
  }
  return msg->SerializeToString(out);
}

bool HasPlaceholder(std::string_view s) {
  return s.find(kUuid) != std::string_view::npos || s.find(kNumber) != std::string_view::npos;
}

// FindTemplateFields adds the string fields of `msg` (and of the messages under it) whose value
// holds a placeholder to `out`. Returns false when a placeholder sits where a per-call copy of
// the message cannot reach it by path (inside a repeated or map message field).
bool FindTemplateFields(const pb::Message& msg, std::vector<const pb::FieldDescriptor*>& path,
                        std::vector<TemplateField>& out) {
  const pb::Reflection* refl = msg.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  refl->ListFields(msg, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      const int n = f->is_repeated() ? refl->FieldSize(msg, f) : 1;
      for (int i = 0; i < n; ++i) {
        std::string v =
            f->is_repeated() ? refl->GetRepeatedString(msg, f, i) : refl->GetString(msg, f);
        if (HasPlaceholder(v)) {
          out.push_back({path, f, f->is_repeated() ? i : -1, std::move(v)});
        }
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(msg, f); ++i) {
          std::vector<TemplateField> inner;
          std::vector<const pb::FieldDescriptor*> none;
          if (!FindTemplateFields(refl->GetRepeatedMessage(msg, f, i), none, inner) ||
              !inner.empty()) {
            return false;
          }
        }
      } else {
        path.push_back(f);
        const bool ok = FindTemplateFields(refl->GetMessage(msg, f), path, out);
        path.pop_back();
        if (!ok) return false;
      }
    }
  }
  return true;
}

// Render fills a template value: the call's number and a new UUID per `{{newUUID}}`.
std::string Render(std::string_view value, int64_t number, absl::BitGen& gen) {
  std::string out = absl::StrReplaceAll(std::string(value), {{kNumber, absl::StrCat(number)}});
  for (size_t at = out.find(kUuid); at != std::string::npos; at = out.find(kUuid, at)) {
    out.replace(at, sizeof(kUuid) - 1, NewUuid(gen));
  }
  return out;
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "Unknown";
}

// InFlight is one call between its start and its answer.
struct InFlight {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  absl::Time start;
};

int Fail(const std::string& message) {
  std::cerr << "grpc_load: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string call = absl::GetFlag(FLAGS_call);
  const std::string target = absl::GetFlag(FLAGS_target);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int64_t count = absl::GetFlag(FLAGS_count);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const double rps = absl::GetFlag(FLAGS_rps);
  if (target.empty()) return Fail("--target is required");
  if (concurrency < 1) return Fail("--concurrency must be at least 1");
  if (count < 0 || rps < 0) return Fail("--count and --rps must not be negative");
  if (count == 0 && duration <= absl::ZeroDuration()) return Fail("give --count or --duration");

  std::vector<std::string> parts = absl::StrSplit(call, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return Fail("--call must be package.Service/Method, got \"" + call + "\"");
  }
  const pb::MethodDescriptor* method =
      pb::DescriptorPool::generated_pool()->FindMethodByName(parts[0] + "." + parts[1]);
  if (method == nullptr) return Fail("no method " + call + " among the linked protos");
  const std::string path = "/" + call;

  std::string data_text = absl::GetFlag(FLAGS_data);
  if (!absl::GetFlag(FLAGS_data_file).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_data_file));
    if (!in) return Fail("cannot read " + absl::GetFlag(FLAGS_data_file));
    std::stringstream buf;
    buf << in.rdbuf();
    data_text = buf.str();
  }
  if (data_text.empty()) data_text = "{}";
  const nlohmann::json data = nlohmann::json::parse(data_text, nullptr, /*allow_exceptions=*/false);
  if (data.is_discarded()) return Fail("the data is not JSON");
  std::vector<Request> requests;
  for (const nlohmann::json& element : data.is_array() ? data : nlohmann::json::array({data})) {
    Request r;
    const std::string json = element.dump();
    r.templated = json.find(kUuid) != std::string::npos || json.find(kNumber) != std::string::npos;
    std::string error;
    // A template is checked once with placeholder values, so a bad request fails before any call.
    std::string probe = absl::StrReplaceAll(json, {{kUuid, "u"}, {kNumber, "0"}});
    if (!Encode(method->input_type(), r.templated ? probe : json, &r.bytes, &error)) {
      return Fail(error);
    }
    if (r.templated) {
      // Parsed once with the placeholders in its strings; a call copies it and fills them in.
      std::unique_ptr<pb::Message> msg(
          pb::MessageFactory::generated_factory()->GetPrototype(method->input_type())->New());
      std::vector<const pb::FieldDescriptor*> path;
      if (pb::util::JsonStringToMessage(json, msg.get()).ok() &&
          FindTemplateFields(*msg, path, r.fields) && !r.fields.empty()) {
        r.prototype = std::move(msg);
      } else {
        r.fields.clear();
        r.json_template = json;
      }
    }
    requests.push_back(std::move(r));
  }
  if (requests.empty()) return Fail("the data array is empty");

  std::vector<std::pair<std::string, std::string>> metadata;
  if (!absl::GetFlag(FLAGS_metadata).empty()) {
    const nlohmann::json md = nlohmann::json::parse(absl::GetFlag(FLAGS_metadata), nullptr, false);
    if (md.is_discarded() || !md.is_object()) return Fail("--metadata must be a JSON object");
    for (const auto& [k, v] : md.items()) {
      if (!v.is_string()) return Fail("--metadata values must be strings");
      metadata.emplace_back(k, v.get<std::string>());
    }
  }

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  absl::BitGen gen;
  std::vector<int64_t> latencies;
  std::map<std::string, int64_t> codes;
  std::map<std::string, int64_t> errors;
  int64_t started = 0;
  int in_flight = 0;
  const absl::Time t0 = absl::Now();
  const absl::Time end = t0 + duration;
  auto may_start = [&](absl::Time now) {
    if (count > 0) return started < count;
    return now < end;
  };
  auto due = [&]() { return rps > 0 ? t0 + absl::Seconds(started / rps) : t0; };
  std::string encode_error;
  auto start_one = [&](absl::Time now) {
    const Request& r = requests[static_cast<size_t>(started % requests.size())];
    std::string bytes;
    if (r.prototype != nullptr) {
      std::unique_ptr<pb::Message> msg(r.prototype->New());
      msg->CopyFrom(*r.prototype);
      for (const TemplateField& t : r.fields) {
        pb::Message* m = msg.get();
        for (const pb::FieldDescriptor* f : t.path) m = m->GetReflection()->MutableMessage(m, f);
        std::string v = Render(t.value, started, gen);
        if (t.index >= 0) {
          m->GetReflection()->SetRepeatedString(m, t.field, t.index, std::move(v));
        } else {
          m->GetReflection()->SetString(m, t.field, std::move(v));
        }
      }
      msg->SerializeToString(&bytes);
    } else if (r.templated) {
      const std::string json = Render(r.json_template, started, gen);
      if (!Encode(method->input_type(), json, &bytes, &encode_error)) return false;
    }
    auto* f = new InFlight;
    f->context.set_deadline(absl::ToChronoTime(now + absl::GetFlag(FLAGS_timeout)));
    for (const auto& [k, v] : metadata) f->context.AddMetadata(k, v);
    grpc::Slice slice(r.templated ? bytes : r.bytes);
    grpc::ByteBuffer request(&slice, 1);
    f->start = now;
    f->reader = stub.PrepareUnaryCall(&f->context, path, request, &cq);
    f->reader->StartCall();
    f->reader->Finish(&f->response, &f->status, f);
    ++started;
    ++in_flight;
    return true;
  };

  absl::Time last = t0;
  for (;;) {
    absl::Time now = absl::Now();
    while (in_flight < concurrency && may_start(now) && now >= due()) {
      if (!start_one(now)) return Fail(encode_error);
    }
    if (in_flight == 0 && !may_start(now)) break;
    // Wake for the next answer, or when the next rate-limited call is due.
    absl::Time wake = absl::InfiniteFuture();
    if (rps > 0 && in_flight < concurrency && may_start(now)) wake = due();
    void* tag = nullptr;
    bool ok = false;
    const auto got = wake == absl::InfiniteFuture()
                         ? (cq.Next(&tag, &ok) ? grpc::CompletionQueue::GOT_EVENT
                                               : grpc::CompletionQueue::SHUTDOWN)
                         : cq.AsyncNext(&tag, &ok, absl::ToChronoTime(wake));
    if (got == grpc::CompletionQueue::SHUTDOWN) break;
    if (got != grpc::CompletionQueue::GOT_EVENT) continue;
    std::unique_ptr<InFlight> f(static_cast<InFlight*>(tag));
    last = absl::Now();
    --in_flight;
    latencies.push_back(absl::ToInt64Nanoseconds(last - f->start));
    const char* code = CodeName(f->status.error_code());
    ++codes[code];
    if (!f->status.ok() && errors.size() < 20) {
      ++errors[absl::StrCat("rpc error: code = ", code, " desc = ", f->status.error_message())];
    }
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) delete static_cast<InFlight*>(tag);

  const double seconds = absl::ToDoubleSeconds(last - t0);
  std::sort(latencies.begin(), latencies.end());
  nlohmann::json report;
  report["count"] = latencies.size();
  report["total"] = absl::ToInt64Nanoseconds(last - t0);
  report["rps"] = seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0.0;
  nlohmann::json dist = nlohmann::json::array();
  for (int pct : {10, 25, 50, 75, 90, 95, 99}) {
    if (latencies.empty()) break;
    const size_t i =
        std::min(latencies.size() - 1,
                 static_cast<size_t>(pct / 100.0 * static_cast<double>(latencies.size())));
    dist.push_back({{"percentage", pct}, {"latency", latencies[i]}});
  }
  report["latencyDistribution"] = dist;
  report["statusCodeDistribution"] = codes;
  report["errorDistribution"] = errors;
  std::cout << report.dump() << "\n";
  return 0;
}
