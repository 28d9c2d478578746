#!/usr/bin/env python3
"""Keeps the flag reference of docs/operations.md equal to the flags the services define.

Usage: flags_doc.py [--build-dir DIR] [--write]

The table between the markers BEGIN/END GENERATED FLAGS in docs/operations.md lists every flag
of every service with its environment variable, default, the services that take it and its
help text. It is generated from the binaries' `--helpfull` (DIR/services/<svc>/triad-<svc>, so
defaults read as the flags parse them, e.g. 168h) for the flags defined in common/ and
services/ (absl's own --help*, --flagfile... are left out).

Without --write it checks (ctest operations_doc_test):
  * every ABSL_FLAG defined in common/ or services/<svc>/ (tests and benchmarks excepted) has a
    row, and every row names a flag that exists — from the sources, so this part needs no build;
  * when the binaries are built, the table is exactly what --write would write (defaults, help
    texts and services current).
Exits 1 with one line per problem; `flags_doc.py --write` fixes them.
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOC = os.path.join(ROOT, "docs", "operations.md")
BEGIN = "<!-- BEGIN GENERATED FLAGS (tests/deploy/flags_doc.py --write) -->"
END = "<!-- END GENERATED FLAGS -->"
FLAG_RE = re.compile(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)\s*,", re.S)
ROW_RE = re.compile(r"^\| `--(\w+)` \|", re.M)


def services(repo):
    d = os.path.join(repo, "services")
    return sorted(s for s in os.listdir(d) if os.path.isfile(os.path.join(d, s, "main.cc")))


def source_flags(repo):
    """{flag: 'common' or the service defining it} from the ABSL_FLAG definitions."""
    found = {}
    for top, owner in [("common", lambda p: "common")] + [
            (os.path.join("services", s), (lambda s: lambda p: s)(s)) for s in services(repo)]:
        for dirpath, dirs, files in os.walk(os.path.join(repo, top)):
            dirs[:] = [d for d in dirs if d not in ("tests", "bench")]
            for f in files:
                if f.endswith((".cc", ".h")):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        for name in FLAG_RE.findall(fh.read()):
                            found[name] = owner(dirpath)
    return found


def helpfull(binary):
    """{flag: (help, default, defining file)} of the Triad flags a binary prints with --helpfull."""
    # The services take flag values from TRIAD_<FLAG> and KAFKA_BOOTSTRAP_SERVERS (set by
    # `make test`): without them --helpfull prints the defaults the table documents.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRIAD_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True, timeout=60,
                         env=env)
    text = out.stdout + out.stderr
    flags, source, entry = {}, None, None

    def finish():
        if entry and source and ("/common/" in source or "/services/" in source):
            m = re.match(r"^--(\w+) \((.*)\); default: (.*);$", " ".join(entry), re.S)
            if m:
                flags[m.group(1)] = (m.group(2), m.group(3), source)

    for line in text.splitlines():
        m = re.match(r"^  Flags from (.+):$", line)
        if m:
            finish()
            source, entry = m.group(1), None
        elif line.startswith("    --"):
            finish()
            entry = [line.strip()]
        elif line.startswith("      ") and entry is not None:
            entry.append(line.strip())
    finish()
    return flags


def render(repo, build_dir):
    """The generated table, or None when a service binary is not built."""
    rows = {}
    svcs = services(repo)
    for svc in svcs:
        binary = os.path.join(build_dir, "services", svc, f"triad-{svc}")
        if not os.access(binary, os.X_OK):
            return None
        for name, (help_text, default, _) in helpfull(binary).items():
            rows.setdefault(name, [help_text, default, []])[2].append(svc)
    lines = [BEGIN, "",
             "| flag | environment | default | services | meaning |",
             "| --- | --- | --- | --- | --- |"]
    for name in sorted(rows):
        help_text, default, used_by = rows[name]
        env = f"`TRIAD_{name.upper()}`"
        if name == "kafka_bootstrap_servers":
            env += ", `KAFKA_BOOTSTRAP_SERVERS`"
        default = "(empty)" if default == '""' else f"`{default.strip(chr(34))}`"
        who = "all" if used_by == svcs else ", ".join(used_by)
        cell = help_text.replace("|", "\\|")
        lines.append(f"| `--{name}` | {env} | {default} | {who} | {cell} |")
    lines += ["", END]
    return "\n".join(lines)


def split_doc(text):
    """(before, table, after) of the doc, or None when the markers are missing."""
    if BEGIN not in text or END not in text:
        return None
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    return head, BEGIN + current + END, tail


def check(doc_text, repo, build_dir):
    """The problems of the flag table in doc_text (empty when it is current) and a note."""
    parts = split_doc(doc_text)
    if parts is None:
        return [f"markers {BEGIN} / {END} missing"], ""
    errors, note = [], ""
    documented = set(ROW_RE.findall(parts[1]))
    code = source_flags(repo)
    for name in sorted(set(code) - documented):
        errors.append(f"--{name} (defined in {code[name]}) is not in the flag table of docs/operations.md")
    for name in sorted(documented - set(code)):
        errors.append(f"--{name} is in docs/operations.md but no service defines it")
    table = render(repo, build_dir)
    if table is None:
        note = f"service binaries not built in {build_dir}: defaults and help texts not compared"
    elif parts[1] != table:
        errors.append("the flag table of docs/operations.md differs from the binaries' --helpfull")
    return errors, note


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.environ.get("TRIAD_DEPLOY_BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    with open(DOC, encoding="utf-8") as fh:
        doc = fh.read()
    if args.write:
        parts = split_doc(doc)
        table = render(ROOT, args.build_dir)
        if parts is None or table is None:
            print(f"ERROR: markers missing in {DOC}, or no binaries in {args.build_dir}/services (build first)")
            return 1
        with open(DOC, "w", encoding="utf-8") as fh:
            fh.write(parts[0] + table + parts[2])
        print(f"wrote the flag table of {DOC}")
        return 0
    errors, note = check(doc, ROOT, args.build_dir)
    if note:
        print(f"note: {note}")
    for e in errors:
        print(f"ERROR {e}")
    if errors:
        print("FAIL flags: run python3 tests/deploy/flags_doc.py --write (after building)")
        return 1
    print(f"ok flags: {len(source_flags(ROOT))} flags documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
