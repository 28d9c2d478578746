"""Readable gRPC errors and triadctl's exit codes.

An error prints as `error: <CODE>: <message>` followed by what the details say, one line each:
the google.rpc.Status of the `grpc-status-details-bin` trailer when the server attached one
(BadRequest field violations as "field X: why", PreconditionFailure violations, ErrorInfo,
ResourceInfo, RetryInfo, Help, LocalizedMessage), else what Triad's one message grammar says:
INVALID_ARGUMENT is "<field path>: <why>" (common/api InvalidField), FAILED_PRECONDITION lists
"open checkpoint(s): a; b" when a stage gate blocks (services/pipeline).

The google.rpc messages are declared here in a private descriptor pool (Debian ships no Python
package with them), with the field numbers of googleapis' google/rpc/status.proto and
error_details.proto.
"""
import re

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, duration_pb2

from triad_py.ctl import EXIT_RPC_ERROR, EXIT_UNAVAILABLE

DETAILS_KEY = "grpc-status-details-bin"

FDP = descriptor_pb2.FieldDescriptorProto
_STR, _I32, _MSG = FDP.TYPE_STRING, FDP.TYPE_INT32, FDP.TYPE_MESSAGE
_OPT, _REP = FDP.LABEL_OPTIONAL, FDP.LABEL_REPEATED

# message name -> [(field, number, type, label, type_name)]; nested names use a dot.
_RPC_MESSAGES = {
    "Status": [("code", 1, _I32, _OPT, None), ("message", 2, _STR, _OPT, None),
               ("details", 3, _MSG, _REP, ".google.protobuf.Any")],
    "ErrorInfo": [("reason", 1, _STR, _OPT, None), ("domain", 2, _STR, _OPT, None),
                  ("metadata", 3, _MSG, _REP, ".google.rpc.ErrorInfo.MetadataEntry")],
    "ErrorInfo.MetadataEntry": [("key", 1, _STR, _OPT, None), ("value", 2, _STR, _OPT, None)],
    "RetryInfo": [("retry_delay", 1, _MSG, _OPT, ".google.protobuf.Duration")],
    "DebugInfo": [("stack_entries", 1, _STR, _REP, None), ("detail", 2, _STR, _OPT, None)],
    "PreconditionFailure": [("violations", 1, _MSG, _REP,
                             ".google.rpc.PreconditionFailure.Violation")],
    "PreconditionFailure.Violation": [("type", 1, _STR, _OPT, None),
                                      ("subject", 2, _STR, _OPT, None),
                                      ("description", 3, _STR, _OPT, None)],
    "BadRequest": [("field_violations", 1, _MSG, _REP,
                    ".google.rpc.BadRequest.FieldViolation")],
    "BadRequest.FieldViolation": [("field", 1, _STR, _OPT, None),
                                  ("description", 2, _STR, _OPT, None)],
    "ResourceInfo": [("resource_type", 1, _STR, _OPT, None),
                     ("resource_name", 2, _STR, _OPT, None), ("owner", 3, _STR, _OPT, None),
                     ("description", 4, _STR, _OPT, None)],
    "Help": [("links", 1, _MSG, _REP, ".google.rpc.Help.Link")],
    "Help.Link": [("description", 1, _STR, _OPT, None), ("url", 2, _STR, _OPT, None)],
    "LocalizedMessage": [("locale", 1, _STR, _OPT, None), ("message", 2, _STR, _OPT, None)],
}

_pool = None


def _build_pool():
    global _pool
    if _pool is not None:
        return _pool
    pool = descriptor_pool.DescriptorPool()
    for mod in (any_pb2, duration_pb2):
        fdp = descriptor_pb2.FileDescriptorProto()
        mod.DESCRIPTOR.CopyToProto(fdp)
        pool.Add(fdp)
    fdp = descriptor_pb2.FileDescriptorProto(
        name="triadctl/google_rpc.proto", package="google.rpc", syntax="proto3",
        dependency=["google/protobuf/any.proto", "google/protobuf/duration.proto"])
    made = {}
    for full in sorted(_RPC_MESSAGES, key=lambda n: n.count(".")):
        outer, _, inner = full.partition(".")
        parent = made[outer] if inner else None
        m = (parent.nested_type if parent else fdp.message_type).add()
        m.name = inner or outer
        if full.endswith("Entry"):
            m.options.map_entry = True
        for name, num, typ, label, type_name in _RPC_MESSAGES[full]:
            f = m.field.add(name=name, number=num, type=typ, label=label)
            if type_name:
                f.type_name = type_name
        made[full] = m
    pool.Add(fdp)
    _pool = pool
    return pool


def rpc_class(name):
    """The class of google.rpc.<name> (e.g. "Status", "BadRequest")."""
    from google.protobuf import message_factory

    desc = _build_pool().FindMessageTypeByName("google.rpc." + name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(_build_pool()).GetPrototype(desc)


def _unpack(any_msg):
    name = any_msg.type_url.rpartition("/")[2]
    if not name.startswith("google.rpc.") or name[len("google.rpc."):] not in _RPC_MESSAGES:
        return None
    msg = rpc_class(name[len("google.rpc."):])()
    msg.ParseFromString(any_msg.value)
    return msg


def describe_details(status):
    """The lines a google.rpc.Status's details say (unknown detail types named, not dumped)."""
    lines = []
    for d in status.details:
        msg = _unpack(d)
        kind = d.type_url.rpartition("/")[2]
        if msg is None:
            lines.append("(detail of type %s)" % kind)
            continue
        short = kind.rpartition(".")[2]
        if short == "BadRequest":
            for v in msg.field_violations:
                lines.append("field %s: %s" % (v.field, v.description))
        elif short == "PreconditionFailure":
            for v in msg.violations:
                what = " ".join(x for x in (v.type, v.subject) if x)
                lines.append("precondition %s: %s" % (what, v.description) if what
                             else "precondition: %s" % v.description)
        elif short == "ErrorInfo":
            meta = ", ".join("%s=%s" % kv for kv in sorted(msg.metadata.items()))
            lines.append("reason %s%s%s" % (msg.reason, " (%s)" % msg.domain if msg.domain
                                             else "", ": " + meta if meta else ""))
        elif short == "ResourceInfo":
            lines.append("resource %s %s%s" % (msg.resource_type, msg.resource_name,
                                               ": " + msg.description if msg.description
                                               else ""))
        elif short == "RetryInfo":
            lines.append("retry after %.1fs" % (msg.retry_delay.ToNanoseconds() / 1e9))
        elif short == "Help":
            for link in msg.links:
                lines.append("help: %s %s" % (link.description, link.url))
        elif short == "LocalizedMessage":
            lines.append(msg.message)
        elif short == "DebugInfo":
            lines.append("debug: %s" % msg.detail)
    return lines


_FIELD_MSG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:(?:\.[A-Za-z_][A-Za-z0-9_]*)|\[\d+\])*)"
                        r": (.+)$", re.S)
_CHECKPOINTS = re.compile(r"open checkpoint\(s\): (.+)$", re.S)


def describe_message(code_name, message):
    """The lines Triad's message grammar yields when no details were attached."""
    if code_name == "INVALID_ARGUMENT":
        m = _FIELD_MSG.match(message)
        if m:
            return ["field %s: %s" % (m.group(1), m.group(2))]
    if code_name == "FAILED_PRECONDITION":
        m = _CHECKPOINTS.search(message)
        if m:
            return ["open checkpoint %s" % c.strip() for c in m.group(1).split("; ") if c.strip()]
    return []


def status_from_metadata(trailing_metadata):
    """The google.rpc.Status of the details trailer, or None (also when it does not parse)."""
    for key, value in trailing_metadata or ():
        if key == DETAILS_KEY:
            st = rpc_class("Status")()
            try:
                st.ParseFromString(value if isinstance(value, bytes) else value.encode())
            except Exception:  # a broken trailer is reported as absent, never a crash
                return None
            return st
    return None


def render(code_name, message, trailing_metadata=()):
    """The text printed for an RPC error: first line code and message, then one indented line
    per detail."""
    lines = ["error: %s: %s" % (code_name, message)]
    st = status_from_metadata(trailing_metadata)
    extra = describe_details(st) if st is not None and st.details else []
    if not extra:
        extra = describe_message(code_name, message)
    lines += ["  " + x for x in extra]
    return "\n".join(lines)


def exit_code(code_name):
    """3 when the service is unavailable, else 1."""
    return EXIT_UNAVAILABLE if code_name == "UNAVAILABLE" else EXIT_RPC_ERROR


def render_rpc_error(err, address="", method_path=""):
    """(text, exit code) of a grpc.RpcError."""
    code = err.code().name if err.code() is not None else "UNKNOWN"
    message = err.details() or ""
    if code == "UNIMPLEMENTED" and not message and method_path:
        message = "%s is not served at %s (a build without it?)" % (method_path.lstrip("/"),
                                                                     address or "the address")
    text = render(code, message, err.trailing_metadata())
    if code == "UNAVAILABLE" and address:
        text += "\n  (is the service running at %s? set --<service>-addr or " \
                "TRIAD_<SERVICE>_ADDR)" % address
    return text, exit_code(code)
