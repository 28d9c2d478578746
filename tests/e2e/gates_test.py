#!/usr/bin/env python3
"""End-to-end: the stage gates only events can open, over the four real services (harness.py)
and a real broker.

  - a gate blocked, then opened by a review verdict: entering `concept` makes pipeline ask for a
    review; review assigns it by load to an expert of the domain; a REVISE verdict holds the
    gate (the move to proposal is refused naming it), re-entering the stage asks again, an
    APPROVED verdict opens it; a redelivered verdict (same ce_id) is skipped;
  - a feasibility answer: pipeline asks production, production answers from its schedule (the
    same answer CheckFeasibility gives), a delivery date production cannot meet holds the gate.

Run: python3 tests/e2e/gates_test.py (KAFKA_BOOTSTRAP_SERVERS names the broker).
"""
import sys

import harness  # first: it makes sure the Python packages are there
import grpc
from harness import RUN, ClusterCase, rpc
from triad_flows import GATE_FEASIBILITY, GATE_REVIEW, day
from triad_py import events

S = harness.stubs()
SUN = "u:sun.%s" % RUN


def date_of(ts):
    return ts.ToDatetime().strftime("%Y-%m-%d")


class GatesTest(ClusterCase):
    tag = "e2e-gates"

    def test_1_gate_blocked_then_opened_by_review_verdict(self):
        t, P, R = self.t, S.pipeline, S.review
        client = t.client("gate", "Ningbo Eastern District People's Hospital %s" % RUN, SUN)
        opp = t.opportunity("gate", client.client_id, SUN, value=1_200_000,
                            title="Outpatient and medical-technology building")
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: t.advance(opp.id, "needs_analysis"),
                            "qualification.decision_maker")
        t.to_concept(opp.id)

        # The review request reached review and went to one of the run's experts.
        first = t.open_review(opp.id)
        experts = {x.expert_id for x in self.staff}
        self.assertEqual((first.kind, first.domain, first.client_id, first.gate_id),
                         (R.REVIEW_KIND_OPPORTUNITY_GATE, self.cluster.domain, client.client_id,
                          GATE_REVIEW))
        self.assertIn(first.expert_id, experts)
        decision = first.assignments[-1]
        self.assertEqual(decision.rule, R.ASSIGNMENT_RULE_STRICT)
        self.assertEqual({c.expert_id for c in decision.candidates}, experts)
        self.assertEqual(first.deal_value.amount_minor, 120_000_000)

        details = self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                                      lambda: t.advance(opp.id, "proposal"), GATE_REVIEW)
        print("\n  gate refusal: %s" % details)

        # REVISE holds the gate.
        t.decide(first, R.VERDICT_REVISE, 60, "separate the clean and dirty flows first")
        held = t.wait_gate(opp.id, GATE_REVIEW, P.GATE_STATUS_HELD)
        self.assertEqual((held.review_id, held.verdict), (first.review_id, R.VERDICT_REVISE))
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: t.advance(opp.id, "proposal"), GATE_REVIEW)

        # Re-entering the stage asks again: a new request, approved this time.
        t.advance(opp.id, "needs_analysis", reason="revise the scheme after the expert review")
        t.advance(opp.id, "concept")
        second = harness.poll(lambda: (lambda r: r if r.review_id != first.review_id else None)(
            t.open_review(opp.id)), "a second review request of %s" % opp.id)
        reader = events.TopicReader(self.cluster.bootstrap, ["triad.review.request"],
                                    group_prefix="triad-e2e-reader-" + RUN)
        try:
            t.decide(second, R.VERDICT_APPROVED, 120)
            gate = t.wait_gate(opp.id, GATE_REVIEW, P.GATE_STATUS_OPEN)
            self.assertTrue(gate.done)
            self.assertEqual((gate.review_id, gate.expert_id, gate.verdict,
                              gate.estimated_effort_hours),
                             (second.review_id, second.expert_id, R.VERDICT_APPROVED, 120))
            verdict_msg = reader.wait_for(
                lambda m: events.key_of(m) == second.review_id and events.headers_dict(m).get(
                    "ce_type") == "triad.review.request.verdict_recorded.v1",
                harness.SYNC_TIMEOUT_S, "the verdict event of " + second.review_id)
        finally:
            reader.close()

        # A redelivered verdict (same source and ce_id; a different payload makes a re-apply
        # visible) is counted as a duplicate by pipeline's consumer and changes nothing.
        ce_id = events.headers_dict(verdict_msg)["ce_id"]
        dup = S.review_events.ReviewVerdictRecorded()
        dup.ParseFromString(verdict_msg.value())
        dup.verdict, dup.estimated_effort_hours = R.VERDICT_REJECTED, 999
        before = self.cluster.svc["pipeline"].consumer_count("duplicate")
        pub = events.Publisher(self.cluster.bootstrap, "triad/review")
        try:
            pub.publish("triad.review.request", second.review_id,
                        "triad.review.request.verdict_recorded.v1", dup, ce_id=ce_id)
        finally:
            pub.close()
        harness.poll(lambda: self.cluster.svc["pipeline"].consumer_count("duplicate") > before,
                     "pipeline to count the redelivered verdict as a duplicate")
        o = t.opp(opp.id)
        gate = rpc.checkpoint(o, GATE_REVIEW)
        self.assertEqual((gate.gate_status, gate.verdict, gate.estimated_effort_hours),
                         (P.GATE_STATUS_OPEN, R.VERDICT_APPROVED, 120))
        verdicts = [h.detail for h in o.history if h.kind == "review_verdict"]
        self.assertEqual(len(verdicts), 2, "REVISE then APPROVED, nothing else: %s" % verdicts)

        t.wait_gate(opp.id, GATE_FEASIBILITY, P.GATE_STATUS_OPEN)
        moved = t.advance(opp.id, "proposal")
        self.assertEqual((moved.stage, moved.expert_effort_hours), ("proposal", 120))

        # review's side: both requests decided, by the experts they were assigned to.
        for r in (first, second):
            got = self.cluster.review.GetReviewRequest(
                R.GetReviewRequestRequest(review_id=r.review_id), timeout=15)
            self.assertEqual((got.state, got.verdict.expert_id),
                             (R.REVIEW_STATE_DECIDED, r.expert_id))

    def test_2_feasibility_answered_by_production(self):
        """Entering concept asks production; the answer on the gate is the one CheckFeasibility
        gives for the same work; a delivery date production cannot meet holds the gate."""
        t, P = self.t, S.pipeline
        line = self.cluster.product_line
        client = t.client("feas", "Zhenhai Port Hospital %s" % RUN, SUN)
        ok = t.opportunity("feas-ok", client.client_id, SUN, expected_close_time=day(30),
                           desired_delivery_time=day(300))
        t.to_concept(ok.id)
        gate = t.wait_gate(ok.id, GATE_FEASIBILITY, P.GATE_STATUS_OPEN)
        pb = self.cluster.pipeline.GetPlaybook(P.GetPlaybookRequest(product_line=line),
                                               timeout=15)
        check = self.cluster.production.CheckFeasibility(S.production.CheckFeasibilityRequest(
            product_line=line, effort_hours=pb.default_expert_hours,
            desired_start_date=date_of(day(30)), desired_end_date=date_of(day(300))),
            timeout=15)
        self.assertTrue(check.feasible, check)
        self.assertEqual(date_of(gate.earliest_completion_time), check.earliest_completion_date)
        self.assertEqual(gate.bottleneck_resource, check.bottleneck_resource_id or
                         check.bottleneck_skill)
        self.assertIn(check.earliest_completion_date, gate.explanation)
        # The gate opened by itself; the review gate is what still blocks the deal.
        details = self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                                      lambda: t.advance(ok.id, "proposal"), GATE_REVIEW)
        self.assertNotIn(GATE_FEASIBILITY, details)

        rush = t.opportunity("feas-rush", client.client_id, SUN, expected_close_time=day(2),
                             desired_delivery_time=day(2))
        t.to_concept(rush.id)
        held = t.wait_gate(rush.id, GATE_FEASIBILITY, P.GATE_STATUS_HELD)
        self.assertTrue(held.explanation, held)
        t.decide(t.open_review(rush.id), S.review.VERDICT_APPROVED, 40)
        t.wait_gate(rush.id, GATE_REVIEW, P.GATE_STATUS_OPEN)
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: t.advance(rush.id, "proposal"), GATE_FEASIBILITY)


if __name__ == "__main__":
    sys.exit(harness.main(GatesTest))
