"""`triadctl clients import FILE.csv`: ImportClientsCsv in chunks, idempotently.

The file is read as CSV (RFC 4180, a UTF-8 BOM dropped); rows whose every cell is blank are left
out, as the service does. The data rows are sent in chunks of --chunk-rows, each with the
header, each under the request_id `triadctl-import-<digest>-<chunk size>-<chunk number>`, where
the digest covers the file, --default-owner-id and --force: a re-run of the same import replays
the service's stored answers instead of importing again, and a run broken off resumes where it
stopped. Progress goes to standard error (a bar on a terminal, else a `rows done/total` line per
chunk); then the per-row report follows with each row's number in the whole file (data rows
from 1, the header being row 0, as the service counts) and the line it starts on. Exit status 1
when any row was rejected (invalid or a possible duplicate).
"""
import csv
import hashlib
import io
import sys

from triad_py.ctl import UsageError, output, rpc_cmd

DEFAULT_CHUNK_ROWS = 200


class Record:
    """One data row of the file: its cells, data row number and first line."""

    def __init__(self, cells, row, line):
        self.cells, self.row, self.line = cells, row, line


def read_csv(data):
    """(header, [Record]) of a CSV file's bytes; UsageError when it is not UTF-8 CSV."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError("the file is not UTF-8 (byte %d)" % e.start)
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header, records, line = None, [], 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue
            if header is None:
                header = cells
            else:
                records.append(Record(cells, len(records) + 1, start))
    except csv.Error as e:
        raise UsageError("the file is not valid CSV (line %d): %s" % (reader.line_num, e))
    if header is None:
        raise UsageError("the file has no header row")
    return header, records


def chunk_csv(header, records):
    """The CSV text of a chunk: the header and the records, quoted where needed."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in records:
        w.writerow(r.cells)
    return buf.getvalue().encode("utf-8")


def request_ids(data, default_owner, force, chunk_rows, chunks):
    """The deterministic request ids of an import's chunks."""
    h = hashlib.sha256(data)
    h.update(b"\0owner=" + default_owner.encode("utf-8") + b"\0force=" + (b"1" if force else b"0"))
    digest = h.hexdigest()[:32]
    return ["triadctl-import-%s-%d-%d" % (digest, chunk_rows, i + 1) for i in range(chunks)]


class Progress:
    """Rows done / total on standard error: a bar on a terminal, else one line per update."""

    def __init__(self, total, stream=None, width=30):
        self.total, self.width = total, width
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done):
        if self.tty:
            filled = int(self.width * done / self.total) if self.total else self.width
            self.stream.write("\r[%s%s] %d/%d rows" % ("#" * filled, "." * (self.width - filled),
                                                       done, self.total))
            if done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write("rows %d/%d\n" % (done, self.total))
        self.stream.flush()


def merge(responses, chunks):
    """One ImportClientsCsvResponse of the chunks' answers, rows numbered in the whole file.
    Returns (response, {row number: first line})."""
    merged = type(responses[0])() if responses else None
    lines = {}
    for resp, recs in zip(responses, chunks):
        for r in resp.rows:
            row = merged.rows.add()
            row.CopyFrom(r)
            if 1 <= r.row <= len(recs):
                rec = recs[r.row - 1]
                row.row = rec.row
                lines[rec.row] = rec.line
        merged.created += resp.created
        merged.duplicates += resp.duplicates
        merged.invalid += resp.invalid
    return merged, lines


def render_report(resp, lines, errors_only=False):
    """The per-row report and a summary line."""
    from triad_py.ctl import fields as flds

    enum = resp.DESCRIPTOR.fields_by_name["rows"].message_type.fields_by_name["outcome"].enum_type
    rows = []
    for r in resp.rows:
        outcome = flds.enum_short(enum, r.outcome)
        if errors_only and outcome == "CREATED":
            continue
        rows.append([str(r.row), str(lines.get(r.row, "")), outcome, r.client_id,
                     ",".join(r.duplicate_of), r.error])
    parts = []
    if rows:
        parts.append(output.table(["row", "line", "outcome", "client_id", "duplicate_of",
                                   "error"], rows))
    total = len(resp.rows)
    parts.append("imported %d row(s): %d created, %d duplicate(s), %d invalid"
                 % (total, resp.created, resp.duplicates, resp.invalid))
    return "\n".join(parts)


def add_parser(cmds, parents):
    p = cmds.add_parser("import", parents=parents, allow_abbrev=False,
                        help="view: import a CSV file in idempotent chunks (ImportClientsCsv)",
                        description=__doc__.split("\n\n")[1].replace("\n", " "))
    p.add_argument("file", help="the CSV file (header row: name, owner_id, ...)")
    p.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS,
                   help="data rows per call (default %d)" % DEFAULT_CHUNK_ROWS)
    p.add_argument("--default-owner-id", default="",
                   help="owner of rows without an owner_id cell")
    p.add_argument("--force", action="store_true", help="import possible duplicates anyway")
    p.add_argument("--errors-only", action="store_true", help="report only rejected rows")
    p.add_argument("--actor", dest="x_actor",
                   help="who imports, for a server run without authentication (with a token "
                   "the server takes it from the token)")
    p.add_argument("--actor-reason", "--reason", dest="x_actor_reason", help="why")
    p.set_defaults(run=run)


def run(ctx, args):
    if args.chunk_rows < 1:
        raise UsageError("--chunk-rows: must be at least 1")
    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError("%s: %s" % (args.file, e.strerror))
    header, records = read_csv(data)
    chunks = [records[i:i + args.chunk_rows] for i in range(0, len(records), args.chunk_rows)]
    ids = request_ids(data, args.default_owner_id, args.force, args.chunk_rows, len(chunks))
    method = ctx.method("clients", "ImportClientsCsv")
    actor = args.x_actor or rpc_cmd.default_actor(with_token=ctx.has_token)
    progress = Progress(len(records))
    responses, done = [], 0
    for i, (chunk, rid) in enumerate(zip(chunks, ids)):
        req = method.request_cls(request_id=rid, csv=chunk_csv(header, chunk),
                                 default_owner_id=args.default_owner_id, force=args.force)
        if actor:
            req.actor.id = actor
        if args.x_actor_reason:
            req.actor.reason = args.x_actor_reason
        try:
            responses.append(ctx.call(method, req))
        except rpc_cmd.RpcFailed as e:
            e.text += "\n  chunk %d of %d (rows %d..%d) failed; %d row(s) done before it; " \
                      "run the same command again to resume" % (
                          i + 1, len(chunks), chunk[0].row, chunk[-1].row, done)
            raise
        done += len(chunk)
        progress.update(done)
    if not records:
        print("the file has a header and no data rows: nothing to import", file=sys.stderr)
        return 0
    merged, lines = merge(responses, chunks)
    if ctx.output == "json":
        print(output.to_json(merged))
    else:
        print(render_report(merged, lines, args.errors_only))
    return 1 if merged.duplicates or merged.invalid else 0
