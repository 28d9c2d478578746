// Implements Kafka configuration and topic administration (librdkafka C admin API).
#include "common/events/kafka.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "librdkafka/rdkafka.h"

namespace triad::events {

KafkaConfig KafkaConfigFromFlags() {
  KafkaConfig config;
  config.bootstrap_servers = absl::GetFlag(FLAGS_kafka_bootstrap_servers);
  return config;
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaConfig& config, const std::map<std::string, std::string>& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) -> absl::Status {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka property ", k, "=", v, ": ", err));
    }
    return absl::OkStatus();
  };
  absl::Status s = set("bootstrap.servers", config.bootstrap_servers);
  if (!s.ok()) return s;
  for (const auto& [k, v] : defaults) {
    if (s = set(k, v); !s.ok()) return s;
  }
  for (const auto& [k, v] : config.properties) {
    if (s = set(k, v); !s.ok()) return s;
  }
  return conf;
}

namespace {

// AdminHandle is a short-lived librdkafka producer handle used for admin requests.
struct AdminHandle {
  rd_kafka_t* rk = nullptr;
  ~AdminHandle() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

absl::Status NewAdmin(const KafkaConfig& config, AdminHandle& admin) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", config.bootstrap_servers.c_str(), err,
                        sizeof(err)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("bootstrap.servers: ", err));
  }
  for (const auto& [k, v] : config.properties) {
    // Consumer/producer-only properties do not apply to the admin handle; ignore failures.
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
  }
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  admin.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (admin.rk == nullptr) {
    return absl::InternalError(absl::StrCat("kafka admin handle: ", err));
  }
  return absl::OkStatus();
}

// LeadersReady is true when every topic exists and every partition has a leader.
absl::StatusOr<bool> LeadersReady(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                  int* partitions_out) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, 5000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka metadata: ", rd_kafka_err2str(err)));
  }
  bool ready = true;
  for (const std::string& t : topics) {
    bool found = false;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& mt = md->topics[i];
      if (t != mt.topic) continue;
      found = mt.err == RD_KAFKA_RESP_ERR_NO_ERROR && mt.partition_cnt > 0;
      for (int p = 0; found && p < mt.partition_cnt; ++p) {
        if (mt.partitions[p].leader < 0 || mt.partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          found = false;
        }
      }
      if (partitions_out != nullptr) *partitions_out = mt.partition_cnt;
    }
    ready = ready && found;
  }
  rd_kafka_metadata_destroy(md);
  return ready;
}

}  // namespace

absl::Status EnsureTopics(const KafkaConfig& config, const std::vector<std::string>& topics,
                          int partitions, int replication, absl::Duration timeout) {
  if (topics.empty()) return absl::OkStatus();
  if (partitions < 1) return absl::InvalidArgumentError("partitions must be at least 1");
  AdminHandle admin;
  absl::Status s = NewAdmin(config, admin);
  if (!s.ok()) return s;

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  char err[512];
  for (const std::string& t : topics) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(t.c_str(), partitions, replication, err, sizeof(err));
    if (nt == nullptr) {
      for (auto* n : new_topics) rd_kafka_NewTopic_destroy(n);
      return absl::InvalidArgumentError(absl::StrCat("topic ", t, ": ", err));
    }
    new_topics.push_back(nt);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.rk);
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(admin.rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(
      options, static_cast<int>(absl::ToInt64Milliseconds(timeout)), err, sizeof(err));
  rd_kafka_CreateTopics(admin.rk, new_topics.data(), new_topics.size(), options, queue);
  rd_kafka_event_t* ev =
      rd_kafka_queue_poll(queue, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  absl::Status result = absl::OkStatus();
  if (ev == nullptr) {
    result = absl::DeadlineExceededError("kafka: CreateTopics timed out");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = absl::UnavailableError(
        absl::StrCat("kafka CreateTopics: ", rd_kafka_event_error_string(ev)));
  } else {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        result = absl::UnavailableError(absl::StrCat("kafka: creating topic ",
                                                     rd_kafka_topic_result_name(results[i]), ": ",
                                                     msg ? msg : rd_kafka_err2str(e)));
        break;
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* n : new_topics) rd_kafka_NewTopic_destroy(n);
  if (!result.ok()) return result;

  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<bool> ready = LeadersReady(admin.rk, topics, nullptr);
    if (ready.ok() && *ready) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("kafka: topics created but partitions have no leader yet");
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<int> PartitionCount(const KafkaConfig& config, const std::string& topic,
                                   absl::Duration timeout) {
  AdminHandle admin;
  absl::Status s = NewAdmin(config, admin);
  if (!s.ok()) return s;
  int partitions = 0;
  absl::StatusOr<bool> ready = LeadersReady(admin.rk, {topic}, &partitions);
  if (!ready.ok()) return ready.status();
  if (partitions == 0) return absl::NotFoundError("kafka: no topic " + topic);
  return partitions;
}

}  // namespace triad::events
