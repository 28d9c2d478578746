"""Rendering of responses: `json` (the proto3 JSON mapping of the response) or `table`.

table: a list response (a `...Response` with repeated message fields) prints one table per list,
then its other fields as `key: value`; a resource prints its fields as `key: value` (nested
fields flattened to dotted keys, e.g. `report.moves[0].phase_id`), then a table per list it
holds. A table has a column per simple field of its items (enums by short name, timestamps
RFC 3339, money as "1,200.00 CNY"), columns empty in every row left out, or the fields named by
--columns; long cells are cut (ids never), trailing columns dropped when the width still does
not hold them.
"""
import datetime
import json
import os
import shutil

from google.protobuf import descriptor, json_format

from triad_py.ctl import fields as flds

FD = descriptor.FieldDescriptor
MAX_CELL = 36


def to_json(msg):
    """The proto3 JSON of msg (camelCase names, enums by name, default values left out)."""
    return json.dumps(json_format.MessageToDict(msg), indent=2, ensure_ascii=False)


def amount_text(minor, currency):
    """"1,200,000.00 CNY" from minor units (two decimals)."""
    sign = "-" if minor < 0 else ""
    return "%s%s %s" % (sign, "{:,.2f}".format(abs(minor) / 100.0), currency)


def money_text(m):
    return amount_text(m.amount_minor, m.currency)


def timestamp_text(ts):
    if ts.seconds == 0 and ts.nanos == 0:
        return ""
    dt = datetime.datetime.fromtimestamp(ts.seconds, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def number_text(v):
    if isinstance(v, float):
        return ("%.2f" % v).rstrip("0").rstrip(".") if v != int(v) or abs(v) >= 1e15 \
            else str(int(v))
    return str(v)


def value_text(field, value):
    """One field value (not repeated) as text."""
    if field.message_type is not None:
        name = field.message_type.full_name
        if name == flds.TIMESTAMP:
            return timestamp_text(value)
        if name == flds.MONEY:
            return money_text(value) if (value.amount_minor or value.currency) else ""
        if name == flds.FIELD_MASK:
            return ",".join(value.paths)
        if name == flds.DURATION:
            return "%gs" % (value.ToNanoseconds() / 1e9)
        if name == flds.ACTOR:
            return value.id + (" (%s)" % value.reason if value.reason else "")
        return json.dumps(json_format.MessageToDict(value, preserving_proto_field_name=True),
                          ensure_ascii=False)
    if field.enum_type is not None:
        return flds.enum_short(field.enum_type, value)
    if field.type == FD.TYPE_BYTES:
        return "<%d bytes>" % len(value)
    if field.type == FD.TYPE_BOOL:
        return "true" if value else "false"
    return number_text(value)


def _is_simple(field):
    """Rendered in one cell: scalars, enums, well-known values, repeated scalars."""
    if field.message_type is None:
        return True
    if field.message_type.GetOptions().map_entry:
        return field.message_type.fields_by_name["value"].message_type is None
    return field.message_type.full_name in flds.SPECIAL + (flds.ACTOR,) and \
        field.label != FD.LABEL_REPEATED


def cell_text(msg, field):
    value = getattr(msg, field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return ",".join("%s=%s" % (k, value[k]) for k in sorted(value))
    if field.label == FD.LABEL_REPEATED:
        return ",".join(value_text(field, v) for v in value)
    if field.message_type is not None and not msg.HasField(field.name):
        return ""
    return value_text(field, value)


def _cut(s, n=MAX_CELL):
    s = s.replace("\n", " ")
    return s if len(s) <= n else s[:n - 3] + "..."


CUTS = (MAX_CELL, 28, 20)


def _is_id(header):
    return header == "id" or header.endswith("_id") or header.endswith("_ids")


def _layout(headers, rows, cut, width):
    """(cells, column widths, columns kept) with cells cut at `cut` (ids and the last column
    never: an id is copied, the last column may run on)."""
    last = len(headers) - 1
    cells = [[c if i == last or _is_id(headers[i]) else _cut(c, cut) for i, c in enumerate(r)]
             for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    keep = len(headers)
    # The last column kept counts as at most `cut` wide.
    while keep > 1 and sum(widths[:keep - 1]) + min(widths[keep - 1], cut) + \
            2 * (keep - 1) > width:
        keep -= 1
    return cells, widths, keep


def table(headers, rows, width=None):
    """Rows (lists of str) under headers, columns padded. Cells are cut (at MAX_CELL, or
    narrower when that lets more columns fit; never an id nor the last column), and trailing
    columns dropped while the table is wider than `width`."""
    width = width or terminal_width()
    best = None
    for cut in CUTS:
        layout = _layout(headers, [[c.replace("\n", " ") for c in r] for r in rows], cut, width)
        if best is None or layout[2] > best[2]:
            best = layout
        if layout[2] == len(headers):
            break
    cells, widths, keep = best
    lines = ["  ".join(h.upper().ljust(widths[i]) for i, h in enumerate(headers[:keep])).rstrip()]
    for r in cells:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:keep])).rstrip())
    if keep < len(headers):
        lines.append("(%d more column(s) not shown: %s; use --output json)"
                     % (len(headers) - keep, ", ".join(headers[keep:])))
    return "\n".join(lines)


def terminal_width():
    """$COLUMNS, the terminal's width, or 160 when not a terminal."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 20:
        return int(env)
    return shutil.get_terminal_size((160, 24)).columns


def _is_default(msg, field):
    if field.label == FD.LABEL_REPEATED:
        return len(getattr(msg, field.name)) == 0
    if field.message_type is not None:
        return not msg.HasField(field.name)
    return getattr(msg, field.name) == field.default_value


def message_table(items, desc, width=None, columns=None):
    """A table of messages of one type (columns: their simple fields set in some row, or the
    fields named in `columns`, in that order; an enum left UNSPECIFIED is an empty cell)."""
    if columns:
        unknown = [c for c in columns if c not in desc.fields_by_name]
        if unknown:
            from triad_py.ctl import UsageError

            raise UsageError("--columns: %s has no field %s (fields: %s)" % (
                desc.name, ", ".join(unknown), ", ".join(f.name for f in desc.fields)))
        cols = [desc.fields_by_name[c] for c in columns]
    else:
        cols = [f for f in desc.fields if _is_simple(f)]
    rows = [[("" if f.enum_type is not None and _is_default(m, f) else cell_text(m, f))
             for f in cols] for m in items]
    used = [i for i, f in enumerate(cols) if columns or
            any(not _is_default(m, f) and r[i] for m, r in zip(items, rows))]
    headers = [cols[i].name for i in used]
    if not headers:
        return "(%d item(s) with no simple fields; use --output json)" % len(items)
    return table(headers, [[r[i] for i in used] for r in rows], width)


def flatten(msg, prefix=""):
    """[(dotted key, text)] of every set field of msg, nested messages flattened."""
    out = []
    for field, value in msg.ListFields():
        key = prefix + field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            vf = field.message_type.fields_by_name["value"]
            for k in sorted(value):
                if vf.message_type is None:
                    out.append(("%s[%s]" % (key, k), value_text(vf, value[k])))
                else:
                    out += flatten(value[k], "%s[%s]." % (key, k))
        elif field.label == FD.LABEL_REPEATED:
            if _is_simple(field) or field.message_type.full_name in flds.SPECIAL:
                out.append((key, ", ".join(value_text(field, v) for v in value)))
            elif _is_small_record(field.message_type):
                out.append((key, ", ".join(
                    " ".join("%s=%s" % (f.name, value_text(f, x)) for f, x in v.ListFields())
                    for v in value)))
            else:
                for i, v in enumerate(value):
                    out += flatten(v, "%s[%d]." % (key, i))
        elif field.message_type is not None and not _is_simple(field):
            out += flatten(value, key + ".")
        else:
            text = value_text(field, value)
            if text:
                out.append((key, text))
    return out


def _is_small_record(desc):
    """At most three scalar fields (e.g. a day allocation): one line per list suffices."""
    return len(desc.fields) <= 3 and all(f.message_type is None and
                                         f.label != FD.LABEL_REPEATED for f in desc.fields)


def key_values(msg):
    pairs = flatten(msg)
    return _pairs(pairs) if pairs else "(empty response)"


def list_fields(desc):
    """The repeated message fields of a response (its lists)."""
    return [f for f in desc.fields if f.label == FD.LABEL_REPEATED and f.message_type is not None
            and not f.message_type.GetOptions().map_entry]


def render_table(msg, width=None, columns=None):
    """The table output of a response (see the module comment): a list response (a
    `...Response` with repeated message fields) prints its tables first, then its other fields;
    a resource prints its fields as `key: value`, then a table per list it holds."""
    lists = [f for f in list_fields(msg.DESCRIPTOR) if f.name != "next_page_token"]
    names = {f.name for f in lists}
    rest = [(k, v) for k, v in flatten(msg)
            if k.split("[")[0].split(".")[0] not in names and k != "next_page_token"]
    if not lists:
        return key_values(msg)
    is_list = msg.DESCRIPTOR.name.endswith("Response")
    parts = []
    if rest and not is_list:
        parts.append(_pairs(rest))
    for f in lists:
        items = getattr(msg, f.name)
        head = "" if (is_list and len(lists) == 1) else "%s:\n" % f.name
        if not items:
            if is_list:
                parts.append(head + "(no %s)" % f.name)
            continue
        parts.append(head + message_table(items, f.message_type, width, columns))
    if rest and is_list:
        parts.append(_pairs(rest))
    return "\n".join(parts) if parts else "(empty response)"


def _pairs(pairs):
    w = max(len(k) for k, _ in pairs)
    return "\n".join(("%s: %s" % (k.ljust(w), v)).rstrip() for k, v in pairs)


def render(msg, output, width=None, columns=None):
    """json or table output of a response; `columns` picks the table columns of its lists."""
    return to_json(msg) if output == "json" else render_table(msg, width, columns)
