#!/usr/bin/env python3
"""End-to-end test of Triad from another language (Python), against real processes and a real
Kafka broker.

It starts build/services/clients/triad-clients and build/services/pipeline/triad-pipeline as
separate processes (fresh data directories, free loopback ports), waits for grpc.health.v1
SERVING, and then drives the cross-service flow the way a user or another system would:

  register a client (idempotent by request_id) -> pipeline learns it from the client event ->
  an opportunity on it climbs the playbook until the review gate refuses the move
  (FAILED_PRECONDITION naming the open checkpoints) -> a ReviewVerdictRecorded event published
  here (as the review service will) opens the review gate, a FeasibilityAnswered opens the
  feasibility gate -> a portfolio handover in clients moves the opportunity's owner in pipeline ->
  the deal is won and clients records the win; a second won deal makes it a repeat client ->
  every event of the client on triad.clients.client carries CloudEvents headers and decodes with
  the Python classes generated from proto/ alone -> SIGTERM: both exit 0 within the drain time.

Environment:
  KAFKA_BOOTSTRAP_SERVERS   the broker (default 127.0.0.1:19092)
  TRIAD_BUILD_DIR           build tree with the binaries (default <repo>/build)
  TRIAD_SOURCE_DIR          source tree (default: the repository this file is in)
  TRIAD_CLIENTS_BIN / TRIAD_PIPELINE_BIN   explicit binaries (override TRIAD_BUILD_DIR)
  TRIAD_E2E_KEEP=1          keep the temporary directory (data, logs) after the run

Run: python3 tests/e2e/e2e_test.py   (exit status 0 only when every step passed)
"""
import os
import shutil
import signal
import socket
import subprocess
import urllib.request
import sys
import tempfile
import time
import unittest
import uuid

# The repository this file is in (TRIAD_SOURCE_DIR, set by CTest, names the same tree).
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENV_SOURCE = os.environ.get("TRIAD_SOURCE_DIR", "")
if _ENV_SOURCE and os.path.isdir(os.path.join(_ENV_SOURCE, "tools", "triad_py")):
    SOURCE_DIR = _ENV_SOURCE
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))

import triad_py  # noqa: E402

triad_py.ensure_python()

import grpc  # noqa: E402

from triad_py import events, rpc, stubs  # noqa: E402

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:19092"
BUILD_DIR = os.environ.get("TRIAD_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
DRAIN_TIMEOUT_S = 10  # --drain_timeout given to both services
SYNC_TIMEOUT_S = 90  # deadline for one cross-service propagation (consumer group join included)
RUN = uuid.uuid4().hex[:8]  # makes ids unique per run where they are shared (Kafka, groups)

S = None  # generated stubs, loaded in setUpModule


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """One Triad service process on loopback ports, logging to a file."""

    def __init__(self, name, binary, workdir, extra_flags=()):
        self.name = name
        self.binary = binary
        self.workdir = workdir
        self.extra_flags = list(extra_flags)
        self.proc = None
        self.log_path = os.path.join(workdir, name + ".log")
        self.address = None
        self.admin_port = None

    def consumer_count(self, result):
        """The service's triad_consumer_messages_total for `result` (applied, duplicate, ...),
        read from its Prometheus endpoint on the admin port."""
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.admin_port,
                                      timeout=5).read().decode()
        total = 0.0
        for line in body.splitlines():
            if line.startswith("triad_consumer_messages_total{") and \
                    'result="%s"' % result in line:
                total += float(line.rsplit(" ", 1)[1])
        return total

    def start(self, attempts=3):
        last = None
        for _ in range(attempts):
            grpc_port, admin_port = free_port(), free_port()
            data_dir = os.path.join(self.workdir, self.name + "-data")
            os.makedirs(data_dir, exist_ok=True)
            cmd = [self.binary, "--data_dir=" + data_dir, "--listen_host=127.0.0.1",
                   "--grpc_port=%d" % grpc_port, "--admin_port=%d" % admin_port,
                   "--kafka_bootstrap_servers=" + BOOTSTRAP,
                   # The test broker is a single node.
                   "--topic_replication=1", "--topic_min_insync_replicas=1",
                   "--drain_timeout=%ds" % DRAIN_TIMEOUT_S] + self.extra_flags
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            log.close()
            self.address = "127.0.0.1:%d" % grpc_port
            self.admin_port = admin_port
            try:
                rpc.wait_serving(self.address, timeout=60, alive=self.alive)
                return
            except (RuntimeError, TimeoutError) as e:
                last = e
                self.kill()
        raise RuntimeError("%s did not become SERVING: %s\n%s" % (self.name, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout):
        """SIGTERM and wait; returns the exit code (None when it did not exit in time)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
            return "--- last %d lines of %s ---\n%s" % (lines, self.log_path,
                                                        "\n".join(data[-lines:]))
        except OSError:
            return "(no log at %s)" % self.log_path


class Env:
    workdir = None
    clients = None
    pipeline = None
    reader = None  # TopicReader on triad.clients.client, positioned before the test's writes
    opp_reader = None  # TopicReader on triad.pipeline.opportunity
    publisher = None
    cch = None
    pch = None


def binary(env_name, rel):
    path = os.environ.get(env_name) or os.path.join(BUILD_DIR, rel)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s not found or not executable (build it, or set TRIAD_BUILD_DIR / %s)"
                           % (path, env_name))
    return path


def setUpModule():
    global S
    S = stubs.load()
    Env.workdir = tempfile.mkdtemp(prefix="triad-e2e-")
    clients_bin = binary("TRIAD_CLIENTS_BIN", "services/clients/triad-clients")
    pipeline_bin = binary("TRIAD_PIPELINE_BIN", "services/pipeline/triad-pipeline")
    # Unique consumer groups: other runs (or `make run`) on the same broker keep their own.
    Env.clients = Service("clients", clients_bin, Env.workdir,
                          ["--consumer_group=triad-clients-e2e-" + RUN, "--scan_interval=0"])
    Env.pipeline = Service("pipeline", pipeline_bin, Env.workdir,
                           ["--consumer_group=triad-pipeline-e2e-" + RUN,
                            "--stale_scan_interval=0"])
    try:
        Env.clients.start()
        Env.pipeline.start()
        Env.cch = rpc.channel(Env.clients.address)
        Env.pch = rpc.channel(Env.pipeline.address)
        # Positioned at the current end before any write of this run: everything read from
        # here on was caused by this test.
        Env.reader = events.TopicReader(BOOTSTRAP, ["triad.clients.client"],
                                        group_prefix="triad-e2e-reader-" + RUN)
        Env.opp_reader = events.TopicReader(BOOTSTRAP, ["triad.pipeline.opportunity"],
                                            group_prefix="triad-e2e-reader-" + RUN)
        # Stands in for the review and production services, which do not exist yet.
        Env.publisher = events.Publisher(BOOTSTRAP, "triad/e2e-test")
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    for closer in (Env.reader, Env.opp_reader, Env.publisher, Env.cch, Env.pch):
        if closer is not None:
            try:
                closer.close()
            except Exception:  # best effort at teardown
                pass
    for svc in (Env.clients, Env.pipeline):
        if svc is not None and FlowState.failed:
            print(svc.log_tail(60), file=sys.stdout)
        if svc is not None and svc.alive():
            if svc.terminate(DRAIN_TIMEOUT_S + 20) is None:
                svc.kill()
    if Env.workdir and not os.environ.get("TRIAD_E2E_KEEP"):
        shutil.rmtree(Env.workdir, ignore_errors=True)
    elif Env.workdir:
        print("kept %s" % Env.workdir)


class FlowState:
    """Ids carried from one step to the next."""
    failed = None
    client_id = None
    client2_id = None
    opp_id = None
    opp2_id = None
    handover_id = None


def step(fn):
    """Steps run in order and build on each other: after a failed step the later ones are
    reported as not run (counted as failed), except the final shutdown step, which always runs."""

    def wrapper(self):
        if FlowState.failed and not getattr(fn, "always", False):
            self.skipTest("not run: an earlier step failed (%s)" % FlowState.failed)
        try:
            fn(self)
        except BaseException:
            FlowState.failed = FlowState.failed or fn.__name__
            raise

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


OWNER_WANG = "u:wang.%s" % RUN
OWNER_LI = "u:li.%s" % RUN
ACTOR = "u:e2e.%s" % RUN
PRODUCT_LINE = "architectural-design"


class E2ETest(unittest.TestCase):
    maxDiff = None

    # ---------------------------------------------------------------- helpers

    def clients(self):
        return S.ClientsStub(Env.cch)

    def pipeline(self):
        return S.PipelineStub(Env.pch)

    def assertRpcError(self, code, fn, *contains):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        err = cm.exception
        self.assertEqual(err.code(), code, "want %s, got %s: %s"
                         % (code.name, err.code().name, err.details()))
        for text in contains:
            self.assertIn(text, err.details())
        return err.details()

    def get_opp(self, opp_id):
        return self.pipeline().GetOpportunity(
            S.pipeline.GetOpportunityRequest(opportunity_id=opp_id),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)

    def advance(self, opp_id, stage):
        return self.pipeline().AdvanceStage(
            S.pipeline.AdvanceStageRequest(opportunity_id=opp_id, target_stage=stage,
                                           actor=rpc.actor(ACTOR)),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)

    def tick(self, opp_id, checkpoint_id):
        return self.pipeline().CompleteChecklistItem(
            S.pipeline.CompleteChecklistItemRequest(opportunity_id=opp_id,
                                                    checkpoint_id=checkpoint_id,
                                                    actor=rpc.actor(ACTOR)),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)

    def set_fields(self, opp_id, paths, **values):
        opp = self.get_opp(opp_id)
        upd = S.pipeline.Opportunity(id=opp_id)
        for k, v in values.items():
            if k == "fields":
                upd.fields.update(v)
            else:
                getattr(upd, k).CopyFrom(v)
        return self.pipeline().UpdateOpportunity(
            S.pipeline.UpdateOpportunityRequest(opportunity=upd, update_mask=rpc.field_mask(*paths),
                                                etag=opp.etag, actor=rpc.actor(ACTOR)),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)

    def create_opportunity(self, request_id, **kw):
        req = S.pipeline.CreateOpportunityRequest(request_id=request_id, actor=rpc.actor(ACTOR),
                                                  **kw)
        return self.pipeline().CreateOpportunity(req, timeout=rpc.DEFAULT_RPC_TIMEOUT)

    def publish_verdict(self, opp_id, verdict, hours, ce_id=None, review_id=None,
                        summary="Courtyard scheme with separated clean/dirty flows; phased "
                                "construction keeps the outpatient wing open"):
        """Publishes what the review service will: a ReviewVerdictRecorded on
        triad.review.request (key = review id). Returns (ce_id, review_id)."""
        review_id = review_id or "rev-e2e-%s-%s" % (RUN, uuid.uuid4().hex[:6])
        msg = S.review_events.ReviewVerdictRecorded(
            review_id=review_id, opportunity_id=opp_id, gate_id="concept.expert_review",
            domain="architecture", expert_id="u:expert.zhou.%s" % RUN, verdict=verdict,
            solution_summary=summary, estimated_effort_hours=hours,
            risks=["infection-control sign-off by the client"], decide_time=rpc.timestamp(0))
        ce_id = Env.publisher.publish("triad.review.request", review_id,
                                      "triad.review.request.verdict_recorded.v1", msg, ce_id=ce_id)
        return ce_id, review_id

    def publish_feasible(self, opp_id):
        msg = S.production_events.FeasibilityAnswered(
            opportunity_id=opp_id, gate_id="concept.feasibility", feasible=True,
            earliest_completion_time=rpc.timestamp(200), bottleneck_resource="team:structural",
            explanation="structural team free from next month")
        return Env.publisher.publish("triad.production.feasibility", opp_id,
                                     "triad.production.feasibility.answered.v1", msg)

    def wait_gate(self, opp_id, checkpoint_id, status):
        def ready():
            c = rpc.checkpoint(self.get_opp(opp_id), checkpoint_id)
            return c if c.gate_status == status else None
        return rpc.poll_until(ready, SYNC_TIMEOUT_S, "%s of %s to be %s" % (
            checkpoint_id, opp_id, S.pipeline.GateStatus.Name(status)))

    def wait_win_recorded(self, deals_won, what):
        """Polls clients until the client's repeat-business figures count deals_won wins."""
        def recorded():
            c = self.clients().GetClient(S.clients.GetClientRequest(client_id=FlowState.client_id),
                                         timeout=rpc.DEFAULT_RPC_TIMEOUT)
            return c if c.repeat_business.deals_won >= deals_won else None
        return rpc.poll_until(recorded, SYNC_TIMEOUT_S, what)

    def wait_known_and_create(self, request_id, **kw):
        """CreateOpportunity is refused (FAILED_PRECONDITION, client not known) until pipeline's
        replica has consumed the client's registration: retry it with a deadline."""
        def attempt():
            try:
                return self.create_opportunity(request_id, **kw)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details():
                    raise LookupError(e.details())
                raise
        return rpc.poll_until(attempt, SYNC_TIMEOUT_S, "pipeline to learn client %s"
                              % kw.get("client_id"))

    def drive_to_won(self, opp_id):
        """Takes an architectural-design opportunity from its stage through every checkpoint to
        won (the review/feasibility gates opened by published events)."""
        opp = self.get_opp(opp_id)
        if opp.stage == "qualification":
            self.tick(opp_id, "qualification.decision_maker")
            self.advance(opp_id, "needs_analysis")
        opp = self.get_opp(opp_id)
        if opp.stage == "needs_analysis":
            self.set_fields(opp_id, ["fields"], fields={"site_area_m2": "12000"})
            self.tick(opp_id, "needs.site_visit")
            self.tick(opp_id, "needs.brief_confirmed")
            self.advance(opp_id, "concept")
        opp = self.get_opp(opp_id)
        if opp.stage == "concept":
            self.publish_verdict(opp_id, S.review_events.VERDICT_APPROVED, 40)
            self.publish_feasible(opp_id)
            self.wait_gate(opp_id, "concept.expert_review", S.pipeline.GATE_STATUS_OPEN)
            self.wait_gate(opp_id, "concept.feasibility", S.pipeline.GATE_STATUS_OPEN)
            self.advance(opp_id, "proposal")
        opp = self.get_opp(opp_id)
        if opp.stage == "proposal":
            if not opp.HasField("desired_delivery_time"):
                self.set_fields(opp_id, ["desired_delivery_time"], desired_delivery_time=rpc.timestamp(240))
            self.tick(opp_id, "proposal.expert_presented")
            self.tick(opp_id, "proposal.fee_proposal_sent")
            self.advance(opp_id, "negotiation")
        self.tick(opp_id, "negotiation.contract_terms")
        return self.pipeline().WinOpportunity(
            S.pipeline.WinOpportunityRequest(opportunity_id=opp_id, due_time=rpc.timestamp(270),
                                             actor=rpc.actor(ACTOR)),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)

    # ---------------------------------------------------------------- the flow

    @step
    def test_01_services_serving(self):
        """Both processes answer grpc.health.v1 SERVING, overall and for their API service."""
        for svc, api in ((Env.clients, "triad.clients.v1.ClientsService"),
                         (Env.pipeline, "triad.pipeline.v1.PipelineService")):
            self.assertTrue(svc.alive(), svc.log_tail())
            self.assertEqual(rpc.health_status(svc.address), "SERVING")
            self.assertEqual(rpc.health_status(svc.address, api), "SERVING")
        pb = self.pipeline().GetPlaybook(S.pipeline.GetPlaybookRequest(product_line=PRODUCT_LINE),
                                         timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertEqual([s.id for s in pb.stages],
                         ["qualification", "needs_analysis", "concept", "proposal", "negotiation"])

    @step
    def test_02_register_client_idempotent(self):
        """CreateClient with a request_id; the retry returns the same client, not a new one."""
        client = S.clients.Client(
            name="Ningbo Eastern District People's Hospital %s" % RUN,
            tax_id="12330200E2E%s" % RUN.upper(), phone="+86 574 8700 %s" % RUN[:4],
            email="infra@nbedh-%s.example.cn" % RUN, address="1 Zhongshan East Rd, Ningbo",
            owner_id=OWNER_WANG, team_id="team:east", industry="healthcare",
            region="cn-east", tier=S.clients.CLIENT_TIER_KEY, tags=["hospital", "public"])
        req = S.clients.CreateClientRequest(request_id="e2e-client-" + RUN, client=client,
                                            actor=rpc.actor(ACTOR, "met at the regional fair"))
        first = self.clients().CreateClient(req, timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertTrue(first.client_id)
        self.assertEqual(first.status, S.clients.CLIENT_STATUS_COLLECTED)
        self.assertEqual(first.owner_id, OWNER_WANG)
        retry = self.clients().CreateClient(req, timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertEqual(retry.client_id, first.client_id)
        self.assertEqual(retry.etag, first.etag)
        listed = self.clients().ListClients(S.clients.ListClientsRequest(owner_id=OWNER_WANG),
                                            timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertEqual([c.client_id for c in listed.clients], [first.client_id])
        # A second client of the same owner, so the handover moves a portfolio, not one record.
        second = self.clients().CreateClient(S.clients.CreateClientRequest(
            request_id="e2e-client2-" + RUN, actor=rpc.actor(ACTOR),
            client=S.clients.Client(name="Cixi Maternal and Child Care Centre %s" % RUN,
                                    owner_id=OWNER_WANG, industry="healthcare",
                                    region="cn-east", tier=S.clients.CLIENT_TIER_STANDARD)),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)
        FlowState.client_id, FlowState.client2_id = first.client_id, second.client_id

    @step
    def test_03_pipeline_learns_client_from_event(self):
        """pipeline refuses an unknown client, then accepts ours once it consumed the event."""
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.create_opportunity(
            "e2e-opp-unknown-" + RUN, client_id="cl-does-not-exist-" + RUN, owner_id=OWNER_WANG,
            title="nothing", value=rpc.money(1), product_line=PRODUCT_LINE), "not known")
        kw = dict(client_id=FlowState.client_id, owner_id=OWNER_WANG, team_id="team:east",
                  title="Outpatient and medical-technology building, scheme to drawings",
                  value=rpc.money(1_200_000), expected_close_time=rpc.timestamp(60),
                  product_line=PRODUCT_LINE)
        opp = self.wait_known_and_create("e2e-opp-" + RUN, **kw)
        self.assertEqual(opp.stage, "qualification")
        self.assertEqual(opp.state, S.pipeline.OPPORTUNITY_STATE_OPEN)
        self.assertEqual(opp.owner_id, OWNER_WANG)
        self.assertEqual(opp.client_tier, S.clients.CLIENT_TIER_KEY)  # from the replica
        self.assertEqual(opp.region, "cn-east")
        again = self.create_opportunity("e2e-opp-" + RUN, **kw)
        self.assertEqual(again.id, opp.id, "CreateOpportunity retry must return the first result")
        FlowState.opp_id = opp.id

    @step
    def test_04_gates_block_until_review_and_feasibility(self):
        """Stages advance checkpoint by checkpoint; the concept stage's gates refuse the move to
        proposal (FAILED_PRECONDITION naming them) until the verdict and answer events arrive."""
        opp_id = FlowState.opp_id
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: self.advance(opp_id, "needs_analysis"),
                            "qualification.decision_maker")
        self.tick(opp_id, "qualification.decision_maker")
        self.assertEqual(self.advance(opp_id, "needs_analysis").stage, "needs_analysis")
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: self.advance(opp_id, "concept"), "needs.site_area",
                            "needs.site_visit", "needs.brief_confirmed")
        self.set_fields(opp_id, ["fields"], fields={"site_area_m2": "38000"})
        self.tick(opp_id, "needs.site_visit")
        self.tick(opp_id, "needs.brief_confirmed")
        self.assertEqual(self.advance(opp_id, "concept").stage, "concept")

        # Entering concept asked review and production for their answers, as events.
        requested = Env.opp_reader.wait_for(
            lambda m: events.key_of(m) == opp_id and events.headers_dict(m).get("ce_type")
            == "triad.pipeline.opportunity.review_requested.v1", SYNC_TIMEOUT_S,
            "review_requested of " + opp_id)
        rr = stubs.decode_event(S, "triad.pipeline.opportunity.review_requested.v1",
                                requested.value())
        self.assertEqual((rr.opportunity_id, rr.gate_id, rr.domain),
                         (opp_id, "concept.expert_review", "architecture"))
        self.assertEqual(rr.value.amount_minor, 120_000_000)

        # The gate: no jumping to proposal while the expert review is open.
        details = self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                                      lambda: self.advance(opp_id, "proposal"),
                                      "concept.expert_review", "concept.feasibility")
        print("\n  gate refusal: %s" % details, file=sys.stdout)

        # A REVISE verdict keeps the gate closed (HELD).
        self.publish_verdict(opp_id, S.review_events.VERDICT_REVISE, 60)
        self.wait_gate(opp_id, "concept.expert_review", S.pipeline.GATE_STATUS_HELD)
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: self.advance(opp_id, "proposal"), "concept.expert_review")

        # APPROVED opens it; the refusal now names only the feasibility gate.
        ce_id, review_id = self.publish_verdict(opp_id, S.review_events.VERDICT_APPROVED, 120)
        gate = self.wait_gate(opp_id, "concept.expert_review", S.pipeline.GATE_STATUS_OPEN)
        self.assertTrue(gate.done)
        self.assertEqual(gate.verdict, S.review_events.VERDICT_APPROVED)
        self.assertEqual(gate.estimated_effort_hours, 120)
        details = self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                                      lambda: self.advance(opp_id, "proposal"),
                                      "concept.feasibility")
        self.assertNotIn("concept.expert_review", details)

        # A redelivered event (same ce_id, here with a different payload to make a re-apply
        # visible) is skipped: pipeline's consumer counts it as a duplicate (its Prometheus
        # metrics tell when it has been through the consumer) and the gate is unchanged.
        duplicates_before = Env.pipeline.consumer_count("duplicate")
        self.publish_verdict(opp_id, S.review_events.VERDICT_REJECTED, 999, ce_id=ce_id,
                             review_id=review_id, summary="DUPLICATE")
        rpc.poll_until(lambda: Env.pipeline.consumer_count("duplicate") > duplicates_before,
                       SYNC_TIMEOUT_S, "pipeline to count the redelivered verdict as a duplicate")
        gate = rpc.checkpoint(self.get_opp(opp_id), "concept.expert_review")
        self.assertEqual(gate.gate_status, S.pipeline.GATE_STATUS_OPEN)
        self.assertEqual(gate.verdict, S.review_events.VERDICT_APPROVED)
        self.assertEqual(gate.estimated_effort_hours, 120)
        verdicts = [h.detail for h in self.get_opp(opp_id).history if h.kind == "review_verdict"]
        self.assertEqual(len(verdicts), 2, "REVISE, APPROVED; the duplicate ce_id must "
                         "not be applied: %s" % verdicts)
        self.assertFalse(any("999" in v or "REJECTED" in v for v in verdicts), verdicts)

        self.publish_feasible(opp_id)
        self.wait_gate(opp_id, "concept.feasibility", S.pipeline.GATE_STATUS_OPEN)
        moved = self.advance(opp_id, "proposal")
        self.assertEqual(moved.stage, "proposal")
        self.assertEqual(moved.expert_effort_hours, 120)

    @step
    def test_05_handover_moves_opportunity_owner(self):
        """HandOverPortfolio in clients (idempotent by request_id) moves Wang's clients to Li; the
        owner_changed events move Wang's open opportunity on that client to Li in pipeline."""
        req = S.clients.HandOverPortfolioRequest(
            request_id="e2e-handover-" + RUN, from_owner_id=OWNER_WANG, to_owner_id=OWNER_LI,
            actor=rpc.actor(ACTOR, "Wang returns to field service; accounts go to Li"))
        h = self.clients().HandOverPortfolio(req, timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertTrue(h.handover_id)
        h = rpc.poll_until(lambda: (lambda x: x if x.status == S.clients.HANDOVER_STATUS_COMPLETED
                                    else None)(self.clients().GetHandover(
                                        S.clients.GetHandoverRequest(handover_id=h.handover_id),
                                        timeout=rpc.DEFAULT_RPC_TIMEOUT)),
                           SYNC_TIMEOUT_S, "handover to complete")
        self.assertEqual((h.total, h.moved), (2, 2))
        again = self.clients().HandOverPortfolio(req, timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertEqual(again.handover_id, h.handover_id)
        for cid in (FlowState.client_id, FlowState.client2_id):
            c = self.clients().GetClient(S.clients.GetClientRequest(client_id=cid),
                                         timeout=rpc.DEFAULT_RPC_TIMEOUT)
            self.assertEqual(c.owner_id, OWNER_LI)
        hist = self.clients().ListClientHistory(
            S.clients.ListClientHistoryRequest(client_id=FlowState.client_id),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)
        owner_changes = [e for e in hist.entries if e.action == "owner_changed"]
        self.assertEqual(len(owner_changes), 1, hist)
        self.assertEqual(owner_changes[0].handover_id, h.handover_id)
        self.assertIn("field service", owner_changes[0].actor.reason)

        opp = rpc.poll_until(lambda: (lambda o: o if o.owner_id == OWNER_LI else None)(
            self.get_opp(FlowState.opp_id)), SYNC_TIMEOUT_S, "opportunity owner to follow")
        self.assertTrue(any(e.kind == "owner_changed" for e in opp.history), opp.history)
        FlowState.handover_id = h.handover_id

    @step
    def test_06_win_is_recorded_in_clients(self):
        """Winning the deal in pipeline: clients records deals won and lifetime value."""
        won = self.drive_to_won(FlowState.opp_id)
        self.assertEqual(won.state, S.pipeline.OPPORTUNITY_STATE_WON)
        rb = self.wait_win_recorded(1, "clients to record the win").repeat_business
        self.assertEqual(rb.deals_won, 1)
        self.assertEqual([(m.amount_minor, m.currency) for m in rb.lifetime_value],
                         [(120_000_000, "CNY")])
        self.assertFalse(rb.repeat_client)
        self.assertTrue(rb.HasField("last_won_time"))

    @step
    def test_07_second_win_makes_a_repeat_client(self):
        """A second deal on the client (signal -> lead -> qualified -> opportunity) is flagged
        repeat in pipeline; once won, clients counts 2 deals, sums the value and sets the flag."""
        p = self.pipeline()
        sig = p.RecordSignal(S.pipeline.RecordSignalRequest(request_id="e2e-sig-" + RUN,
                             signal=S.pipeline.Signal(
                                 source="tender-portal", region="cn-east", sector="healthcare",
                                 estimated_size=rpc.money(500_000), product_line=PRODUCT_LINE,
                                 description="inpatient wing extension", recorded_by=ACTOR)),
                             timeout=rpc.DEFAULT_RPC_TIMEOUT)
        lead = p.CreateLead(S.pipeline.CreateLeadRequest(request_id="e2e-lead-" + RUN,
                            lead=S.pipeline.Lead(
                                signal_id=sig.id, client_id=FlowState.client_id,
                                owner_id=OWNER_LI, region="cn-east", sector="healthcare",
                                product_line=PRODUCT_LINE, estimated_value=rpc.money(500_000))),
                            timeout=rpc.DEFAULT_RPC_TIMEOUT)
        lead = p.QualifyLead(S.pipeline.QualifyLeadRequest(lead_id=lead.id, note="budget approved",
                                                           actor=rpc.actor(OWNER_LI)),
                             timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.assertEqual(lead.state, S.pipeline.LEAD_STATE_QUALIFIED)
        opp = self.create_opportunity("e2e-opp2-" + RUN, lead_id=lead.id,
                                      client_id=FlowState.client_id, owner_id=OWNER_LI,
                                      title="Inpatient wing extension",
                                      value=rpc.money(500_000), expected_close_time=rpc.timestamp(30),
                                      desired_delivery_time=rpc.timestamp(200))
        self.assertTrue(opp.repeat_client, "a client with a won deal is a repeat client")
        won = self.drive_to_won(opp.id)
        self.assertEqual(won.state, S.pipeline.OPPORTUNITY_STATE_WON)
        FlowState.opp2_id = opp.id
        rb = self.wait_win_recorded(2, "clients to record the 2nd win").repeat_business
        self.assertEqual(rb.deals_won, 2)
        self.assertEqual([(m.amount_minor, m.currency) for m in rb.lifetime_value],
                         [(170_000_000, "CNY")])
        self.assertTrue(rb.repeat_client)

        report = p.GetFunnelReport(S.pipeline.GetFunnelReportRequest(
            start_time=rpc.timestamp(-1), end_time=rpc.timestamp(1),
            filter=S.pipeline.FunnelFilter(product_line=PRODUCT_LINE)),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)
        steps = {s.step: s.count for s in report.steps}
        self.assertEqual((steps.get("signal"), steps.get("lead"), steps.get("opportunity"),
                          steps.get("won")), (1, 1, 2, 2), report)

    @step
    def test_08_client_topic_decodes_from_proto_alone(self):
        """Every event of the client on triad.clients.client has CloudEvents binary-mode headers
        and its value parses as the message its ce_type names (Python classes from proto/)."""
        cid = FlowState.client_id

        def types_seen():
            return [events.headers_dict(m).get("ce_type") for m in Env.reader.messages
                    if events.key_of(m) == cid]
        rpc.poll_until(lambda: (Env.reader.poll(0.2) or True) and types_seen().count(
            "triad.clients.client.updated.v1") >= 2, SYNC_TIMEOUT_S,
            "the client's updated events on triad.clients.client")
        mine = [m for m in Env.reader.messages if events.key_of(m) == cid]
        types = [events.headers_dict(m)["ce_type"] for m in mine]
        self.assertEqual(types[0], "triad.clients.client.registered.v1", types)
        self.assertIn("triad.clients.client.owner_changed.v1", types)
        ids = set()
        for m in mine:
            h = events.headers_dict(m)
            self.assertEqual(events.check_ce_headers(h, want_source="triad/clients"), [], h)
            ids.add(h["ce_id"])
            ev = stubs.decode_event(S, h["ce_type"], m.value())
            summary = ev.survivor if h["ce_type"].endswith(".merged.v1") else ev.client
            self.assertEqual(summary.client_id, cid)
            if h["ce_type"] == "triad.clients.client.registered.v1":
                self.assertEqual(summary.owner_id, OWNER_WANG)
                self.assertEqual(summary.tier, S.clients.CLIENT_TIER_KEY)
                self.assertEqual(ev.actor.id, ACTOR)
            if h["ce_type"] == "triad.clients.client.owner_changed.v1":
                self.assertEqual((ev.previous_owner_id, ev.new_owner_id, ev.handover_id),
                                 (OWNER_WANG, OWNER_LI, FlowState.handover_id))
        self.assertEqual(len(ids), len(mine), "ce_id must be unique per event")
        updated = [stubs.decode_event(S, "triad.clients.client.updated.v1", m.value())
                   for m in mine if events.headers_dict(m)["ce_type"].endswith(".updated.v1")]
        self.assertTrue(updated[-1].client.repeat_client)
        self.assertIn("deals_won", [c.field for c in updated[-1].changes])

    def test_99_graceful_shutdown(self):
        """SIGTERM: each service drains and exits 0 within its drain timeout."""
        for svc in (Env.pipeline, Env.clients):
            self.assertTrue(svc.alive(), "%s died during the test\n%s"
                            % (svc.name, svc.log_tail()))
            start = time.monotonic()
            code = svc.terminate(DRAIN_TIMEOUT_S + 15)
            took = time.monotonic() - start
            if code is None:
                svc.kill()
            self.assertEqual(code, 0, "%s exit code %r after SIGTERM (%.1fs)\n%s"
                             % (svc.name, code, took, svc.log_tail()))
            self.assertLess(took, DRAIN_TIMEOUT_S + 15)
            print("\n  %s exited 0 %.1fs after SIGTERM" % (svc.name, took), file=sys.stdout)


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(E2ETest)
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=CountingResult)
    result = runner.run(suite)
    # Everything that did not pass counts as failed: failures, errors (setUpModule included)
    # and steps not run because an earlier one failed.
    failed = max(suite.countTestCases() - result.passed, len(result.failures) + len(result.errors))
    sys.stdout.flush()
    print("%d passed, %d failed" % (result.passed, failed), flush=True)
    return 0 if failed == 0 and result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
