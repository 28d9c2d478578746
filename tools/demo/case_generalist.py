"""Demo case 1, firm A (specialised equipment): technician Wang, the one-stop "generalist", owns
eight clients, carries service cases and an open deal, and installs equipment. He leaves: with
ClientsService.OffboardPerson everything he held moves to account manager Zhao (clients, cases,
follow-ups, the deal) and his installation work is planned again on technician Chen — nothing is
orphaned (ListInactiveHoldings is empty in every service). On a build without OffboardPerson the
case replays as a portfolio handover (HandOverPortfolio) and says so.
"""
from demo_kit import T, Kit, load_stubs, poll, rid, say
from triad_py import rpc

S = load_stubs()

WANG = "u:wang.tech"  # field technician turned one-stop "generalist"
CHEN = "u:chen.tech"  # second field technician
ZHAO = "u:zhao.am"  # account manager
QIAN = "u:manager.qian"  # head of firm A's business line
GAO = "u:expert.gao"  # process-engineering expert
TEAM = "firm-a.east"
SERVICES = ("clients", "pipeline", "review", "production")


def run(k: Kit):
    C = S.clients
    say("== Case 1 - firm A, specialised equipment: technician Wang, the 'generalist' ==")
    clients = [
        ("a-ruifeng", "Jiaxing Ruifeng Battery Technology Co., Ltd.", C.CLIENT_TIER_STRATEGIC,
         "batteries", "91330400MA2BRF0001"),
        ("a-lianhe", "Suzhou Lianhe Pharmaceutical Co., Ltd.", C.CLIENT_TIER_KEY, "pharma",
         "91320500MA1LHP0002"),
        ("a-haida", "Nantong Haida Chemical Group", C.CLIENT_TIER_KEY, "chemicals",
         "91320600MA1HDC0003"),
        ("a-jinfeng", "Wuxi Jinfeng Dairy Co., Ltd.", C.CLIENT_TIER_STANDARD, "food",
         "91320200MA1JFD0004"),
        ("a-tianyi", "Changzhou Tianyi New Materials Co., Ltd.", C.CLIENT_TIER_STANDARD,
         "materials", "91320400MA1TYN0005"),
        ("a-qingshan", "Hangzhou Qingshan Biotech Co., Ltd.", C.CLIENT_TIER_STANDARD, "biotech",
         "91330100MA2QSB0006"),
        ("a-mingyuan", "Shaoxing Mingyuan Textile Dyeing Co., Ltd.", C.CLIENT_TIER_SMALL,
         "textiles", "91330600MA2MYT0007"),
        ("a-baixin", "Yangzhou Baixin Feed Co., Ltd.", C.CLIENT_TIER_SMALL, "agriculture",
         "91321000MA1BXF0008"),
    ]
    for key, name, tier, industry, tax_id in clients:
        k.client(key, name, WANG, tier, industry, TEAM, tax_id=tax_id, tags=["equipment"],
                 notes="record moved out of Wang's phone and notebook")
    if _left_before(k):
        # A rerun after Wang left: what he held is not his to be given again (writes naming an
        # inactive person are refused); the offboarding's record tells the story.
        say("  (Wang left in an earlier run of the demo; his offboarding as recorded:)")
        _offboard(k)
        say()
        return
    cases = [
        _case(k, "a-dryer", "a-ruifeng", C.CASE_SEVERITY_CRITICAL,
              "Coating line dryer stopped: temperature controller fault"),
        _case(k, "a-dosing", "a-lianhe", C.CASE_SEVERITY_HIGH,
              "Filling machine dosing drift above 0.5%"),
        _case(k, "a-spares", "a-haida", C.CASE_SEVERITY_LOW,
              "Recommended spare-parts list for the reactor agitators"),
    ]
    # Production: Wang also installs; an order of last year's line is being built.
    k.resource("a-design", "Equipment design office", "equipment-design", 80)
    k.resource("a-workshop", "Workshop", "manufacturing", 120)
    k.resource("a-testbay", "Test bay", "testing", 40)
    k.resource("a-wang", "Wang (installation)", "installation", 40, resource_id=WANG)
    k.resource("a-chen", "Chen (installation)", "installation", 32, resource_id=CHEN)
    order = k.pr.CreateProject(S.production.CreateProjectRequest(
        request_id=rid("project-a-dryer1"), actor=rpc.actor(QIAN), project=S.production.Project(
            client_id=k.ids["a-ruifeng"], product_line="specialised-equipment",
            title="Electrode coating line dryer #1", value=rpc.money(3_200_000),
            due_date=k.date(150), effort_hours=900)), timeout=T).project
    k.expert(GAO, "Gao Feng (process engineering)", "process-engineering", 16)
    deal = k.opportunity("a-dryer-line", client_id=k.ids["a-ruifeng"], owner_id=WANG,
                         team_id=TEAM, title="Second electrode coating line dryer (2 units)",
                         value=rpc.money(3_600_000), expected_close_time=k.day(45),
                         product_line="specialised-equipment")
    k.tick(deal.id, "qualification.application", by=WANG)
    k.reach(deal.id, "technical_assessment", by=WANG)  # the site survey may be skipped
    say("  Wang holds: %d clients, %d open service cases, a 3.6M CNY deal (%s), and the "
        "installation of order %s" % (len(clients), len(cases), deal.id, order.project_id))
    install = [ph for ph in k.pr.GetProject(S.production.GetProjectRequest(
        project_id=order.project_id), timeout=T).phases if ph.required_skill == "installation"]

    if hasattr(S.clients, "OffboardPersonRequest"):
        _offboard(k)
    else:
        _handover(k)
    after = k.pr.GetProject(S.production.GetProjectRequest(project_id=order.project_id),
                            timeout=T)
    phase = [ph for ph in after.phases if ph.phase_id == install[0].phase_id][0]
    say("  installation of %s: planned on %s, %s .. %s" % (
        order.project_id, phase.resource_id, phase.planned_start_date, phase.planned_end_date))
    o = k.opp(deal.id)
    say("  the 3.6M deal is owned by %s; owners now: Wang %d clients, Zhao %d" % (
        o.owner_id, _owned(k, WANG), _owned(k, ZHAO)))
    say()
    k.ids["a-order"] = order.project_id
    k.ids["a-deal"] = deal.id


def _case(k, key, client_key, severity, description):
    cs = k.c.OpenCase(S.clients.OpenCaseRequest(
        request_id=rid("case-" + key), client_id=k.ids[client_key], severity=severity,
        description=description, actor=rpc.actor("u:demo.loader")), timeout=T)
    cs = k.c.GetCase(S.clients.GetCaseRequest(case_id=cs.case_id), timeout=T)
    if not cs.assignee_id:
        cs = k.c.AssignCase(S.clients.AssignCaseRequest(
            case_id=cs.case_id, assignee_id=WANG, etag=cs.etag,
            actor=rpc.actor(QIAN, "Wang knows the machine")), timeout=T)
    return cs


def _owned(k, owner):
    return len(k.c.ListClients(S.clients.ListClientsRequest(owner_id=owner, page_size=100),
                               timeout=T).clients)


def _left_before(k):
    """True when this build has OffboardPerson and Wang's offboarding exists already."""
    if not hasattr(S.clients, "OffboardPersonRequest"):
        return False
    return len(k.c.ListOffboardings(S.clients.ListOffboardingsRequest(
        person_id=WANG, page_size=10), timeout=T).offboardings) > 0


def _offboard(k):
    C = S.clients
    off = k.c.OffboardPerson(C.OffboardPersonRequest(
        request_id=rid("offboard-wang"), person_id=WANG, successor_id=ZHAO,
        actor=rpc.actor(QIAN, "Wang leaves the company; his accounts go to account manager "
                        "Zhao")), timeout=30)
    off = poll(lambda: (lambda x: x if x.status == C.OFFBOARDING_STATUS_COMPLETED else None)(
        k.c.GetOffboarding(C.GetOffboardingRequest(offboarding_id=off.offboarding_id),
                           timeout=T)), "offboarding %s to complete" % off.offboarding_id)
    say("  Wang leaves: OffboardPerson %s (successor Zhao) completed in every service:"
        % off.offboarding_id)
    for st in off.steps:
        moved = ", ".join("%d %s" % (n, kind) for kind, n in sorted(st.moved.items())) or "nothing"
        say("    %-10s moved %s; %d remaining" % (st.service, moved, st.remaining))
    held = []
    for name, stub, mod in (("clients", k.c, S.clients), ("pipeline", k.p, S.pipeline),
                            ("review", k.r, S.review), ("production", k.pr, S.production)):
        resp = stub.ListInactiveHoldings(mod.ListInactiveHoldingsRequest(page_size=100),
                                         timeout=T)
        held.append("%s %d%s" % (name, len(resp.holdings), "+" if resp.next_page_token else ""))
    say("  still held by people who left (ListInactiveHoldings): %s" % ", ".join(held))


def _handover(k):
    C = S.clients
    say("  (this build has no ClientsService.OffboardPerson: replaying Wang's departure as a "
        "portfolio handover)")
    h = k.c.HandOverPortfolio(C.HandOverPortfolioRequest(
        request_id=rid("handover-wang-to-zhao"), from_owner_id=WANG, to_owner_id=ZHAO,
        actor=rpc.actor(QIAN, "Wang leaves; account management and receivables move to "
                        "account manager Zhao")), timeout=30)
    h = poll(lambda: (lambda x: x if x.status == C.HANDOVER_STATUS_COMPLETED else None)(
        k.c.GetHandover(C.GetHandoverRequest(handover_id=h.handover_id), timeout=T)),
        "the handover")
    say("  portfolio handover %s (Wang -> Zhao): %d of %d clients moved" % (
        h.handover_id, h.moved, h.total))
    poll(lambda: k.opp(k.ids["a-dryer-line"]).owner_id == ZHAO, "the deal to follow its client")
    cases = k.c.ListCases(C.ListCasesRequest(client_id=k.ids["a-ruifeng"], page_size=100),
                          timeout=T).cases
    say("  not moved by a handover: service cases still assigned to Wang at Ruifeng: %d; his "
        "installation work stays his (OffboardPerson moves both)"
        % len([c for c in cases if c.assignee_id == WANG]))
