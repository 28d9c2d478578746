#!/usr/bin/env python3
"""End-to-end test of offboarding a person, against the four real service binaries (each its own
process, fresh data directory, free loopback ports, unique consumer groups) and a real Kafka
broker.

A person holds a client (with its follow-up) and a service case in clients, an opportunity and a
lead in pipeline, a review as an expert, and planned phases as a production resource. Through
gRPC: ClientsService.OffboardPerson to a successor, then GetOffboarding is polled (with a
deadline) until every step (clients, pipeline, review, production) is COMPLETED; then everything
is found with the successor, ListInactiveHoldings is empty in all four services, the person can
no longer be given work (FAILED_PRECONDITION naming the field), and ListOffboardings lists it.

Environment: KAFKA_BOOTSTRAP_SERVERS, TRIAD_BUILD_DIR, TRIAD_SOURCE_DIR (as tests/e2e/harness.py).
Run: python3 tests/e2e/offboarding_test.py   (exit status 0 only when every check passed)
"""
import os
import shutil
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# harness.py puts tools/ on the path, installs the Python modules and starts processes with
# its Service class; this test reuses them.
import harness  # noqa: E402,F401
from harness import BOOTSTRAP, DRAIN_TIMEOUT_S, Service, binary  # noqa: E402

import grpc  # noqa: E402

from triad_py import rpc, stubs  # noqa: E402

RUN = uuid.uuid4().hex[:8]
PERSON = "u:wang.ob.%s" % RUN
SUCCESSOR = "u:li.ob.%s" % RUN
ACTOR = "u:head.ob.%s" % RUN
SYNC_TIMEOUT_S = 120  # one cross-service propagation, consumer group joins included

S = None


class Env:
    workdir = None
    services = {}
    channels = {}


def setUpModule():
    global S
    S = stubs.load()
    Env.workdir = tempfile.mkdtemp(prefix="triad-e2e-offboarding-")
    specs = [
        ("clients", "TRIAD_CLIENTS_BIN", "services/clients/triad-clients", ["--scan_interval=0"]),
        ("pipeline", "TRIAD_PIPELINE_BIN", "services/pipeline/triad-pipeline",
         ["--stale_scan_interval=0"]),
        ("review", "TRIAD_REVIEW_BIN", "services/review/triad-review",
         ["--leave_scan_interval=0"]),
        ("production", "TRIAD_PRODUCTION_BIN", "services/production/triad-production", []),
    ]
    try:
        for name, env_name, rel, flags in specs:
            svc = Service(name, binary(env_name, rel), Env.workdir,
                          ["--consumer_group=triad-%s-e2e-ob-%s" % (name, RUN)] + flags)
            Env.services[name] = svc
            svc.start()
            Env.channels[name] = svc.channel()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    for ch in Env.channels.values():
        ch.close()
    for svc in Env.services.values():
        if OffboardingE2ETest.failed:
            print(svc.log_tail(60), file=sys.stdout)
        if svc.alive() and svc.terminate(DRAIN_TIMEOUT_S + 20) is None:
            svc.kill()
    if Env.workdir and not os.environ.get("TRIAD_E2E_KEEP"):
        shutil.rmtree(Env.workdir, ignore_errors=True)


def stub(name):
    mod = {
        "clients": "triad.clients.v1.clients_service_pb2_grpc",
        "pipeline": "triad.pipeline.v1.pipeline_service_pb2_grpc",
        "review": "triad.review.v1.review_service_pb2_grpc",
        "production": "triad.production.v1.production_service_pb2_grpc",
    }[name]
    cls = {"clients": "ClientsServiceStub", "pipeline": "PipelineServiceStub",
           "review": "ReviewServiceStub", "production": "ProductionServiceStub"}[name]
    return getattr(S.module(mod), cls)(Env.channels[name])


def msgs(name):
    return S.module("triad.%s.v1.%s_service_pb2" % (name, name))


def resources(name):
    return S.module("triad.%s.v1.resources_pb2" % name)


def enum_value(name, value):
    """An enum value of a service, wherever its enum is declared (resources or events)."""
    for module in ("resources_pb2", "events_pb2"):
        mod = S.module("triad.%s.v1.%s" % (name, module))
        if hasattr(mod, value):
            return getattr(mod, value)
    raise LookupError("%s has no enum value %s" % (name, value))


class OffboardingE2ETest(unittest.TestCase):
    failed = False

    def run(self, result=None):
        outcome = super().run(result)
        if result is not None and (result.failures or result.errors):
            OffboardingE2ETest.failed = True
        return outcome

    def test_offboarding_moves_everything_in_all_four_services(self):
        c, p, r, x = (stub(n) for n in ("clients", "pipeline", "review", "production"))
        cm, pm, rm, xm = (msgs(n) for n in ("clients", "pipeline", "review", "production"))
        rr, xr = resources("review"), resources("production")
        t = 30

        # clients: a client of the person (with its cadence follow-up) and a case assigned to him.
        client = c.CreateClient(cm.CreateClientRequest(
            request_id="ob-client-" + RUN, actor=rpc.actor(ACTOR),
            client=S.clients.Client(name="Offboarding Hospital " + RUN, owner_id=PERSON)),
            timeout=t)
        case = c.OpenCase(cm.OpenCaseRequest(
            request_id="ob-case-" + RUN, client_id=client.client_id,
            severity=S.clients.CASE_SEVERITY_HIGH, description="chiller fails",
            actor=rpc.actor(ACTOR)), timeout=t)
        c.AssignCase(cm.AssignCaseRequest(case_id=case.case_id, assignee_id=PERSON,
                                          actor=rpc.actor(ACTOR)), timeout=t)

        # pipeline: a deal (once the client replica knows the client) and a lead of the person.
        create_opp = pm.CreateOpportunityRequest(
            request_id="ob-opp-" + RUN, client_id=client.client_id, owner_id=PERSON,
            title="Ward extension", value=rpc.money(1_200_000),
            product_line="architectural-design", actor=rpc.actor(ACTOR))
        opp = rpc.poll_until(lambda: p.CreateOpportunity(create_opp, timeout=t),
                             SYNC_TIMEOUT_S, "pipeline to learn the client")
        lead = p.CreateLead(pm.CreateLeadRequest(
            request_id="ob-lead-" + RUN,
            lead=S.pipeline.Lead(prospect_name="Clinic " + RUN, owner_id=PERSON)), timeout=t)

        # review: the person is the only expert of the domain when the review is asked for.
        domain = "ob-structural-" + RUN
        principal = enum_value("review", "PROFICIENCY_PRINCIPAL")
        gate_kind = enum_value("review", "REVIEW_KIND_OPPORTUNITY_GATE")

        def expert(eid):
            r.CreateExpert(rm.CreateExpertRequest(
                request_id="ob-expert-%s-%s" % (eid, RUN), actor=rpc.actor(ACTOR),
                expert=rr.Expert(expert_id=eid, display_name=eid, weekly_capacity_hours=40,
                                 domains=[rr.DomainSkill(domain=domain, level=principal)])),
                timeout=t)

        expert(PERSON)
        review = r.CreateReviewRequest(rm.CreateReviewRequestRequest(
            request_id="ob-review-" + RUN, actor=rpc.actor(ACTOR),
            review=rr.ReviewRequest(kind=gate_kind, domain=domain,
                                    client_id=client.client_id, opportunity_id=opp.id,
                                    gate_id="concept.expert_review", title="Roof",
                                    estimated_hours=4, due_time=rpc.timestamp(3))), timeout=t)
        self.assertEqual(review.expert_id, PERSON)
        expert(SUCCESSOR)

        # production: the person is a resource with planned phases; the successor is one too.
        def resource(rid):
            x.CreateResource(xm.CreateResourceRequest(
                request_id="ob-res-%s-%s" % (rid, RUN), actor=rpc.actor(ACTOR, "staffing"),
                resource=xr.Resource(resource_id=rid, display_name=rid, weekly_capacity_hours=40,
                                     skills=["architectural-design", "drafting"])), timeout=t)

        resource(PERSON)
        project = x.CreateProject(xm.CreateProjectRequest(
            request_id="ob-project-" + RUN, actor=rpc.actor(ACTOR, "won"),
            project=xr.Project(client_id=client.client_id, product_line="architectural-design",
                               title="Ward extension", due_date="2030-12-31",
                               effort_hours=120)), timeout=t).project
        resource(SUCCESSOR)
        held_phases = [ph.phase_id for ph in project.phases if ph.resource_id == PERSON]
        self.assertTrue(held_phases, "the project was planned on the person")

        # Offboard, and poll the progress to completion with a deadline.
        off = c.OffboardPerson(cm.OffboardPersonRequest(
            request_id="ob-" + RUN, actor=rpc.actor(ACTOR, "leaves the company"),
            person_id=PERSON, successor_id=SUCCESSOR), timeout=60)
        self.assertEqual([s.service for s in off.steps],
                         ["clients", "pipeline", "review", "production"])

        def completed():
            o = c.GetOffboarding(cm.GetOffboardingRequest(offboarding_id=off.offboarding_id),
                                 timeout=t)
            return o if o.status == S.clients.OFFBOARDING_STATUS_COMPLETED else None

        done = rpc.poll_until(completed, SYNC_TIMEOUT_S, "the offboarding to complete",
                              interval=0.5)
        steps = {s.service: s for s in done.steps}
        for name, s in steps.items():
            self.assertEqual(s.status, S.clients.OFFBOARDING_STEP_STATUS_COMPLETED, name)
            self.assertEqual(s.remaining, 0, name)
        self.assertEqual(steps["clients"].moved["clients"], 1)
        self.assertEqual(steps["clients"].moved["cases"], 1)
        self.assertEqual(steps["clients"].moved["follow_ups"], 1)
        self.assertEqual(steps["pipeline"].moved["leads"], 1)
        self.assertEqual(steps["review"].moved["reviews"], 1)
        # Projects of deals won earlier on this broker may be planned on the person too (the
        # production service replays OpportunityWon from the topic): at least ours moved.
        self.assertGreaterEqual(steps["production"].moved["phases"], len(held_phases))

        # Everything is with the successor.
        self.assertEqual(c.GetClient(cm.GetClientRequest(client_id=client.client_id),
                                     timeout=t).owner_id, SUCCESSOR)
        self.assertEqual(c.GetCase(cm.GetCaseRequest(case_id=case.case_id),
                                   timeout=t).assignee_id, SUCCESSOR)
        self.assertEqual(p.GetOpportunity(pm.GetOpportunityRequest(opportunity_id=opp.id),
                                          timeout=t).owner_id, SUCCESSOR)
        self.assertEqual(p.GetLead(pm.GetLeadRequest(lead_id=lead.id), timeout=t).owner_id,
                         SUCCESSOR)
        self.assertEqual(r.GetReviewRequest(rm.GetReviewRequestRequest(
            review_id=review.review_id), timeout=t).expert_id, SUCCESSOR)
        self.assertFalse(r.GetExpert(rm.GetExpertRequest(expert_id=PERSON), timeout=t).active)
        phases = x.GetProject(xm.GetProjectRequest(project_id=project.project_id),
                              timeout=t).phases
        for ph in phases:
            if ph.phase_id in held_phases:
                self.assertEqual(ph.resource_id, SUCCESSOR, ph.phase_id)

        token = ""
        while True:
            page = x.ListProjects(xm.ListProjectsRequest(page_size=1000, page_token=token),
                                  timeout=t)
            for pj in page.projects:
                for ph in pj.phases:
                    self.assertNotEqual(ph.resource_id, PERSON, pj.project_id)
            token = page.next_page_token
            if not token:
                break

        # Nothing is held by an inactive person anywhere (every page).
        for name, svc in (("clients", c), ("pipeline", p), ("review", r), ("production", x)):
            resp = svc.ListInactiveHoldings(msgs(name).ListInactiveHoldingsRequest(page_size=100),
                                            timeout=t)
            self.assertEqual(list(resp.holdings), [], name)
            self.assertEqual(resp.next_page_token, "", name)

        # The person can no longer be given work.
        with self.assertRaises(grpc.RpcError) as err:
            c.AssignCase(cm.AssignCaseRequest(case_id=case.case_id, assignee_id=PERSON,
                                              actor=rpc.actor(ACTOR)), timeout=t)
        self.assertEqual(err.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("assignee_id", err.exception.details())
        with self.assertRaises(grpc.RpcError) as err:
            p.CreateLead(pm.CreateLeadRequest(
                request_id="ob-lead2-" + RUN,
                lead=S.pipeline.Lead(prospect_name="Other", owner_id=PERSON)), timeout=t)
        self.assertEqual(err.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("lead.owner_id", err.exception.details())

        listed = c.ListOffboardings(cm.ListOffboardingsRequest(person_id=PERSON), timeout=t)
        self.assertEqual([o.offboarding_id for o in listed.offboardings], [off.offboarding_id])

        # A retry of the request returns the same offboarding.
        again = c.OffboardPerson(cm.OffboardPersonRequest(
            request_id="ob-" + RUN, actor=rpc.actor(ACTOR, "leaves the company"),
            person_id=PERSON, successor_id=SUCCESSOR), timeout=60)
        self.assertEqual(again.offboarding_id, off.offboarding_id)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(OffboardingE2ETest)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
