// Part 1 of the event-flow benchmark: latency from the RPC that wins a deal in pipeline
// (WinOpportunity) to production's ProjectScheduled event being visible to a Kafka consumer
// (it is committed in the same RocksDB batch as the scheduled project), at fixed open-loop win
// rates, with a sample of projects read back through GetProject.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "bench/flow/flow_bench.h"
#include "bench/flow/flow_kit.h"
#include "bench/flow/flow_world.h"
#include "common/contracts/pipeline.h"
#include "common/contracts/production.h"
#include "common/events/envelope.h"
#include "common/util/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "librdkafka/rdkafkacpp.h"
#include "triad/pipeline/v1/pipeline_service.grpc.pb.h"
#include "triad/production/v1/production_service.grpc.pb.h"

namespace triad::bench_flow {
namespace {

namespace pv1 = ::triad::pipeline::v1;
namespace xv1 = ::triad::production::v1;

// Deal is one prepared opportunity and what happened to it.
struct Deal {
  std::string opp_id;
  absl::Time intended = absl::InfinitePast();  // when the open-loop schedule sends its win
  absl::Time sent = absl::InfinitePast();
  absl::Time rpc_done = absl::InfinitePast();
  bool rpc_ok = false;
  std::string rpc_error;
  absl::Time won_seen = absl::InfinitePast();        // OpportunityWon visible on Kafka
  absl::Time scheduled_seen = absl::InfinitePast();  // ProjectScheduled visible on Kafka
  std::string project_id;
  bool verify = false;
};

// Observer consumes triad.pipeline.opportunity and triad.production.project from the
// beginning and stamps each deal when its OpportunityWon and its project's ProjectScheduled
// become visible. ProjectCreated (same batch, same key, before it) maps project to deal.
class Observer {
 public:
  Observer(std::vector<Deal>* deals, absl::Mutex* mu) : deals_(deals), mu_(mu) {
    for (size_t i = 0; i < deals->size(); ++i) index_[(*deals)[i].opp_id] = i;
  }
  ~Observer() { Stop(); }

  absl::Status Start(const std::string& bootstrap, const std::string& group) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] :
         std::map<std::string, std::string>{{"bootstrap.servers", bootstrap},
                                            {"group.id", group},
                                            {"enable.auto.commit", "false"},
                                            {"fetch.wait.max.ms", "10"},
                                            {"auto.offset.reset", "earliest"}}) {
      if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) return absl::InternalError(err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (consumer_ == nullptr) return absl::UnavailableError(err);
    std::vector<RdKafka::TopicPartition*> parts;
    for (const std::string& topic :
         {std::string(contracts::pipeline::OpportunityWon::kTopic),
          std::string(contracts::production::ProjectScheduled::kTopic)}) {
      int n = 0;
      absl::Status s = WaitUntil(
          [&] {
            n = PartitionCount(topic);
            return n > 0;
          },
          absl::Seconds(60), absl::StrCat("topic ", topic, " to exist"), absl::Milliseconds(200));
      if (!s.ok()) return s;
      for (int p = 0; p < n; ++p) {
        parts.push_back(
            RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
      }
    }
    RdKafka::ErrorCode rc = consumer_->assign(parts);
    RdKafka::TopicPartition::destroy(parts);
    if (rc != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(RdKafka::err2str(rc));
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (consumer_ != nullptr) {
      consumer_->close();
      consumer_.reset();
    }
  }

  // TakeVerify returns the deals whose project is visible and was picked for a GetProject.
  std::vector<size_t> TakeVerify() {
    absl::MutexLock l(mu_);
    std::vector<size_t> out(verify_.begin(), verify_.end());
    verify_.clear();
    return out;
  }

 private:
  int PartitionCount(const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer_.get(), topic, nullptr, err));
    RdKafka::Metadata* md = nullptr;
    if (t == nullptr || consumer_->metadata(false, t.get(), &md, 5000) != RdKafka::ERR_NO_ERROR) {
      return 0;
    }
    std::unique_ptr<RdKafka::Metadata> own(md);
    for (const RdKafka::TopicMetadata* tm : *md->topics()) {
      if (tm->topic() == topic && tm->err() == RdKafka::ERR_NO_ERROR) {
        return static_cast<int>(tm->partitions()->size());
      }
    }
    return 0;
  }

  void Loop() {
    while (!stop_) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(20));
      if (m == nullptr || m->err() != RdKafka::ERR_NO_ERROR) continue;
      const absl::Time seen = absl::Now();
      absl::StatusOr<events::Event> e = events::FromMessage(*m);
      if (!e.ok()) continue;
      if (e->type == contracts::pipeline::OpportunityWon::kType) {
        pv1::OpportunityWon won;
        if (!won.ParseFromString(e->payload)) continue;
        auto it = index_.find(won.opportunity_id());
        if (it == index_.end()) continue;
        absl::MutexLock l(mu_);
        Deal& d = (*deals_)[it->second];
        if (d.won_seen == absl::InfinitePast()) d.won_seen = seen;
      } else if (e->type == contracts::production::ProjectCreated::kType) {
        xv1::ProjectCreated created;
        if (!created.ParseFromString(e->payload)) continue;
        auto it = index_.find(created.opportunity_id());
        if (it == index_.end()) continue;
        project_deal_[created.project_id()] = it->second;
        auto early = early_scheduled_.find(created.project_id());
        if (early != early_scheduled_.end()) {
          Mark(it->second, created.project_id(), early->second);
          early_scheduled_.erase(early);
        }
      } else if (e->type == contracts::production::ProjectScheduled::kType) {
        xv1::ProjectScheduled scheduled;
        if (!scheduled.ParseFromString(e->payload)) continue;
        auto it = project_deal_.find(scheduled.project_id());
        if (it == project_deal_.end()) {
          early_scheduled_.emplace(scheduled.project_id(), seen);
        } else {
          Mark(it->second, scheduled.project_id(), seen);
        }
      }
    }
  }

  void Mark(size_t i, const std::string& project_id, absl::Time seen) {
    absl::MutexLock l(mu_);
    Deal& d = (*deals_)[i];
    if (d.scheduled_seen != absl::InfinitePast()) return;
    d.scheduled_seen = seen;
    d.project_id = project_id;
    if (d.verify) verify_.push_back(i);
  }

  std::vector<Deal>* deals_;
  absl::Mutex* mu_;
  std::map<std::string, size_t> index_;
  std::map<std::string, size_t> project_deal_;
  std::map<std::string, absl::Time> early_scheduled_;
  std::deque<size_t> verify_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// WinCall is one asynchronous WinOpportunity.
struct WinCall {
  size_t deal = 0;
  grpc::ClientContext ctx;
  pv1::WinOpportunityRequest req;
  pv1::Opportunity resp;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<pv1::Opportunity>> reader;
};

// RunRate wins deals [first, first + n) open-loop at `rate`/s and waits for their projects.
struct RateResult {
  int rate = 0;
  size_t first = 0, n = 0;
  double achieved = 0;
  double max_lag_ms = 0;
  int verified = 0, verify_failed = 0;
  std::vector<double> verify_read_ms;
  std::string verify_error;
};

RateResult RunRate(World& world, std::vector<Deal>& deals, absl::Mutex& mu, Observer& observer,
                   int rate, size_t first, size_t n, const LatencyOptions& options) {
  RateResult r;
  r.rate = rate;
  r.first = first;
  r.n = n;
  auto stub = pv1::PipelineService::NewStub(world.Get("pipeline")->Channel());
  auto prod = xv1::ProductionService::NewStub(world.Get("production")->Channel());
  grpc::CompletionQueue cq;
  std::thread completer([&] {
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
      std::unique_ptr<WinCall> c(static_cast<WinCall*>(tag));
      const absl::Time done = absl::Now();
      absl::MutexLock l(&mu);
      Deal& d = deals[c->deal];
      d.rpc_done = done;
      d.rpc_ok = ok && c->status.ok();
      if (!d.rpc_ok) d.rpc_error = c->status.error_message();
    }
  });
  // A verifier reads a sample of projects back as soon as their event is visible.
  std::atomic<bool> sending{true};
  std::thread verifier([&] {
    auto drain = [&] {
      for (size_t i : observer.TakeVerify()) {
        // A deal of an earlier run scheduled late is not this run's sample.
        if (i < first || i >= first + n) continue;
        std::string project, opp;
        absl::Time seen;
        {
          absl::MutexLock l(&mu);
          project = deals[i].project_id;
          opp = deals[i].opp_id;
          seen = deals[i].scheduled_seen;
        }
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        xv1::GetProjectRequest req;
        req.set_project_id(project);
        xv1::Project p;
        grpc::Status s = prod->GetProject(&ctx, req, &p);
        const absl::Time read = absl::Now();
        const bool good = s.ok() && p.opportunity_id() == opp && p.scheduled() &&
                          p.phases_size() > 0 && !p.phases(0).resource_id().empty();
        if (good) {
          ++r.verified;
          r.verify_read_ms.push_back(absl::ToDoubleMilliseconds(read - seen));
        } else {
          ++r.verify_failed;
          if (r.verify_error.empty()) {
            r.verify_error = s.ok() ? absl::StrCat("project ", project, " of ", opp,
                                                   ": not scheduled or wrong opportunity")
                                    : s.error_message();
          }
        }
      }
    };
    while (sending) {
      drain();
      absl::SleepFor(absl::Milliseconds(5));
    }
    drain();
  });
  const absl::Time due = absl::Now() + absl::Hours(24 * 365);
  const absl::Time t0 = absl::Now() + absl::Milliseconds(50);
  {
    absl::MutexLock l(&mu);
    for (size_t k = 0; k < n; ++k) {
      deals[first + k].intended = t0 + absl::Seconds(static_cast<double>(k) / rate);
      deals[first + k].verify = options.verify_every > 0 && k % options.verify_every == 0;
    }
  }
  absl::Time first_sent, last_sent;
  for (size_t k = 0; k < n; ++k) {
    Deal& d = deals[first + k];
    const absl::Time wait = d.intended;
    const absl::Time now = absl::Now();
    if (wait > now) absl::SleepFor(wait - now);
    auto* c = new WinCall;
    c->deal = first + k;
    c->req.set_opportunity_id(d.opp_id);
    *c->req.mutable_due_time() = util::ToProto(due);
    *c->req.mutable_actor() = Actor();
    c->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const absl::Time sent = absl::Now();
    {
      absl::MutexLock l(&mu);
      d.sent = sent;
    }
    if (k == 0) first_sent = sent;
    last_sent = sent;
    r.max_lag_ms = std::max(r.max_lag_ms, absl::ToDoubleMilliseconds(sent - d.intended));
    c->reader = stub->AsyncWinOpportunity(&c->ctx, c->req, &cq);
    c->reader->Finish(&c->resp, &c->status, c);
  }
  r.achieved =
      n > 1 ? static_cast<double>(n - 1) / absl::ToDoubleSeconds(last_sent - first_sent) : 0;
  (void)WaitUntil(
      [&] {
        absl::MutexLock l(&mu);
        for (size_t k = 0; k < n; ++k) {
          const Deal& d = deals[first + k];
          if (d.scheduled_seen == absl::InfinitePast() &&
              (d.rpc_done == absl::InfinitePast() || d.rpc_ok)) {
            return false;
          }
        }
        return true;
      },
      absl::ToDoubleSeconds(options.drain_timeout) > 0 ? options.drain_timeout : absl::Seconds(1),
      "projects of the run");
  sending = false;
  verifier.join();
  cq.Shutdown();
  completer.join();
  return r;
}

std::string Ms(double v) { return absl::StrFormat("%.1f", v); }

void PrintRow(const RateResult& r, const std::vector<Deal>& deals, absl::Duration drain) {
  std::vector<double> rpc, won, sched;
  size_t failed = 0, missing = 0;
  std::string error;
  for (size_t k = 0; k < r.n; ++k) {
    const Deal& d = deals[r.first + k];
    if (!d.rpc_ok) {
      ++failed;
      if (error.empty()) error = d.rpc_error;
      continue;
    }
    rpc.push_back(absl::ToDoubleMilliseconds(d.rpc_done - d.intended));
    if (d.won_seen != absl::InfinitePast()) {
      won.push_back(absl::ToDoubleMilliseconds(d.won_seen - d.intended));
    }
    if (d.scheduled_seen == absl::InfinitePast()) {
      ++missing;
    } else {
      sched.push_back(absl::ToDoubleMilliseconds(d.scheduled_seen - d.intended));
    }
  }
  std::vector<double> read = r.verify_read_ms;
  // A deal never seen counts as the drain timeout (a lower bound of its latency).
  const bool bound = missing > 0;
  for (size_t k = 0; k < missing; ++k) sched.push_back(absl::ToDoubleMilliseconds(drain));
  std::printf(
      "| %d | %zu | %.0f | %s | %s / %s | %s / %s | %s%s | %s%s | %s%s | %zu | %zu | %d/%d "
      "(read %s ms after the event, p50) |\n",
      r.rate, r.n, r.achieved, Ms(r.max_lag_ms).c_str(), Ms(Percentile(rpc, 50)).c_str(),
      Ms(Percentile(rpc, 99)).c_str(), Ms(Percentile(won, 50)).c_str(),
      Ms(Percentile(won, 99)).c_str(), bound ? ">=" : "", Ms(Percentile(sched, 50)).c_str(),
      bound ? ">=" : "", Ms(Percentile(sched, 99)).c_str(), bound ? ">=" : "",
      Ms(Percentile(sched, 100)).c_str(), failed, missing, r.verified, r.verified + r.verify_failed,
      Ms(Percentile(read, 50)).c_str());
  if (!error.empty()) std::printf("    first failed win: %s\n", error.c_str());
  if (!r.verify_error.empty()) std::printf("    first failed read: %s\n", r.verify_error.c_str());
  std::fflush(stdout);
}

}  // namespace

absl::Status RunLatency(const Setup& setup, const LatencyOptions& options) {
  const absl::Time begin = absl::Now();
  absl::StatusOr<std::unique_ptr<World>> made =
      World::Start(setup, {"clients", "pipeline", "production"}, "lat");
  if (!made.ok()) return made.status();
  World& world = **made;
  if (absl::Status s = world.SeedLatency(options.resources_per_skill); !s.ok()) return s;

  size_t total = options.warmup_deals;
  for (int rate : options.rates) total += static_cast<size_t>(rate * options.seconds);
  const absl::Time prep_begin = absl::Now();
  absl::StatusOr<std::vector<std::string>> opps = world.PrepareDeals(total, options.prep_threads);
  if (!opps.ok()) return opps.status();
  const absl::Duration prep = absl::Now() - prep_begin;
  std::vector<Deal> deals(total);
  for (size_t i = 0; i < total; ++i) deals[i].opp_id = (*opps)[i];

  absl::Mutex mu;
  Observer observer(&deals, &mu);
  if (absl::Status s = observer.Start(setup.bootstrap, "flow-observer-" + setup.run_id); !s.ok()) {
    return s;
  }
  // Warm-up: one deal at a time, until each project is visible (connections, group joins).
  for (int i = 0; i < options.warmup_deals; ++i) {
    RunRate(world, deals, mu, observer, 1000, i, 1, options);
    absl::MutexLock l(&mu);
    if (deals[i].scheduled_seen == absl::InfinitePast()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "warm-up deal ", deals[i].opp_id, " (win ", deals[i].rpc_ok ? "ok" : deals[i].rpc_error,
          ") has no scheduled project; production log:\n", world.Get("production")->LogTail()));
    }
  }
  std::printf(
      "\n### Event flow latency: WinOpportunity -> ProjectScheduled visible on Kafka\n\n"
      "setup: clients, pipeline, production (real binaries, --auth_mode=disabled, %s) on a "
      "private broker %s; %zu deals prepared (created + advanced to the last stage of a "
      "gate-free playbook) in %.1f s; production: %d resources per skill, 168 h/week; "
      "%.0f s per rate after %d warm-up deals; latency from each win's scheduled send time "
      "(open loop), ms\n\n",
      setup.service_flags.empty() ? "default flags"
                                  : absl::StrJoin(setup.service_flags, " ").c_str(),
      setup.bootstrap.c_str(), total, absl::ToDoubleSeconds(prep), options.resources_per_skill,
      options.seconds, options.warmup_deals);
  std::printf(
      "| target deals/s | deals | achieved send rate/s | max send lag ms | win RPC p50 / p99 | "
      "OpportunityWon visible p50 / p99 | scheduled p50 | scheduled p99 | scheduled max | "
      "failed wins | not scheduled in %.0f s | GetProject sample ok |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n",
      absl::ToDoubleSeconds(options.drain_timeout));
  std::fflush(stdout);
  size_t next = options.warmup_deals;
  for (int rate : options.rates) {
    const size_t n = static_cast<size_t>(rate * options.seconds);
    RateResult r = RunRate(world, deals, mu, observer, rate, next, n, options);
    PrintRow(r, deals, options.drain_timeout);
    next += n;
  }
  observer.Stop();
  world.Stop();
  std::printf("\npart 1 wall time: %.1f s\n", absl::ToDoubleSeconds(absl::Now() - begin));
  return absl::OkStatus();
}

}  // namespace triad::bench_flow
