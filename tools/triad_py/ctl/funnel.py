"""`triadctl pipeline funnel`: GetFunnelReport as horizontal bars, one per funnel step, with a
target marker where the playbook's ratios put the step.

The playbook's targets are ratios between steps (`target_ratio` items of from_step per item of
to_step, e.g. 7 signals per lead): the target of a step is the count of the step before it
divided by that ratio, drawn as `|` on the step's bar (`>` when beyond the longest bar).
"""
import sys

from triad_py.ctl import fields as flds
from triad_py.ctl import output

EIGHTHS = " ▏▎▍▌▋▊▉"
FILTER_FLAGS = ("owner_id", "team_id", "product_line", "region", "client_tier", "client_kind",
                "currency")


def bar(value, maximum, width, charset="unicode"):
    """A horizontal bar of `value` out of `maximum` in `width` cells (eighths in unicode)."""
    if maximum <= 0 or value <= 0:
        return ""
    cells = value / maximum * width
    if charset != "unicode":
        return "#" * max(1, int(round(cells)))
    full = int(cells)
    part = int(round((cells - full) * 8))
    if part == 8:
        full, part = full + 1, 0
    s = "█" * full + (EIGHTHS[part] if part else "")
    return s or "▏"


def _values_text(step):
    return ", ".join(output.amount_text(v.value_minor, v.currency) for v in step.values)


def targets(report):
    """{step: (expected count, FunnelRatio)} from the report's ratios with a target (none
    when the step before counts nothing)."""
    counts = {s.step: s.count for s in report.steps}
    out = {}
    for r in report.ratios:
        if r.target_ratio > 0 and counts.get(r.from_step, 0) > 0:
            out[r.to_step] = (counts[r.from_step] / r.target_ratio, r)
    return out


def render(report, width=40, charset="unicode"):
    """The funnel report as text: a header, one bar line per step, then win rate and the
    weighted open pipeline."""
    start = output.timestamp_text(_ts(report, 0))[:10]
    end = output.timestamp_text(_ts(report, 1))[:10]
    lines = ["Funnel %s .. %s (UTC, end exclusive)%s" % (
        start or "?", end or "?", "  (| marks the target)" if report.ratios else "")]
    tg = targets(report)
    maximum = max([s.count for s in report.steps] + [int(e) for e, _ in tg.values()] + [1])
    name_w = max([len(s.step) for s in report.steps] + [4])
    count_w = max([len(str(s.count)) for s in report.steps] + [5])
    value_w = max([len(_values_text(s)) for s in report.steps] + [0])
    head = "%s  %s  %s" % ("STEP".ljust(name_w), "COUNT".rjust(count_w), "BAR".ljust(width + 1))
    if value_w:
        head += "  " + "VALUE".ljust(value_w)
    lines.append(head + "  TARGET")
    for s in report.steps:
        cells = list(bar(s.count, maximum, width, charset).ljust(width + 1))
        note = ""
        if s.step in tg:
            expected, r = tg[s.step]
            pos = int(round(expected / maximum * width))
            if pos > width:
                cells[width] = ">"
            else:
                cells[pos] = "|"
            verdict = "below target" if s.count < expected else "on target"
            note = "%s (%s %s per %s; actual %s): %s" % (
                _num(expected), _num(r.target_ratio), r.from_step, r.to_step,
                _num(r.actual_ratio), verdict)
        line = "%s  %s  %s" % (s.step.ljust(name_w), str(s.count).rjust(count_w),
                               "".join(cells))
        if value_w:
            line += "  " + _values_text(s).rjust(value_w)
        lines.append((line + "  " + note).rstrip())
    if not report.steps:
        lines.append("(no funnel steps in the period)")
    closed = report.won_count + report.lost_count
    lines.append("won %d, lost %d%s" % (report.won_count, report.lost_count,
                                        ", win rate %.0f%%" % (report.win_rate * 100)
                                        if closed else ""))
    if report.weighted_pipeline:
        lines.append("weighted open pipeline: " + ", ".join(
            output.amount_text(v.value_minor, v.currency) for v in report.weighted_pipeline))
    return "\n".join(lines)


def _num(x):
    return ("%.1f" % x).rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _ts(report, i):
    """The i-th Timestamp field of the report (its period's start, then end)."""
    ts = [f for f in report.DESCRIPTOR.fields if f.message_type is not None
          and f.message_type.full_name == flds.TIMESTAMP]
    return getattr(report, ts[i].name)


def add_parser(cmds, parents):
    p = cmds.add_parser("funnel", parents=parents, allow_abbrev=False,
                        help="view: the funnel against its targets (GetFunnelReport)",
                        description="GetFunnelReport as bars, one per step, | at the target "
                        "the playbook's ratios give the step.")
    p.add_argument("--from", dest="start", default="-90d",
                   help="start of the period: RFC 3339, YYYY-MM-DD or -90d (default -90d)")
    p.add_argument("--to", dest="end", default="+1d",
                   help="end of the period, exclusive (default +1d: today included)")
    for name in FILTER_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), dest="flt_" + name, metavar=name.upper(),
                       help="filter: only this %s" % name.replace("_", " "))
    p.add_argument("--width", type=int, default=40, help="bar width in characters")
    p.add_argument("--ascii", action="store_true", help="draw with # instead of blocks")
    p.set_defaults(run=run)


def build_request(method, args):
    req = method.request_cls()
    ts = [f for f in method.input.fields if f.message_type is not None
          and f.message_type.full_name == flds.TIMESTAMP]
    filt = [f for f in method.input.fields if f.message_type is not None
            and f.message_type.full_name not in flds.SPECIAL]
    for f, text in zip(ts, (args.start, args.end)):
        flag = flds.Flag((f.name,), f, "timestamp", "")
        flag.option = "--from" if f is ts[0] else "--to"
        flds.apply_flag(req, flag, text)
    if filt:
        fdesc = filt[0].message_type
        for name in FILTER_FLAGS:
            v = getattr(args, "flt_" + name, None)
            if v is None or name not in fdesc.fields_by_name:
                continue
            f = fdesc.fields_by_name[name]
            flag = flds.Flag((filt[0].name, name), f, "enum" if f.enum_type else "scalar", "")
            flds.apply_flag(req, flag, v)
    return req


def run(ctx, args):
    method = ctx.method("pipeline", "GetFunnelReport")
    report = ctx.call(method, build_request(method, args))
    if ctx.output == "json":
        print(output.to_json(report))
        return 0
    enc = (getattr(sys.stdout, "encoding", "") or "").lower()
    charset = "ascii" if args.ascii or "utf" not in enc else "unicode"
    print(render(report, width=max(10, args.width), charset=charset))
    return 0
