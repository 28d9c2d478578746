// Implements the event-flow benchmark kit: service processes, ports, metrics, the event
// producer, record purging and percentiles.
#include "bench/flow/flow_kit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/events/envelope.h"
#include "common/events/origin.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafkacpp.h"

namespace triad::bench_flow {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

ServiceProcess::ServiceProcess(std::string name, std::string binary, std::string data_dir,
                               std::string log_path, std::string bootstrap,
                               std::vector<std::string> extra_flags)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      data_dir_(std::move(data_dir)),
      log_path_(std::move(log_path)),
      bootstrap_(std::move(bootstrap)),
      extra_flags_(std::move(extra_flags)) {}

ServiceProcess::~ServiceProcess() {
  if (Alive()) Stop(absl::Seconds(10));
}

absl::Status ServiceProcess::Start() {
  if (Alive()) return absl::FailedPreconditionError(absl::StrCat(name_, " is running"));
  if (grpc_port_ == 0) {
    grpc_port_ = FreePort();
    admin_port_ = FreePort();
  }
  std::vector<std::string> args = {binary_,
                                   "--data_dir=" + data_dir_,
                                   "--listen_host=127.0.0.1",
                                   absl::StrCat("--grpc_port=", grpc_port_),
                                   absl::StrCat("--admin_port=", admin_port_),
                                   "--kafka_bootstrap_servers=" + bootstrap_,
                                   "--topic_replication=1",
                                   "--topic_min_insync_replicas=1",
                                   "--auth_mode=disabled",
                                   "--log_level=warning"};
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log < 0) return absl::InternalError(absl::StrCat("cannot open ", log_path_));
  start_time_ = absl::Now();
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log);
  pid_ = pid;
  channel_.reset();
  return absl::OkStatus();
}

bool ServiceProcess::Alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return r == 0;
}

int ServiceProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (absl::Now() < deadline) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return 137;
}

std::string ServiceProcess::address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

std::shared_ptr<grpc::Channel> ServiceProcess::Channel() {
  if (channel_ == nullptr) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    channel_ = grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }
  return channel_;
}

std::string ServiceProcess::LogTail(int lines) const {
  std::ifstream in(log_path_);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size();
       ++i) {
    absl::StrAppend(&out, all[i], "\n");
  }
  return out;
}

absl::Status WaitUntil(const std::function<bool()>& ready, absl::Duration timeout,
                       std::string_view what, absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!ready()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out after ", absl::FormatDuration(timeout), ": ", std::string(what)));
    }
    absl::SleepFor(interval);
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::string> HttpGet(int port, std::string_view path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError("socket");
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port));
  }
  const std::string req =
      absl::StrCat("GET ", std::string(path), " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return absl::UnavailableError("write");
  }
  std::string body;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) body.append(buf, n);
  close(fd);
  size_t at = body.find("\r\n\r\n");
  if (at == std::string::npos) return absl::UnavailableError("no HTTP response");
  return body.substr(at + 4);
}

}  // namespace

absl::StatusOr<double> ScrapeMetric(int port, std::string_view name,
                                    const std::map<std::string, std::string>& labels) {
  absl::StatusOr<std::string> body = HttpGet(port, "/metrics");
  if (!body.ok()) return body.status();
  double total = 0;
  for (absl::string_view line_view : absl::StrSplit(*body, '\n')) {
    const std::string_view line(line_view.data(), line_view.size());
    if (line.empty() || line[0] == '#') continue;
    if (line.substr(0, name.size()) != name) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      if (line.find(absl::StrCat(k, "=\"", v, "\"")) == std::string_view::npos) match = false;
    }
    if (!match) continue;
    double x = 0;
    size_t sp = line.rfind(' ');
    if (sp != std::string_view::npos && absl::SimpleAtod(std::string(line.substr(sp + 1)), &x))
      total += x;
  }
  return total;
}

common::v1::Actor Actor() {
  common::v1::Actor a;
  a.set_id("u:flow.bench");
  a.set_reason("event-flow benchmark");
  return a;
}

struct EventProducer::DeliveryState : public RdKafka::DeliveryReportCb {
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      absl::MutexLock l(&mu);
      if (first_error.empty()) first_error = m.errstr();
      ++failed;
    }
  }
  absl::Mutex mu;
  std::string first_error;
  int64_t failed = 0;
};

EventProducer::EventProducer(std::unique_ptr<RdKafka::Producer> producer)
    : producer_(std::move(producer)) {}

EventProducer::~EventProducer() {
  if (producer_ != nullptr) producer_->flush(10000);
}

absl::StatusOr<std::unique_ptr<EventProducer>> EventProducer::Create(const std::string& bootstrap) {
  auto state = std::make_unique<DeliveryState>();
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  const std::map<std::string, std::string> props = {{"bootstrap.servers", bootstrap},
                                                    {"enable.idempotence", "true"},
                                                    {"acks", "all"},
                                                    {"linger.ms", "5"},
                                                    {"partitioner", "murmur2_random"},
                                                    {"queue.buffering.max.messages", "200000"}};
  for (const auto& [k, v] : props) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
    }
  }
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(state.get()), err) !=
      RdKafka::Conf::CONF_OK) {
    return absl::InternalError(err);
  }
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (p == nullptr) return absl::UnavailableError(absl::StrCat("producer: ", err));
  std::unique_ptr<EventProducer> out(new EventProducer(std::move(p)));
  out->state_ = std::move(state);
  return out;
}

absl::Status EventProducer::Produce(std::string_view type, std::string_view key,
                                    const google::protobuf::Message& payload) {
  absl::StatusOr<events::EventOrigin> origin = events::ContractOrigin(type);
  if (!origin.ok()) return origin.status();
  events::Event e;
  e.id = events::NewEventId();
  e.type = std::string(type);
  e.source = origin->source;
  e.dataschema = events::DataSchemaOf(payload.GetDescriptor()->full_name());
  e.time = absl::Now();
  e.topic = origin->topic;
  e.key = std::string(key);
  e.payload = payload.SerializeAsString();
  for (;;) {
    RdKafka::Headers* headers = events::ToHeaders(e);
    RdKafka::ErrorCode rc =
        producer_->produce(e.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                           const_cast<char*>(e.payload.data()), e.payload.size(), e.key.data(),
                           e.key.size(), 0, headers, nullptr);
    if (rc == RdKafka::ERR_NO_ERROR) break;
    delete headers;
    if (rc != RdKafka::ERR__QUEUE_FULL) {
      return absl::UnavailableError(absl::StrCat("produce: ", RdKafka::err2str(rc)));
    }
    producer_->poll(50);
  }
  producer_->poll(0);
  return absl::OkStatus();
}

absl::Status EventProducer::Flush(absl::Duration timeout) {
  RdKafka::ErrorCode rc = producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (rc != RdKafka::ERR_NO_ERROR) {
    return absl::DeadlineExceededError(absl::StrCat("flush: ", RdKafka::err2str(rc)));
  }
  absl::MutexLock l(&state_->mu);
  if (state_->failed > 0) {
    return absl::UnavailableError(
        absl::StrCat(state_->failed, " events not delivered: ", state_->first_error));
  }
  return absl::OkStatus();
}

absl::Status PurgeTopics(const std::string& bootstrap, const std::vector<std::string>& topics) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) return absl::UnavailableError(err);
  absl::Status result = absl::OkStatus();
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(16);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return absl::UnavailableError("metadata of the broker's topics");
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const std::string name = md->topics[i].topic;
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        std::find(topics.begin(), topics.end(), name) == topics.end()) {
      continue;
    }
    for (int p = 0; p < md->topics[i].partition_cnt; ++p) {
      rd_kafka_topic_partition_list_add(parts, name.c_str(), md->topics[i].partitions[p].id)
          ->offset = RD_KAFKA_OFFSET_END;
    }
  }
  rd_kafka_metadata_destroy(md);
  if (parts->cnt > 0) {
    rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(parts);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteRecords(rk, &del, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    if (ev == nullptr) {
      result = absl::DeadlineExceededError("DeleteRecords: no answer in 30 s");
    } else {
      if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result = absl::UnavailableError(
            absl::StrCat("DeleteRecords: ", rd_kafka_event_error_string(ev)));
      } else {
        const rd_kafka_topic_partition_list_t* out =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
        for (int i = 0; out != nullptr && i < out->cnt; ++i) {
          if (out->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR && result.ok()) {
            result = absl::UnavailableError(absl::StrCat("DeleteRecords ", out->elems[i].topic, "/",
                                                         out->elems[i].partition, ": ",
                                                         rd_kafka_err2str(out->elems[i].err)));
          }
        }
      }
      rd_kafka_event_destroy(ev);
    }
    rd_kafka_DeleteRecords_destroy(del);
    rd_kafka_queue_destroy(q);
  }
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_destroy(rk);
  return result;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

}  // namespace triad::bench_flow
