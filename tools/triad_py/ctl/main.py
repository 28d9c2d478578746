"""The argument parser of triadctl and its dispatch.

    triadctl [GLOBAL FLAGS] <group> <command> [FLAGS]

Groups: clients, pipeline, review, production (every RPC of the service's gRPC services and of
the operator AdminService, plus the views: clients import, pipeline funnel, review load,
production gantt), the operator groups dlq, backup, quarantine, and the dev identities login,
dev-token, whoami, logout. Global flags may also come after the command.
"""
import argparse
import os
import re
import sys

from triad_py import stubs
from triad_py.ctl import (EXIT_USAGE, CommandError, UsageError, catalog, funnel, gantt,
                          importcsv, load, login, ops, rpc_cmd)

GROUP_HELP = {
    "clients": "client records, contacts, cases, follow-ups; `import FILE.csv`",
    "pipeline": "playbooks, signals, leads, opportunities; `funnel`",
    "review": "experts, review requests, knowledge base; `load`",
    "production": "resources, templates, projects, schedule; `gantt`",
}
# Views added to a service group beside its RPC commands.
VIEWS = {"clients": [importcsv], "pipeline": [funnel], "review": [load], "production": [gantt]}


def parse_deadline(text):
    """Seconds from "10", "10s", "500ms" or "2m"."""
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m)?$", text.strip())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError("%r is not a deadline (e.g. 10s, 500ms, 2m)" % text)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[m.group(2)]


def _globals(suppress):
    """The global flags; with suppress, for a command's parser (a value given there overrides
    the one given before the command)."""
    p = argparse.ArgumentParser(add_help=False)
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = p.add_argument_group("global flags")
    for svc in catalog.SERVICES:
        g.add_argument("--%s-addr" % svc, dest="%s_addr" % svc, default=d(None),
                       metavar="HOST:PORT",
                       help=argparse.SUPPRESS if suppress else
                       "the %s service (default $TRIAD_%s_ADDR, else 127.0.0.1:%d)"
                       % (svc, svc.upper(), catalog.DEFAULT_PORTS[svc]))
    g.add_argument("--deadline", type=parse_deadline, default=d(rpc_cmd.DEFAULT_DEADLINE),
                   help=argparse.SUPPRESS if suppress else
                   "deadline of each call (default 10s)")
    g.add_argument("--output", "-o", choices=("table", "json"), default=d("table"),
                   help=argparse.SUPPRESS if suppress else
                   "table (readable) or json (the proto3 JSON of the response)")
    h = (lambda text: argparse.SUPPRESS) if suppress else (lambda text: text)
    g.add_argument("--tls-ca", metavar="FILE", default=d(None),
                   help=h("CA bundle to verify the servers (default $TRIAD_TLS_CA, else "
                          ".triad/pki/ca.pem of `make run` when present; none: plaintext)"))
    g.add_argument("--token", metavar="JWT", default=d(None),
                   help=h("bearer token (prefer --token-file or $TRIAD_TOKEN: a command line "
                          "is visible to other users)"))
    g.add_argument("--token-file", metavar="FILE", default=d(None),
                   help=h("file holding the bearer token (default $TRIAD_TOKEN, else "
                          "$TRIAD_TOKEN_FILE, else .triad/token of `triadctl login`)"))
    g.add_argument("--client-cert", metavar="FILE", default=d(None),
                   help=h("client certificate (mTLS; default $TRIAD_CLIENT_CERT)"))
    g.add_argument("--client-key", metavar="FILE", default=d(None),
                   help=h("its private key (default $TRIAD_CLIENT_KEY)"))
    g.add_argument("--plaintext", action="store_true", default=d(False),
                   help=h("no TLS and no token (servers run with --auth_mode=disabled)"))
    return p


def build_parser(cat):
    top = argparse.ArgumentParser(
        prog="triadctl", parents=[_globals(False)],
        description="The command line client of Triad's services. `triadctl <group> --help` "
        "lists a group's commands; `triadctl <group> <command> --help` a command's flags.",
        epilog="Exit status: 0 ok, 1 RPC error, 2 usage, 3 service unavailable.")
    leaf = [_globals(True)]
    groups = top.add_subparsers(dest="group", metavar="<group>", required=True)
    for svc in catalog.SERVICES:
        services = sorted({m.service for m in cat.methods(svc).values()})
        desc = "Commands of %s." % ", ".join(services)
        gp = groups.add_parser(svc, help=GROUP_HELP[svc], description=desc)
        cmds = gp.add_subparsers(dest="command", metavar="<command>", required=True)
        for view in VIEWS[svc]:
            view.add_parser(cmds, leaf)
        for method in cat.methods(svc).values():
            rpc_cmd.add_parser(cmds, method, cat.comments, leaf)
    ops.add_parsers(groups, leaf)
    login.add_parsers(groups, leaf)
    return top


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    cache = os.environ.get("TRIAD_CTL_CACHE") or os.path.join(
        os.path.dirname(stubs.PROTO_ROOT), ".cache", "triadctl")
    try:
        stub_ns = stubs.load(cache_dir=cache)
    except OSError:
        stub_ns = stubs.load()  # the cache is not writable: generate into a temporary directory
    cat = catalog.Catalog(stub_ns)
    parser = build_parser(cat)
    args = parser.parse_args(argv)
    ctx = rpc_cmd.Context(cat, args)
    try:
        return args.run(ctx, args)
    except UsageError as e:
        print("triadctl: error: %s" % e, file=sys.stderr)
        return EXIT_USAGE
    except rpc_cmd.RpcFailed as e:
        print(e.text, file=sys.stderr)
        return e.exit_code
    except CommandError as e:
        print("triadctl: error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()
