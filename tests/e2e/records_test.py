#!/usr/bin/env python3
"""End-to-end: records into the company and the funnel's entry, over the four real services
(harness.py) and a real broker.

  - a duplicate is caught at registration (ALREADY_EXISTS naming the record and the keys that
    matched; FindDuplicates; `force` registers it anyway; request_id makes a retry idempotent);
  - signal -> lead -> opportunity: pipeline refuses a client it has not heard of, learns the
    client from its event, converts the qualified lead, and the funnel counts each step;
  - every event of a client on triad.clients.client carries CloudEvents binary-mode headers and
    decodes with the classes generated from proto/ alone;
  - SIGTERM: every service drains and exits 0.

Run: python3 tests/e2e/records_test.py (KAFKA_BOOTSTRAP_SERVERS names the broker).
"""
import sys
import time

import harness
from harness import RUN, ClusterCase, rpc
from triad_flows import ACTOR, T, rid
from triad_py import events, stubs as triad_stubs

import grpc

S = harness.stubs()
WANG = "u:wang.%s" % RUN
LI = "u:li.%s" % RUN
DIGITS = "%04d" % (int(RUN, 16) % 10000)  # phones are compared by their digits


class RecordsTest(ClusterCase):
    tag = "e2e-records"

    def test_1_services_serving(self):
        """Each process answers grpc.health.v1 SERVING, overall and for its API service."""
        for name, svc in self.cluster.svc.items():
            self.assertTrue(svc.alive(), svc.log_tail())
            self.assertEqual(rpc.health_status(svc.address, security=svc.health_security),
                             "SERVING")
            self.assertEqual(rpc.health_status(svc.address, harness.API[name],
                                               security=svc.health_security), "SERVING")
        pb = self.cluster.pipeline.GetPlaybook(S.pipeline.GetPlaybookRequest(
            product_line=harness.SHIPPED_LINE), timeout=T)
        self.assertEqual([s.id for s in pb.stages],
                         ["qualification", "needs_analysis", "concept", "proposal", "negotiation"])

    def test_2_duplicate_caught_at_registration(self):
        """A second registration of the same hospital, written differently, is refused with
        ALREADY_EXISTS naming the first record and the matching keys; a retry of the first
        registration returns the same record; `force` registers the second one."""
        c = self.cluster.clients
        first = self.t.client("dup-a", "Ningbo Eastern District People's Hospital %s" % RUN,
                              WANG, tax_id="12330200DUP%s" % RUN.upper(),
                              phone="+86 574 8700 %s" % DIGITS)
        self.assertEqual(first.status, S.clients.CLIENT_STATUS_COLLECTED)
        retry = self.t.client("dup-a", "Ningbo Eastern District People's Hospital %s" % RUN,
                              WANG, tax_id="12330200DUP%s" % RUN.upper(),
                              phone="+86 574 8700 %s" % DIGITS)
        self.assertEqual((retry.client_id, retry.etag), (first.client_id, first.etag))

        # Full-width letters, another case, a legal form and the phone in national format.
        probe = dict(name="ＮＩＮＧＢＯ eastern district people's hospital %s Co., Ltd." % RUN,
                     phone="0574-8700-%s" % DIGITS)
        details = self.assertRpcError(grpc.StatusCode.ALREADY_EXISTS,
                                      lambda: self.t.client("dup-b", owner=LI, **probe),
                                      first.client_id)
        self.assertIn("name", details)
        self.assertIn("phone", details)
        found = c.FindDuplicates(S.clients.FindDuplicatesRequest(
            client=S.clients.Client(**probe)), timeout=T)
        match = [d for d in found.candidates if d.client_id == first.client_id]
        self.assertEqual(len(match), 1, found)
        self.assertEqual(sorted(match[0].matched_on), ["name", "phone"])
        # Nothing was written by the refused call: Li owns no client yet.
        listed = c.ListClients(S.clients.ListClientsRequest(owner_id=LI), timeout=T)
        self.assertEqual(list(listed.clients), [])

        forced = self.t.client("dup-b", owner=LI, force=True, **probe)
        self.assertNotEqual(forced.client_id, first.client_id)
        listed = c.ListClients(S.clients.ListClientsRequest(owner_id=LI), timeout=T)
        self.assertEqual([x.client_id for x in listed.clients], [forced.client_id])
        hist = c.ListClientHistory(S.clients.ListClientHistoryRequest(
            client_id=first.client_id), timeout=T)
        self.assertEqual([e.action for e in hist.entries][:1], ["registered"], hist)

    def test_3_signal_lead_opportunity(self):
        """signal -> lead -> qualified -> opportunity on a client pipeline learned by event; the
        funnel of the run's product line counts exactly these."""
        p = self.cluster.pipeline
        line = self.cluster.product_line
        self.assertRpcError(grpc.StatusCode.FAILED_PRECONDITION, lambda: p.CreateOpportunity(
            S.pipeline.CreateOpportunityRequest(
                request_id=rid("opp-unknown"), client_id="cl-nowhere-" + RUN, owner_id=WANG,
                title="nothing", value=rpc.money(1), product_line=line,
                actor=rpc.actor(WANG)), timeout=T), "not known")
        client = self.t.client("funnel", "Cixi Maternal and Child Care Centre %s" % RUN, WANG,
                               tier=S.clients.CLIENT_TIER_STANDARD)
        sig = p.RecordSignal(S.pipeline.RecordSignalRequest(
            request_id=rid("signal-1"), signal=S.pipeline.Signal(
                source="tender-portal", region="cn-east", sector="healthcare",
                estimated_size=rpc.money(800_000), product_line=line,
                description="maternity wing notice", recorded_by=WANG)), timeout=T)
        again = p.RecordSignal(S.pipeline.RecordSignalRequest(
            request_id=rid("signal-1"), signal=S.pipeline.Signal(
                source="tender-portal", region="cn-east", sector="healthcare",
                estimated_size=rpc.money(800_000), product_line=line,
                description="maternity wing notice", recorded_by=WANG)), timeout=T)
        self.assertEqual(again.id, sig.id)
        lead = harness.poll(lambda: self._lead(sig.id, client.client_id, line),
                            "pipeline to accept a lead on client %s" % client.client_id)
        lead = p.QualifyLead(S.pipeline.QualifyLeadRequest(
            lead_id=lead.id, note="budget approved", actor=rpc.actor(WANG)), timeout=T)
        self.assertEqual(lead.state, S.pipeline.LEAD_STATE_QUALIFIED)
        opp = self.t.opportunity("funnel", client.client_id, WANG, value=800_000,
                                 lead_id=lead.id, team_id="team:east")
        self.assertEqual((opp.stage, opp.state, opp.owner_id, opp.lead_id),
                         ("qualification", S.pipeline.OPPORTUNITY_STATE_OPEN, WANG, lead.id))
        self.assertEqual(opp.client_tier, S.clients.CLIENT_TIER_STANDARD)  # from the replica
        self.assertEqual(opp.region, "cn-east")
        retry = self.t.opportunity("funnel", client.client_id, WANG, value=800_000,
                                   lead_id=lead.id, team_id="team:east")
        self.assertEqual(retry.id, opp.id, "CreateOpportunity retry must return the first result")
        lead = p.GetLead(S.pipeline.GetLeadRequest(lead_id=lead.id), timeout=T)
        self.assertEqual((lead.state, lead.opportunity_id),
                         (S.pipeline.LEAD_STATE_CONVERTED, opp.id))
        report = p.GetFunnelReport(S.pipeline.GetFunnelReportRequest(
            start_time=rpc.timestamp(-1), end_time=rpc.timestamp(1),
            filter=S.pipeline.FunnelFilter(product_line=line)), timeout=T)
        steps = {s.step: s.count for s in report.steps}
        self.assertEqual((steps.get("signal"), steps.get("lead"), steps.get("qualified_lead"),
                          steps.get("opportunity")), (1, 1, 1, 1), report)

    def _lead(self, signal_id, client_id, line):
        try:
            return self.cluster.pipeline.CreateLead(S.pipeline.CreateLeadRequest(
                request_id=rid("lead-1"), lead=S.pipeline.Lead(
                    signal_id=signal_id, client_id=client_id, owner_id=WANG,
                    region="cn-east", sector="healthcare", product_line=line,
                    estimated_value=rpc.money(800_000))), timeout=T)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                raise LookupError(e.details())
            raise RuntimeError("CreateLead: " + rpc.describe_error(e)) from e

    def test_4_client_topic_decodes_from_proto_alone(self):
        """registered, updated and owner_changed of one client on triad.clients.client: binary
        CloudEvents headers, values parsed as the message their ce_type names."""
        reader = events.TopicReader(self.cluster.bootstrap, ["triad.clients.client"],
                                    group_prefix="triad-e2e-reader-" + RUN)
        try:
            c = self.cluster.clients
            client = self.t.client("events", "Yinzhou Eye Hospital %s" % RUN, WANG)
            client = c.UpdateClient(S.clients.UpdateClientRequest(
                client=S.clients.Client(client_id=client.client_id, phone="+86 574 8833 0101"),
                update_mask=rpc.field_mask("phone"), etag=client.etag,
                actor=rpc.actor(ACTOR, "new switchboard")), timeout=T)
            c.ReassignClient(S.clients.ReassignClientRequest(
                client_id=client.client_id, new_owner_id=LI,
                actor=rpc.actor(ACTOR, "Wang returns to field service")), timeout=T)
            cid = client.client_id

            def mine():
                reader.poll(0.2)
                got = [m for m in reader.messages if events.key_of(m) == cid]
                return got if len(got) >= 3 else None
            msgs = harness.poll(mine, "three events of %s on triad.clients.client" % cid)
            types = [events.headers_dict(m)["ce_type"] for m in msgs]
            self.assertEqual(types, ["triad.clients.client.registered.v1",
                                     "triad.clients.client.updated.v1",
                                     "triad.clients.client.owner_changed.v1"])
            ids = set()
            for m in msgs:
                h = events.headers_dict(m)
                self.assertEqual(events.check_ce_headers(h, want_source="triad/clients"), [], h)
                ids.add(h["ce_id"])
                ev = triad_stubs.decode_event(S, h["ce_type"], m.value())
                self.assertEqual(ev.client.client_id, cid)
            self.assertEqual(len(ids), 3, "ce_id must be unique per event")
            changed = triad_stubs.decode_event(S, types[2], msgs[2].value())
            self.assertEqual((changed.previous_owner_id, changed.new_owner_id), (WANG, LI))
            updated = triad_stubs.decode_event(S, types[1], msgs[1].value())
            self.assertIn("phone", [ch.field for ch in updated.changes])
        finally:
            reader.close()

    def test_9_graceful_shutdown(self):
        """SIGTERM: each service drains and exits 0 within its drain timeout."""
        for name in reversed(harness.SERVICES):
            svc = self.cluster.svc[name]
            self.assertTrue(svc.alive(), "%s died during the test\n%s" % (name, svc.log_tail()))
            start = time.monotonic()
            code = svc.terminate()
            took = time.monotonic() - start
            if code is None:
                svc.kill()
            self.assertEqual(code, 0, "%s exit code %r after SIGTERM (%.1fs)\n%s"
                             % (name, code, took, svc.log_tail()))
            print("\n  %s exited 0 %.1fs after SIGTERM" % (name, took), file=sys.stdout)


if __name__ == "__main__":
    sys.exit(harness.main(RecordsTest))
