// Implements Kafka configuration and topic administration (librdkafka C admin API).
#include "common/events/kafka.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/flags.h"
#include "common/events/kafka_security.h"
#include "librdkafka/rdkafka.h"

namespace triad::events {

absl::StatusOr<KafkaConfig> KafkaConfigFromFlags() {
  KafkaConfig config;
  config.bootstrap_servers = absl::GetFlag(FLAGS_kafka_bootstrap_servers);
  KafkaSecurity security{
      .protocol = absl::GetFlag(FLAGS_kafka_security_protocol),
      .sasl_mechanism = absl::GetFlag(FLAGS_kafka_sasl_mechanism),
      .sasl_username = absl::GetFlag(FLAGS_kafka_sasl_username),
      .sasl_password_file = absl::GetFlag(FLAGS_kafka_sasl_password_file),
      .sasl_password = {},
      .ssl_ca_file = absl::GetFlag(FLAGS_kafka_ssl_ca_file),
      .ssl_cert_file = absl::GetFlag(FLAGS_kafka_ssl_cert_file),
      .ssl_key_file = absl::GetFlag(FLAGS_kafka_ssl_key_file),
      .ssl_key_password_file = absl::GetFlag(FLAGS_kafka_ssl_key_password_file),
  };
  if (const char* v = std::getenv(kKafkaSaslPasswordEnv); v != nullptr) security.sasl_password = v;
  absl::Status s = ApplyKafkaSecurity(security, config);
  if (!s.ok()) return s;
  return config;
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const KafkaConfig& config, const std::map<std::string, std::string>& defaults,
    const std::map<std::string, std::string>& locked) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) -> absl::Status {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      // Never echo a secret's value.
      const bool secret = k.find("password") != std::string::npos;
      return absl::InvalidArgumentError(
          absl::StrCat("kafka property ", k, "=", secret ? "<redacted>" : v, ": ", err));
    }
    return absl::OkStatus();
  };
  absl::Status s = set("bootstrap.servers", config.bootstrap_servers);
  if (!s.ok()) return s;
  for (const auto& [k, v] : defaults) {
    if (s = set(k, v); !s.ok()) return s;
  }
  for (const auto& [k, v] : config.properties) {
    auto it = locked.find(k);
    if (it != locked.end() && it->second != v) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka property ", k, "=", v, " is not allowed: this component needs ", k,
                       "=", it->second, " for its delivery guarantees"));
    }
    if (s = set(k, v); !s.ok()) return s;
  }
  for (const auto& [k, v] : locked) {
    if (s = set(k, v); !s.ok()) return s;
  }
  return conf;
}

int32_t Murmur2(std::string_view data) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const uint32_t length = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28cu ^ length;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = bytes[i4] | (bytes[i4 + 1] << 8) | (bytes[i4 + 2] << 16) |
                 (static_cast<uint32_t>(bytes[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(bytes[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(bytes[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= bytes[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t KafkaDefaultPartition(std::string_view key, int32_t partitions) {
  if (partitions <= 0) return 0;
  const int32_t positive = Murmur2(key) & 0x7fffffff;
  return positive % partitions;
}

namespace {

// AdminHandle is a short-lived librdkafka producer handle used for admin requests. It keeps the
// last error librdkafka reported about the connection (TLS, SASL, a refused connection), so a
// failed request can say why instead of only "timed out".
struct AdminHandle {
  rd_kafka_t* rk = nullptr;
  std::mutex mu;
  rd_kafka_resp_err_t last_code = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string last_error;
  ~AdminHandle() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }

  static void OnError(rd_kafka_t*, int code, const char* reason, void* opaque) {
    auto* self = static_cast<AdminHandle*>(opaque);
    std::lock_guard<std::mutex> lock(self->mu);
    // An authentication or TLS failure is the most telling; a later generic one does not hide it.
    const bool telling = self->last_code == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
                         self->last_code == RD_KAFKA_RESP_ERR__SSL;
    if (telling && code != RD_KAFKA_RESP_ERR__AUTHENTICATION && code != RD_KAFKA_RESP_ERR__SSL) {
      return;
    }
    self->last_code = static_cast<rd_kafka_resp_err_t>(code);
    self->last_error = reason != nullptr ? reason : rd_kafka_err2str(self->last_code);
  }

  // Explain adds the last connection error to a failed `status`; an authentication failure
  // becomes UNAUTHENTICATED.
  absl::Status Explain(absl::Status status) {
    if (status.ok()) return status;
    if (rk != nullptr) rd_kafka_poll(rk, 0);  // serves the queued error callbacks
    std::lock_guard<std::mutex> lock(mu);
    if (last_error.empty()) return status;
    const std::string message =
        absl::StrCat(status.message(), " (last broker error: ", last_error, ")");
    if (last_code == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      return absl::UnauthenticatedError(absl::StrCat("kafka: authentication failed: ", message));
    }
    return absl::Status(status.code(), message);
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
  rd_kafka_conf_set_error_cb(conf, &AdminHandle::OnError);
  rd_kafka_conf_set_opaque(conf, &admin);
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
                          int partitions, int replication, int min_insync_replicas,
                          absl::Duration timeout,
                          const std::map<std::string, std::string>& configs) {
  if (topics.empty()) return absl::OkStatus();
  if (partitions < 1) return absl::InvalidArgumentError("partitions must be at least 1");
  if (replication < 1) return absl::InvalidArgumentError("replication must be at least 1");
  if (min_insync_replicas > replication) {
    return absl::InvalidArgumentError(absl::StrCat("min.insync.replicas ", min_insync_replicas,
                                                   " exceeds the replication factor ",
                                                   replication));
  }
  std::map<std::string, std::string> topic_configs = configs;
  if (min_insync_replicas > 0) {
    topic_configs["min.insync.replicas"] = std::to_string(min_insync_replicas);
  }
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
    for (const auto& [k, v] : topic_configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
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
  std::vector<std::string> not_created;
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
      if (e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        // A client whose ACLs do not allow creating the topic (topics declared as KafkaTopic
        // resources, deploy/k8s): fine as long as the topic exists, checked below.
        not_created.push_back(rd_kafka_topic_result_name(results[i]));
        continue;
      }
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
  if (!result.ok()) return admin.Explain(result);

  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<bool> ready = LeadersReady(admin.rk, topics, nullptr);
    if (ready.ok() && *ready) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      if (!not_created.empty()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "kafka: not allowed to create ", absl::StrJoin(not_created, ", "),
            " (TOPIC_AUTHORIZATION_FAILED) and not all of them exist with leaders yet: declare "
            "them (deploy/k8s/base/kafka-topics) or grant this user Create and Describe"));
      }
      return absl::DeadlineExceededError("kafka: topics created but partitions have no leader yet");
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status AlterTopicConfig(const KafkaConfig& config, const std::string& topic,
                              const std::map<std::string, std::string>& configs,
                              absl::Duration timeout) {
  AdminHandle admin;
  absl::Status s = NewAdmin(config, admin);
  if (!s.ok()) return s;
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  for (const auto& [k, v] : configs) rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.rk);
  rd_kafka_AlterConfigs(admin.rk, &res, 1, nullptr, queue);
  rd_kafka_event_t* ev =
      rd_kafka_queue_poll(queue, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  absl::Status result = absl::OkStatus();
  if (ev == nullptr) {
    result = absl::DeadlineExceededError("kafka: AlterConfigs timed out");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = absl::UnavailableError(
        absl::StrCat("kafka AlterConfigs: ", rd_kafka_event_error_string(ev)));
  } else {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** out =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_ConfigResource_error(out[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* msg = rd_kafka_ConfigResource_error_string(out[i]);
        result = absl::UnavailableError(
            absl::StrCat("kafka AlterConfigs ", topic, ": ", msg ? msg : "error"));
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_ConfigResource_destroy(res);
  return result;
}

absl::StatusOr<int> PartitionCount(const KafkaConfig& config, const std::string& topic,
                                   absl::Duration timeout) {
  AdminHandle admin;
  absl::Status s = NewAdmin(config, admin);
  if (!s.ok()) return s;
  int partitions = 0;
  absl::StatusOr<bool> ready = LeadersReady(admin.rk, {topic}, &partitions);
  if (!ready.ok()) return admin.Explain(ready.status());
  if (partitions == 0) return absl::NotFoundError("kafka: no topic " + topic);
  return partitions;
}

}  // namespace triad::events
