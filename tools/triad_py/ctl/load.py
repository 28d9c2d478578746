"""`triadctl review load`: GetLoadView as an expert x week table.

Each cell is `load/capacity` hours of the expert in that week (open work by the week its due
time falls in; week 1 starts now, work due earlier counts in it, later than the last week in the
last). A cell over capacity ends in `!` and, on a terminal, is shown in red. The totals column
is the expert's open load against the weekly capacity; then the spread per domain and the queue.
"""
import datetime
import os
import sys

from triad_py.ctl import output

RED, RESET = "\x1b[1;31m", "\x1b[0m"


def _h(x):
    return ("%.1f" % x).rstrip("0").rstrip(".")


def _cell(load, cap):
    over = load > cap + 1e-9
    return "%s/%s%s" % (_h(load), _h(cap), "!" if over else ""), over


def render(view, now=None, color=False):
    """The load view as text (see the module comment)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    weeks = max([len(e.weekly_load_hours) for e in view.experts] + [0])
    headers = ["EXPERT"] + [(now + datetime.timedelta(days=7 * i)).strftime("%m-%d")
                            for i in range(weeks)] + ["OPEN/CAP", "REVIEWS", "STATE"]
    rows = []
    for e in view.experts:
        cells = [(e.expert_id, False)]
        for i in range(weeks):
            load = e.weekly_load_hours[i] if i < len(e.weekly_load_hours) else 0.0
            cells.append(_cell(load, e.capacity_hours))
        total, over = _cell(e.load_hours, e.capacity_hours)
        cells.append(("%s %3.0f%%" % (total, e.load_ratio * 100), over))
        cells.append((str(e.open_reviews), False))
        state = "inactive" if not e.active else ("on leave" if e.on_leave else "active")
        cells.append((state, False))
        rows.append(cells)
    widths = [max([len(h)] + [len(r[i][0]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["Expert load by week (hours load/capacity; weeks start %s UTC; ! over capacity)"
             % now.strftime("%Y-%m-%d")]
    lines.append("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i])
                           for i, h in enumerate(headers)).rstrip())
    for r in rows:
        parts = []
        for i, (text, over) in enumerate(r):
            padded = text.ljust(widths[i]) if i == 0 or i == len(r) - 1 else text.rjust(widths[i])
            parts.append(RED + padded + RESET if over and color else padded)
        lines.append("  ".join(parts).rstrip())
    if not rows:
        lines.append("(no experts)")
    if view.domains:
        lines.append("")
        lines.append(output.table(
            ["domain", "experts", "load/capacity", "min ratio", "max ratio", "queued"],
            [[d.domain, str(d.experts), "%s/%s" % (_h(d.load_hours), _h(d.capacity_hours)),
              "%.0f%%" % (d.min_load_ratio * 100), "%.0f%%" % (d.max_load_ratio * 100),
              str(d.queued)] for d in view.domains]))
    q = view.queue
    lines.append("")
    lines.append("queue: %d waiting%s; highest load ratio %.0f%%" % (
        q.length, ", oldest %sh, mean %sh" % (_h(q.oldest_wait_hours), _h(q.mean_wait_hours))
        if q.length else "", view.max_load_ratio * 100))
    return "\n".join(lines)


def add_parser(cmds, parents):
    p = cmds.add_parser("load", parents=parents, allow_abbrev=False,
                        help="view: expert x week load against capacity (GetLoadView)",
                        description="GetLoadView as an expert x week table; cells over "
                        "capacity end in ! (red on a terminal).")
    p.add_argument("--weeks", type=int, default=6, help="weeks to show, 1..26 (default 6)")
    p.add_argument("--domain", help="only experts of this domain")
    p.set_defaults(run=run)


def run(ctx, args):
    method = ctx.method("review", "GetLoadView")
    req = method.request_cls(weeks=args.weeks)
    if args.domain:
        req.domain = args.domain
    # The expert rows come in pages; the domain and queue figures are whole on every page.
    req.page_size = 1000
    view = ctx.call(method, req)
    while view.next_page_token:
        req.page_token = view.next_page_token
        page = ctx.call(method, req)
        view.experts.extend(page.experts)
        view.next_page_token = page.next_page_token
    if ctx.output == "json":
        print(output.to_json(view))
        return 0
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(render(view, color=color))
    return 0
