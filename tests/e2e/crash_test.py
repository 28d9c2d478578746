#!/usr/bin/env python3
"""End-to-end crash and restart: while a stream of deals flows through the four real services
(client -> opportunity -> review -> verdict -> win -> project), each service is SIGKILLed once
and so is the broker, at points chosen by a seeded random schedule, and each is started again at
once on the same data. Afterwards:

  - every acknowledged write is visible (each RPC that returned OK: clients, opportunities and
    their stage, verdicts, wins);
  - every won deal has exactly one project in production, and its win is counted exactly once
    in clients;
  - every verdict reached its opportunity exactly once: one review request per gate, one
    `review_verdict` history entry on the deal, naming that review;
  - no service exits for any other reason than its single-instance lease (lost, or not
    acquired in time: the runtime stops rather than risk two instances; time without a
    reachable broker does not count toward that, so a broker outage alone does not cause it;
    the test restarts such a service, as Kubernetes would, and prints a NOTE).

The broker is the test's own (scripts/kafka-local.sh on a free port pair, or
TRIAD_TEST_CRASH_KAFKA_PORT), so it can be killed whatever KAFKA_BOOTSTRAP_SERVERS names. The
seed is printed ("seed N (reproduce with TRIAD_TEST_SEED=N)"); TRIAD_TEST_SEED=N replays a run's
schedule. TRIAD_CRASH_DEALS sets the number of deals (default 10).

Run: python3 tests/e2e/crash_test.py
"""
import json
import os
import random
import sys
import time

import harness  # first: it makes sure the Python packages are there
import grpc

from harness import RUN, rpc
from triad_flows import GATE_FEASIBILITY, GATE_REVIEW, Triad, day

S = harness.stubs()
OWNER = "u:crash.%s" % RUN
DEADLINE_S = 200  # the stream itself; the whole test stays under ~4 minutes
VICTIMS = ("clients", "pipeline", "review", "production", "broker")


class Deal:
    """One deal of the stream and the writes acknowledged for it."""

    def __init__(self, i):
        self.i = i
        self.key = "crash-%02d" % i
        self.step = 0  # index into CrashTest.STEPS
        self.client_id = None
        self.opp_id = None
        self.review = None
        self.acked = []  # (what, detail) of every RPC that returned OK


class CrashTest(harness.ClusterCase):
    tag = "e2e-crash"
    experts = 3
    broker = None
    seed = None

    @classmethod
    def setUpClass(cls):
        seed = os.environ.get("TRIAD_TEST_SEED")
        cls.seed = int(seed) if seed else random.SystemRandom().randrange(1, 2**31)
        print("crash_test: seed %d (reproduce with TRIAD_TEST_SEED=%d)" % (cls.seed, cls.seed),
              flush=True)
        import tempfile
        workdir = tempfile.mkdtemp(prefix="triad-e2e-crash-")
        port = int(os.environ.get("TRIAD_TEST_CRASH_KAFKA_PORT") or harness.free_port_pair())
        cls.broker = harness.PrivateBroker(port, os.path.join(workdir, "kafka"))
        cls.broker.start()
        try:
            cls.cluster = harness.Cluster(workdir=workdir, bootstrap=cls.broker.bootstrap,
                                          tag=cls.tag).start()
            cls.cluster.isolate()
            cls.t = Triad(cls.cluster)
            cls.staff = [cls.t.expert("x%d" % i, 160) for i in range(cls.experts)]
            cls.t.resource("design", cls.cluster.skills[0], 160)
            cls.t.resource("drafting", cls.cluster.skills[1], 160)
        except Exception:
            if cls.cluster is not None:
                cls.cluster.close(failed=True)
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.failed:
                print("crash_test: seed %d (reproduce with TRIAD_TEST_SEED=%d)"
                      % (cls.seed, cls.seed))
            cls.broker.stop()

    # ------------------------------------------------------------------ the deal's steps
    # Each returns True when it moved the deal on, False when it must wait (an event has not
    # arrived yet). A step may be run again after a crash: it checks where the deal is first.

    def s_client(self, d):
        c = self.t.client(d.key, "Crash Test Hospital %s %02d" % (RUN, d.i), OWNER)
        d.client_id = c.client_id
        d.acked.append(("client", c.client_id))
        return True

    def s_opportunity(self, d):
        try:
            o = self.cluster.pipeline.CreateOpportunity(S.pipeline.CreateOpportunityRequest(
                request_id="e2e-%s-opp-%s" % (RUN, d.key), client_id=d.client_id,
                owner_id=OWNER, value=rpc.money(100_000 + d.i), title="Deal " + d.key,
                product_line=self.cluster.product_line, actor=rpc.actor(OWNER),
                expected_close_time=day(60), desired_delivery_time=day(400)), timeout=15)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details():
                return False
            raise
        d.opp_id = o.id
        d.acked.append(("opportunity", o.id))
        return True

    def s_concept(self, d):
        o = self.t.to_concept(d.opp_id)
        d.acked.append(("stage", o.stage))
        return o.stage == "concept"

    def s_verdict(self, d):
        open_ = [r for r in self.t.reviews(domain=self.cluster.domain)
                 if r.opportunity_id == d.opp_id]
        decided = [r for r in open_ if r.state == S.review.REVIEW_STATE_DECIDED]
        if decided:  # acknowledged before a crash of this driver's view: nothing to redo
            d.review = decided[0]
            return True
        assigned = [r for r in open_ if r.state in (S.review.REVIEW_STATE_ASSIGNED,
                                                    S.review.REVIEW_STATE_ACCEPTED)]
        if not assigned:
            return False
        d.review = self.t.decide(assigned[0], S.review.VERDICT_APPROVED, 50 + d.i)
        d.acked.append(("verdict", d.review.review_id))
        return True

    def s_win(self, d):
        o = self.t.opp(d.opp_id)
        gates = {c.checkpoint_id: c.gate_status for c in o.checkpoints}
        if o.stage == "concept" and not (
                gates.get(GATE_REVIEW) == gates.get(GATE_FEASIBILITY)
                == S.pipeline.GATE_STATUS_OPEN):
            return False
        won = self.t.to_won(d.opp_id, 365)
        d.acked.append(("won", won.id))
        return True

    STEPS = ("s_client", "s_opportunity", "s_concept", "s_verdict", "s_win")

    # ------------------------------------------------------------------ crashes

    def crash(self, victim, log, in_flight):
        start = time.monotonic()
        if victim == "broker":
            self.broker.kill()
            self.broker.start()
        else:
            self.cluster.kill(victim)
            self.cluster.restart(victim)
        log.append("%s killed with %d deals mid-way, back in %.1fs"
                   % (victim, in_flight, time.monotonic() - start))
        print("  %s" % log[-1], flush=True)

    def supervise(self):
        """Restarts a service that stopped because of its single-instance lease (lost for
        longer than the lease wait, or not acquired within it after a restart, counting only
        time with a reachable broker: the runtime then stops rather than risk two instances), as
        its supervisor (Kubernetes) would, at most 3 times per service; any other exit fails the
        test. Returns True."""
        for name, svc in self.cluster.svc.items():
            if svc.alive():
                continue
            with open(svc.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            fatal = [ln for ln in lines if '"runtime: fatal; shutting down"' in ln]
            self.assertTrue(fatal and "lease" in fatal[-1], "%s exited (code %s)\n%s"
                            % (name, svc.proc.returncode, svc.log_tail()))
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self.assertLessEqual(self.restarts[name], 3, "%s keeps exiting: %s"
                                 % (name, fatal[-1]))
            self.cluster.restart(name)
            reason = json.loads(fatal[-1]).get("error", "")
            self.log.append("%s stopped (%s) and was restarted" % (name, reason[:90]))
            print("  NOTE: %s" % self.log[-1], flush=True)
        return True

    def call(self, fn, d):
        """Runs one step, retrying (same request ids) while a service is unreachable or a call
        was cut by a service stopping (supervise() restarts it)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return fn(d)
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.DEADLINE_EXCEEDED,
                                    grpc.StatusCode.CANCELLED) or \
                        time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                self.supervise()

    def test_a_service_restarted_into_a_broker_outage_keeps_running(self):
        """clients is SIGKILLed and started again, and the broker dies right after, for longer
        than the lease wait (25 s): the restarted service must wait for Kafka, not give up its
        start as if another instance held the lease; then a client it registers reaches
        pipeline. Every other service rides out the same outage."""
        self.log, self.restarts = [], {}
        svc = self.cluster.svc["clients"]
        with open(svc.log_path, "rb") as f:
            seen = f.read().count(b"runtime: taking the single-instance lease")
        self.cluster.kill("clients")
        self.cluster.restart("clients")
        # The broker dies while the restarted service waits for its lease (the old instance's
        # group membership has not expired yet).
        deadline = time.monotonic() + 30
        while True:
            with open(svc.log_path, "rb") as f:
                if f.read().count(b"runtime: taking the single-instance lease") > seen:
                    break
            self.assertLess(time.monotonic(), deadline, "clients never started to take its lease")
            time.sleep(0.1)
        self.broker.kill()
        outage_end = time.monotonic() + 30  # the outage under test, not a wait for a result
        while time.monotonic() < outage_end:
            for name, svc in self.cluster.svc.items():
                self.assertTrue(svc.alive(), "%s exited during the broker outage:\n%s"
                                % (name, svc.log_tail()))
            time.sleep(0.5)
        self.broker.start()
        key = "outage-%s" % RUN
        client = self.read(self.t.client, key, "Outage Test Clinic %s" % RUN, OWNER)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.cluster.pipeline.CreateOpportunity(S.pipeline.CreateOpportunityRequest(
                    request_id="e2e-%s-opp-%s" % (RUN, key), client_id=client.client_id,
                    owner_id=OWNER, value=rpc.money(100_000), title="Deal " + key,
                    product_line=self.cluster.product_line, actor=rpc.actor(OWNER),
                    expected_close_time=day(60), desired_delivery_time=day(400)), timeout=15)
                break
            except grpc.RpcError as e:
                retry = e.code() == grpc.StatusCode.UNAVAILABLE or (
                    e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details())
                if not retry or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for name, svc in self.cluster.svc.items():
            self.assertTrue(svc.alive(), "%s exited after the broker outage:\n%s"
                            % (name, svc.log_tail()))
            with open(svc.log_path, "rb") as f:
                self.assertNotIn(b'"runtime: fatal', f.read(), "%s stopped itself" % name)

    def test_crash_and_restart_every_service_and_the_broker(self):
        rng = random.Random(self.seed)
        n = int(os.environ.get("TRIAD_CRASH_DEALS", "10"))
        deals = [Deal(i) for i in range(n)]
        total = n * len(self.STEPS)
        # Each victim dies once, after a random number of completed steps (spread over the
        # stream, none before the first deal exists nor after the last win).
        points = sorted(rng.sample(range(2, total - 2), len(VICTIMS)))
        order = list(VICTIMS)
        rng.shuffle(order)
        schedule = list(zip(points, order))
        print("  schedule (steps done -> victim): %s" % schedule, flush=True)
        self.log = log = []
        self.restarts = {}
        done, end = 0, time.monotonic() + DEADLINE_S
        while done < total:
            self.assertLess(time.monotonic(), end, "the stream did not finish in %ds (%d of %d "
                            "steps; crashes: %s)" % (DEADLINE_S, done, total, log))
            self.supervise()
            moved = False
            # Deals advance a step at a time, in a seeded order: they are at different stages
            # when a crash lands.
            for d in rng.sample(deals, len(deals)):
                if d.step == len(self.STEPS):
                    continue
                if self.call(getattr(self, self.STEPS[d.step]), d):
                    d.step += 1
                    done += 1
                    moved = True
                    while schedule and schedule[0][0] <= done:
                        in_flight = sum(1 for x in deals if 0 < x.step < len(self.STEPS))
                        self.assertGreater(in_flight, 0, "a crash lands mid-stream")
                        self.crash(schedule.pop(0)[1], log, in_flight)
            if not moved:
                time.sleep(0.2)
        self.assertEqual(schedule, [], "every victim died once")
        self.verify(deals)
        self.supervise()
        print("  %d deals won through %s" % (n, "; ".join(log)))

    def read(self, fn, *args):
        """fn(*args), retried while a service is unreachable (a service may stop over its lease
        up to the lease wait after the broker came back; supervise() restarts it)."""
        deadline = time.monotonic() + 90
        while True:
            try:
                return fn(*args)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                self.supervise()

    def verify(self, deals):
        t, P, rd = self.t, S.pipeline, self.read
        won = {d.opp_id: d for d in deals}
        # Exactly one project per won deal (events redelivered after the crashes are skipped).
        harness.poll(lambda: self.supervise() and won.keys() <= {
            p.opportunity_id for p in t.projects()}, "a project for every won deal")
        # Acknowledged writes are there.
        for d in deals:
            for what, detail in d.acked:
                if what == "client":
                    self.assertEqual(rd(t.get_client, detail).client_id, detail)
                elif what == "opportunity":
                    self.assertEqual(rd(t.opp, detail).client_id, d.client_id)
                elif what == "verdict":
                    r = rd(self.cluster.review.GetReviewRequest,
                           S.review.GetReviewRequestRequest(review_id=detail))
                    self.assertEqual((r.state, r.verdict.verdict), (
                        S.review.REVIEW_STATE_DECIDED, S.review.VERDICT_APPROVED))
                elif what == "stage":
                    self.assertIn(rd(t.opp, d.opp_id).stage,
                                  ("concept", "proposal", "negotiation"))
                elif what == "won":
                    self.assertEqual(rd(t.opp, detail).state, P.OPPORTUNITY_STATE_WON)
        per_opp = {}
        for p in rd(t.projects):
            per_opp.setdefault(p.opportunity_id, []).append(p.project_id)
        for opp_id in won:
            self.assertEqual(len(per_opp.get(opp_id, [])), 1, "%s: %s" % (opp_id,
                                                                          per_opp.get(opp_id)))
        # Every verdict reached its deal once; one review request per gate.
        reviews = rd(lambda: t.reviews(domain=self.cluster.domain))
        for d in deals:
            mine = [r for r in reviews if r.opportunity_id == d.opp_id]
            self.assertEqual(len(mine), 1, "one review request for %s: %s"
                             % (d.opp_id, [r.review_id for r in mine]))
            o = rd(t.opp, d.opp_id)
            verdicts = [h for h in o.history if h.kind == "review_verdict"]
            self.assertEqual(len(verdicts), 1, "%s: %s" % (d.opp_id, verdicts))
            gate = rpc.checkpoint(o, GATE_REVIEW)
            self.assertEqual((gate.review_id, gate.verdict, gate.estimated_effort_hours),
                             (d.review.review_id, S.review.VERDICT_APPROVED, 50 + d.i))
        # Each win counted once in clients.
        for d in deals:
            rb = harness.poll(lambda: self.supervise() and (
                lambda c: c if c.repeat_business.deals_won else None)(
                    t.get_client(d.client_id)), "clients to count the win of " + d.client_id
            ).repeat_business
            self.assertEqual(rb.deals_won, 1, d.client_id)
            self.assertEqual([m.amount_minor for m in rb.lifetime_value],
                             [(100_000 + d.i) * 100])

if __name__ == "__main__":
    sys.exit(harness.main(CrashTest))
