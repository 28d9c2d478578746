"""Seeds what the gRPC-limit benchmark's calls need, through the four services' real gRPC APIs
(bench/grpc/bench_grpc.py): clients spread over owners, a two-stage playbook whose deals the
AdvanceStage run moves forward and back, opportunities on it, an expert with review requests
assigned to and accepted by them (one per RecordVerdict call), production resources and projects
whose first phase ReportPhaseProgress reports on. Every call is checked; a failed seed stops the
benchmark (a benchmark of errors measures nothing).

    seed = Seeder(addrs, token, log)
    ids = seed.run(clients=10000, opportunities=400, reviews=6000, projects=20)
"""
import concurrent.futures
import datetime
import time
import uuid

import grpc

from triad_py import rpc, stubs

T = 30
# The benchmark's product line: two stages, backward moves allowed, no checkpoints, so a deal
# can be moved to "bench_b" and back to "bench_a" for ever.
PLAYBOOK_LINE = "bench-line"
STAGES = ("bench_a", "bench_b")
EXPERT = "u:bench.expert"
REVIEW_DOMAIN = "bench-review"
# The specialised-equipment phase template's skills (production's built-in version 1).
SKILLS = ("equipment-design", "manufacturing", "testing", "installation")
OWNERS = 100


def owner(i):
    return "u:owner.%03d" % (i % OWNERS)


class Seeder:
    """Seeds through the four services at `addrs` (name -> host:port), every call under
    `token` (plaintext, the bearer token as metadata)."""

    def __init__(self, addrs, token, log, parallel=16):
        self.s = stubs.load()
        s = self.s
        review = stubs._merge(s.module("triad.review.v1.resources_pb2"),
                              s.module("triad.review.v1.review_service_pb2"))
        production = stubs._merge(s.module("triad.production.v1.resources_pb2"),
                                  s.module("triad.production.v1.production_service_pb2"))
        self.review, self.production = review, production
        self.md = (("authorization", "Bearer " + token),)
        self.ch = {name: grpc.insecure_channel(a) for name, a in addrs.items()}
        self.c = s.ClientsStub(self.ch["clients"])
        self.p = s.PipelineStub(self.ch["pipeline"])
        self.r = s.module("triad.review.v1.review_service_pb2_grpc").ReviewServiceStub(
            self.ch["review"])
        self.pr = s.module("triad.production.v1.production_service_pb2_grpc").ProductionServiceStub(
            self.ch["production"])
        self.log = log
        self.parallel = parallel
        self.now = datetime.datetime.now(datetime.timezone.utc)

    def close(self):
        for ch in self.ch.values():
            ch.close()

    def _pool(self, fn, items, what):
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(self.parallel) as pool:
            out = list(pool.map(fn, items))
        self.log("seeded %d %s in %.1fs" % (len(out), what, time.monotonic() - start))
        return out

    def client(self, i):
        c = self.c.CreateClient(self.s.clients.CreateClientRequest(
            request_id="bench-client-%d" % i,
            client=self.s.clients.Client(
                name="Seed Client %d %s" % (i, uuid.uuid4().hex[:8]), owner_id=owner(i),
                phone="021-%08d" % i, industry="design", region="cn-east",
                tier=self.s.clients.CLIENT_TIER_STANDARD),
            actor=rpc.actor(EXPERT)), timeout=T, metadata=self.md)
        return c.client_id

    def playbook(self):
        P = self.s.pipeline
        pb = P.Playbook(product_line=PLAYBOOK_LINE, name="Benchmark line", allow_backward=True,
                        default_delivery_days=90,
                        stages=[P.Stage(id=STAGES[0], name="A", win_probability=0.2),
                                P.Stage(id=STAGES[1], name="B", win_probability=0.4)])
        self.p.CreatePlaybookVersion(P.CreatePlaybookVersionRequest(
            playbook=pb, request_id="bench-playbook"), timeout=T, metadata=self.md)

    def opportunity(self, args):
        i, client_id = args
        P = self.s.pipeline
        req = P.CreateOpportunityRequest(
            request_id="bench-opp-%d" % i, client_id=client_id, owner_id=owner(i),
            title="Benchmark deal %d" % i, value=rpc.money(100000 + i),
            expected_close_time=rpc.timestamp(self.now + datetime.timedelta(days=30)),
            product_line=PLAYBOOK_LINE, actor=rpc.actor(owner(i)))
        deadline = time.monotonic() + 120
        while True:
            try:
                return self.p.CreateOpportunity(req, timeout=T, metadata=self.md).id
            except grpc.RpcError as e:
                # Pipeline learns clients from the clients service's events (eventually).
                if (e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details()
                        and time.monotonic() < deadline):
                    time.sleep(0.2)
                    continue
                raise

    def expert(self):
        R = self.review
        self.r.CreateExpert(R.CreateExpertRequest(
            request_id="bench-expert", actor=rpc.actor(EXPERT),
            expert=R.Expert(expert_id=EXPERT, display_name="Benchmark expert",
                            weekly_capacity_hours=168,
                            domains=[R.DomainSkill(domain=REVIEW_DOMAIN,
                                                   level=R.PROFICIENCY_SENIOR)])),
            timeout=T, metadata=self.md)

    def review_request(self, i):
        R = self.review
        due = rpc.timestamp(self.now + datetime.timedelta(days=28))
        rv = self.r.CreateReviewRequest(R.CreateReviewRequestRequest(
            request_id="bench-review-%d" % i, actor=rpc.actor(EXPERT),
            review=R.ReviewRequest(kind=R.REVIEW_KIND_OPPORTUNITY_GATE, domain=REVIEW_DOMAIN,
                                   title="Benchmark review %d" % i, due_time=due,
                                   estimated_hours=0.01)), timeout=T, metadata=self.md)
        if rv.expert_id != EXPERT:
            raise RuntimeError("review %s not assigned to %s (state %s)" % (
                rv.review_id, EXPERT, R.ReviewState.Name(rv.state)))
        self.r.AcceptReview(R.AcceptReviewRequest(
            review_id=rv.review_id, request_id="bench-accept-%d" % i, actor=rpc.actor(EXPERT)),
            timeout=T, metadata=self.md)
        return rv.review_id

    def resources(self):
        PR = self.production
        for skill in SKILLS:
            self.pr.CreateResource(PR.CreateResourceRequest(
                request_id="bench-resource-" + skill, actor=rpc.actor(EXPERT),
                resource=PR.Resource(display_name="Bench " + skill, skills=[skill],
                                     weekly_capacity_hours=160)), timeout=T, metadata=self.md)

    def project(self, args):
        i, client_id = args
        PR = self.production
        due = (self.now + datetime.timedelta(days=365)).strftime("%Y-%m-%d")
        resp = self.pr.CreateProject(PR.CreateProjectRequest(
            request_id="bench-project-%d" % i, actor=rpc.actor(EXPERT),
            project=PR.Project(client_id=client_id, product_line="specialised-equipment",
                               title="Benchmark order %d" % i, value=rpc.money(1000000),
                               due_date=due, effort_hours=400)), timeout=T, metadata=self.md)
        p = resp.project
        return {"project_id": p.project_id, "phase_id": p.phases[0].phase_id}

    def run(self, clients, opportunities, reviews, projects):
        """Seeds everything; returns the ids the benchmark's calls name."""
        ids = {}
        client_ids = self._pool(self.client, range(clients), "clients")
        ids["client_ids"] = client_ids[:1000]
        ids["owner"] = owner(7)
        self.playbook()
        ids["opportunity_ids"] = self._pool(
            self.opportunity, [(i, client_ids[i % len(client_ids)]) for i in range(opportunities)],
            "opportunities (%s)" % PLAYBOOK_LINE)
        self.expert()
        ids["review_ids"] = self._pool(self.review_request, range(reviews),
                                       "review requests, assigned and accepted")
        self.resources()
        ids["phases"] = self._pool(self.project, [(i, client_ids[i]) for i in range(projects)],
                                   "production projects")
        return ids
