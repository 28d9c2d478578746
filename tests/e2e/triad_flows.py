"""The flow helpers of Triad's end-to-end tests (exported by harness.py as `Triad`): records,
experts and resources made through the services' APIs, an opportunity taken through the
playbook, a review decided by the expert the review service assigned, a win, a project's phases
progressed with their milestone sign-offs. Every wait polls with a deadline.

    t = Triad(cluster)            # cluster: harness.Cluster, started and isolated
    c = t.client("hosp", "Ningbo Eastern Hospital", owner="u:wang")
    opp = t.opportunity("hosp-deal", c.client_id, owner="u:wang", value=1_200_000)
    t.to_concept(opp.id); review = t.open_review(opp.id); t.decide(review, APPROVED, 120)
"""
import datetime

import grpc

import harness
from triad_py import rpc

T = rpc.DEFAULT_RPC_TIMEOUT
ACTOR = "u:e2e.%s" % harness.RUN
GATE_REVIEW = "concept.expert_review"
GATE_FEASIBILITY = "concept.feasibility"


# Dates are days from this run's start, so a retried request is the same request.
_START = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def day(n):
    """The Timestamp n days after the run's start."""
    return rpc.timestamp(_START + datetime.timedelta(days=n))


def rid(name):
    """The request_id of one record of this run."""
    return "e2e-%s-%s" % (harness.RUN, name)


def list_all(call, request, field):
    """Every item of a paginated list RPC (follows next_page_token)."""
    out = []
    while True:
        resp = call(request, timeout=T)
        out.extend(getattr(resp, field))
        if not resp.next_page_token:
            return out
        request.page_token = resp.next_page_token


class Triad:
    def __init__(self, cluster):
        self.c = cluster
        self.S = harness.stubs()

    # ------------------------------------------------------------------ clients

    def client(self, key, name, owner, tier=None, force=False, **fields):
        S = self.S
        tier = S.clients.CLIENT_TIER_KEY if tier is None else tier
        return self.c.clients.CreateClient(S.clients.CreateClientRequest(
            request_id=rid("client-" + key), force=force, actor=rpc.actor(ACTOR, "e2e record"),
            client=S.clients.Client(name=name, owner_id=owner, tier=tier, region="cn-east",
                                    industry="healthcare", **fields)), timeout=T)

    def get_client(self, client_id):
        return self.c.clients.GetClient(self.S.clients.GetClientRequest(client_id=client_id),
                                        timeout=T)

    # ------------------------------------------------------------------ review, production

    def expert(self, key, capacity=40.0, domain=None):
        S = self.S
        return self.c.review.CreateExpert(S.review.CreateExpertRequest(
            request_id=rid("expert-" + key), actor=rpc.actor(ACTOR),
            expert=S.review.Expert(
                expert_id="u:expert.%s.%s" % (key, harness.RUN), display_name="Expert " + key,
                weekly_capacity_hours=capacity, domains=[S.review.DomainSkill(
                    domain=domain or self.c.domain, level=S.review.PROFICIENCY_SENIOR)])),
            timeout=T)

    def resource(self, key, skill, weekly_hours=40.0):
        S = self.S
        return self.c.production.CreateResource(S.production.CreateResourceRequest(
            request_id=rid("resource-" + key), actor=rpc.actor(ACTOR),
            resource=S.production.Resource(display_name="Team " + key, skills=[skill],
                                           weekly_capacity_hours=weekly_hours)), timeout=T)

    def staff(self, experts=2, capacity=40.0, design_hours=160.0, drafting_hours=160.0):
        """Experts of the run's review domain and one resource per skill of its template."""
        out = [self.expert("x%d" % i, capacity) for i in range(experts)]
        self.resource("design", self.c.skills[0], design_hours)
        self.resource("drafting", self.c.skills[1], drafting_hours)
        return out

    # ------------------------------------------------------------------ opportunities

    def opportunity(self, key, client_id, owner, value=1_200_000, **kw):
        """CreateOpportunity on the run's product line, retried while pipeline's replica does
        not know the client yet (FAILED_PRECONDITION "... not known")."""
        S = self.S
        kw.setdefault("title", "Deal " + key)
        kw.setdefault("expected_close_time", day(60))
        kw.setdefault("desired_delivery_time", day(365))
        req = S.pipeline.CreateOpportunityRequest(
            request_id=rid("opp-" + key), client_id=client_id, owner_id=owner,
            value=rpc.money(value), product_line=self.c.product_line, actor=rpc.actor(owner),
            **kw)

        def attempt():
            try:
                return self.c.pipeline.CreateOpportunity(req, timeout=T)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details():
                    raise LookupError(e.details())
                raise RuntimeError("CreateOpportunity: " + rpc.describe_error(e)) from e
        return harness.poll(attempt, "pipeline to learn client %s" % client_id)

    def opp(self, opp_id):
        return self.c.pipeline.GetOpportunity(
            self.S.pipeline.GetOpportunityRequest(opportunity_id=opp_id), timeout=T)

    def advance(self, opp_id, stage, reason=""):
        return self.c.pipeline.AdvanceStage(self.S.pipeline.AdvanceStageRequest(
            opportunity_id=opp_id, target_stage=stage, reason=reason,
            actor=rpc.actor(ACTOR, reason)), timeout=T)

    def tick(self, opp_id, *checkpoint_ids):
        o = None
        for cp in checkpoint_ids:
            o = self.c.pipeline.CompleteChecklistItem(self.S.pipeline.CompleteChecklistItemRequest(
                opportunity_id=opp_id, checkpoint_id=cp, actor=rpc.actor(ACTOR)), timeout=T)
        return o

    def set_fields(self, opp_id, **fields):
        o = self.opp(opp_id)
        upd = self.S.pipeline.Opportunity(id=opp_id)
        upd.fields.update(fields)
        return self.c.pipeline.UpdateOpportunity(self.S.pipeline.UpdateOpportunityRequest(
            opportunity=upd, update_mask=rpc.field_mask("fields"), etag=o.etag,
            actor=rpc.actor(ACTOR)), timeout=T)

    def to_concept(self, opp_id):
        """qualification -> needs_analysis -> concept, completing each stage's checkpoints."""
        o = self.opp(opp_id)
        if o.stage == "qualification":
            self.tick(opp_id, "qualification.decision_maker")
            self.advance(opp_id, "needs_analysis")
            o = self.opp(opp_id)
        if o.stage == "needs_analysis":
            if "site_area_m2" not in o.fields:
                self.set_fields(opp_id, site_area_m2="38000")
            self.tick(opp_id, "needs.site_visit", "needs.brief_confirmed")
            o = self.advance(opp_id, "concept")
        return o

    def wait_gate(self, opp_id, checkpoint_id, status, timeout=harness.SYNC_TIMEOUT_S):
        def ready():
            c = rpc.checkpoint(self.opp(opp_id), checkpoint_id)
            return c if c.gate_status == status else None
        return harness.poll(ready, "%s of %s to be %s" % (
            checkpoint_id, opp_id, self.S.pipeline.GateStatus.Name(status)), timeout)

    def to_won(self, opp_id, due_days=270):
        """From concept with both gates open: proposal -> negotiation -> won."""
        o = self.opp(opp_id)
        if o.stage == "concept":
            self.advance(opp_id, "proposal")
            o = self.opp(opp_id)
        if o.stage == "proposal":
            self.tick(opp_id, "proposal.expert_presented", "proposal.fee_proposal_sent")
            self.advance(opp_id, "negotiation")
        self.tick(opp_id, "negotiation.contract_terms")
        return self.c.pipeline.WinOpportunity(self.S.pipeline.WinOpportunityRequest(
            opportunity_id=opp_id, due_time=day(due_days), actor=rpc.actor(ACTOR)),
            timeout=T)

    # ------------------------------------------------------------------ reviews

    def reviews(self, **filters):
        return list_all(self.c.review.ListReviewRequests,
                        self.S.review.ListReviewRequestsRequest(page_size=200, **filters),
                        "reviews")

    def open_review(self, opp_id=None, project_id=None, phase_id=None, assigned=True):
        """Polls review until a request for the opportunity gate (or the project phase's
        sign-off) exists and, when `assigned`, has an expert; returns it."""
        S = self.S
        want = (S.review.REVIEW_STATE_ASSIGNED,) if assigned else (
            S.review.REVIEW_STATE_QUEUED, S.review.REVIEW_STATE_ASSIGNED)

        def found():
            for r in self.reviews(domain=self.c.domain):
                if opp_id and (r.opportunity_id != opp_id or r.project_id):
                    continue
                if project_id and (r.project_id != project_id or r.phase_id != phase_id):
                    continue
                if r.state in want:
                    return r
            return None
        return harness.poll(found, "an open review of %s" % (opp_id or phase_id))

    def decide(self, review, verdict, hours=120.0, summary="courtyard scheme, phased build"):
        """The assigned expert accepts the review and records the verdict."""
        S = self.S
        who = rpc.actor(review.expert_id)
        r = self.c.review.AcceptReview(S.review.AcceptReviewRequest(
            review_id=review.review_id, request_id=rid("accept-" + review.review_id), actor=who),
            timeout=T)
        return self.c.review.RecordVerdict(S.review.RecordVerdictRequest(
            review_id=r.review_id, verdict=verdict, judgement="e2e judgement",
            solution_summary=summary, estimated_effort_hours=hours,
            risks=["client sign-off of the clean/dirty flows"],
            request_id=rid("verdict-%s" % review.review_id), actor=who), timeout=T)

    def approve_gates(self, opp_id, hours=120.0):
        """The assigned expert approves the deal's review; waits for both gates to open
        (production answers the feasibility request on its own)."""
        S = self.S
        self.decide(self.open_review(opp_id), S.review.VERDICT_APPROVED, hours)
        self.wait_gate(opp_id, GATE_REVIEW, S.pipeline.GATE_STATUS_OPEN)
        return self.wait_gate(opp_id, GATE_FEASIBILITY, S.pipeline.GATE_STATUS_OPEN)

    # ------------------------------------------------------------------ projects

    def projects(self):
        return list_all(self.c.production.ListProjects,
                        self.S.production.ListProjectsRequest(page_size=500), "projects")

    def project_of(self, opp_id, timeout=harness.SYNC_TIMEOUT_S):
        """Polls production until the won opportunity's project exists and is scheduled."""
        def found():
            for p in self.projects():
                if p.opportunity_id == opp_id and p.scheduled:
                    return p
            return None
        return harness.poll(found, "the project of %s" % opp_id, timeout)

    def project(self, project_id):
        return self.c.production.GetProject(
            self.S.production.GetProjectRequest(project_id=project_id), timeout=T)

    def progress(self, project_id, phase_id, percent):
        return self.c.production.ReportPhaseProgress(self.S.production.ReportPhaseProgressRequest(
            project_id=project_id, phase_id=phase_id, progress_percent=percent,
            request_id=rid("progress-%s-%s-%g" % (project_id, phase_id, percent)),
            actor=rpc.actor(ACTOR)), timeout=T).project

    def sign_off(self, project_id, phase_id, verdict=None):
        """The sign-off review of a completed milestone, decided by its expert; waits until
        production has the phase's sign-off state. Returns (review, phase)."""
        S = self.S
        verdict = verdict or S.review.VERDICT_APPROVED
        review = self.open_review(project_id=project_id, phase_id=phase_id)
        self.decide(review, verdict, 0, "milestone drawings checked")
        want = (S.production.SIGN_OFF_STATE_APPROVED if verdict == S.review.VERDICT_APPROVED
                else S.production.SIGN_OFF_STATE_REJECTED)

        def signed():
            for ph in self.project(project_id).phases:
                if ph.phase_id == phase_id and ph.sign_off == want:
                    return ph
            return None
        return review, harness.poll(signed, "sign-off of %s in production" % phase_id)

    def complete_project(self, project_id):
        """Completes every phase in order, each milestone signed off by its expert."""
        for ph in self.project(project_id).phases:
            self.progress(project_id, ph.phase_id, 100)
            if ph.key_milestone:
                self.sign_off(project_id, ph.phase_id)
        return self.project(project_id)
