#!/usr/bin/env python3
"""Loads Triad's demo dataset: the two cases of the source article, replayed through the real
APIs of the four running services (and the events between them on Kafka), then prints what
happened with the numbers read back from the services and what to try next.

Case 1 (tools/demo/case_generalist.py), firm A, specialised equipment: technician Wang, the
one-stop "generalist", leaves; everything he held moves, nothing is orphaned.
Case 2 (tools/demo/case_experts.py), firm B, design institute: a burst of expert reviews is
assigned by load and capacity (queued, not piled on one expert), the 1.2M hospital deal waits at
its expert gate, is won and becomes a project scheduled on finite capacity; a deal won with a due
date the capacity cannot meet is flagged at risk before the date passes.

Idempotent: every write carries a fixed request_id and every step checks where its record is
before moving it; dates count from the day of the first load (kept in the state directory).
Running it twice adds nothing.

    python3 tools/demo/demo.py [--clients ADDR] [--pipeline ADDR] [--review ADDR]
                               [--production ADDR] [--state-dir DIR]

Addresses default to 127.0.0.1:<TRIAD_PORT_BASE + 1..4> (TRIAD_PORT_BASE defaults to 7100, the
ports of `make run`), or TRIAD_<SERVICE>_ADDR when set. Calls go over TLS with a dev token of the
person each step names (tools/demo/demo_kit.py: PEOPLE), minted with the dev PKI of `make run`
(--pki-dir, else $TRIAD_PKI_DIR, else .triad/pki); --plaintext for services run with
--auth_mode=disabled.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import triad_py  # noqa: E402

triad_py.ensure_python()

import grpc  # noqa: E402

from triad_py import rpc  # noqa: E402

SERVICES = ("clients", "pipeline", "review", "production")


def addresses(env=os.environ):
    """The services' addresses: TRIAD_<SVC>_ADDR, else 127.0.0.1:<TRIAD_PORT_BASE + n>."""
    base = int(env.get("TRIAD_PORT_BASE") or 7100)
    return {svc: env.get("TRIAD_%s_ADDR" % svc.upper()) or "127.0.0.1:%d" % (base + i + 1)
            for i, svc in enumerate(SERVICES)}


def next_steps(k, addrs):
    say = print
    say("Try next (tools/triadctl; the services answer on %s):" % ", ".join(
        "%s %s" % (s, addrs[s]) for s in SERVICES))
    if addrs != addresses({}):
        say("  export %s" % " ".join("TRIAD_%s_ADDR=%s" % (s.upper(), addrs[s])
                                     for s in SERVICES))
    steps = [
        ("act as an operator, who sees every record",
         "tools/triadctl login --as u:ops --roles operator"),
        ("the funnel against the playbook's 7:1 targets",
         "tools/triadctl pipeline funnel --product-line architectural-design"),
        ("who carries how many reviews, and the queue",
         "tools/triadctl review load"),
        ("the schedule of every project, the at-risk one included",
         "tools/triadctl production gantt"),
        ("firm A's clients after Wang left, as a table",
         "tools/triadctl clients list-clients --owner-id u:zhao.am --output table"),
        ("who changed the battery maker's record, and why",
         "tools/triadctl clients list-client-history --client-id %s" % k.ids.get("a-ruifeng")),
        ("the hospital deal with its checkpoints and gates",
         "tools/triadctl pipeline get-opportunity --opportunity-id %s"
         % k.ids.get("b-hospital")),
    ]
    for what, cmd in steps:
        say("  # " + what)
        say("  " + cmd)
    say("  # triadctl calls as the person you log in as (a dev token in .triad/token), e.g.")
    say("  tools/triadctl login --as u:zhao.am --roles sales --teams firm-a.east")
    say("  # without triadctl: python3 tools/triad_py/call.py %s list" % addrs["pipeline"])


def main():
    defaults = addresses()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for svc in SERVICES:
        ap.add_argument("--" + svc, default=defaults[svc], help="address of " + svc)
    ap.add_argument("--state-dir", default=os.environ.get("TRIAD_RUN_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(HERE)), ".triad", "run"),
        help="where the demo keeps its day 0 (default .triad/run)")
    ap.add_argument("--pki-dir", help="the dev PKI (default $TRIAD_PKI_DIR, else .triad/pki)")
    ap.add_argument("--plaintext", action="store_true",
                    help="services run without TLS and authentication (--auth_mode=disabled)")
    args = ap.parse_args()
    addrs = {svc: getattr(args, svc) for svc in SERVICES}
    from demo_kit import security
    try:
        calls, health = security(args.pki_dir, args.plaintext)
    except RuntimeError as e:
        print("demo: %s" % e)
        return 1
    for svc, addr in addrs.items():
        try:
            rpc.wait_serving(addr, timeout=30, security=health)
        except (TimeoutError, RuntimeError) as e:
            print("demo: %s is not serving at %s: %s" % (svc, addr, e))
            return 1
    import case_experts
    import case_generalist
    from demo_kit import Kit

    print("Loading the Triad demo (the source article's two cases) through the services\n")
    start = time.monotonic()
    k = Kit(addrs, args.state_dir, calls)
    try:
        case_generalist.run(k)
        case_experts.run(k)
    except (grpc.RpcError, TimeoutError, RuntimeError) as e:
        print("demo: failed: %s" % (rpc.describe_error(e) if isinstance(e, grpc.RpcError)
                                    else e))
        return 1
    print("Demo loaded in %.1fs (a second run changes nothing).\n" % (time.monotonic() - start))
    next_steps(k, addrs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
