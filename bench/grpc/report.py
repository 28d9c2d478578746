"""The markdown report of the gRPC-limit benchmark (bench/grpc/bench_grpc.py): the table of every
call against the baseline with the goals, p99 at half of the peak, the JWT cost, the thread-model
rounds and the perf profile."""
import os
import platform
import sys

# Goals of the performance round (ratio of Triad's QPS to the baseline's).
READ_GOAL = 0.75
WRITE_GOAL = {"false": 0.5, "true": 0.25}


def fmt(v, d=2):
    return "-" if v is None else ("%.*f" % (d, v))


def report(bench, rate_rows, auth_rows, perf, args):
    print("## gRPC-limit benchmark")
    print()
    print("machine: %s, %d cores, %s; load average at the end %s" % (
        platform.node(), os.cpu_count(), platform.platform(),
        " ".join("%.2f" % x for x in os.getloadavg())))
    print("setup: %s, %d concurrent callers on 1 connection, %gs per run after a %gs warm-up; "
          "AdvanceStage and RecordVerdict run a fixed count (their targets are finite); "
          "services plaintext + JWT (RS256 dev key), seeded with %d clients, %d opportunities, "
          "%d projects; seeding %.0fs; each measured run starts once the services and the broker "
          "are idle (%.0fs of waiting, %d waits timed out after 15s); %d runs of it, %.0fs of it, "
          "whole run %.0fs" % (
              args.tool, args.concurrency, args.duration, args.warmup, args.clients, args.opportunities,
              args.projects, getattr(bench, "seed_seconds", 0), bench.quiet_seconds,
              bench.quiet_misses, bench.runs, bench.run_seconds, bench.total_seconds))
    print()
    print("| call | sync | QPS | p50 ms | p99 ms | ratio to baseline QPS (of the mean of its runs before / after, API) | goal | met? | non-OK |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for r in bench.results:
        if r["kind"] == "baseline":
            continue  # each call's own baseline is in its ratio cell
        ratio = r["qps"] / max(r["baseline_qps"], 1)
        goal = READ_GOAL if r["kind"] == "read" else WRITE_GOAL[r["sync"]]
        bad = r["total"] - r["ok"]
        print("| %s | %s | %.0f | %s | %s | %.2f (of %.0f: %.0f / %.0f, %s) | >= %.2fx | %s | %s |" % (
            r["name"], r["sync"], r["qps"], fmt(r["p50"]), fmt(r["p99"]), ratio,
            r["baseline_qps"], r["baseline_qps_before"], r["baseline_qps_after"],
            r.get("baseline_api", "sync"), goal, "yes" if ratio >= goal and bad == 0 else "no",
            ("%d of %d %s" % (bad, r["total"], r["codes"])) if bad else "0"))
    commits = [r for r in bench.results if r.get("group_commit")]
    if commits:
        print()
        print("group commit over each write's measured run (the service's own metrics: "
              "triad_store_log_syncs_total, triad_store_durable_waits_total and "
              "triad_store_log_sync_seconds; with sync=false only the relay's syncs before it "
              "publishes):")
        print()
        print("| call | sync | calls | log syncs | durable waits | waits per sync | mean sync ms |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in commits:
            g = r["group_commit"]
            print("| %s | %s | %d | %.0f | %.0f | %s | %s |" % (
                r["name"], r["sync"], r["total"], g["syncs"], g["waits"],
                fmt(g["waits"] / g["syncs"]) if g["syncs"] else "-",
                fmt(1000 * g["sync_seconds"] / g["syncs"], 3) if g["syncs"] else "-"))
    if rate_rows:
        print()
        print("p99 at half of our own peak (sync=false; %gs per run, rate-limited %s; goal: "
              "p99 <= 2x the baseline's p99 at the same rate):" % (args.rate_duration, args.tool))
        print()
        print("| call | rps | p99 ms | baseline p99 ms (API) | ratio | met? | non-OK |")
        print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
        for r in rate_rows:
            bad = r["total"] - r["ok"]
            ratio = None
            if r["p99"] is not None and r["baseline_p99"]:
                ratio = r["p99"] / r["baseline_p99"]
            print("| %s | %d | %s | %s (%s) | %s | %s | %d |" % (
                r["name"], r["rps"], fmt(r["p99"]), fmt(r["baseline_p99"]),
                r.get("baseline_api", "sync"), fmt(ratio, 1),
                "yes" if ratio is not None and ratio <= 2 and not bad else "no", bad))
    if auth_rows:
        print()
        print("JWT verification cost (GetClient, sync=false):")
        print()
        print("| auth_mode | QPS | p50 ms | p99 ms | non-OK |")
        print("| --- | ---: | ---: | ---: | --- |")
        for r in auth_rows:
            print("| %s | %.0f | %s | %s | %d |" % (r["auth"], r["qps"], fmt(r["p50"]),
                                                   fmt(r["p99"]), r["total"] - r["ok"]))
    if getattr(bench, "thread_rows", None):
        print()
        print("thread model: the hello server with the sync API and with the callback API, "
              "alternating, %gs each:" % args.duration)
        print()
        print("| round | API | QPS | p50 ms | p99 ms | non-OK |")
        print("| ---: | --- | ---: | ---: | ---: | ---: |")
        for r in bench.thread_rows:
            print("| %d | %s | %.0f | %s | %s | %d |" % (r["round"], r["api"], r["qps"],
                                                       fmt(r["p50"]), fmt(r["p99"]),
                                                       r["total"] - r["ok"]))
        mean = {api: sum(r["qps"] for r in bench.thread_rows if r["api"] == api) /
                max(1, sum(1 for r in bench.thread_rows if r["api"] == api))
                for api in ("sync", "callback")}
        print()
        print("mean: sync %.0f qps, callback %.0f qps, callback/sync = %.2f" % (
            mean["sync"], mean["callback"], mean["callback"] / max(mean["sync"], 1)))
    if perf:
        print()
        if "error" in perf:
            print("perf: " + perf["error"])
        else:
            print("perf profile of %s (service %s, perf record -g -F 499, perf report --stdio "
                  "--no-children --sort dso,symbol, entries >= 1%%):" % (perf["call"],
                                                                          perf["service"]))
            print()
            print("```")
            for line in perf["top"]:
                print(line)
            print("```")
            print()
            print("self time by library (perf report --no-children --sort dso):")
            print()
            print("```")
            for line in perf["by_library"]:
                print(line)
            print("```")
            print()
            print("inclusive (perf report --children), Triad, libjwt, RocksDB and gRPC server "
                  "frames:")
            print()
            print("```")
            for line in perf["inclusive"]:
                print(line)
            print("```")
    sys.stdout.flush()
