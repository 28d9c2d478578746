"""Demo case 2, firm B (design institute): experts fronted every deal until orders ran late.
With Triad, ten deals reaching their concept stage at once ask for ten expert reviews; review
assigns them by load and capacity, so the burst queues instead of overloading anyone. The
1.2M CNY hospital deal waits at its expert-review gate until its expert approves; production
answers the feasibility gate on its own; the won deal becomes a project scheduled on finite
capacity, and a deal won with a due date the capacity cannot meet is flagged at risk while
the date is still ahead.
"""
from demo_kit import T, Kit, load_stubs, poll, say
from triad_py import rpc

S = load_stubs()
SUN = "u:sun.sales"  # sales manager
ZHOU = "u:expert.zhou"  # chief architect
XU = "u:expert.xu"
LIN = "u:expert.lin"
TEAM = "firm-b.design"
LINE = "architectural-design"
GATE, FEAS = "concept.expert_review", "concept.feasibility"

# (key, client name, tier, value in CNY); the first is the hospital of the article.
DEALS = [
    ("b-hospital", "Ningbo Eastern District People's Hospital", "STRATEGIC", 1_200_000),
    ("b-clinic", "Ningbo Yinzhou Community Health Service Centre", "STANDARD", 500_000),
    ("b-school", "Cixi No. 2 Middle School", "STANDARD", 800_000),
    ("b-library", "Yuyao City Library", "KEY", 650_000),
    ("b-court", "Fenghua District People's Court", "KEY", 900_000),
    ("b-museum", "Zhenhai Maritime Museum", "STANDARD", 700_000),
    ("b-campus", "Ningbo Polytechnic North Campus", "KEY", 1_500_000),
    ("b-station", "Beilun Fire Station No. 3", "SMALL", 300_000),
    ("b-market", "Jiangbei Farmers' Market", "SMALL", 350_000),
    ("b-office", "Haishu Tax Bureau Service Hall", "STANDARD", 450_000),
]


def run(k: Kit):
    P, R, Pr = S.pipeline, S.review, S.production
    say("== Case 2 - firm B, design institute: experts assigned by load, not by habit ==")
    for eid, name, cap in ((ZHOU, "Zhou Ming (chief architect)", 12),
                           (XU, "Xu Lan (senior architect)", 12),
                           (LIN, "Lin Tao (senior architect)", 8)):
        k.expert(eid, name, "architecture", cap)
    k.resource("b-studio", "Design studio", "architectural-design", 60)
    k.resource("b-drafting", "Drafting office", "drafting", 80)
    sigs = [k.p.RecordSignal(P.RecordSignalRequest(
        request_id="demo-v2-signal-%02d" % i, signal=P.Signal(
            source=["tender-portal", "planning-bureau", "referral", "trade-fair"][i % 4],
            region="cn-east", sector="public", product_line=LINE,
            estimated_size=rpc.money(800_000), description="project notice #%d" % (i + 1),
            recorded_by=SUN)), timeout=T).id for i in range(14)]

    opps = {}
    for i, (key, name, tier, value) in enumerate(DEALS):
        k.client(key, name, SUN, getattr(S.clients, "CLIENT_TIER_" + tier), "public", TEAM)
        kw = {}
        if i < 2:  # the hospital and the clinic came in through the funnel
            kw["lead_id"] = _lead(k, key, sigs[i], value)
        o = k.opportunity(key, client_id=k.ids[key], owner_id=SUN, team_id=TEAM, title=name,
                          value=rpc.money(value), product_line=LINE, expected_close_time=k.day(30),
                          desired_delivery_time=k.day(400), fields={"site_area_m2": "20000"}, **kw)
        opps[key] = o.id
    for key, oid in opps.items():  # the burst: every deal reaches concept at once
        k.tick(oid, "qualification.decision_maker", by=SUN)
        k.reach(oid, "needs_analysis", by=SUN)
        k.tick(oid, "needs.site_visit", "needs.brief_confirmed", by=SUN)
        k.reach(oid, "concept", by=SUN)
    reviews = poll(lambda: (lambda rs: rs if all(rs.values()) else None)(
        {key: k.reviews_of(oid) for key, oid in opps.items()}),
        "review to receive the ten requests")
    first = [rs[0] for rs in reviews.values()]
    queued = [r for r in first if r.assignments and not r.assignments[0].expert_id]
    say("  %d deals reached their concept stage together: %d review requests, %d assigned at "
        "once by load and capacity, %d queued (escalated) instead of overloading anyone" % (
            len(opps), len(first), len(first) - len(queued), len(queued)))
    _load(k, "  load right after the burst:")

    # The hospital deal may not leave concept before its expert review.
    refusal = k.try_reach(opps["b-hospital"], "proposal", by=SUN)
    if refusal:
        say("  1.2M hospital deal %s asked to move to proposal:\n    FAILED_PRECONDITION: %s"
            % (opps["b-hospital"], refusal))
    # Experts work through other deals' reviews until the hospital's and the clinic's have an
    # expert (each verdict frees capacity and the queue is served oldest first).
    targets = ("b-hospital", "b-clinic")
    for key in [x for x in opps if x not in targets] + [None]:
        if all(k.reviews_of(opps[x])[-1].state != R.REVIEW_STATE_QUEUED for x in targets):
            break
        if key is None:
            say("  the hospital's or the clinic's review is still queued behind other work "
                "(this review service carries requests the demo did not make); case 2 stops "
                "here")
            _load(k, "  load:")
            say()
            k.ids.update(opps)
            return
        r = k.reviews_of(opps[key])[-1]
        if r.state in (R.REVIEW_STATE_ASSIGNED, R.REVIEW_STATE_ACCEPTED):
            k.decide(r, R.VERDICT_APPROVED, 300, "standard scheme", "fits the brief")
    hosp = k.reviews_of(opps["b-hospital"])[-1]
    clinic = k.reviews_of(opps["b-clinic"])[-1]
    if clinic.state != R.REVIEW_STATE_DECIDED:
        clinic = k.decide(clinic, R.VERDICT_APPROVED, 520,
                          "keep the structure; new day-surgery wing on the east side",
                          "renovation in phases while the centre stays open")
    hosp = k.decide(hosp, R.VERDICT_APPROVED, 640,
                    "courtyard scheme with separated clean/dirty flows; phased build keeps the "
                    "outpatient wing open", "the scheme fits the site and the budget")
    burst = [k.reviews_of(oid) for oid in opps.values()]
    decided = sum(1 for rs in burst for r in rs if r.state == R.REVIEW_STATE_DECIDED)
    waiting = sum(1 for rs in burst for r in rs if r.state == R.REVIEW_STATE_QUEUED)
    say("  %s approved the hospital design (640 h estimated); %d verdicts so far, each freeing "
        "its expert's hours for the queue (served oldest first): %d still queued" % (
            hosp.verdict.expert_id, decided, waiting))
    _load(k, "  load now:")

    # Feasibility came from production on its own; the gates are open: win the deal.
    for key in ("b-hospital", "b-clinic"):
        oid = opps[key]
        k.wait_gate(oid, GATE, (P.GATE_STATUS_OPEN,))
        feas = k.wait_gate(oid, FEAS, (P.GATE_STATUS_OPEN, P.GATE_STATUS_HELD))
        if key == "b-hospital":
            say("  production's feasibility answer: %s, earliest completion %s, bottleneck %s"
                % ("feasible" if feas.gate_status == P.GATE_STATUS_OPEN else "NOT feasible",
                   feas.earliest_completion_time.ToDatetime().date(), feas.bottleneck_resource))
        k.reach(oid, "proposal", by=SUN)
        k.tick(oid, "proposal.expert_presented", "proposal.fee_proposal_sent", by=SUN)
        k.reach(oid, "negotiation", by=SUN)
        k.tick(oid, "negotiation.contract_terms", by=SUN)
    k.win(opps["b-hospital"], 330, by=SUN)
    k.win(opps["b-clinic"], 21, by=SUN)  # the client insists on three weeks
    proj = k.project_of(opps["b-hospital"])
    say("  won -> project %s, %.0f h, due %s, planned end %s%s:" % (
        proj.project_id, proj.effort_hours, proj.due_date, proj.planned_end_date,
        " (AT RISK)" if proj.at_risk else ""))
    for ph in proj.phases:
        say("    %-22s %-14s %s .. %s%s" % (ph.name, ph.resource_id, ph.planned_start_date,
                                           ph.planned_end_date,
                                           "  ends in an expert sign-off" if ph.key_milestone
                                           else ""))
    late = k.project_of(opps["b-clinic"])
    if late.at_risk:
        say("  clinic project %s: AT RISK now, due %s, planned end %s - flagged before the due "
            "date passes: %s" % (late.project_id, late.due_date, late.planned_end_date,
                                 late.risk_reason))
    report = k.p.GetFunnelReport(P.GetFunnelReportRequest(
        start_time=k.day(-1), end_time=rpc.timestamp(1),
        filter=P.FunnelFilter(product_line=LINE)), timeout=T)
    steps = {s.step: s.count for s in report.steps}
    say("  funnel (architectural design): %d signals -> %d leads -> %d opportunities -> %d won"
        % (steps.get("signal", 0), steps.get("lead", 0), steps.get("opportunity", 0),
           steps.get("won", 0)))
    say()
    k.ids.update(opps)
    k.ids["b-project"] = proj.project_id


def _lead(k, key, signal_id, value):
    P = S.pipeline
    lead = k.until_known(lambda: k.p.CreateLead(P.CreateLeadRequest(
        request_id="demo-v2-lead-" + key, lead=P.Lead(
            signal_id=signal_id, client_id=k.ids[key], owner_id=SUN, region="cn-east",
            sector="public", product_line=LINE, estimated_value=rpc.money(value))), timeout=T),
        "lead " + key)
    lead = k.p.GetLead(P.GetLeadRequest(lead_id=lead.id), timeout=T)
    if lead.state == P.LEAD_STATE_NEW:
        k.p.QualifyLead(P.QualifyLeadRequest(lead_id=lead.id, note="budget approved",
                                             actor=rpc.actor(SUN)), timeout=T)
    return lead.id


def _load(k, title):
    view = k.r.GetLoadView(S.review.GetLoadViewRequest(domain="architecture"), timeout=T)
    say(title + "  highest load ratio %.2f, %d queued" % (view.max_load_ratio,
                                                          view.queue.length))
    for e in view.experts:
        say("    %-16s %4.1f h of %4.1f h (%3.0f%%), %d open" % (
            e.expert_id, e.load_hours, e.capacity_hours, 100 * e.load_ratio, e.open_reviews))
