// Implements the fuzz kit: the in-process request driver, the Kafka record format and the
// event driver.
#include "tests/fuzz/fuzz_kit.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/api/limits.h"
#include "common/api/validation.h"
#include "common/contracts/registry.h"
#include "common/events/origin.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::fuzz {

void Check(bool ok, std::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

FuzzStore FuzzStore::Open(const std::vector<std::string>& column_families,
                          const std::string& source) {
  // Removed at exit (the store itself lives as long as the process).
  static testing::TempDir* dir = [] {
    static testing::TempDir d;
    return &d;
  }();
  FuzzStore fs;
  absl::StatusOr<testing::ServiceStorage> s =
      testing::OpenServiceStorage(dir->Sub("db"), column_families, source);
  Check(s.ok(), s.status().ToString());
  fs.storage = std::move(*s);
  return fs;
}

namespace {

// QuietProtobuf drops protobuf's log lines (one per undecodable input, which is most of them).
void QuietProtobuf() {
  static const bool once = [] {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    return true;
  }();
  (void)once;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Requests.

RequestFuzzer::RequestFuzzer(std::vector<std::pair<grpc::Service*, std::string>> services) {
  QuietProtobuf();
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  grpc::ServerBuilder builder;
  for (auto& [service, name] : services) {
    const google::protobuf::ServiceDescriptor* d = pool->FindServiceByName(name);
    Check(d != nullptr, name);
    for (int i = 0; i < d->method_count(); ++i) methods_.push_back(d->method(i));
    builder.RegisterService(service);
  }
  builder.SetMaxReceiveMessageSize(static_cast<int>(api::kMaxRequestBytes) * 2);
  server_ = builder.BuildAndStart();
  Check(server_ != nullptr, "in-process server did not start");
  channel_ = server_->InProcessChannel(grpc::ChannelArguments());
}

RequestFuzzer::~RequestFuzzer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
}

void RequestFuzzer::Run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const google::protobuf::MethodDescriptor* method = methods_[data[0] % methods_.size()];
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  if (!request->ParseFromArray(data + 1, static_cast<int>(size - 1))) return;
  // The guard's request check: a refusal names the field (or the request size).
  const absl::Status checked = api::CheckRequest(*request);
  if (!checked.ok()) {
    Check(absl::IsInvalidArgument(checked) || absl::IsResourceExhausted(checked),
          checked.ToString());
    Check(!checked.message().empty(), "a refused request's error names nothing");
    return;
  }
  std::unique_ptr<google::protobuf::Message> response(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method->output_type())
          ->New());
  const std::string path = absl::StrCat("/", method->service()->full_name(), "/", method->name());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  const grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  const grpc::Status st =
      grpc::internal::BlockingUnaryCall<google::protobuf::Message, google::protobuf::Message>(
          channel_.get(), rpc, &ctx, *request, response.get());
  Check(st.error_code() != grpc::StatusCode::UNKNOWN &&
            st.error_code() != grpc::StatusCode::INTERNAL &&
            st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED,
        absl::StrCat(path, ": ", st.error_code(), " ", st.error_message()));
}

std::string RequestFuzzer::Seed(std::string_view full_method,
                                const google::protobuf::Message& request) const {
  for (size_t i = 0; i < methods_.size(); ++i) {
    const std::string name =
        absl::StrCat(methods_[i]->service()->full_name(), "/", methods_[i]->name());
    if (name != full_method) continue;
    Check(methods_[i]->input_type() == request.GetDescriptor(), name);
    return std::string(1, static_cast<char>(i)) + request.SerializeAsString();
  }
  Check(false, absl::StrCat("no method ", std::string(full_method)));
  return "";
}

// ---------------------------------------------------------------------------------------------
// Kafka records.

namespace {

// Reader reads the record format; past the end everything is empty.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  size_t U16() { return U8() | (U8() << 8); }
  std::string Bytes(size_t n) {
    n = std::min(n, size_ - pos_);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string Rest() { return Bytes(size_ - pos_); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// FakeMessage is a consumed Kafka message built in memory (what RdKafka hands the consumer).
class FakeMessage : public RdKafka::Message {
 public:
  FakeMessage(std::string topic, std::string key, std::string payload, RdKafka::Headers* headers)
      : topic_(std::move(topic)),
        key_(std::move(key)),
        payload_(std::move(payload)),
        headers_(headers) {}
  ~FakeMessage() override { delete headers_; }
  std::string errstr() const override { return ""; }
  RdKafka::ErrorCode err() const override { return RdKafka::ERR_NO_ERROR; }
  RdKafka::Topic* topic() const override { return nullptr; }
  std::string topic_name() const override { return topic_; }
  int32_t partition() const override { return 0; }
  void* payload() const override { return const_cast<char*>(payload_.data()); }
  size_t len() const override { return payload_.size(); }
  const std::string* key() const override { return &key_; }
  const void* key_pointer() const override { return key_.data(); }
  size_t key_len() const override { return key_.size(); }
  int64_t offset() const override { return 0; }
  RdKafka::MessageTimestamp timestamp() const override { return {}; }
  void* msg_opaque() const override { return nullptr; }
  int64_t latency() const override { return 0; }
  struct rd_kafka_message_s* c_ptr() override {
    return nullptr;
  }
  RdKafka::Message::Status status() const override { return MSG_STATUS_PERSISTED; }
  RdKafka::Headers* headers() override { return headers_; }
  RdKafka::Headers* headers(RdKafka::ErrorCode* err) override {
    *err = RdKafka::ERR_NO_ERROR;
    return headers_;
  }
  int32_t broker_id() const override { return 0; }

 private:
  std::string topic_, key_, payload_;
  RdKafka::Headers* headers_;
};

// Fnv64 hashes the input into the default ce_id.
uint64_t Fnv64(const uint8_t* data, size_t size) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

ParsedRecord ParseRecord(const uint8_t* data, size_t size) {
  Reader r(data, size);
  ParsedRecord rec;
  rec.selector = static_cast<int>(r.U8());
  const size_t flags = r.U8();
  rec.raw = (flags & 0x80) != 0;
  const size_t headers = flags & 0x0F;
  for (size_t i = 0; i < headers; ++i) {
    std::string name = r.Bytes(r.U8());
    std::string value = r.Bytes(r.U16());
    rec.headers.emplace_back(std::move(name), std::move(value));
  }
  rec.key = r.Bytes(r.U8());
  rec.payload = r.Rest();
  return rec;
}

std::string RenderRecord(const ParsedRecord& rec) {
  std::string out;
  out.push_back(static_cast<char>(rec.selector));
  out.push_back(static_cast<char>((rec.raw ? 0x80 : 0) | (rec.headers.size() & 0x0F)));
  for (const auto& [name, value] : rec.headers) {
    out.push_back(static_cast<char>(name.size()));
    out += name;
    out.push_back(static_cast<char>(value.size() & 0xFF));
    out.push_back(static_cast<char>(value.size() >> 8));
    out += value;
  }
  out.push_back(static_cast<char>(rec.key.size()));
  out += rec.key;
  out += rec.payload;
  return out;
}

EventFuzzer::EventFuzzer(contracts::Service service, Apply apply) : apply_(std::move(apply)) {
  QuietProtobuf();
  for (const contracts::EventContract* e : contracts::ConsumedBy(service)) {
    types_.emplace_back(e->type);
    sources_.push_back(absl::StrCat("triad/", std::string(contracts::ServiceName(e->producer))));
  }
  Check(!types_.empty(), "the service consumes no events");
}

void EventFuzzer::Run(const uint8_t* data, size_t size) {
  ParsedRecord rec = ParseRecord(data, size);
  const size_t pick = static_cast<size_t>(rec.selector) % types_.size();
  const contracts::EventContract* picked = contracts::FindEvent(types_[pick]);
  RdKafka::Headers* headers = RdKafka::Headers::create();
  if (!rec.raw) {
    headers->add(events::kHeaderSpecVersion, events::kSpecVersion);
    headers->add(events::kHeaderType, types_[pick]);
    headers->add(events::kHeaderSource, sources_[pick]);
    headers->add(events::kHeaderId, absl::StrCat("fuzz-", Fnv64(data, size)));
    headers->add(events::kHeaderTime, "2026-11-29T00:00:00Z");
  }
  for (const auto& [name, value] : rec.headers) headers->add(name, value.data(), value.size());
  FakeMessage message(std::string(picked->topic), rec.key, rec.payload, headers);

  // Decode as the consumer does; a record that is not a CloudEvent is poison.
  absl::StatusOr<events::Event> event = events::FromMessage(message);
  if (!event.ok()) {
    Check(events::IsPermanentError(event.status()), event.status().ToString());
    return;
  }
  // The contract check: only declared types this service consumes reach a handler (the
  // consumer skips the others).
  const contracts::EventContract* contract = contracts::FindEvent(event->type);
  bool consumed = false;
  for (const std::string& t : types_)
    consumed = consumed || (contract != nullptr && t == contract->type);
  if (!consumed) return;
  // The origin check the consumer runs (events/origin.h): the contract's topic and producer.
  absl::StatusOr<events::EventOrigin> origin = events::ContractOrigin(event->type);
  Check(origin.ok(), origin.status().ToString());
  const absl::Status from =
      events::CheckOrigin(*origin, event->type, message.topic_name(), event->source);
  if (!from.ok()) {
    Check(events::IsPermanentError(from), from.ToString());
    return;
  }
  const absl::Status first = apply_(*event);
  if (!first.ok()) {
    Check(events::IsPermanentError(first),
          absl::StrCat(
              event->type,
              " failed transiently on a healthy store (would retry for ever): ", first.ToString()));
    return;
  }
  // A redelivery of the same record is skipped, never an error.
  const absl::Status again = apply_(*event);
  Check(again.ok(), absl::StrCat(event->type, ": a redelivered record failed: ", again.ToString()));
}

std::string EventFuzzer::Seed(std::string_view type,
                              const google::protobuf::Message& payload) const {
  for (size_t i = 0; i < types_.size(); ++i) {
    if (types_[i] != type) continue;
    ParsedRecord rec;
    rec.selector = static_cast<int>(i);
    rec.key = "seed-key";
    rec.payload = payload.SerializeAsString();
    return RenderRecord(rec);
  }
  Check(false, absl::StrCat("not consumed: ", std::string(type)));
  return "";
}

EventFuzzer::Apply ApplyWith(storage::Store* store, events::Outbox* outbox,
                             util::SharedMutex* mutex, events::Handler handler) {
  return [=](const events::Event& e) {
    return events::ApplyOnce(*store, outbox, "triad-fuzz", e, handler, mutex, nullptr).status();
  };
}

void MaybeWriteSeeds(const std::vector<std::pair<std::string, std::string>>& seeds) {
  const char* dir = std::getenv("TRIAD_FUZZ_WRITE_SEEDS");
  if (dir == nullptr || *dir == '\0') return;
  for (const auto& [name, bytes] : seeds) {
    std::ofstream out(absl::StrCat(dir, "/", name), std::ios::binary);
    out << bytes;
    Check(out.good(), name);
  }
  std::fprintf(stderr, "wrote %zu seeds into %s\n", seeds.size(), dir);
  std::exit(0);
}

namespace {

// FillLevel sets every field of `m` to a plausible value, nested messages `depth` levels deep.
void FillLevel(google::protobuf::Message& m, int depth) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map() || f->real_containing_oneof() != nullptr) continue;
    const std::string& name = f->name();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string v = name == "currency"                       ? "CNY"
                        : api::IsIdFieldName(name)               ? "u:fuzz"
                        : name.find("date") != std::string::npos ? "2027-01-04"
                                                                 : "seed " + name;
        if (f->is_repeated()) {
          r->AddString(&m, f, v);
        } else {
          r->SetString(&m, f, v);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
      case FieldDescriptor::CPPTYPE_BOOL:
        if (f->is_repeated()) continue;
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) r->SetInt32(&m, f, 1);
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT64) r->SetInt64(&m, f, 1);
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) r->SetDouble(&m, f, 1);
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) r->SetBool(&m, f, false);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        if (f->is_repeated()) continue;
        if (f->enum_type()->value_count() > 1) r->SetEnum(&m, f, f->enum_type()->value(1));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth <= 0) continue;
        if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
          google::protobuf::Message* ts =
              f->is_repeated() ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
          ts->GetReflection()->SetInt64(ts, ts->GetDescriptor()->FindFieldByName("seconds"),
                                        1798329600);  // 2026-12-27
          continue;
        }
        FillLevel(f->is_repeated() ? *r->AddMessage(&m, f) : *r->MutableMessage(&m, f), depth - 1);
        break;
    }
  }
}

}  // namespace

void FillSample(google::protobuf::Message& message) { FillLevel(message, 3); }

std::vector<std::pair<std::string, std::string>> MethodSeeds(
    const RequestFuzzer& fuzzer, const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::string>> out;
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& service : names) {
    const google::protobuf::ServiceDescriptor* d = pool->FindServiceByName(service);
    Check(d != nullptr, service);
    for (int i = 0; i < d->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = d->method(i);
      std::unique_ptr<google::protobuf::Message> req(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(m->input_type())
              ->New());
      FillSample(*req);
      out.emplace_back(absl::StrCat("sample-", m->name()),
                       fuzzer.Seed(absl::StrCat(service, "/", m->name()), *req));
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> EventSeeds(const EventFuzzer& fuzzer) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& type : fuzzer.types()) {
    const contracts::EventContract* c = contracts::FindEvent(type);
    const google::protobuf::Descriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(c->message);
    Check(d != nullptr, c->message);
    std::unique_ptr<google::protobuf::Message> payload(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(d)->New());
    FillSample(*payload);
    out.emplace_back(absl::StrCat("sample-", type), fuzzer.Seed(type, *payload));
  }
  return out;
}

}  // namespace triad::fuzz
