#!/usr/bin/env python3
"""Loads Triad's demo dataset: the two cases of the source article, replayed through the real
APIs and events of the running services (clients at 127.0.0.1:7101, pipeline at 127.0.0.1:7102,
Kafka at $KAFKA_BOOTSTRAP_SERVERS).

Case 1, firm A (specialised equipment): technician Wang is the one "generalist" owner of eight
clients. Triad keeps the records in the company, gives service cases an SLA and an assignee, and
hands Wang's portfolio to account manager Zhao (the open deal follows) while Wang keeps the
service work he is good at.

Case 2, firm B (design institute): a 1.2M hospital design deal cannot move to the proposal
stage until the expert review gate is open; the funnel is measured against the 7:1 targets.

Idempotent: every create carries a fixed request_id, events published in place of the review and
production services (not built yet) carry fixed ce_ids (consumers dedupe on them), and stage
moves are made only when the deal is not there yet. Running it twice changes nothing.

    python3 tools/demo/demo.py [--clients ADDR] [--pipeline ADDR] [--approve-hospital-review]
"""
import argparse
import os
import shutil
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import triad_py  # noqa: E402

triad_py.ensure_python()

import grpc  # noqa: E402

from triad_py import events, rpc, stubs  # noqa: E402

S = None
LOADER = "u:demo.loader"
SYNC_TIMEOUT_S = 60
NS = "triad-demo/v1/"

# People.
WANG = "u:wang.tech"  # firm A: field technician turned one-stop "generalist"
CHEN = "u:chen.tech"  # firm A: second field technician
ZHAO = "u:zhao.am"  # firm A: account manager who takes over the accounts
SUN = "u:sun.sales"  # firm B: sales manager
ZHOU = "u:expert.zhou"  # firm B: chief architect (product / expert function)


def rid(name):
    """A fixed request_id for one demo record."""
    return "demo-v1-" + name


def ce_id(name):
    """A fixed CloudEvents id (UUID v5) for an event the demo publishes: a rerun against the same
    data republishes the same id and the consumer skips it. Callers include the aggregate id in
    `name`, so a demo against fresh data (new ids) never collides with an earlier run's events."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, NS + name))


def say(text=""):
    print(text, flush=True)


class Demo:
    def __init__(self, clients_addr, pipeline_addr, bootstrap):
        self.clients_addr = clients_addr
        self.pipeline_addr = pipeline_addr
        self.bootstrap = bootstrap
        self.c = S.ClientsStub(rpc.channel(clients_addr))
        self.p = S.PipelineStub(rpc.channel(pipeline_addr))
        self.pub = events.Publisher(bootstrap, "triad/demo")
        self.ids = {}

    # ------------------------------------------------------------------ helpers

    def client(self, key, name, owner, tier, industry, region, team, **extra):
        c = self.c.CreateClient(S.clients.CreateClientRequest(
            request_id=rid("client-" + key),
            client=S.clients.Client(name=name, owner_id=owner, tier=tier, industry=industry,
                                    region=region, team_id=team, **extra),
            actor=rpc.actor(LOADER, "moved from a personal spreadsheet into the company record")),
            timeout=15)
        self.ids[key] = c.client_id
        return c.client_id

    def get_client(self, key):
        return self.c.GetClient(S.clients.GetClientRequest(client_id=self.ids[key]), timeout=15)

    def contact(self, key, name, role, phone=""):
        self.c.CreateContact(S.clients.CreateContactRequest(
            request_id=rid("contact-%s-%s" % (key, name)),
            contact=S.clients.Contact(client_id=self.ids[key], name=name, role=role, phone=phone),
            actor=rpc.actor(LOADER)), timeout=15)

    def case(self, key, client_key, severity, description, assignee=None, target=None):
        cs = self.c.OpenCase(S.clients.OpenCaseRequest(
            request_id=rid("case-" + key), client_id=self.ids[client_key], severity=severity,
            description=description, actor=rpc.actor(LOADER)), timeout=15)
        cs = self.c.GetCase(S.clients.GetCaseRequest(case_id=cs.case_id), timeout=15)
        if assignee and cs.assignee_id != assignee:
            cs = self.c.AssignCase(S.clients.AssignCaseRequest(
                case_id=cs.case_id, assignee_id=assignee, etag=cs.etag,
                actor=rpc.actor(LOADER)), timeout=15)
        rank = {st: i for i, st in enumerate([S.clients.CASE_STATUS_OPEN,
                                            S.clients.CASE_STATUS_IN_PROGRESS,
                                            S.clients.CASE_STATUS_RESOLVED,
                                            S.clients.CASE_STATUS_CLOSED])}
        for status, extra in target or []:
            if rank.get(cs.status, -1) >= rank[status]:
                continue  # already there (a rerun)
            cs = self.c.TransitionCase(S.clients.TransitionCaseRequest(
                case_id=cs.case_id, target_status=status, etag=cs.etag,
                actor=rpc.actor(assignee or LOADER), **extra), timeout=15)
        return cs

    def opp(self, opp_id):
        return self.p.GetOpportunity(S.pipeline.GetOpportunityRequest(opportunity_id=opp_id),
                                     timeout=15)

    def until_client_known(self, fn, what):
        """Runs fn(), retried while pipeline has not yet consumed the registration of the client
        it names (FAILED_PRECONDITION "... is not known"): the replica is eventually consistent."""
        def attempt():
            try:
                return fn()
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details():
                    raise LookupError(e.details())
                raise
        return rpc.poll_until(attempt, SYNC_TIMEOUT_S, "pipeline to learn the client of " + what)

    def create_opp(self, key, **kw):
        o = self.until_client_known(lambda: self.p.CreateOpportunity(
            S.pipeline.CreateOpportunityRequest(request_id=rid("opp-" + key),
                                                actor=rpc.actor(kw["owner_id"]), **kw),
            timeout=15), key)
        self.ids[key] = o.id
        return o.id

    def tick(self, opp_id, *checkpoint_ids, by=LOADER):
        for cp in checkpoint_ids:
            self.p.CompleteChecklistItem(S.pipeline.CompleteChecklistItemRequest(
                opportunity_id=opp_id, checkpoint_id=cp, actor=rpc.actor(by)), timeout=15)

    def set_field(self, opp_id, key, value, by=LOADER):
        o = self.opp(opp_id)
        if o.fields.get(key) == value:
            return
        upd = S.pipeline.Opportunity(id=opp_id)
        upd.fields[key] = value
        self.p.UpdateOpportunity(S.pipeline.UpdateOpportunityRequest(
            opportunity=upd, update_mask=rpc.field_mask("fields"), etag=o.etag,
            actor=rpc.actor(by)), timeout=15)

    def reach(self, opp_id, stage, by=LOADER):
        """Advances to stage unless the deal is already there or beyond."""
        o = self.opp(opp_id)
        pb = self.p.GetPlaybook(S.pipeline.GetPlaybookRequest(
            product_line=o.product_line, version=o.playbook_version), timeout=15)
        order = [s.id for s in pb.stages]
        if order.index(o.stage) >= order.index(stage) or o.state != S.pipeline.OPPORTUNITY_STATE_OPEN:
            return o
        return self.p.AdvanceStage(S.pipeline.AdvanceStageRequest(
            opportunity_id=opp_id, target_stage=stage, actor=rpc.actor(by)), timeout=15)

    def try_reach(self, opp_id, stage, by=LOADER):
        try:
            self.reach(opp_id, stage, by)
            return None
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return e.details()

    def review_and_feasibility(self, name, opp_id, gate, feasibility_gate, domain, hours,
                               summary, earliest_days, bottleneck):
        """Publishes what the review and production services will publish (fixed ce_ids), then
        waits until pipeline has opened both gates."""
        verdict = S.review_events.ReviewVerdictRecorded(
            review_id="rev-demo-" + name, opportunity_id=opp_id, gate_id=gate, domain=domain,
            expert_id=ZHOU if domain == "architecture" else "u:expert.gao",
            verdict=S.review_events.VERDICT_APPROVED, solution_summary=summary,
            estimated_effort_hours=hours, decide_time=rpc.timestamp(0))
        self.pub.publish("triad.review.request", verdict.review_id,
                         "triad.review.request.verdict_recorded.v1", verdict,
                         ce_id=ce_id("verdict-" + name + "-" + opp_id))
        if feasibility_gate:
            answer = S.production_events.FeasibilityAnswered(
                opportunity_id=opp_id, gate_id=feasibility_gate, feasible=True,
                earliest_completion_time=rpc.timestamp(earliest_days), bottleneck_resource=bottleneck,
                explanation="capacity available after the current projects")
            self.pub.publish("triad.production.feasibility", opp_id,
                             "triad.production.feasibility.answered.v1", answer,
                             ce_id=ce_id("feasibility-" + name + "-" + opp_id))
        wanted = [gate] + ([feasibility_gate] if feasibility_gate else [])

        def opened():
            o = self.opp(opp_id)
            return all(rpc.checkpoint(o, g).gate_status == S.pipeline.GATE_STATUS_OPEN
                       for g in wanted)
        rpc.poll_until(opened, SYNC_TIMEOUT_S, "gates %s of %s to open" % (wanted, opp_id))

    def owners(self, owner_ids):
        out = {}
        for o in owner_ids:
            r = self.c.ListClients(S.clients.ListClientsRequest(owner_id=o, page_size=100),
                                   timeout=15)
            out[o] = len(r.clients)
        return out

    # ------------------------------------------------------------------ case 1

    def case1(self):
        say("== Case 1 - firm A, specialised equipment: technician Wang, the 'generalist' ==")
        T = S.clients
        team = "firm-a.east"
        clients = [
            ("a-ruifeng", "Jiaxing Ruifeng Battery Technology Co., Ltd.", T.CLIENT_TIER_STRATEGIC,
             "batteries", "91330400MA2BRF0001", "+86 573 8201 1001"),
            ("a-lianhe", "Suzhou Lianhe Pharmaceutical Co., Ltd.", T.CLIENT_TIER_KEY, "pharma",
             "91320500MA1LHP0002", "+86 512 6801 2002"),
            ("a-haida", "Nantong Haida Chemical Group", T.CLIENT_TIER_KEY, "chemicals",
             "91320600MA1HDC0003", "+86 513 8502 3003"),
            ("a-jinfeng", "Wuxi Jinfeng Dairy Co., Ltd.", T.CLIENT_TIER_STANDARD, "food",
             "91320200MA1JFD0004", "+86 510 8803 4004"),
            ("a-tianyi", "Changzhou Tianyi New Materials Co., Ltd.", T.CLIENT_TIER_STANDARD,
             "materials", "91320400MA1TYN0005", "+86 519 8604 5005"),
            ("a-qingshan", "Hangzhou Qingshan Biotech Co., Ltd.", T.CLIENT_TIER_STANDARD,
             "biotech", "91330100MA2QSB0006", "+86 571 8705 6006"),
            ("a-mingyuan", "Shaoxing Mingyuan Textile Dyeing Co., Ltd.", T.CLIENT_TIER_SMALL,
             "textiles", "91330600MA2MYT0007", "+86 575 8806 7007"),
            ("a-baixin", "Yangzhou Baixin Feed Co., Ltd.", T.CLIENT_TIER_SMALL, "agriculture",
             "91321000MA1BXF0008", "+86 514 8907 8008"),
        ]
        for key, name, tier, industry, tax_id, phone in clients:
            self.client(key, name, WANG, tier, industry, "cn-east", team, tax_id=tax_id,
                        phone=phone, tags=["equipment"],
                        notes="client record moved out of Wang's phone and notebook")
        self.contact("a-ruifeng", "Ms. Lin Yue", "plant manager", "+86 138 0573 1001")
        self.contact("a-ruifeng", "Mr. He Tao", "procurement")
        self.contact("a-lianhe", "Dr. Xu Ming", "technical lead", "+86 139 0512 2002")
        say("  %d clients registered with one responsible person each (all Wang today), with "
            "contacts" % len(clients))

        sev = T
        cases = [
            self.case("a-dryer", "a-ruifeng", sev.CASE_SEVERITY_CRITICAL,
                      "Coating line dryer stopped: temperature controller fault", CHEN,
                      [(T.CASE_STATUS_IN_PROGRESS, {})]),
            self.case("a-dosing", "a-lianhe", sev.CASE_SEVERITY_HIGH,
                      "Filling machine dosing drift above 0.5%", WANG,
                      [(T.CASE_STATUS_IN_PROGRESS, {}),
                       (T.CASE_STATUS_RESOLVED, {"resolution": "load cell recalibrated"}),
                       (T.CASE_STATUS_CLOSED, {"satisfaction_score": 5,
                                               "resolution": "load cell recalibrated"})]),
            self.case("a-calib", "a-jinfeng", sev.CASE_SEVERITY_MEDIUM,
                      "Annual calibration of the homogeniser"),
            self.case("a-spares", "a-haida", sev.CASE_SEVERITY_LOW,
                      "Recommended spare-parts list for the reactor agitators", WANG),
        ]
        say("  service cases, each with an SLA from severity x client tier and an assignee:")
        for cs in cases:
            hours = (cs.sla_due_time.seconds - cs.open_time.seconds) / 3600.0
            say("    %-9s %-44.44s SLA %3.0f h  %-11s %s" % (
                T.CaseSeverity.Name(cs.severity).replace("CASE_SEVERITY_", "").lower(),
                cs.description, hours, T.CaseStatus.Name(cs.status).replace("CASE_STATUS_", ""),
                cs.assignee_id or "(unassigned)"))

        # Wang also carries a new equipment deal - negotiation is not his strength.
        opp_id = self.create_opp(
            "a-dryer-line", client_id=self.ids["a-ruifeng"], owner_id=WANG, team_id=team,
            title="Second electrode coating line dryer (2 units)", value=rpc.money(3_600_000),
            expected_close_time=rpc.timestamp(45), product_line="specialised-equipment")
        self.tick(opp_id, "qualification.application", by=WANG)
        # site_survey is skippable (the technician knows the site): one jump to assessment.
        self.reach(opp_id, "technical_assessment", by=WANG)
        self.set_field(opp_id, "duty_spec", "2 x 12 m dryer, 140 C, 8 m/min NMP recovery")
        say("  open deal %s: 3.6M CNY dryer line, at technical_assessment, waiting for a "
            "process-engineering expert review (not for Wang)" % opp_id)

        before = self.owners([WANG, ZHAO])
        h = self.c.HandOverPortfolio(S.clients.HandOverPortfolioRequest(
            request_id=rid("handover-wang-to-zhao"), from_owner_id=WANG, to_owner_id=ZHAO,
            actor=rpc.actor("u:manager.qian", "Wang returns to field service; account "
                            "management and receivables move to account manager Zhao")),
            timeout=30)
        h = rpc.poll_until(lambda: (lambda x: x if x.status == T.HANDOVER_STATUS_COMPLETED
                                    else None)(self.c.GetHandover(
                                        T.GetHandoverRequest(handover_id=h.handover_id),
                                        timeout=15)), SYNC_TIMEOUT_S, "the handover")
        after = self.owners([WANG, ZHAO])
        say("  portfolio handover %s (Wang -> account manager Zhao): %d of %d clients moved%s"
            % (h.handover_id, h.moved, h.total,
               "" if before[WANG] else " (in an earlier run)"))
        say("  clients owned now: Wang %d, Zhao %d; every move is in each client's history with "
            "the reason" % (after[WANG], after[ZHAO]))
        try:
            o = rpc.poll_until(lambda: (lambda x: x if x.owner_id == ZHAO else None)(
                self.opp(opp_id)), SYNC_TIMEOUT_S, "the deal's owner to follow")
            say("  the open deal followed its client in pipeline: owner %s" % o.owner_id)
        except TimeoutError as e:
            say("  note: %s" % e)
        say("  Wang keeps the service cases assigned to him: the work is spread, not lost.")
        say()

    # ------------------------------------------------------------------ case 2

    def case2(self, approve):
        say("== Case 2 - firm B, design institute: the 1.2M hospital deal and the expert gate ==")
        T = S.clients
        team = "firm-b.healthcare"
        self.client("b-hospital", "Ningbo Eastern District People's Hospital", SUN,
                    T.CLIENT_TIER_STRATEGIC, "healthcare", "cn-east", team,
                    tax_id="12330200MB0NEH0011", phone="+86 574 8711 0011",
                    address="1 Zhongshan East Rd, Ningbo", tags=["hospital", "public"])
        self.client("b-clinic", "Ningbo Yinzhou Community Health Service Centre", SUN,
                    T.CLIENT_TIER_STANDARD, "healthcare", "cn-east", team,
                    tax_id="12330212MB0YCH0012", phone="+86 574 8822 0012")
        self.contact("b-hospital", "Dean Fang Li", "decision maker")
        self.contact("b-hospital", "Mr. Gu Wei", "infrastructure office")

        P = S.pipeline
        sectors = ["healthcare", "education", "government", "healthcare", "commercial",
                   "healthcare", "education", "industrial", "healthcare", "government",
                   "education", "commercial", "healthcare", "culture"]
        sigs = []
        for i, sector in enumerate(sectors):
            sigs.append(self.p.RecordSignal(P.RecordSignalRequest(
                request_id=rid("signal-%02d" % i), signal=P.Signal(
                    source=["tender-portal", "planning-bureau", "referral", "trade-fair"][i % 4],
                    region="cn-east", sector=sector, product_line="architectural-design",
                    estimated_size=rpc.money([1_200_000, 800_000, 500_000, 2_000_000][i % 4]),
                    description="%s project notice #%d" % (sector, i + 1), recorded_by=SUN)),
                timeout=15).id)

        def lead(key, signal, client_key, prospect, value):
            ld = self.until_client_known(lambda: self.p.CreateLead(P.CreateLeadRequest(
                request_id=rid("lead-" + key), lead=P.Lead(
                    signal_id=signal, client_id=self.ids.get(client_key, ""),
                    prospect_name=prospect, owner_id=SUN, region="cn-east", sector="healthcare",
                    product_line="architectural-design", estimated_value=rpc.money(value))),
                timeout=15), "lead " + key)
            ld = self.p.GetLead(P.GetLeadRequest(lead_id=ld.id), timeout=15)
            return ld

        leads = [lead("hospital", sigs[0], "b-hospital", "", 1_200_000),
                 lead("clinic", sigs[2], "b-clinic", "", 500_000),
                 lead("school", sigs[1], None, "Cixi No. 2 Middle School", 800_000)]
        for ld in leads[:2]:
            if ld.state == P.LEAD_STATE_NEW:
                self.p.QualifyLead(P.QualifyLeadRequest(lead_id=ld.id, note="budget approved",
                                                        actor=rpc.actor(SUN)), timeout=15)
        if leads[2].state == P.LEAD_STATE_NEW:
            self.p.DisqualifyLead(P.DisqualifyLeadRequest(
                lead_id=leads[2].id, reason="budget not approved this year",
                actor=rpc.actor(SUN)), timeout=15)
        say("  funnel input: %d market-demand signals, %d leads (2 qualified, 1 disqualified)"
            % (len(sigs), len(leads)))

        hosp = self.create_opp(
            "b-hospital-design", lead_id=leads[0].id, client_id=self.ids["b-hospital"],
            owner_id=SUN, team_id=team, value=rpc.money(1_200_000),
            title="Outpatient and medical-technology building: scheme to construction drawings",
            expected_close_time=rpc.timestamp(75), fields={"site_area_m2": "42000"})
        clinic = self.create_opp(
            "b-clinic-renovation", lead_id=leads[1].id, client_id=self.ids["b-clinic"],
            owner_id=SUN, team_id=team, value=rpc.money(500_000),
            title="Community health centre renovation", expected_close_time=rpc.timestamp(40),
            fields={"site_area_m2": "6500"})
        for oid in (hosp, clinic):
            o = self.opp(oid)
            if o.stage == "qualification":
                self.tick(oid, "qualification.decision_maker", by=SUN)
                self.reach(oid, "needs_analysis", by=SUN)
            if self.opp(oid).stage == "needs_analysis":
                self.tick(oid, "needs.site_visit", "needs.brief_confirmed", by=SUN)
                self.reach(oid, "concept", by=SUN)

        # The smaller clinic deal already passed its review: it is presented with the expert.
        self.review_and_feasibility("clinic", clinic, "concept.expert_review",
                                    "concept.feasibility", "architecture", 70,
                                    "Keep the structure; new day-surgery wing on the east side",
                                    150, "team:mep")
        self.reach(clinic, "proposal", by=SUN)

        if approve:
            self.review_and_feasibility("hospital", hosp, "concept.expert_review",
                                        "concept.feasibility", "architecture", 160,
                                        "Courtyard scheme with separated clean/dirty flows; "
                                        "phased build keeps the outpatient wing open",
                                        240, "team:structural")
        refusal = self.try_reach(hosp, "proposal", by=SUN)
        if refusal:
            say("  1.2M hospital deal %s tried to move concept -> proposal and was refused:" % hosp)
            say("    FAILED_PRECONDITION: %s" % refusal)
            say("  (a review request event went out; the gate opens only on an APPROVED verdict)")
        else:
            say("  1.2M hospital deal %s: expert review approved -> now at %s" % (
                hosp, self.opp(hosp).stage))

        import datetime
        today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0,
                                                                    microsecond=0)
        report = self.p.GetFunnelReport(P.GetFunnelReportRequest(
            start_time=rpc.timestamp(today - datetime.timedelta(days=30)),
            end_time=rpc.timestamp(today + datetime.timedelta(days=1)),
            filter=P.FunnelFilter(product_line="architectural-design")), timeout=15)
        steps = {s.step: s.count for s in report.steps}
        say("  funnel, last 30 days (architectural design): signals %d, leads %d, "
            "opportunities %d" % (steps.get("signal", 0), steps.get("lead", 0),
                                  steps.get("opportunity", 0)))
        for r in report.ratios:
            if r.target_ratio:
                say("    %-12s -> %-12s actual %5.2f : 1   target %g : 1   gap %+.2f" % (
                    r.from_step, r.to_step, r.actual_ratio, r.target_ratio, r.gap))
        ranked = self.p.RankOpenDeals(P.RankOpenDealsRequest(
            filter=P.FunnelFilter(product_line="architectural-design"), page_size=5), timeout=15)
        say("  open deals by expected value per expert-hour (where experts' time pays most):")
        for d in ranked.deals:
            say("    %-32s %-9s %12s  x%.2f  %5.0f h  -> %8.0f CNY/h" % (
                d.opportunity_id, d.stage, "{:,.0f}".format(d.value_minor / 100),
                d.win_probability, d.expert_hours, d.expected_value_per_expert_hour / 100))
        say()
        self.ids["hosp"], self.ids["clinic"] = hosp, clinic

    # ------------------------------------------------------------------ next steps

    def next_steps(self):
        c, p = self.clients_addr, self.pipeline_addr
        calls = [
            ("Zhao's portfolio after the handover", c,
             "triad.clients.v1.ClientsService/ListClients", '{"owner_id": "%s"}' % ZHAO),
            ("who changed the battery maker's record, and why", c,
             "triad.clients.v1.ClientsService/ListClientHistory",
             '{"client_id": "%s"}' % self.ids["a-ruifeng"]),
            ("the hospital deal with its checkpoints and gates", p,
             "triad.pipeline.v1.PipelineService/GetOpportunity",
             '{"opportunity_id": "%s"}' % self.ids["hosp"]),
            ("try to move it to proposal yourself", p,
             "triad.pipeline.v1.PipelineService/AdvanceStage",
             '{"opportunity_id": "%s", "target_stage": "proposal", "actor": {"id": "%s"}}'
             % (self.ids["hosp"], SUN)),
        ]
        say("Try next:")
        grpcurl = shutil.which("grpcurl")
        for what, addr, method, body in calls:
            say("  # " + what)
            if grpcurl:
                say("  grpcurl -plaintext -d '%s' %s %s" % (body, addr, method))
            else:
                say("  python3 tools/triad_py/call.py %s %s '%s'" % (addr, method, body))
        say("  # play the expert: approve the hospital review (and production's feasibility)")
        flags = ""
        if (c, p) != ("127.0.0.1:7101", "127.0.0.1:7102"):
            flags = " --clients %s --pipeline %s" % (c, p)
        say("  scripts/demo.sh --approve-hospital-review" + flags)
        say("  # watch the client events (CloudEvents headers, protobuf values)")
        say("  kcat -b %s -C -t triad.clients.client -f '%%k %%h\\n' -e" % self.bootstrap)

    def close(self):
        self.pub.close()


def main():
    global S
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default=os.environ.get("TRIAD_CLIENTS_ADDR", "127.0.0.1:7101"))
    ap.add_argument("--pipeline", default=os.environ.get("TRIAD_PIPELINE_ADDR", "127.0.0.1:7102"))
    ap.add_argument("--bootstrap",
                    default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:19092")
    ap.add_argument("--approve-hospital-review", action="store_true",
                    help="also publish the APPROVED expert verdict and the feasibility answer for "
                         "the 1.2M hospital deal and move it to proposal")
    args = ap.parse_args()
    S = stubs.load()
    for name, addr in (("clients", args.clients), ("pipeline", args.pipeline)):
        try:
            rpc.wait_serving(addr, timeout=30)
        except TimeoutError as e:
            say("demo: %s is not serving at %s: %s" % (name, addr, e))
            return 1
    say("Loading the Triad demo data (clients %s, pipeline %s, Kafka %s)" % (
        args.clients, args.pipeline, args.bootstrap))
    say()
    demo = Demo(args.clients, args.pipeline, args.bootstrap)
    try:
        demo.case1()
        demo.case2(args.approve_hospital_review)
        demo.next_steps()
    except (grpc.RpcError, TimeoutError) as e:
        say("demo: failed: %s" % rpc.describe_error(e) if isinstance(e, grpc.RpcError) else e)
        return 1
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
