"""Request flags derived from a request message's descriptor, and the parsing of their values.

Every scalar, enum and well-known-typed field of the request gets a flag named after its path in
kebab case (`--owner-id`, `--client.owner-id` for a field of a nested message, nested up to
MAX_DEPTH levels). Values:
  enums        by short name (`verified` for CLIENT_STATUS_VERIFIED), full name or number;
  Timestamp    RFC 3339 (`2026-12-01T09:00:00Z`), a date (`2026-12-01`, midnight UTC), `now`,
               or relative to now: `+3d`, `-2w`, `+12h`, `+30m`;
  FieldMask    comma-separated paths;
  Money        `1200000 CNY` (major units, two decimals: 1200000.50 CNY) or `CNY 1200000`;
  bool         `--force` alone is true; `--force=false` sets false;
  bytes        text, or `@FILE` for a file's content;
  repeated     the flag repeated (`--risks a --risks b`);
  map          `KEY=VALUE`, repeated.
Repeated message fields (and anything deeper) are set with --json.
"""
import datetime
import re

from google.protobuf import descriptor

from triad_py.ctl import UsageError

FD = descriptor.FieldDescriptor
TIMESTAMP = "google.protobuf.Timestamp"
FIELD_MASK = "google.protobuf.FieldMask"
DURATION = "google.protobuf.Duration"
MONEY = "triad.common.v1.Money"
ACTOR = "triad.common.v1.Actor"
SPECIAL = (TIMESTAMP, FIELD_MASK, DURATION, MONEY)
MAX_DEPTH = 3
# Top-level request fields triadctl fills itself (see rpc_cmd): the actor gets --actor and
# --actor-reason instead of flattened flags.
ACTOR_FIELD = "actor"

_INT_TYPES = (FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
              FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32,
              FD.TYPE_SFIXED64)
_FLOAT_TYPES = (FD.TYPE_DOUBLE, FD.TYPE_FLOAT)


class Flag:
    """One request flag: the field path it sets and how its text is parsed."""

    def __init__(self, path, field, kind, comment):
        self.path = path  # tuple of field names from the request down to the field
        self.field = field
        self.kind = kind  # scalar | enum | bool | bytes | timestamp | mask | money | duration | map
        self.comment = comment
        self.option = "--" + ".".join(kebab_field(p) for p in path)
        self.dest = "f:" + ".".join(path)
        self.repeated = field.label == FD.LABEL_REPEATED and kind != "map"

    def type_hint(self):
        f = self.field
        if self.kind == "enum":
            return "one of " + "|".join(enum_short_names(f.enum_type))
        if self.kind == "map":
            return "KEY=VALUE, repeatable"
        hint = {
            "timestamp": "RFC 3339, YYYY-MM-DD, now or +3d/-2w/+12h",
            "mask": "comma-separated paths",
            "money": "AMOUNT CUR in major units, e.g. '1200000 CNY'",
            "duration": "e.g. 30s, 5m, 2h",
            "bool": "true when given alone; =false to clear",
            "bytes": "text or @FILE",
        }.get(self.kind)
        if hint is None:
            hint = _scalar_name(f)
        return hint + (", repeatable" if self.repeated else "")


def kebab_field(name):
    return name.replace("_", "-")


def _scalar_name(f):
    if f.type in _INT_TYPES:
        return "integer"
    if f.type in _FLOAT_TYPES:
        return "number"
    return "text"


def enum_prefix(enum_desc):
    """The common prefix of an enum's value names ("CLIENT_STATUS_" for ClientStatus)."""
    names = [v.name for v in enum_desc.values]
    for v in names:
        if v.endswith("UNSPECIFIED"):
            return v[:-len("UNSPECIFIED")]
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", enum_desc.name).upper() + "_"
    return snake if all(n.startswith(snake) for n in names) else ""


def enum_short_names(enum_desc):
    """The names a user types: the values without the common prefix, UNSPECIFIED left out."""
    p = enum_prefix(enum_desc)
    return [v.name[len(p):] for v in enum_desc.values if not v.name.endswith("UNSPECIFIED")]


def enum_short(enum_desc, number):
    """The short name of an enum value (the number as text when unknown)."""
    v = enum_desc.values_by_number.get(number)
    if v is None:
        return str(number)
    p = enum_prefix(enum_desc)
    return v.name[len(p):] if v.name.startswith(p) else v.name


def _classify(field):
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return "map" if value.message_type is None else None
        return {TIMESTAMP: "timestamp", FIELD_MASK: "mask", MONEY: "money",
                DURATION: "duration"}.get(field.message_type.full_name)
    if field.enum_type is not None:
        return "enum"
    if field.type == FD.TYPE_BOOL:
        return "bool"
    if field.type == FD.TYPE_BYTES:
        return "bytes"
    return "scalar"


def request_flags(msg_desc, comments, skip=(ACTOR_FIELD,)):
    """(flags, json_only): the flags of a request message and the paths of the fields that only
    --json can set (repeated messages, messages nested too deep)."""
    flags, json_only = [], []

    def walk(desc, prefix, ancestors):
        for f in desc.fields:
            if not prefix and f.name in skip and (f.message_type is None
                                                  or f.message_type.full_name == ACTOR):
                continue
            path = prefix + (f.name,)
            comment = comments.get(f.full_name, "")
            kind = _classify(f)
            if kind is not None:
                flags.append(Flag(path, f, kind, comment))
            elif (f.message_type is None or f.label == FD.LABEL_REPEATED
                  or len(path) >= MAX_DEPTH or f.message_type.full_name in ancestors):
                json_only.append(".".join(path))
            else:
                walk(f.message_type, path, ancestors + (f.message_type.full_name,))

    walk(msg_desc, (), (msg_desc.full_name,))
    return flags, json_only


# ------------------------------------------------------------------------------ value parsing

_REL = re.compile(r"^([+-])(\d+(?:\.\d+)?)([mhdw])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(text, now=None):
    """An aware UTC datetime from RFC 3339, a date, `now` or `+3d`/`-2w`/`+12h`/`+30m`."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    t = text.strip()
    if t == "now":
        return now
    m = _REL.match(t)
    if m:
        secs = float(m.group(2)) * _UNIT[m.group(3)]
        return now + datetime.timedelta(seconds=secs if m.group(1) == "+" else -secs)
    if re.match(r"^\d{4}-\d{2}-\d{2}$", t):
        return datetime.datetime.strptime(t, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    iso = t[:-1] + "+00:00" if t[-1:] in "zZ" else t
    try:
        dt = datetime.datetime.fromisoformat(iso.replace("t", "T"))
    except ValueError:
        raise ValueError("not RFC 3339, YYYY-MM-DD, now or +3d/-2w/+12h/+30m")
    if dt.tzinfo is None:
        raise ValueError("an RFC 3339 time needs a zone (Z or +hh:mm)")
    return dt.astimezone(datetime.timezone.utc)


def parse_enum(enum_desc, text):
    t = text.strip()
    if re.match(r"^-?\d+$", t):
        return int(t)
    prefix = enum_prefix(enum_desc)
    up = t.upper().replace("-", "_")
    for v in enum_desc.values:
        if v.name == up or v.name == prefix + up:
            return v.number
    raise ValueError("%r is not one of %s" % (text, ", ".join(enum_short_names(enum_desc))))


def parse_bool(text):
    t = text.strip().lower()
    if t in ("true", "yes", "1", "on"):
        return True
    if t in ("false", "no", "0", "off"):
        return False
    raise ValueError("%r is not true or false" % text)


def parse_money(text):
    """(amount_minor, currency) from "1200000 CNY", "CNY 1,200,000.50" or "1200000CNY"."""
    t = text.strip().replace(",", "").replace("_", "")
    m = re.match(r"^([A-Za-z]{3})\s*(-?\d+(?:\.\d{1,2})?)$", t) or \
        re.match(r"^(-?\d+(?:\.\d{1,2})?)\s*([A-Za-z]{3})$", t)
    if not m:
        raise ValueError("%r is not AMOUNT CUR (e.g. '1200000 CNY', at most 2 decimals)" % text)
    a, b = m.groups()
    amount, cur = (b, a) if a[0].isalpha() else (a, b)
    whole, _, frac = amount.partition(".")
    sign = -1 if whole.startswith("-") else 1
    minor = abs(int(whole)) * 100 + int((frac + "00")[:2])
    return sign * minor, cur.upper()


def parse_duration(text):
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$", text.strip())
    if not m:
        raise ValueError("%r is not a duration (e.g. 500ms, 30s, 5m, 2h)" % text)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _scalar(field, text):
    if field.type in _INT_TYPES:
        try:
            v = int(text.strip())
        except ValueError:
            raise ValueError("%r is not an integer" % text)
        if field.type in (FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_FIXED32,
                          FD.TYPE_FIXED64) and v < 0:
            raise ValueError("%r is negative" % text)
        return v
    if field.type in _FLOAT_TYPES:
        try:
            return float(text)
        except ValueError:
            raise ValueError("%r is not a number" % text)
    return text


def _bytes(text):
    if text.startswith("@"):
        try:
            with open(text[1:], "rb") as f:
                return f.read()
        except OSError as e:
            raise ValueError("cannot read %s: %s" % (text[1:], e.strerror))
    return text.encode("utf-8")


def _target(msg, path):
    for name in path[:-1]:
        msg = getattr(msg, name)
    return msg, path[-1]


def apply_flag(msg, flag, values, now=None):
    """Sets the field of `flag` in `msg` from the flag's texts (a list when repeated or a map).
    Raises UsageError naming the flag when a value does not parse."""
    try:
        _apply(msg, flag, values, now)
    except ValueError as e:
        raise UsageError("%s: %s" % (flag.option, e))


def _apply(msg, flag, values, now):
    parent, name = _target(msg, flag.path)
    f = flag.field
    texts = values if isinstance(values, list) else [values]
    if flag.kind == "map":
        m = getattr(parent, name)
        vf = f.message_type.fields_by_name["value"]
        kf = f.message_type.fields_by_name["key"]
        for t in texts:
            k, sep, v = t.partition("=")
            if not sep:
                raise ValueError("%r is not KEY=VALUE" % t)
            m[_scalar(kf, k)] = parse_enum(vf.enum_type, v) if vf.enum_type else _scalar(vf, v)
        return
    if flag.kind == "mask":
        getattr(parent, name).paths.extend(
            p.strip() for t in texts for p in t.split(",") if p.strip())
        return
    if flag.kind in ("timestamp", "money", "duration"):
        out = []
        for t in texts:
            if flag.kind == "timestamp":
                from google.protobuf import timestamp_pb2

                ts = timestamp_pb2.Timestamp()
                ts.FromDatetime(parse_time(t, now).replace(tzinfo=None))
                out.append(ts)
            elif flag.kind == "money":
                amount, cur = parse_money(t)
                container = getattr(parent, name)
                m = container.add() if flag.repeated else type(container)()
                m.amount_minor, m.currency = amount, cur
                out.append(m)
            else:
                from google.protobuf import duration_pb2

                d = duration_pb2.Duration()
                d.FromNanoseconds(int(parse_duration(t) * 1e9))
                out.append(d)
        if flag.repeated:
            if flag.kind != "money":
                getattr(parent, name).extend(out)
        else:
            getattr(parent, name).CopyFrom(out[-1])
        return
    if flag.kind == "enum":
        parsed = [parse_enum(f.enum_type, t) for t in texts]
    elif flag.kind == "bool":
        parsed = [parse_bool(t) for t in texts]
    elif flag.kind == "bytes":
        parsed = [_bytes(t) for t in texts]
    else:
        parsed = [_scalar(f, t) for t in texts]
    if flag.repeated:
        getattr(parent, name).extend(parsed)
    else:
        setattr(parent, name, parsed[-1])
