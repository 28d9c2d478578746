"""The generic command of every RPC, `triadctl <service> <command> [flags]`, and the Context
through which every command (generic or view) calls a service.

A request is built from --json (a JSON object, @FILE or @- for standard input) and then the field
flags (see fields.py). Then:
  - a request with a top-level `request_id` gets a fresh one unless given (--request-id);
  - a request with a top-level `actor` gets --actor-reason / --reason; its id is the caller's
    token's subject, which the server sets, so it is left empty when a token is sent (--actor or
    $TRIAD_ACTOR still fill it in, for a server run with --auth_mode=disabled; without a token
    it defaults to u:<OS user>); --reason sets the request's own `reason` field when it has one
    and, being text, also the actor's reason when --actor-reason is not given;
  - an update request (a FieldMask `update_mask` beside one message field) without a mask gets
    the paths of the resource's fields given as flags.
A paginated list (page_token -> next_page_token) follows every page with --all; otherwise the
token of the next page is printed.
"""
import argparse
import getpass
import os
import sys
import uuid

import grpc
from google.protobuf import json_format

from triad_py import auth
from triad_py.ctl import UsageError, catalog, errors, fields, output

RESERVED = ("--json", "--all", "--output", "--deadline", "--actor", "--actor-reason", "--help")
DEFAULT_DEADLINE = 10.0


def default_actor(environ=None, with_token=False):
    """$TRIAD_ACTOR, else "u:<OS user>" without a token; with one, "" (the server takes the
    actor from the token)."""
    environ = os.environ if environ is None else environ
    if environ.get("TRIAD_ACTOR"):
        return environ["TRIAD_ACTOR"]
    if with_token:
        return ""
    try:
        return "u:" + getpass.getuser()
    except Exception:  # no user name in this environment
        return "u:unknown"


class RpcFailed(Exception):
    """A gRPC call failed; carries the readable text and the exit code."""

    def __init__(self, text, code):
        super().__init__(text)
        self.text = text
        self.exit_code = code


class Context:
    """Addresses, connection security, deadline and the catalog: what a command needs to call a
    service."""

    def __init__(self, cat, args):
        self.catalog = cat
        self.args = args
        self.deadline = getattr(args, "deadline", DEFAULT_DEADLINE)
        self.output = getattr(args, "output", "table")
        self._channels = {}
        self._security = None

    def address(self, group):
        return catalog.address(group, getattr(self.args, "%s_addr" % group, None))

    @property
    def security(self):
        """The auth.ClientConfig of the global flags (--tls-ca, --token, --token-file,
        --client-cert, --client-key, --plaintext), the environment and the dev PKI."""
        if self._security is None:
            a = self.args
            try:
                self._security = auth.ClientConfig.resolve(
                    tls_ca=getattr(a, "tls_ca", None), token=getattr(a, "token", None),
                    token_file=getattr(a, "token_file", None),
                    client_cert=getattr(a, "client_cert", None),
                    client_key=getattr(a, "client_key", None),
                    plaintext=bool(getattr(a, "plaintext", False)))
            except ValueError as e:
                raise UsageError(str(e))
        return self._security

    @property
    def has_token(self):
        return bool(self.security.token)

    def channel(self, group):
        if group not in self._channels:
            self._channels[group] = self.security.channel(self.address(group))
        return self._channels[group]

    def method(self, group, name):
        """The Method of `group` called `name` (CamelCase or kebab case)."""
        m = self.catalog.methods(group).get(catalog.kebab(name)) or \
            self.catalog.methods(group).get(name)
        if m is None:
            raise UsageError("the %s service has no method %s" % (group, name))
        return m

    def call(self, method, request):
        """Calls `method` with `request` under the deadline; raises RpcFailed."""
        stub = self.channel(method.group).unary_unary(
            method.path, request_serializer=method.request_cls.SerializeToString,
            response_deserializer=method.response_cls.FromString)
        try:
            return stub(request, timeout=self.deadline)
        except grpc.RpcError as e:
            text, code = errors.render_rpc_error(e, self.address(method.group), method.path)
            raise RpcFailed(text, code)

    def call_all(self, method, request, follow=True):
        """Calls a list method, following next_page_token when `follow`: one response with
        every page's items (next_page_token cleared)."""
        first = self.call(method, request)
        if not follow or not method.is_list():
            return first
        lists = output.list_fields(first.DESCRIPTOR)
        seen = set()
        token = first.next_page_token
        while token:
            if token in seen:
                raise RpcFailed("error: the server returned page token %r twice" % token, 1)
            seen.add(token)
            req = type(request)()
            req.CopyFrom(request)
            req.page_token = token
            page = self.call(method, req)
            for f in lists:
                getattr(first, f.name).extend(getattr(page, f.name))
            token = page.next_page_token
        first.next_page_token = ""
        return first

    def close(self):
        for ch in self._channels.values():
            ch.close()


def _escape(text):
    return text.replace("%", "%%")


def add_parser(sub, method, comments, parents):
    """Adds the parser of one RPC command to `sub` (argparse subparsers)."""
    desc = method.input
    flags, json_only = fields.request_flags(desc, comments)
    has_actor = fields.ACTOR_FIELD in desc.fields_by_name
    has_reason_field = "reason" in desc.fields_by_name
    doc = " ".join(x for x in (method.comment, comments.get(desc.full_name, "")) if x)
    epilog = []
    if json_only:
        epilog.append("Set with --json only: " + ", ".join(json_only) + ".")
    epilog.append("Service %s, method %s." % (method.service, method.name))
    # No abbreviations: with dotted flags, `--owner` must not quietly mean `--owner-id`.
    p = sub.add_parser(method.command, parents=parents, allow_abbrev=False,
                       help=_escape(method.comment or method.signature),
                       usage="%(prog)s [flags]",
                       description=_escape(doc) or None, epilog=_escape(" ".join(epilog)),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", metavar="JSON|@FILE",
                   help="the whole request as proto3 JSON (flags given too override it)")
    for f in flags:
        option = f.option if f.option not in RESERVED else "--req." + f.option[2:]
        kw = dict(dest=f.dest, help=_escape(("%s [%s]" % (f.comment, f.type_hint())).strip()))
        if f.kind == "bool" and not f.repeated:
            kw.update(nargs="?", const="true", metavar="BOOL")
        elif f.repeated or f.kind == "map":
            kw.update(action="append", metavar=f.path[-1].upper())
        else:
            kw.update(metavar=f.path[-1].upper())
        p.add_argument(option, **kw)
    if has_actor:
        p.add_argument("--actor", dest="x_actor", metavar="ID",
                       help="who makes the change, for a server run without authentication "
                       "(with a token the server takes it from the token)")
        p.add_argument("--actor-reason", dest="x_actor_reason", metavar="TEXT",
                       help="why (the actor's reason)")
        if not has_reason_field:
            p.add_argument("--reason", dest="x_actor_reason", metavar="TEXT",
                           help="the same as --actor-reason")
    if method.is_list():
        p.add_argument("--all", dest="x_all", action="store_true",
                       help="follow next_page_token through every page")
    if output.list_fields(method.output):
        p.add_argument("--columns", dest="x_columns", metavar="F1,F2",
                       help="table output: these fields of the listed items, in this order")
    p.set_defaults(run=run, method=method, flags=flags)
    return p


def _load_json(text, request):
    if text.startswith("@"):
        path = text[1:]
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        except OSError as e:
            raise UsageError("--json: cannot read %s: %s" % (path, e.strerror))
    try:
        json_format.Parse(text, request)
    except (json_format.ParseError, ValueError) as e:
        raise UsageError("--json: %s" % e)


def build_request(method, flags, args, environ=None, now=None, with_token=False):
    """The request of an RPC command from its parsed arguments (see the module comment);
    with_token: a bearer token goes with the call (no default actor id then)."""
    req = method.request_cls()
    if getattr(args, "json", None):
        _load_json(args.json, req)
    given = []
    for f in flags:
        v = getattr(args, f.dest, None)
        if v is None:
            continue
        fields.apply_flag(req, f, v, now)
        given.append(f.path)
    desc = method.input
    if "request_id" in desc.fields_by_name and not req.request_id:
        req.request_id = "triadctl-" + uuid.uuid4().hex
    if fields.ACTOR_FIELD in desc.fields_by_name:
        actor = req.actor
        if getattr(args, "x_actor", None):
            actor.id = args.x_actor
        elif not actor.id:
            actor.id = default_actor(environ, with_token)
        reason = getattr(args, "x_actor_reason", None)
        if reason is None and ("reason",) in given and \
                desc.fields_by_name["reason"].type == fields.FD.TYPE_STRING:
            reason = req.reason
        if reason is not None:
            actor.reason = reason
    _infer_update_mask(req, desc, given)
    return req


def _infer_update_mask(req, desc, given):
    mask = desc.fields_by_name.get("update_mask")
    if mask is None or mask.message_type.full_name != fields.FIELD_MASK or req.HasField(
            "update_mask"):
        return
    resources = [f.name for f in desc.fields if f.message_type is not None and f.name not in (
        "update_mask", fields.ACTOR_FIELD) and f.message_type.full_name not in fields.SPECIAL]
    if len(resources) != 1:
        return
    paths = [".".join(p[1:]) for p in given if len(p) > 1 and p[0] == resources[0]]
    # The resource's id (its field 1, "id" or "<x>_id") names the record; it is not a change.
    first = desc.fields_by_name[resources[0]].message_type.fields_by_number.get(1)
    if first is not None and (first.name == "id" or first.name.endswith("_id")):
        paths = [p for p in paths if p != first.name]
    if paths:
        req.update_mask.paths.extend(sorted(set(p.split(".")[0] for p in paths)))


def run(ctx, args):
    """Runs one RPC command; returns the exit code."""
    method = args.method
    req = build_request(method, args.flags, args, with_token=ctx.has_token)
    follow = bool(getattr(args, "x_all", False))
    resp = ctx.call_all(method, req, follow=follow)
    columns = [c.strip() for c in (getattr(args, "x_columns", None) or "").split(",")
               if c.strip()]
    print(output.render(resp, ctx.output, columns=columns or None))
    token = getattr(resp, "next_page_token", "") if method.is_list() else ""
    if token and ctx.output != "json":
        print("next page: --page-token %s (or --all for every page)" % token)
    return 0
