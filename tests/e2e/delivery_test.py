#!/usr/bin/env python3
"""End-to-end: from a won deal to delivery and repeat business, over the four real services
(harness.py) and a real broker.

  - won -> project scheduled: production makes one project of the won deal, its phases from
    the product line's template with the expert's effort estimate, planned on the run's
    resources; clients records the win; a deal whose due date cannot be met is flagged at risk
    before the date passes;
  - a milestone sign-off: completing a key-milestone phase asks review for a sign-off, which
    goes to the deal's technical lead (the expert who approved it); the next phase waits for it;
  - project completed -> clients schedules the post-delivery follow-up and records the
    delivery; a second won deal makes the client a repeat client (pipeline and clients agree).

Run: python3 tests/e2e/delivery_test.py (KAFKA_BOOTSTRAP_SERVERS names the broker).
"""
import datetime
import sys

import harness  # first: it makes sure the Python packages are there
import grpc

from harness import RUN, ClusterCase
from triad_flows import day

S = harness.stubs()
SUN = "u:sun.%s" % RUN


def date_of(ts):
    return ts.ToDatetime().strftime("%Y-%m-%d")


class DeliveryTest(ClusterCase):
    tag = "e2e-delivery"

    def won_deal(self, key, client_id, value, hours, due_days):
        """A deal taken through the playbook, approved by the assigned expert, won."""
        t = self.t
        opp = t.opportunity(key, client_id, SUN, value=value, title="Deal " + key)
        t.to_concept(opp.id)
        t.approve_gates(opp.id, hours)
        won = t.to_won(opp.id, due_days)
        self.assertEqual(won.state, S.pipeline.OPPORTUNITY_STATE_WON)
        return won

    def test_1_won_deal_becomes_a_scheduled_project(self):
        t, Pr = self.t, S.production
        client = t.client("won", "Ningbo No. 2 Hospital %s" % RUN, SUN)
        won = self.won_deal("won", client.client_id, 1_200_000, 400, 365)
        p = t.project_of(won.id)
        self.assertEqual((p.client_id, p.product_line, p.value.amount_minor, p.tentative),
                         (client.client_id, self.cluster.product_line, 120_000_000, False))
        self.assertEqual(p.due_date, date_of(day(365)))
        self.assertEqual(p.effort_hours, 400, "the project's effort is the review's estimate")
        template = self.cluster.production.GetPhaseTemplate(Pr.GetPhaseTemplateRequest(
            product_line=self.cluster.product_line), timeout=15)
        self.assertEqual([(ph.name, ph.required_skill, ph.key_milestone) for ph in p.phases],
                         [(x.name, x.required_skill, x.key_milestone) for x in template.phases])
        self.assertEqual([round(ph.effort_hours, 6) for ph in p.phases],
                         [round(400 * x.effort_share, 6) for x in template.phases])
        resources = {r.resource_id: set(r.skills) for r in self.cluster.production.ListResources(
            Pr.ListResourcesRequest(page_size=100), timeout=15).resources}
        previous_end = ""
        for ph in p.phases:
            self.assertIn(ph.required_skill, resources.get(ph.resource_id, ()), ph)
            self.assertTrue(ph.planned_start_date <= ph.planned_end_date, ph)
            self.assertGreater(ph.planned_start_date, previous_end, "phases run in order")
            self.assertAlmostEqual(sum(a.hours for a in ph.allocations), ph.effort_hours, 3)
            previous_end = ph.planned_end_date
        self.assertEqual(p.planned_end_date, previous_end)
        self.assertFalse(p.at_risk, p.risk_reason)

        # clients recorded the win.
        rb = harness.poll(lambda: (lambda c: c if c.repeat_business.deals_won == 1 else None)(
            t.get_client(client.client_id)), "clients to record the win").repeat_business
        self.assertEqual([(m.amount_minor, m.currency) for m in rb.lifetime_value],
                         [(120_000_000, "CNY")])
        self.assertFalse(rb.repeat_client)

        # A redelivered or repeated won event makes no second project (checked over every page).
        self.assertEqual(len([x for x in t.projects() if x.opportunity_id == won.id]), 1)

    def test_2_at_risk_before_the_due_date_is_missed(self):
        """A deal won with a due date the capacity cannot meet: its project is flagged at risk
        at scheduling time, while the due date is still ahead."""
        t = self.t
        client = t.client("risk", "Beilun District Hospital %s" % RUN, SUN)
        won = self.won_deal("risk", client.client_id, 600_000, 900, 10)
        p = t.project_of(won.id)
        today = datetime.date.today().isoformat()
        self.assertGreater(p.due_date, today, "the due date has not passed yet")
        self.assertTrue(p.at_risk, p)
        self.assertGreater(p.planned_end_date, p.due_date)
        self.assertTrue(p.risk_reason)
        at_risk = self.cluster.production.ListProjects(S.production.ListProjectsRequest(
            at_risk_only=True, page_size=500), timeout=15)
        self.assertIn(p.project_id, [x.project_id for x in at_risk.projects])

    def test_3_milestone_sign_off_by_the_technical_lead(self):
        t, Pr, R = self.t, S.production, S.review
        client = t.client("milestone", "Fenghua Rehabilitation Hospital %s" % RUN, SUN)
        opp = t.opportunity("milestone", client.client_id, SUN, value=900_000)
        t.to_concept(opp.id)
        approval = t.open_review(opp.id)
        t.decide(approval, R.VERDICT_APPROVED, 200)
        t.wait_gate(opp.id, "concept.expert_review", S.pipeline.GATE_STATUS_OPEN)
        t.wait_gate(opp.id, "concept.feasibility", S.pipeline.GATE_STATUS_OPEN)
        t.to_won(opp.id, 365)
        p = t.project_of(opp.id)
        first, second = p.phases[0], p.phases[1]
        self.assertTrue(first.key_milestone)

        done = t.progress(p.project_id, first.phase_id, 100)
        self.assertEqual(done.phases[0].state, Pr.PHASE_STATE_COMPLETED)
        self.assertIn(done.phases[0].sign_off, (Pr.SIGN_OFF_STATE_PENDING,
                                                Pr.SIGN_OFF_STATE_REQUESTED))
        # The next phase waits for the sign-off.
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: t.progress(p.project_id, second.phase_id, 10), "sign")
        review = t.open_review(project_id=p.project_id, phase_id=first.phase_id)
        self.assertEqual(review.kind, R.REVIEW_KIND_MILESTONE_SIGN_OFF)
        self.assertEqual(review.expert_id, approval.expert_id,
                         "the sign-off goes to the expert who approved the deal")
        self.assertEqual(review.assignments[-1].rule, R.ASSIGNMENT_RULE_TECHNICAL_LEAD)
        _, phase = t.sign_off(p.project_id, first.phase_id)
        self.assertEqual(phase.sign_off, Pr.SIGN_OFF_STATE_APPROVED)
        moved = t.progress(p.project_id, second.phase_id, 10)
        self.assertEqual(moved.phases[1].state, Pr.PHASE_STATE_STARTED)

    def test_4_completion_follow_up_and_repeat_business(self):
        t = self.t
        client = t.client("repeat", "Xiangshan County Hospital %s" % RUN, SUN,
                          tier=S.clients.CLIENT_TIER_STRATEGIC)
        first = self.won_deal("repeat-1", client.client_id, 1_000_000, 120, 365)
        p = t.complete_project(t.project_of(first.id).project_id)
        self.assertEqual(p.state, S.production.PROJECT_STATE_COMPLETED)

        def delivered():
            c = t.get_client(client.client_id)
            return c if c.repeat_business.last_delivered_project_id == p.project_id else None
        c = harness.poll(delivered, "clients to record the delivery of " + p.project_id)
        self.assertTrue(c.repeat_business.HasField("last_delivery_time"))
        plan = self.cluster.clients.GetFollowUpPlan(S.clients.GetFollowUpPlanRequest(
            client_id=client.client_id), timeout=15)
        post = [f for f in plan.pending if f.kind == S.clients.FOLLOW_UP_KIND_POST_DELIVERY]
        self.assertEqual([f.project_id for f in post], [p.project_id], plan)
        self.assertEqual(post[0].status, S.clients.FOLLOW_UP_STATUS_PENDING)

        # The next deal of the client is repeat business, in pipeline and in clients.
        again = t.opportunity("repeat-2", client.client_id, SUN, value=500_000)
        self.assertTrue(again.repeat_client, "a client with a won deal is a repeat client")
        t.to_concept(again.id)
        t.approve_gates(again.id, 80)
        t.to_won(again.id, 365)
        rb = harness.poll(lambda: (lambda c: c if c.repeat_business.deals_won == 2 else None)(
            t.get_client(client.client_id)), "clients to record the 2nd win").repeat_business
        self.assertTrue(rb.repeat_client)
        self.assertEqual([(m.amount_minor, m.currency) for m in rb.lifetime_value],
                         [(150_000_000, "CNY")])
        report = self.cluster.pipeline.GetFunnelReport(S.pipeline.GetFunnelReportRequest(
            start_time=day(-1), end_time=day(1), filter=S.pipeline.FunnelFilter(
                product_line=self.cluster.product_line,
                client_kind=S.pipeline.CLIENT_KIND_REPEAT)), timeout=15)
        steps = {s.step: s.count for s in report.steps}
        self.assertEqual((steps.get("opportunity"), steps.get("won")), (1, 1), report)


if __name__ == "__main__":
    sys.exit(harness.main(DeliveryTest))
