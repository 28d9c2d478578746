"""The demo loader's connection to the four services and its idempotent helpers (tools/demo).

Every record the demo makes carries a fixed request_id (rid()), every step checks where a record
already is before moving it, and dates count from the first load (kept in .triad so a second run
sends the same requests): loading twice changes nothing.

Against services run with JWT authentication (`make run`), each call carries a dev token of the
person its request names as actor, with that person's roles (PEOPLE): salespeople act as sales,
the heads of business lines as sales managers (hand-overs, offboarding), experts decide their
reviews as experts, production orders are planned as production manager, and what names nobody
(loading records from spreadsheets, staffing, reading back the numbers) runs as the operator
LOADER.
"""
import datetime
import os

import grpc

from triad_py import auth, rpc, stubs

SYNC_TIMEOUT_S = 60
T = 15
S = None


def load_stubs():
    """The generated classes plus the review and production namespaces."""
    global S
    if S is None:
        s = stubs.load()
        s.review = stubs._merge(s.module("triad.review.v1.events_pb2"),
                                s.module("triad.review.v1.resources_pb2"),
                                s.module("triad.review.v1.review_service_pb2"))
        s.production = stubs._merge(s.module("triad.production.v1.events_pb2"),
                                    s.module("triad.production.v1.resources_pb2"),
                                    s.module("triad.production.v1.production_service_pb2"))
        s.ReviewStub = s.module("triad.review.v1.review_service_pb2_grpc").ReviewServiceStub
        s.ProductionStub = s.module(
            "triad.production.v1.production_service_pb2_grpc").ProductionServiceStub
        S = s
    return S


LOADER = "u:demo.loader"
# Who is who in the demo: subject -> (roles, teams) of their tokens.
PEOPLE = {
    LOADER: (["operator"], []),
    "u:wang.tech": (["sales"], ["firm-a.east"]),
    "u:zhao.am": (["sales"], ["firm-a.east"]),
    # The head of firm A's business line manages its sales team and plans its production orders.
    "u:manager.qian": (["sales_manager", "production_manager"], ["firm-a.east"]),
    "u:sun.sales": (["sales_manager"], ["firm-b.design"]),
    "u:expert.gao": (["expert"], []),
    "u:expert.zhou": (["expert"], []),
    "u:expert.xu": (["expert"], []),
    "u:expert.lin": (["expert"], []),
}


def person(subject):
    """The roles and teams of a demo person's token (an unknown subject acts as an operator)."""
    return PEOPLE.get(subject, (["operator"], []))


def security(pki_dir=None, plaintext=False):
    """How the demo connects: TLS with a token per acting person (auth.ActorTokens) when the dev
    PKI (pki_dir, else $TRIAD_PKI_DIR, else .triad/pki) has its signing key; plaintext when
    `plaintext` (services run with --auth_mode=disabled). Returns (security for calls, security
    for health checks)."""
    if plaintext:
        return None, None
    pki = auth.DevPki(pki_dir or auth.dev_pki_dir())
    if not pki.exists():
        raise RuntimeError("no dev PKI at %s (make run writes it; --plaintext for services run "
                           "without authentication)" % pki.root)
    return auth.ActorTokens(pki, person, LOADER), pki


def rid(name):
    """The fixed request_id of one demo record."""
    return "demo-v2-" + name


def say(text=""):
    print(text, flush=True)


def poll(fn, what, timeout=SYNC_TIMEOUT_S):
    return rpc.poll_until(fn, timeout, what)


class Kit:
    """Stubs of the four services and the helpers both cases use."""

    def __init__(self, addrs, state_dir, calls=None):
        load_stubs()
        self.addrs = addrs
        self.c = S.ClientsStub(rpc.channel(addrs["clients"], calls))
        self.p = S.PipelineStub(rpc.channel(addrs["pipeline"], calls))
        self.r = S.ReviewStub(rpc.channel(addrs["review"], calls))
        self.pr = S.ProductionStub(rpc.channel(addrs["production"], calls))
        self.ids = {}
        self.start = self._start_day(state_dir)

    @staticmethod
    def _start_day(state_dir):
        """The demo's day 0: the date of the first load (so reruns send identical requests)."""
        path = os.path.join(state_dir, "demo-day0")
        try:
            with open(path) as f:
                return datetime.datetime.fromisoformat(f.read().strip())
        except (OSError, ValueError):
            d = datetime.datetime.now(datetime.timezone.utc).replace(
                hour=0, minute=0, second=0, microsecond=0)
            os.makedirs(state_dir, exist_ok=True)
            with open(path, "w") as f:
                f.write(d.isoformat())
            return d

    def day(self, n):
        return rpc.timestamp(self.start + datetime.timedelta(days=n))

    def date(self, n):
        return (self.start + datetime.timedelta(days=n)).strftime("%Y-%m-%d")

    # ------------------------------------------------------------------ records

    def client(self, key, name, owner, tier, industry, team, **extra):
        c = self.c.CreateClient(S.clients.CreateClientRequest(
            request_id=rid("client-" + key),
            client=S.clients.Client(name=name, owner_id=owner, tier=tier, industry=industry,
                                    region="cn-east", team_id=team, **extra),
            actor=rpc.actor(LOADER, "moved from a personal spreadsheet into the "
                            "company record")), timeout=T)
        self.ids[key] = c.client_id
        return c

    @staticmethod
    def until_known(fn, what):
        """fn(), retried while pipeline has not yet learned the client it names
        (FAILED_PRECONDITION "... not known": its replica is eventually consistent)."""
        def attempt():
            try:
                return fn()
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details():
                    raise LookupError(e.details())
                raise RuntimeError("%s: %s" % (what, rpc.describe_error(e)))
        return poll(attempt, "pipeline to learn the client of " + what)

    def opportunity(self, key, **kw):
        """CreateOpportunity, retried while pipeline has not yet learned the client."""
        req = S.pipeline.CreateOpportunityRequest(request_id=rid("opp-" + key),
                                                  actor=rpc.actor(kw["owner_id"]), **kw)
        o = self.until_known(lambda: self.p.CreateOpportunity(req, timeout=T), key)
        self.ids[key] = o.id
        return o

    def opp(self, opp_id):
        return self.p.GetOpportunity(S.pipeline.GetOpportunityRequest(opportunity_id=opp_id),
                                     timeout=T)

    def tick(self, opp_id, *checkpoints, by):
        o = self.opp(opp_id)
        done = {c.checkpoint_id for c in o.checkpoints if c.done}
        for cp in checkpoints:
            if cp not in done:
                o = self.p.CompleteChecklistItem(S.pipeline.CompleteChecklistItemRequest(
                    opportunity_id=opp_id, checkpoint_id=cp, actor=rpc.actor(by)), timeout=T)
        return o

    def set_field(self, opp_id, key, value, by):
        o = self.opp(opp_id)
        if o.fields.get(key) == value:
            return o
        upd = S.pipeline.Opportunity(id=opp_id)
        upd.fields[key] = value
        return self.p.UpdateOpportunity(S.pipeline.UpdateOpportunityRequest(
            opportunity=upd, update_mask=rpc.field_mask("fields"), etag=o.etag,
            actor=rpc.actor(by)), timeout=T)

    def reach(self, opp_id, stage, by):
        """Advances to `stage` unless the deal is there, beyond it, or closed."""
        o = self.opp(opp_id)
        pb = self.p.GetPlaybook(S.pipeline.GetPlaybookRequest(
            product_line=o.product_line, version=o.playbook_version), timeout=T)
        order = [s.id for s in pb.stages]
        if o.state != S.pipeline.OPPORTUNITY_STATE_OPEN or \
                order.index(o.stage) >= order.index(stage):
            return o
        return self.p.AdvanceStage(S.pipeline.AdvanceStageRequest(
            opportunity_id=opp_id, target_stage=stage, actor=rpc.actor(by)), timeout=T)

    def try_reach(self, opp_id, stage, by):
        """reach(); the FAILED_PRECONDITION message when a checkpoint blocks, else None."""
        try:
            self.reach(opp_id, stage, by)
            return None
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return e.details()

    def gate(self, opp_id, checkpoint_id):
        return rpc.checkpoint(self.opp(opp_id), checkpoint_id)

    def wait_gate(self, opp_id, checkpoint_id, statuses):
        return poll(lambda: (lambda g: g if g.gate_status in statuses else None)(
            self.gate(opp_id, checkpoint_id)), "gate %s of %s" % (checkpoint_id, opp_id))

    def win(self, opp_id, due_days, by):
        o = self.opp(opp_id)
        if o.state == S.pipeline.OPPORTUNITY_STATE_WON:
            return o
        return self.p.WinOpportunity(S.pipeline.WinOpportunityRequest(
            opportunity_id=opp_id, due_time=self.day(due_days), actor=rpc.actor(by)), timeout=T)

    # ------------------------------------------------------------------ review, production

    def expert(self, expert_id, name, domain, capacity, level=None):
        return self.r.CreateExpert(S.review.CreateExpertRequest(
            request_id=rid("expert-" + expert_id), actor=rpc.actor(LOADER),
            expert=S.review.Expert(expert_id=expert_id, display_name=name,
                                   weekly_capacity_hours=capacity, domains=[S.review.DomainSkill(
                                       domain=domain,
                                       level=level or S.review.PROFICIENCY_SENIOR)])),
            timeout=T)

    def resource(self, key, name, skill, hours, resource_id=""):
        r = self.pr.CreateResource(S.production.CreateResourceRequest(
            request_id=rid("resource-" + key), actor=rpc.actor(LOADER),
            resource=S.production.Resource(resource_id=resource_id, display_name=name,
                                           skills=[skill], weekly_capacity_hours=hours)),
            timeout=T)
        self.ids[key] = r.resource_id
        return r

    def reviews_of(self, opp_id):
        out, token = [], ""
        while True:
            resp = self.r.ListReviewRequests(S.review.ListReviewRequestsRequest(
                page_size=500, page_token=token), timeout=T)
            out += [r for r in resp.reviews if r.opportunity_id == opp_id and not r.project_id]
            token = resp.next_page_token
            if not token:
                return out

    def decide(self, review, verdict, hours, summary, judgement):
        """The assigned expert accepts and decides the review (once: a decided one is kept)."""
        if review.state == S.review.REVIEW_STATE_DECIDED:
            return review
        who = rpc.actor(review.expert_id)
        if review.state == S.review.REVIEW_STATE_ASSIGNED:
            review = self.r.AcceptReview(S.review.AcceptReviewRequest(
                review_id=review.review_id, request_id=rid("accept-" + review.review_id),
                actor=who), timeout=T)
        return self.r.RecordVerdict(S.review.RecordVerdictRequest(
            review_id=review.review_id, verdict=verdict, judgement=judgement,
            solution_summary=summary, estimated_effort_hours=hours,
            request_id=rid("verdict-" + review.review_id), actor=who), timeout=T)

    def project_of(self, opp_id):
        def found():
            token = ""
            while True:
                resp = self.pr.ListProjects(S.production.ListProjectsRequest(
                    page_size=500, page_token=token), timeout=T)
                for p in resp.projects:
                    if p.opportunity_id == opp_id and p.scheduled:
                        return p
                token = resp.next_page_token
                if not token:
                    return None
        return poll(found, "the project of " + opp_id)
