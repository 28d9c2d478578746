#!/usr/bin/env python3
"""Offline checks of deploy/monitoring (the Grafana dashboard and the PrometheusRule).

Usage: check_monitoring.py --repo ROOT --promtool PROMTOOL

1. Dashboard: deploy/monitoring/triad-dashboard.json is valid JSON, current (what
   deploy/monitoring/dashboard.py writes), and has Grafana's schema basics: uid, title,
   schemaVersion, panels with unique integer ids, a type and a gridPos inside the 24 columns;
   every non-row panel has targets with unique refIds and an expr; a `datasource` variable of
   type datasource (Prometheus) that every panel and target uses; every $variable an expression
   uses is defined (or one of Grafana's $__ built-ins); a repeated row repeats a variable.
2. PromQL: every dashboard expression (variables replaced by sample values) and every rule of
   the PrometheusRule parse — `promtool check rules` on the rule groups extracted from
   deploy/monitoring/prometheusrule.yaml and on a rule file made of the dashboard's expressions.
3. Alert behaviour: `promtool test rules tests/deploy/monitoring/alerts_test.yaml` against the
   extracted groups (keeping only the `summary` annotation, which the tests compare).
4. Metric names: every metric an expression selects is registered by the code (a prometheus-cpp
   family built in common/ or services/, with _bucket/_sum/_count for histograms) or listed in
   deploy/monitoring/external-metrics.yaml with its exporter; that list holds no Triad-prefixed
   name (triad_, grpc_server_) and no entry nothing uses. A metric renamed in the code fails here.

Prints one line per problem and exits 1 if there is any.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

TRIAD_PREFIXES = ("triad_", "grpc_server_")
# Values the dashboard's variables take when its expressions are parsed.
SAMPLE_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
                    "namespace": "triad", "job": "triad-clients", "datasource": "prometheus"}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "inf", "nan", "atan2"}
FAMILY_RE = re.compile(r"Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\(\s*\"([^\"]+)\"", re.S)


class Problems:
    def __init__(self):
        self.errors = []

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")


# ------------------------------------------------------------------------------- the code


def code_metrics(repo):
    """{exposed series name: 'file (type family)'} of the families the code registers."""
    found = {}
    for top in ("common", "services"):
        for dirpath, dirs, files in os.walk(os.path.join(repo, top)):
            dirs[:] = [d for d in dirs if d not in ("tests", "bench")]
            for f in files:
                if not f.endswith((".cc", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8") as fh:
                    for kind, name in FAMILY_RE.findall(fh.read()):
                        names = {"Counter": [name], "Gauge": [name],
                                 "Histogram": [f"{name}_bucket", f"{name}_sum", f"{name}_count"],
                                 "Summary": [name, f"{name}_sum", f"{name}_count"]}[kind]
                        for n in names:
                            found[n] = f"{os.path.relpath(path, repo)} ({kind} {name})"
    return found


# ------------------------------------------------------------------------------- PromQL


def substitute(expr):
    """The expression with Grafana's $var / ${var} replaced by sample values."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: SAMPLE_VARIABLES.get(m.group(1), m.group(0)), expr)


def metric_names(expr):
    """Names of the metrics a PromQL expression selects (functions, keywords, labels excluded)."""
    s = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', '""', expr)  # string literals
    s = re.sub(r"\{[^{}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\[\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)", s):
        rest = s[m.end():].lstrip()
        if rest.startswith("(") or m.group(1).lower() in PROMQL_KEYWORDS:
            continue
        names.add(m.group(1))
    return names


def variables_used(expr):
    return set(re.findall(r"\$\{?(\w+)\}?", expr))


# ------------------------------------------------------------------------------- dashboard


def dashboard_exprs(p, dash):
    """Checks the Grafana basics; returns [(where, expr)] of every target and variable query."""
    at = "dashboard"
    exprs = []
    for key, kind in (("uid", str), ("title", str), ("schemaVersion", int), ("panels", list)):
        if not isinstance(dash.get(key), kind):
            p.error(at, f"{key} missing or not a {kind.__name__}")
    variables = {}
    for v in (dash.get("templating") or {}).get("list") or []:
        if not isinstance(v, dict) or not v.get("name") or not v.get("type"):
            p.error(at, f"templating variable without name/type: {v!r:.80}")
            continue
        variables[v["name"]] = v
        if v["type"] == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.match(r"^\s*label_values\((.*),\s*(\w+)\)\s*$", q or "", re.S)
            if not m:
                p.error(at, f"variable {v['name']}: query {q!r} is not label_values(<selector>, <label>)")
            else:
                exprs.append((f"variable {v['name']}", m.group(1)))
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        p.error(at, "needs a variable `datasource` of type datasource with query prometheus")
    ids = set()
    for panel in dash.get("panels") or []:
        pat = f"panel {panel.get('id')} {panel.get('title')!r}"
        pid = panel.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            p.error(pat, "id must be an integer")
        elif pid in ids:
            p.error(pat, "duplicate panel id")
        ids.add(pid)
        if not panel.get("type") or not panel.get("title"):
            p.error(pat, "type and title are required")
        gp = panel.get("gridPos") or {}
        if not all(isinstance(gp.get(k), int) for k in ("x", "y", "w", "h")):
            p.error(pat, "gridPos needs integer x, y, w, h")
        elif gp["x"] < 0 or gp["w"] < 1 or gp["x"] + gp["w"] > 24:
            p.error(pat, "gridPos outside Grafana's 24 columns")
        if panel.get("type") == "row":
            rep = panel.get("repeat")
            if rep and rep not in variables:
                p.error(pat, f"repeats over undefined variable {rep}")
            continue
        if (panel.get("datasource") or {}).get("uid") != "${datasource}":
            p.error(pat, "datasource must be the ${datasource} variable")
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            p.error(pat, "no targets")
            continue
        refs = set()
        for t in targets:
            if t.get("refId") in refs or not t.get("refId"):
                p.error(pat, f"refId {t.get('refId')!r} missing or duplicate")
            refs.add(t.get("refId"))
            if (t.get("datasource") or {}).get("uid") != "${datasource}":
                p.error(pat, f"target {t.get('refId')}: datasource must be the ${{datasource}} variable")
            if not isinstance(t.get("expr"), str) or not t["expr"].strip():
                p.error(pat, f"target {t.get('refId')}: no expr")
                continue
            exprs.append((f"{pat} target {t['refId']}", t["expr"]))
    for where, e in exprs:
        for v in variables_used(e):
            if v not in variables and not v.startswith("__"):
                p.error(where, f"uses undefined variable ${v}")
    return exprs


# ------------------------------------------------------------------------------- promtool


def run(cmd, p, where):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        out = (r.stdout + r.stderr).strip().replace("\n", "\n    ")
        p.error(where, f"{' '.join(os.path.basename(c) for c in cmd[:3])} failed:\n    {out}")
    return r.returncode == 0


def check(repo, promtool, tests_file=None):
    """Runs every check; returns the Problems."""
    p = Problems()
    mon = os.path.join(repo, "deploy", "monitoring")
    tests_file = tests_file or os.path.join(repo, "tests", "deploy", "monitoring", "alerts_test.yaml")

    # 1. Dashboard.
    dash_path = os.path.join(mon, "triad-dashboard.json")
    try:
        with open(dash_path, encoding="utf-8") as fh:
            text = fh.read()
        dash = json.loads(text)
    except (OSError, ValueError) as e:
        p.error("dashboard", f"{dash_path}: {e}")
        dash, text = {}, ""
    gen = os.path.join(mon, "dashboard.py")
    if os.path.isfile(gen):
        r = subprocess.run([sys.executable, gen, "--check"], capture_output=True, text=True)
        if r.returncode != 0:
            p.error("dashboard", (r.stderr or r.stdout).strip())
    exprs = dashboard_exprs(p, dash) if isinstance(dash, dict) else []

    # 2. Rules.
    rule_path = os.path.join(mon, "prometheusrule.yaml")
    with open(rule_path, encoding="utf-8") as fh:
        rule_obj = yaml.safe_load(fh)
    groups = ((rule_obj or {}).get("spec") or {}).get("groups") or []
    if not groups:
        p.error("rules", f"{rule_path}: no spec.groups")
    rules = [(f"rule {r.get('alert') or r.get('record')}", r.get("expr", "")) for g in groups
             for r in g.get("rules") or []]

    tmp = tempfile.mkdtemp(prefix="triad-monitoring-")
    try:
        rules_file = os.path.join(tmp, "triad-rules.yaml")
        with open(rules_file, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"groups": groups}, fh, sort_keys=False)
        run([promtool, "check", "rules", rules_file], p, "rules")

        dash_rules = os.path.join(tmp, "dashboard-exprs.yaml")
        with open(dash_rules, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
                {"record": f"triad:dashboard_expr_{i}", "expr": substitute(e),
                 "labels": {"where": w[:120]}} for i, (w, e) in enumerate(exprs)]}]}, fh, sort_keys=False)
        if exprs and not run([promtool, "check", "rules", dash_rules], p, "dashboard PromQL"):
            for w, e in exprs:  # name the expression at fault
                one = os.path.join(tmp, "one.yaml")
                with open(one, "w", encoding="utf-8") as fh:
                    yaml.safe_dump({"groups": [{"name": "d", "rules": [{"record": "x", "expr": substitute(e)}]}]}, fh)
                if subprocess.run([promtool, "check", "rules", one], capture_output=True).returncode != 0:
                    p.error(w, f"does not parse: {e}")

        # 3. Alert unit tests, on the groups with only the summary annotation.
        if os.path.isfile(tests_file):
            slim = [{**g, "rules": [{**r, "annotations": {k: v for k, v in (r.get("annotations") or {}).items()
                                                           if k == "summary"}} for r in g.get("rules") or []]}
                    for g in groups]
            with open(os.path.join(tmp, "triad-rules-summary.yaml"), "w", encoding="utf-8") as fh:
                yaml.safe_dump({"groups": slim}, fh, sort_keys=False)
            shutil.copy(tests_file, os.path.join(tmp, "alerts_test.yaml"))
            run([promtool, "test", "rules", os.path.join(tmp, "alerts_test.yaml")], p, "alert tests")
        else:
            p.error("alert tests", f"{tests_file} is missing")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # 4. Metric names.
    code = code_metrics(repo)
    if not code:
        p.error("metrics", "no prometheus-cpp family found in common/ or services/")
    with open(os.path.join(mon, "external-metrics.yaml"), encoding="utf-8") as fh:
        external = yaml.safe_load(fh) or {}
    used = set()
    for where, e in exprs + rules:
        for name in metric_names(substitute(e)):
            used.add(name)
            if name in code or name in external:
                continue
            p.error(where, f"metric {name} is neither exported by the code (common/, services/) nor "
                           f"listed in deploy/monitoring/external-metrics.yaml")
    for name in sorted(external):
        if name.startswith(TRIAD_PREFIXES):
            p.error("external-metrics.yaml", f"{name} has a Triad prefix: it must come from the code")
        if name not in used:
            p.error("external-metrics.yaml", f"{name} is used by no panel or rule: remove it")
    p.used_code = sorted(n for n in used if n in code)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--promtool", required=True)
    args = ap.parse_args()
    p = check(args.repo, args.promtool)
    for e in p.errors:
        print(f"ERROR monitoring: {e}")
    print(f"{'FAIL' if p.errors else 'ok'} monitoring: {len(p.errors)} error(s); Triad metrics used: "
          f"{', '.join(getattr(p, 'used_code', []))}")
    return 1 if p.errors else 0


if __name__ == "__main__":
    sys.exit(main())
