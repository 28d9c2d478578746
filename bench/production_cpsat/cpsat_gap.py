#!/usr/bin/env python3
"""CP-SAT optimality gap of the production scheduler (a benchmark, not a test).

Generates seeded scheduling instances (N projects x P phases on R resources with S skills,
weekly capacities, a few days off, due dates and values), runs Triad's scheduler on each
(build/bench/production_scheduler_plan: the service's own sched::Schedule, reading the instance
as JSON and printing the plan), checks that plan (capacity per resource and day, skills, effort,
phase order), and solves the same model with OR-Tools CP-SAT: each phase on one resource with
its skill, any hours per working day up to the capacity left, starting after the day its
predecessor ends; objective the total value-weighted tardiness in days (sum of value x days
late of each project's last phase), the measure the service's rule is benchmarked on. Triad's
plan is given to CP-SAT as a hint. Prints per size the objective of both, CP-SAT's lower bound,
the gap and the times.

ortools is installed from PyPI into .cache/production-cpsat/venv on first use (the script
re-executes itself there).

  bench/production_cpsat/cpsat_gap.py                  # default sizes, 3 seeds each
  bench/production_cpsat/cpsat_gap.py --sizes 4x3x3,8x3x4 --seeds 5 --time-limit 30
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.path.join(ROOT, ".cache", "production-cpsat", "venv")
ORTOOLS = "ortools==9.11.4210"
EPOCH = datetime.date(1970, 1, 1)


def ensure_ortools():
    """Re-executes the script in the benchmark's venv, creating it (with ortools) when missing."""
    venv_python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(venv_python):
        print("cpsat_gap: creating %s with %s" % (VENV, ORTOOLS), file=sys.stderr)
        subprocess.run(["/usr/bin/python3", "-m", "venv", VENV], check=True)
    probe = subprocess.run([venv_python, "-c", "import ortools"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([venv_python, "-m", "pip", "install", "-q", ORTOOLS], check=True)
    sys.stdout.flush()
    os.execv(venv_python, [venv_python, os.path.abspath(__file__)] + sys.argv[1:])


def weekday(day):
    """0 for Monday .. 6 for Sunday, as sched::Weekday."""
    return ((day % 7) + 7 + 3) % 7


def generate(seed, n_projects, n_phases, n_resources, n_skills):
    """One seeded instance: every skill has at least one resource; due dates are drawn around
    what the shared capacity allows, so that some projects are late under any plan."""
    rng = random.Random(seed * 1000003 + n_projects * 101 + n_phases * 11 + n_resources)
    today = (datetime.date(2026, 3, 2) - EPOCH).days  # a Monday
    skills = ["skill-%d" % i for i in range(n_skills)]
    resources = []
    for i in range(n_resources):
        own = [skills[i % n_skills]]
        if rng.random() < 0.3:
            extra = rng.choice(skills)
            if extra not in own:
                own.append(extra)
        off = sorted({today + rng.randrange(0, 40) for _ in range(rng.randrange(0, 3))})
        resources.append({"id": "res-%02d" % i, "skills": own,
                          "weekly_hours": rng.choice([20, 30, 40, 40]), "off_days": off})
    daily = sum(r["weekly_hours"] for r in resources) / 5.0
    projects = []
    total = 0
    for p in range(n_projects):
        phases = []
        for k in range(n_phases):
            effort = rng.randrange(2, 11) * 4  # 8 .. 40 h
            total += effort
            phases.append({"id": "ph%d" % (k + 1), "skill": rng.choice(skills),
                           "effort_hours": effort})
        projects.append({"id": "prj-%02d" % p, "value": rng.randrange(1, 11), "phases": phases})
    # Working days all the work needs on the whole team, in calendar days.
    span = math.ceil(total / daily * 7 / 5)
    for pr in projects:
        own = sum(ph["effort_hours"] for ph in pr["phases"]) / 8.0 * 7 / 5
        pr["due"] = today + int(own + rng.uniform(0.2, 1.0) * span)
    serial = math.ceil(total / 4.0 * 7 / 5) + 14  # everything in a row on the slowest resource
    return {"today": today, "horizon_days": max(serial, 60), "resources": resources,
            "projects": projects, "seed": seed}


def run_triad(binary, inst):
    t0 = time.perf_counter()
    out = subprocess.run([binary], input=json.dumps(inst), capture_output=True, text=True,
                         check=True)
    wall = time.perf_counter() - t0
    plan = json.loads(out.stdout)
    plan["wall_seconds"] = wall
    return plan


def capacity(res, day, today, horizon):
    if day < today or day >= today + horizon or weekday(day) >= 5 or day in res["off_days"]:
        return 0
    return res["weekly_hours"] // 5


def check_and_score(inst, plan):
    """Checks Triad's plan against the model and returns (weighted, days late, late projects)."""
    res = {r["id"]: r for r in inst["resources"]}
    used = {}
    weighted = days = late = 0
    for pr, out in zip(inst["projects"], plan["projects"]):
        prev_end = inst["today"] - 1
        for ph, po in zip(pr["phases"], out["phases"]):
            if po["unschedulable"]:
                raise SystemExit("triad left %s/%s unschedulable" % (pr["id"], ph["id"]))
            r = res[po["resource"]]
            assert ph["skill"] in r["skills"], (pr["id"], ph["id"])
            hours = sum(h for _, h in po["allocation"])
            assert abs(hours - ph["effort_hours"]) < 1e-6, (pr["id"], ph["id"], hours)
            for d, h in po["allocation"]:
                assert d > prev_end, ("order", pr["id"], ph["id"])
                used[(r["id"], d)] = used.get((r["id"], d), 0) + h
            prev_end = po["end"]
        t = max(0, out["end"] - pr["due"])
        weighted += pr["value"] * t
        days += t
        late += t > 0
    for (rid, d), h in used.items():
        cap = capacity(res[rid], d, inst["today"], inst["horizon_days"])
        assert h <= cap + 1e-6, ("capacity", rid, d, h, cap)
    return weighted, days, late


def solve_cpsat(inst, plan, triad_objective, time_limit, workers):
    """The same model in CP-SAT (time-indexed: hours per phase, resource and working day).

    The days modelled stop where no better schedule can reach: in a schedule whose objective is
    at most Triad's W, project p ends by due_p + W / value_p, so the horizon is the latest of
    those (and of Triad's ends); optimality is unaffected."""
    from ortools.sat.python import cp_model

    if triad_objective == 0:  # nothing is late: nothing can be better
        return {"status": "TRIAD_OPT", "objective": 0, "bound": 0, "seconds": 0.0}
    today = inst["today"]
    last = max(max(pr["due"] + triad_objective // pr["value"] for pr in inst["projects"]),
               max(out["end"] for out in plan["projects"]))
    horizon = min(inst["horizon_days"], last - today + 1)
    days = range(today, today + horizon)
    m = cp_model.CpModel()
    work = {}  # (resource, day) -> [hour vars]
    ends, objective = [], []
    hint = {}
    for pr, out in zip(inst["projects"], plan["projects"]):
        prev_end = None
        for ph, po in zip(pr["phases"], out["phases"]):
            key = pr["id"] + "/" + ph["id"]
            start = m.NewIntVar(today, today + horizon - 1, "s:" + key)
            end = m.NewIntVar(today, today + horizon - 1, "e:" + key)
            m.Add(end >= start)
            hint[start] = po["start"]
            hint[end] = po["end"]
            if prev_end is not None:
                m.Add(start >= prev_end + 1)
            prev_end = end
            alloc = {d: h for d, h in po["allocation"]}
            on_day = {}
            total = []
            choices = []
            for r in inst["resources"]:
                if ph["skill"] not in r["skills"]:
                    continue
                y = m.NewBoolVar("y:%s:%s" % (key, r["id"]))
                hint[y] = int(po["resource"] == r["id"])
                choices.append(y)
                for d in days:
                    cap = capacity(r, d, today, horizon)
                    if cap == 0:
                        continue
                    x = m.NewIntVar(0, cap, "x:%s:%s:%d" % (key, r["id"], d))
                    hint[x] = int(alloc.get(d, 0)) if po["resource"] == r["id"] else 0
                    m.Add(x <= cap * y)
                    work.setdefault((r["id"], d), []).append(x)
                    on_day.setdefault(d, []).append((x, cap))
                    total.append(x)
            m.AddExactlyOne(choices)
            m.Add(sum(total) == int(ph["effort_hours"]))
            for d, xs in on_day.items():
                a = m.NewBoolVar("a:%s:%d" % (key, d))
                hint[a] = int(alloc.get(d, 0) > 0)
                m.Add(sum(x for x, _ in xs) <= max(c for _, c in xs) * a)
                m.Add(start <= d).OnlyEnforceIf(a)
                m.Add(end >= d).OnlyEnforceIf(a)
        tard = m.NewIntVar(0, max(0, triad_objective // pr["value"]), "t:" + pr["id"])
        m.Add(tard >= prev_end - pr["due"])
        hint[tard] = max(0, out["end"] - pr["due"])
        objective.append(pr["value"] * tard)
        ends.append(tard)
    for (rid, d), xs in work.items():
        r = next(x for x in inst["resources"] if x["id"] == rid)
        m.Add(sum(xs) <= capacity(r, d, today, horizon))
    # Triad's plan is a solution of the model (its objective W is checked above): CP-SAT looks
    # for a strictly better one. INFEASIBLE then proves Triad's plan optimal; UNKNOWN leaves
    # Triad's plan the best known, with CP-SAT's bound.
    m.Add(sum(objective) <= triad_objective - 1)
    m.Minimize(sum(objective))
    for v, val in hint.items():
        m.AddHint(v, val)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    t0 = time.perf_counter()
    status = solver.Solve(m)
    wall = time.perf_counter() - t0
    if status == cp_model.INFEASIBLE:
        return {"status": "TRIAD_OPT", "objective": triad_objective, "bound": triad_objective,
                "seconds": wall, "variables": len(m.Proto().variables)}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {"status": "NONE_BETTER", "objective": triad_objective,
                "bound": min(solver.BestObjectiveBound(), triad_objective), "seconds": wall,
                "variables": len(m.Proto().variables)}
    return {"status": solver.StatusName(status), "objective": round(solver.ObjectiveValue()),
            "bound": solver.BestObjectiveBound(), "seconds": wall,
            "late_days": sum(solver.Value(t) for t in ends),
            "late": sum(1 for t in ends if solver.Value(t) > 0),
            "variables": len(m.Proto().variables)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="4x3x3,6x3x4,8x3x4,10x4x5,16x4x6",
                    help="comma-separated NxPxR (projects x phases x resources)")
    ap.add_argument("--skills", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=20.0, help="CP-SAT seconds per instance")
    ap.add_argument("--workers", type=int, default=2, help="CP-SAT search workers")
    ap.add_argument("--binary", default=os.path.join(ROOT, os.environ.get("TRIAD_BUILD_DIR", "build"),
                                                      "bench", "production_scheduler_plan"))
    ap.add_argument("--json", help="also write every instance's numbers to this file")
    args = ap.parse_args()
    ensure_ortools()
    import ortools

    if not os.access(args.binary, os.X_OK):
        raise SystemExit("cpsat_gap: %s missing (make build)" % args.binary)
    print("setup: %s, %d cores, %s; ortools %s; CP-SAT %d workers, %.0f s per instance; "
          "%d skills, %d seeds per size; objective: total value-weighted tardiness (days)"
          % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             os.cpu_count(), platform.platform(), ortools.__version__, args.workers,
             args.time_limit, args.skills, args.seeds))
    print("status: OPTIMAL = CP-SAT proved its better plan optimal; FEASIBLE = better plan, not "
          "proven; TRIAD_OPT = nothing better exists (Triad's plan is optimal); NONE_BETTER = "
          "none found in the time (bound = CP-SAT's lower bound). gap = (triad - best) / triad")
    header = ("size", "seed", "triad WT", "best WT", "bound", "status", "gap", "triad late",
              "cp late", "triad ms", "cp-sat s")
    print("%-9s %4s %9s %9s %9s %11s %7s %10s %7s %9s %8s" % header)
    rows = []
    for size in args.sizes.split(","):
        n, p, r = (int(x) for x in size.lower().split("x"))
        agg = {"triad": 0, "cp": 0, "bound": 0.0, "optimal": 0, "runs": 0}
        for seed in range(args.seeds):
            inst = generate(seed, n, p, r, args.skills)
            plan = run_triad(args.binary, inst)
            wt, late_days, late = check_and_score(inst, plan)
            cp = solve_cpsat(inst, plan, wt, args.time_limit, args.workers)
            best = cp["objective"]
            gap = (wt - best) / wt if wt > 0 else 0.0
            print("%-9s %4d %9d %9s %9.0f %11s %6.1f%% %10d %7s %9.2f %8.1f"
                  % (size, seed, wt, cp["objective"], cp["bound"], cp["status"], 100 * gap, late,
                     cp.get("late", "-"), 1000 * plan["seconds"], cp["seconds"]), flush=True)
            rows.append({"size": size, "seed": seed, "triad": wt, "triad_late_days": late_days,
                         "triad_late": late, "triad_seconds": plan["seconds"], **{
                             "cpsat_" + k: v for k, v in cp.items()}})
            agg["triad"] += wt
            agg["cp"] += best
            agg["bound"] += cp["bound"]
            agg["optimal"] += cp["status"] in ("OPTIMAL", "TRIAD_OPT")
            agg["runs"] += 1
        gap = (agg["triad"] - agg["cp"]) / agg["triad"] if agg["triad"] else 0.0
        print("%-9s  sum %9d %9d %9.0f %9d/%d %6.1f%%   (summed objectives; proven optimal "
              "best / runs)" % (size, agg["triad"], agg["cp"], agg["bound"],
                                                 agg["optimal"], agg["runs"], 100 * gap),
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
