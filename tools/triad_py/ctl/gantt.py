"""`triadctl production gantt`: the schedule as a text Gantt chart, per resource, over weeks.

Data: ListResources (names, capacity), ListProjects (every page; the phases with their resource,
planned dates and day allocations) and GetUtilisation (allocated vs capacity per resource and
week). Each week is five characters, one per working day Monday..Friday; a phase fills the days
it has hours allocated (or, without allocations, the days of its planned range):
`█` planned, `▓` started, `▒` completed, `░` a tentative booking (ASCII: # = + .).
Under each resource, a `load` line gives the week's allocation in percent of capacity, `!` when
over-allocated. Phases no resource can take are listed last with the reason.
"""
import datetime
import json
import sys

from triad_py.ctl import fields as flds
from triad_py.ctl import output

CHARS = {"unicode": {"planned": "█", "started": "▓", "completed": "▒", "tentative": "░",
                     "free": "·"},
         "ascii": {"planned": "#", "started": "=", "completed": "+", "tentative": ".",
                   "free": " "}}
LABEL_W = 34


def monday(d):
    return d - datetime.timedelta(days=d.weekday())


def _date(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


def phase_days(phase):
    """The set of days a phase works: its allocations with hours, else its planned range."""
    days = {_date(a.date) for a in phase.allocations if a.hours > 0}
    days.discard(None)
    if days:
        return days
    start, end = _date(phase.planned_start_date), _date(phase.planned_end_date)
    if not start or not end or end < start:
        return set()
    return {start + datetime.timedelta(days=i) for i in range((end - start).days + 1)}


def _cells(days, start, weeks, ch):
    out = []
    for w in range(weeks):
        week = start + datetime.timedelta(days=7 * w)
        out.append("".join(ch if week + datetime.timedelta(days=i) in days else " "
                           for i in range(5)))
    return " ".join(out)


def _phase_state(phase, project, enum_short):
    if project.tentative:
        return "tentative"
    state = enum_short(phase.DESCRIPTOR.fields_by_name["state"].enum_type, phase.state)
    return {"STARTED": "started", "COMPLETED": "completed"}.get(state, "planned")


def _cut(s, n):
    return s if len(s) <= n else s[:n - 1] + "~"


def render(projects, resources, utilisation, start, weeks, charset="unicode"):
    """The Gantt chart as text. start: the Monday of the first week (a date)."""
    ch = CHARS[charset]
    header = " " * LABEL_W + " " + " ".join(
        (start + datetime.timedelta(days=7 * w)).strftime("%m-%d") for w in range(weeks))
    end = start + datetime.timedelta(days=7 * weeks)
    lines = ["Schedule %d week(s) from %s (Mon); one character per working day: %s planned, "
             "%s started, %s completed, %s tentative; ! over-allocated"
             % (weeks, start.isoformat(), ch["planned"], ch["started"], ch["completed"],
                ch["tentative"]), header]
    names = {r.resource_id: r for r in resources}
    by_resource, unscheduled = {}, []
    for p in projects:
        for ph in p.phases:
            if not ph.resource_id:
                unscheduled.append((p, ph))
            else:
                by_resource.setdefault(ph.resource_id, []).append((p, ph))
    util = {}
    for row in utilisation:
        util.setdefault(row.resource_id, {})[_date(row.week_start_date)] = row
    for rid in sorted(set(by_resource) | set(util)):
        r = names.get(rid)
        title = rid if r is None or not r.display_name else "%s (%s)" % (r.display_name, rid)
        cap = " %sh/wk" % output.number_text(r.weekly_capacity_hours) if r is not None else ""
        lines.append(_cut(title + cap, LABEL_W + 1 + 6 * weeks))
        load = []
        for w in range(weeks):
            row = util.get(rid, {}).get(start + datetime.timedelta(days=7 * w))
            if row is None or row.capacity_hours <= 0:
                load.append("    -" if row is None else "  n/a")
                continue
            pct = row.allocated_hours / row.capacity_hours * 100
            load.append(("%4.0f%%" % pct if not row.over_allocated else "%3.0f%%!" % pct)[-5:]
                        if pct < 1000 else " >999")
        lines.append("  " + "load".ljust(LABEL_W - 2) + " " + " ".join(load))
        rows = sorted(by_resource.get(rid, []),
                      key=lambda x: (min(phase_days(x[1]) or {end}), x[0].project_id))
        for p, ph in rows:
            days = {d for d in phase_days(ph) if start <= d < end}
            state = _phase_state(ph, p, flds.enum_short)
            label = "  %s %s" % (p.title or p.project_id, ph.name or ph.phase_id)
            tail = []
            if p.due_date:
                tail.append("due " + p.due_date)
            if p.at_risk:
                tail.append("AT RISK")
            outside = [d for d in phase_days(ph) if d < start or d >= end]
            if outside and not days:
                tail.append("(%s..%s, outside the window)" % (ph.planned_start_date,
                                                               ph.planned_end_date))
            lines.append(("%s %s  %s" % (_cut(label, LABEL_W).ljust(LABEL_W),
                                         _cells(days, start, weeks, ch[state]),
                                         " ".join(tail))).rstrip())
    if unscheduled:
        lines.append("unscheduled")
        for p, ph in unscheduled:
            lines.append("  %s %s: %s" % (p.title or p.project_id, ph.name or ph.phase_id,
                                          ph.unschedulable_reason or "no resource"))
    if not by_resource and not unscheduled and not util:
        lines.append("(nothing scheduled)")
    return "\n".join(lines)


def add_parser(cmds, parents):
    p = cmds.add_parser("gantt", parents=parents, allow_abbrev=False,
                        help="view: projects and phases per resource over weeks",
                        description="The schedule as a text Gantt chart per resource "
                        "(ListResources, ListProjects, GetUtilisation).")
    p.add_argument("--from", dest="start",
                   help="first week: a date in it (default this week; on a weekend the next)")
    p.add_argument("--weeks", type=int, default=12, help="weeks to show, 1..52 (default 12)")
    p.add_argument("--at-risk-only", action="store_true", help="only projects at risk")
    p.add_argument("--ascii", action="store_true", help="draw with ASCII characters")
    p.set_defaults(run=run)


def run(ctx, args):
    from triad_py.ctl import UsageError

    if not 1 <= args.weeks <= 52:
        raise UsageError("--weeks: must be between 1 and 52")
    if args.start:
        d = _date(args.start)
        if d is None:
            raise UsageError("--from: %r is not YYYY-MM-DD" % args.start)
    else:
        d = datetime.datetime.now(datetime.timezone.utc).date()
        if d.weekday() >= 5:  # a weekend: the coming week
            d += datetime.timedelta(days=7 - d.weekday())
    start = monday(d)
    m_res = ctx.method("production", "ListResources")
    m_proj = ctx.method("production", "ListProjects")
    m_util = ctx.method("production", "GetUtilisation")
    resources = ctx.call_all(m_res, m_res.request_cls()).resources
    projects = ctx.call_all(m_proj, m_proj.request_cls(at_risk_only=args.at_risk_only)).projects
    util = ctx.call_all(m_util, m_util.request_cls(from_date=start.isoformat(),
                                                   weeks=args.weeks))
    if ctx.output == "json":
        from google.protobuf import json_format

        print(json.dumps({"projects": [json_format.MessageToDict(p) for p in projects],
                          "utilisation": [json_format.MessageToDict(r) for r in util.rows]},
                         indent=2, ensure_ascii=False))
        return 0
    enc = (getattr(sys.stdout, "encoding", "") or "").lower()
    charset = "ascii" if args.ascii or "utf" not in enc else "unicode"
    print(render(projects, resources, util.rows, start, args.weeks, charset))
    return 0
