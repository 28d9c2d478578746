// Implements World: the benchmark's service processes and the records seeded through their APIs.
#include "bench/flow/flow_world.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/util/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "triad/clients/v1/clients_service.grpc.pb.h"
#include "triad/pipeline/v1/pipeline_service.grpc.pb.h"
#include "triad/production/v1/production_service.grpc.pb.h"
#include "triad/review/v1/review_service.grpc.pb.h"

namespace triad::bench_flow {
namespace {

namespace cv1 = ::triad::clients::v1;
namespace pv1 = ::triad::pipeline::v1;
namespace rv1 = ::triad::review::v1;
namespace xv1 = ::triad::production::v1;

// Quiet flags: periodic scans off, so only the benchmark moves things.
std::vector<std::string> QuietFlags(const std::string& service) {
  if (service == "clients") return {"--scan_interval=0"};
  if (service == "pipeline") return {"--stale_scan_interval=0"};
  if (service == "review") return {"--leave_scan_interval=0", "--escalation_scan_interval=0"};
  return {};
}

void Deadline(grpc::ClientContext& ctx, int seconds = 30) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

absl::Status Check(const grpc::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(std::string(what), ": ", s.error_message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<World>> World::Start(const Setup& setup,
                                                    const std::vector<std::string>& services,
                                                    const std::string& tag) {
  std::unique_ptr<World> w(new World(setup, tag));
  for (const std::string& svc : services) {
    const std::string data = absl::StrCat(setup.work_dir, "/", tag, "-", svc);
    std::error_code ec;
    std::filesystem::remove_all(data, ec);
    std::filesystem::create_directories(data, ec);
    std::vector<std::string> flags = QuietFlags(svc);
    flags.push_back("--consumer_group=" + w->ConsumerGroup(svc));
    flags.insert(flags.end(), setup.service_flags.begin(), setup.service_flags.end());
    auto p = std::make_unique<ServiceProcess>(
        svc, absl::StrCat(setup.build_dir, "/services/", svc, "/triad-", svc), data,
        absl::StrCat(setup.work_dir, "/", tag, "-", svc, ".log"), setup.bootstrap, flags);
    if (absl::Status s = p->Start(); !s.ok()) return s;
    w->procs_[svc] = std::move(p);
  }
  for (const std::string& svc : services) {
    if (absl::Status s = w->WaitServing(svc); !s.ok()) return s;
  }
  return w;
}

World::~World() { Stop(); }

void World::Stop() {
  for (auto& [name, p] : procs_) {
    if (p->Alive()) p->Stop();
  }
}

ServiceProcess* World::Get(const std::string& service) const {
  auto it = procs_.find(service);
  return it == procs_.end() ? nullptr : it->second.get();
}

std::string World::ConsumerGroup(const std::string& service) const {
  return absl::StrCat("flow-", tag_, "-", service, "-", setup_.run_id);
}

absl::Status World::WaitServing(const std::string& service) {
  ServiceProcess* p = Get(service);
  absl::Status s = WaitUntil(
      [&] {
        if (!p->Alive()) return true;
        return p->Channel()->WaitForConnected(std::chrono::system_clock::now() +
                                              std::chrono::milliseconds(200));
      },
      absl::Seconds(120), absl::StrCat(service, " to accept gRPC connections"));
  if (!p->Alive()) {
    return absl::UnavailableError(
        absl::StrCat(service, " exited at start; its log:\n", p->LogTail()));
  }
  return s;
}

absl::Status World::SeedTemplateAndResources(int resources_per_skill) {
  auto prod = xv1::ProductionService::NewStub(Get("production")->Channel());
  xv1::PhaseTemplateSet shipped;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    xv1::GetPhaseTemplateRequest req;
    req.set_product_line("architectural-design");
    if (auto s = Check(prod->GetPhaseTemplate(&ctx, req, &shipped), "GetPhaseTemplate"); !s.ok()) {
      return s;
    }
  }
  std::set<std::string> skills;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    xv1::CreatePhaseTemplateVersionRequest req;
    *req.mutable_template_() = shipped;
    req.mutable_template_()->set_product_line(kProductLine);
    req.mutable_template_()->set_version(0);
    req.mutable_template_()->clear_create_time();
    req.mutable_template_()->clear_created_by();
    req.mutable_template_()->set_default_effort_hours(40);
    for (const xv1::PhaseTemplate& ph : shipped.phases()) skills.insert(ph.required_skill());
    req.set_request_id(absl::StrCat("flow-template-", setup_.run_id));
    *req.mutable_actor() = Actor();
    xv1::PhaseTemplateSet out;
    if (auto s =
            Check(prod->CreatePhaseTemplateVersion(&ctx, req, &out), "CreatePhaseTemplateVersion");
        !s.ok()) {
      return s;
    }
  }
  for (const std::string& skill : skills) {
    for (int i = 0; i < resources_per_skill; ++i) {
      grpc::ClientContext ctx;
      Deadline(ctx);
      xv1::CreateResourceRequest req;
      req.mutable_resource()->set_display_name(absl::StrCat("Flow team ", skill, " ", i));
      req.mutable_resource()->add_skills(skill);
      req.mutable_resource()->set_weekly_capacity_hours(168);
      req.set_request_id(absl::StrCat("flow-resource-", setup_.run_id, "-", skill, "-", i));
      *req.mutable_actor() = Actor();
      xv1::Resource out;
      if (auto s = Check(prod->CreateResource(&ctx, req, &out), "CreateResource"); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> World::SeedClients(int n) {
  auto stub = cv1::ClientsService::NewStub(Get("clients")->Channel());
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cv1::CreateClientRequest req;
    req.set_request_id(absl::StrCat("flow-client-", setup_.run_id, "-", i));
    req.set_force(true);
    cv1::Client* c = req.mutable_client();
    c->set_name(absl::StrCat("Flow Bench Design Institute ", i));
    c->set_owner_id("u:flow.bench");
    c->set_tier(cv1::CLIENT_TIER_KEY);
    c->set_region("cn-east");
    c->set_industry("healthcare");
    *req.mutable_actor() = Actor();
    cv1::Client out;
    if (auto s = Check(stub->CreateClient(&ctx, req, &out), "CreateClient"); !s.ok()) return s;
    ids.push_back(out.client_id());
  }
  return ids;
}

absl::Status World::SeedExperts(int n) {
  auto stub = rv1::ReviewService::NewStub(Get("review")->Channel());
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::CreateExpertRequest req;
    req.set_request_id(absl::StrCat("flow-expert-", setup_.run_id, "-", i));
    rv1::Expert* e = req.mutable_expert();
    e->set_expert_id(absl::StrCat("u:flow.expert.", i));
    e->set_display_name(absl::StrCat("Flow expert ", i));
    e->set_weekly_capacity_hours(40);
    rv1::DomainSkill* d = e->add_domains();
    d->set_domain(kDomain);
    d->set_level(rv1::PROFICIENCY_SENIOR);
    *req.mutable_actor() = Actor();
    rv1::Expert out;
    if (auto s = Check(stub->CreateExpert(&ctx, req, &out), "CreateExpert"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status World::SeedLatency(int resources_per_skill) {
  if (absl::Status s = SeedTemplateAndResources(resources_per_skill); !s.ok()) return s;
  auto pipeline = pv1::PipelineService::NewStub(Get("pipeline")->Channel());
  grpc::ClientContext ctx;
  Deadline(ctx);
  pv1::CreatePlaybookVersionRequest req;
  req.set_request_id(absl::StrCat("flow-playbook-", setup_.run_id));
  pv1::Playbook* pb = req.mutable_playbook();
  pb->set_product_line(kProductLine);
  pb->set_name("Event-flow benchmark (no gates)");
  pb->set_default_delivery_days(365);
  for (const auto& [id, p] : {std::pair<const char*, double>{"qualification", 0.1},
                              std::pair<const char*, double>{"negotiation", 0.8}}) {
    pv1::Stage* st = pb->add_stages();
    st->set_id(id);
    st->set_name(id);
    st->set_win_probability(p);
  }
  pv1::Playbook out;
  if (auto s = Check(pipeline->CreatePlaybookVersion(&ctx, req, &out), "CreatePlaybookVersion");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<std::string>> clients = SeedClients(1);
  if (!clients.ok()) return clients.status();
  client_id_ = clients->front();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> World::PrepareDeals(size_t n, int threads) {
  auto stub = pv1::PipelineService::NewStub(Get("pipeline")->Channel());
  const absl::Time now = absl::Now();
  auto one = [&](size_t i) -> absl::StatusOr<std::string> {
    pv1::CreateOpportunityRequest req;
    req.set_request_id(absl::StrCat("flow-deal-", setup_.run_id, "-", i));
    req.set_client_id(client_id_);
    req.set_owner_id("u:flow.bench");
    req.set_title(absl::StrCat("Flow deal ", i));
    req.mutable_value()->set_amount_minor(100000000);
    req.mutable_value()->set_currency("CNY");
    req.set_product_line(kProductLine);
    *req.mutable_expected_close_time() = util::ToProto(now + absl::Hours(24 * 30));
    *req.mutable_desired_delivery_time() = util::ToProto(now + absl::Hours(24 * 365));
    *req.mutable_actor() = Actor();
    pv1::Opportunity opp;
    grpc::Status s;
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      Deadline(ctx);
      s = stub->CreateOpportunity(&ctx, req, &opp);
      // Until pipeline's replica has learnt the client from clients' event.
      if (s.error_code() != grpc::StatusCode::FAILED_PRECONDITION || attempt > 600) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (auto st = Check(s, "CreateOpportunity"); !st.ok()) return st;
    grpc::ClientContext ctx;
    Deadline(ctx);
    pv1::AdvanceStageRequest adv;
    adv.set_opportunity_id(opp.id());
    adv.set_target_stage("negotiation");
    *adv.mutable_actor() = Actor();
    pv1::Opportunity moved;
    if (auto st = Check(stub->AdvanceStage(&ctx, adv, &moved), "AdvanceStage"); !st.ok()) {
      return st;
    }
    return opp.id();
  };
  std::vector<std::string> ids(n);
  if (n == 0) return ids;
  absl::StatusOr<std::string> first = one(0);
  if (!first.ok()) return first.status();
  ids[0] = *first;
  std::atomic<size_t> next{1};
  absl::Mutex mu;
  absl::Status failed = absl::OkStatus();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        absl::StatusOr<std::string> id = one(i);
        absl::MutexLock l(&mu);
        if (!id.ok()) {
          if (failed.ok()) failed = id.status();
          return;
        }
        ids[i] = *id;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  if (!failed.ok()) return failed;
  return ids;
}

}  // namespace triad::bench_flow
