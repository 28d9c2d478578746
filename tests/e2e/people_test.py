#!/usr/bin/env python3
"""End-to-end: records that change hands, over the four real services (harness.py) and a real
broker.

  - a portfolio handover in clients (idempotent by request_id) moves the owner of the
    clients' open deals in pipeline;
  - a client merge is remapped downstream: pipeline's deals and review's open requests follow
    the survivor, and so does production's project, whose completion lands on the survivor's
    record in clients.

Run: python3 tests/e2e/people_test.py (KAFKA_BOOTSTRAP_SERVERS names the broker).
"""
import sys

import harness  # first: it makes sure the Python packages are there

from harness import RUN, ClusterCase, rpc
from triad_flows import ACTOR, T, rid

S = harness.stubs()
WANG = "u:wang.%s" % RUN
LI = "u:li.%s" % RUN
ZHAO = "u:zhao.%s" % RUN


class PeopleTest(ClusterCase):
    tag = "e2e-people"

    def test_1_handover_moves_the_open_deals(self):
        t, C = self.t, S.clients
        first = t.client("ho-1", "Jiaxing Ruifeng Battery Technology %s" % RUN, WANG)
        second = t.client("ho-2", "Suzhou Lianhe Pharmaceutical %s" % RUN, WANG)
        opp = t.opportunity("ho", first.client_id, WANG, value=3_600_000)
        req = C.HandOverPortfolioRequest(
            request_id=rid("handover"), from_owner_id=WANG, to_owner_id=LI,
            actor=rpc.actor(ACTOR, "Wang returns to field service; accounts go to Li"))
        h = self.cluster.clients.HandOverPortfolio(req, timeout=T)

        def completed():
            x = self.cluster.clients.GetHandover(C.GetHandoverRequest(
                handover_id=h.handover_id), timeout=T)
            return x if x.status == C.HANDOVER_STATUS_COMPLETED else None
        h = harness.poll(completed, "the handover to complete")
        self.assertEqual((h.total, h.moved), (2, 2))
        again = self.cluster.clients.HandOverPortfolio(req, timeout=T)
        self.assertEqual(again.handover_id, h.handover_id)
        for cid in (first.client_id, second.client_id):
            self.assertEqual(t.get_client(cid).owner_id, LI)
        hist = self.cluster.clients.ListClientHistory(C.ListClientHistoryRequest(
            client_id=first.client_id), timeout=T)
        moves = [e for e in hist.entries if e.action == "owner_changed"]
        self.assertEqual(len(moves), 1, hist)
        self.assertEqual(moves[0].handover_id, h.handover_id)
        self.assertIn("field service", moves[0].actor.reason)

        o = harness.poll(lambda: (lambda x: x if x.owner_id == LI else None)(t.opp(opp.id)),
                         "the deal's owner to follow its client")
        self.assertEqual(len([e for e in o.history if e.kind == "owner_changed"]), 1, o.history)
        mine = self.cluster.pipeline.ListOpportunities(S.pipeline.ListOpportunitiesRequest(
            owner_id=WANG), timeout=T)
        self.assertEqual(list(mine.opportunities), [], "Wang holds no open deal any more")

    def test_2_merge_is_remapped_downstream(self):
        t, C, R = self.t, S.clients, S.review
        survivor = t.client("mg-a", "Ningbo Women and Children's Hospital %s" % RUN, ZHAO,
                            tax_id="12330200MG%s" % RUN.upper())
        loser = t.client("mg-b", "Ningbo Women & Children Hospital %s" % RUN, ZHAO, force=True)
        # On the duplicate: a deal waiting for its review, and a won deal with its project.
        waiting = t.opportunity("mg-waiting", loser.client_id, ZHAO, value=700_000)
        t.to_concept(waiting.id)
        review = t.open_review(waiting.id)
        self.assertEqual(review.client_id, loser.client_id)
        won = t.opportunity("mg-won", loser.client_id, ZHAO, value=300_000)
        t.to_concept(won.id)
        t.approve_gates(won.id, 60)
        t.to_won(won.id, 365)
        project = t.project_of(won.id)
        self.assertEqual(project.client_id, loser.client_id)
        harness.poll(lambda: t.get_client(loser.client_id).repeat_business.deals_won == 1,
                     "clients to record the win on the duplicate")

        merged = self.cluster.clients.MergeClients(C.MergeClientsRequest(
            survivor_id=survivor.client_id, merged_id=loser.client_id,
            actor=rpc.actor(ACTOR, "same hospital registered twice")), timeout=T)
        self.assertEqual(merged.client_id, survivor.client_id)
        self.assertEqual(t.get_client(loser.client_id).client_id, survivor.client_id,
                         "a merged id reads as its survivor")
        self.assertEqual(merged.repeat_business.deals_won, 1, "figures read through the survivor")

        # pipeline: both deals now name the survivor.
        for opp_id in (waiting.id, won.id):
            harness.poll(lambda: t.opp(opp_id).client_id == survivor.client_id,
                         "pipeline to remap %s to the survivor" % opp_id)
        listed = self.cluster.pipeline.ListOpportunities(S.pipeline.ListOpportunitiesRequest(
            client_id=survivor.client_id), timeout=T)
        self.assertEqual(sorted(o.id for o in listed.opportunities), sorted([waiting.id, won.id]))
        # review: the open request follows the survivor, still with its expert.
        moved = harness.poll(lambda: (lambda r: r if r.client_id == survivor.client_id else None)(
            self.cluster.review.GetReviewRequest(R.GetReviewRequestRequest(
                review_id=review.review_id), timeout=T)), "review to remap the open request")
        self.assertEqual((moved.state, moved.expert_id), (R.REVIEW_STATE_ASSIGNED,
                                                          review.expert_id))
        # The deal can go on under the survivor: its verdict still opens the gate.
        t.decide(moved, R.VERDICT_APPROVED, 90)
        t.wait_gate(waiting.id, "concept.expert_review", S.pipeline.GATE_STATUS_OPEN)

        # production: the project follows the survivor too; its completion is recorded on the
        # survivor in clients.
        harness.poll(lambda: t.project(project.project_id).client_id == survivor.client_id,
                     "production to remap %s to the survivor" % project.project_id)
        done = t.complete_project(project.project_id)
        self.assertEqual(done.client_id, survivor.client_id)

        def delivered():
            c = t.get_client(survivor.client_id)
            return c if c.repeat_business.last_delivered_project_id == project.project_id \
                else None
        harness.poll(delivered, "clients to record the delivery on the survivor")
        plan = self.cluster.clients.GetFollowUpPlan(C.GetFollowUpPlanRequest(
            client_id=survivor.client_id), timeout=T)
        self.assertEqual(plan.client_id, survivor.client_id)
        self.assertIn(project.project_id, [f.project_id for f in plan.pending
                                           if f.kind == C.FOLLOW_UP_KIND_POST_DELIVERY], plan)


if __name__ == "__main__":
    sys.exit(harness.main(PeopleTest))
