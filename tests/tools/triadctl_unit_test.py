#!/usr/bin/env python3
"""Unit tests of tools/triadctl (no broker, no service): the commands derived from the
descriptors, flag parsing into requests, readable errors with google.rpc details, and the
rendering of tables, the funnel, the load view, the Gantt chart and the CSV import report from
responses built here. Two cases run the command itself: a usage error (exit 2) and a service
that is not there (exit 3).

Run: python3 tests/tools/triadctl_unit_test.py
"""
import datetime
import os
import socket
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENV_SOURCE = os.environ.get("TRIAD_SOURCE_DIR", "")
if _ENV_SOURCE and os.path.isdir(os.path.join(_ENV_SOURCE, "tools", "triad_py")):
    SOURCE_DIR = _ENV_SOURCE
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))

import triad_py  # noqa: E402

triad_py.ensure_python(("grpc", "google.protobuf", "grpc_tools"))

from triad_py import stubs  # noqa: E402
from triad_py.ctl import (CommandError, UsageError, catalog, errors, fields, funnel,  # noqa
                          gantt, importcsv, load, main, ops, output, rpc_cmd)

TRIADCTL = os.path.join(SOURCE_DIR, "tools", "triadctl")
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
CAT = None
PARSER = None


def setUpModule():
    global CAT, PARSER
    CAT = catalog.Catalog(stubs.load())
    PARSER = main.build_parser(CAT)


def parse(*argv):
    return PARSER.parse_args(list(argv))


def request_of(*argv, environ=None):
    args = parse(*argv)
    return rpc_cmd.build_request(args.method, args.flags, args, environ=environ or {}, now=NOW)


def msg(full_name, **kw):
    from google.protobuf import symbol_database

    return symbol_database.Default().GetSymbol(full_name)(**kw)


class CatalogTest(unittest.TestCase):
    def test_every_rpc_of_every_service_is_a_command(self):
        from google.protobuf import descriptor_pool

        pool = descriptor_pool.Default()
        for group, service in (("clients", "triad.clients.v1.ClientsService"),
                               ("pipeline", "triad.pipeline.v1.PipelineService"),
                               ("review", "triad.review.v1.ReviewService"),
                               ("production", "triad.production.v1.ProductionService")):
            for name in (service, "triad.admin.v1.AdminService"):
                for m in pool.FindServiceByName(name).methods:
                    cmd = CAT.methods(group).get(catalog.kebab(m.name))
                    self.assertIsNotNone(cmd, "%s %s missing" % (group, m.name))
                    self.assertEqual(cmd.path, "/%s/%s" % (name, m.name))

    def test_names_and_groups(self):
        self.assertEqual(catalog.kebab("ListClients"), "list-clients")
        self.assertEqual(catalog.kebab("GetLoadView"), "get-load-view")
        self.assertEqual(catalog.kebab("ImportClientsCsv"), "import-clients-csv")
        self.assertEqual(catalog.groups_of("triad.admin.v1.AdminService"),
                         list(catalog.SERVICES))
        self.assertEqual(catalog.groups_of("triad.clients.admin.v1.ClientsAdminService"),
                         ["clients"])
        self.assertEqual(catalog.groups_of("triad.admin.v1.ReviewAdminService"), ["review"])
        self.assertEqual(catalog.groups_of("triad.clients.v1.ClientsService"), ["clients"])
        self.assertEqual(catalog.groups_of("triad.testing.v1.EchoService"), [])

    def test_addresses(self):
        self.assertEqual(catalog.address("review", None, {}), "127.0.0.1:7103")
        self.assertEqual(catalog.address("review", None, {"TRIAD_REVIEW_ADDR": "h:1"}), "h:1")
        self.assertEqual(catalog.address("review", "x:2", {"TRIAD_REVIEW_ADDR": "h:1"}), "x:2")

    def test_help_lists_fields_with_their_proto_comments(self):
        help_text = parse_help("clients", "create-client")
        self.assertIn("--client.owner-id", help_text)
        self.assertIn("The responsible person", help_text)
        self.assertIn("one of COLLECTED|VERIFIED|ARCHIVED|MERGED", help_text)
        self.assertIn("--actor", help_text)


def parse_help(*argv):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), self_exit():
        PARSER.parse_args(list(argv) + ["--help"])
    return buf.getvalue()


class self_exit:
    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        return typ is SystemExit


class RequestTest(unittest.TestCase):
    def test_scalar_enum_and_paging_flags(self):
        req = request_of("clients", "list-clients", "--owner-id", "u:zhao", "--status",
                         "verified", "--tier", "CLIENT_TIER_KEY", "--page-size", "5")
        self.assertEqual(req.owner_id, "u:zhao")
        enum = req.DESCRIPTOR.fields_by_name["status"].enum_type
        self.assertEqual(enum.values_by_number[req.status].name, "CLIENT_STATUS_VERIFIED")
        tier = req.DESCRIPTOR.fields_by_name["tier"].enum_type
        self.assertEqual(tier.values_by_number[req.tier].name, "CLIENT_TIER_KEY")
        self.assertEqual(req.page_size, 5)

    def test_write_gets_request_id_and_actor(self):
        req = request_of("clients", "create-client", "--client.name", "Wuhan Institute",
                         "--client.owner-id", "u:zhao", "--client.tags", "a", "--client.tags",
                         "b", "--force", environ={"TRIAD_ACTOR": "u:ops"})
        self.assertTrue(req.request_id.startswith("triadctl-"))
        self.assertEqual(req.actor.id, "u:ops")
        self.assertEqual(list(req.client.tags), ["a", "b"])
        self.assertTrue(req.force)
        again = request_of("clients", "create-client", "--client.name", "X",
                           "--request-id", "r-1", "--actor", "u:li", "--reason", "import")
        self.assertEqual(again.request_id, "r-1")
        self.assertEqual((again.actor.id, again.actor.reason), ("u:li", "import"))

    def test_reason_field_of_the_request_wins_and_feeds_the_actor(self):
        req = request_of("pipeline", "advance-stage", "--opportunity-id", "o1",
                         "--target-stage", "lead", "--reason", "client paused")
        self.assertEqual(req.reason, "client paused")
        self.assertEqual(req.actor.reason, "client paused")

    def test_json_then_flags_and_update_mask(self):
        req = request_of("clients", "update-client", "--json",
                         '{"client": {"clientId": "c1", "phone": "1"}, "etag": "3"}',
                         "--client.notes", "moved", "--client.region", "Hubei")
        self.assertEqual(req.client.client_id, "c1")
        self.assertEqual(req.client.notes, "moved")
        self.assertEqual(req.etag, "3")
        self.assertEqual(sorted(req.update_mask.paths), ["notes", "region"])
        req = request_of("clients", "update-client", "--client.client-id", "c1",
                         "--client.phone", "2", "--update-mask", "phone,email")
        self.assertEqual(list(req.update_mask.paths), ["phone", "email"])

    def test_timestamp_money_and_map_flags(self):
        req = request_of("pipeline", "create-opportunity", "--client-id", "c1", "--title", "T",
                         "--value", "1,200,000.50 CNY", "--expected-close", "+3d",
                         "--desired-delivery", "2027-03-01", "--fields", "k=v", "--fields",
                         "a=b=c")
        self.assertEqual((req.value.amount_minor, req.value.currency), (120000050, "CNY"))
        self.assertEqual(req.expected_close.ToDatetime(), (NOW + datetime.timedelta(days=3))
                         .replace(tzinfo=None))
        self.assertEqual(req.desired_delivery.ToDatetime(), datetime.datetime(2027, 3, 1))
        self.assertEqual(dict(req.fields), {"k": "v", "a": "b=c"})

    def test_value_parsers(self):
        self.assertEqual(fields.parse_time("2026-12-01T09:30:00+08:00", NOW),
                         datetime.datetime(2026, 12, 1, 1, 30, tzinfo=datetime.timezone.utc))
        self.assertEqual(fields.parse_time("-2w", NOW), NOW - datetime.timedelta(weeks=2))
        self.assertEqual(fields.parse_time("+12h", NOW), NOW + datetime.timedelta(hours=12))
        self.assertEqual(fields.parse_money("CNY 12"), (1200, "CNY"))
        for bad in ("tomorrow", "2026-13-01", "2026-12-01T10:00:00"):
            with self.assertRaises(ValueError, msg=bad):
                fields.parse_time(bad, NOW)
        with self.assertRaises(ValueError):
            fields.parse_money("12.345 CNY")

    def test_flags_are_not_abbreviated(self):
        import contextlib
        import io

        with contextlib.redirect_stderr(io.StringIO()) as err:
            with self.assertRaises(SystemExit) as cm:
                parse("clients", "list-clients", "--owner", "u:zhao")
        self.assertEqual(cm.exception.code, 2)
        self.assertIn("unrecognized arguments: --owner", err.getvalue())

    def test_bad_value_is_a_usage_error_naming_the_flag(self):
        with self.assertRaises(UsageError) as cm:
            request_of("clients", "list-clients", "--status", "shiny")
        self.assertIn("--status", str(cm.exception))
        self.assertIn("VERIFIED", str(cm.exception))
        with self.assertRaises(UsageError) as cm:
            request_of("clients", "list-clients", "--page-size", "ten")
        self.assertIn("--page-size", str(cm.exception))
        with self.assertRaises(UsageError) as cm:
            request_of("clients", "list-clients", "--json", "{not json")
        self.assertIn("--json", str(cm.exception))


def status_trailer(code, message, *details):
    st = errors.rpc_class("Status")(code=code, message=message)
    for d in details:
        st.details.add().Pack(d)
    return (("grpc-status-details-bin", st.SerializeToString()),)


class ErrorTest(unittest.TestCase):
    def test_bad_request_details_name_each_field(self):
        br = errors.rpc_class("BadRequest")()
        v = br.field_violations.add(field="client.name", description="required")
        br.field_violations.add(field="client.owner_id", description="at most 200 bytes")
        self.assertTrue(v)
        text = errors.render("INVALID_ARGUMENT", "client.name: required",
                             status_trailer(3, "client.name: required", br))
        self.assertEqual(text.splitlines(), [
            "error: INVALID_ARGUMENT: client.name: required",
            "  field client.name: required",
            "  field client.owner_id: at most 200 bytes"])

    def test_precondition_and_error_info_details(self):
        pf = errors.rpc_class("PreconditionFailure")()
        pf.violations.add(type="CHECKPOINT", subject="proposal.client_brief",
                          description="checklist item not ticked")
        info = errors.rpc_class("ErrorInfo")(reason="STAGE_GATE", domain="triad.pipeline")
        info.metadata["stage"] = "proposal"
        text = errors.render("FAILED_PRECONDITION", "cannot leave stage proposal",
                             status_trailer(9, "x", pf, info))
        self.assertIn("  precondition CHECKPOINT proposal.client_brief: checklist item not "
                      "ticked", text)
        self.assertIn("  reason STAGE_GATE (triad.pipeline): stage=proposal", text)

    def test_message_grammar_without_details(self):
        self.assertEqual(errors.render("INVALID_ARGUMENT", "client.owner_id: required"),
                         "error: INVALID_ARGUMENT: client.owner_id: required\n"
                         "  field client.owner_id: required")
        text = errors.render("FAILED_PRECONDITION", "cannot leave stage concept: 2 open "
                             "checkpoint(s): concept.expert_review (review gate); "
                             "concept.brief (checklist item)")
        self.assertIn("  open checkpoint concept.expert_review (review gate)", text)
        self.assertIn("  open checkpoint concept.brief (checklist item)", text)
        self.assertEqual(errors.render("NOT_FOUND", "client c9"), "error: NOT_FOUND: client c9")

    def test_broken_trailer_is_ignored_and_codes_map_to_exit_status(self):
        text = errors.render("INTERNAL", "boom", (("grpc-status-details-bin", b"\xff\x00"),))
        self.assertEqual(text, "error: INTERNAL: boom")
        self.assertEqual(errors.exit_code("UNAVAILABLE"), 3)
        self.assertEqual(errors.exit_code("INVALID_ARGUMENT"), 1)


class OutputTest(unittest.TestCase):
    def test_list_table_and_key_values(self):
        resp = msg("triad.clients.v1.ListClientsResponse", next_page_token="tok")
        resp.clients.add(client_id="c1", name="Wuhan Institute", owner_id="u:zhao", status=2)
        resp.clients.add(client_id="c2", name="Hubei Hospital", owner_id="u:li", tags=["a", "b"])
        text = output.render_table(resp, width=200)
        lines = text.splitlines()
        self.assertEqual(lines[0].split(), ["CLIENT_ID", "NAME", "OWNER_ID", "STATUS", "TAGS"])
        self.assertIn("c1         Wuhan Institute  u:zhao    VERIFIED", lines[1])
        self.assertTrue(lines[2].rstrip().endswith("a,b"))
        narrow = output.render_table(resp, width=30)
        self.assertIn("more column(s) not shown", narrow)
        picked = output.render_table(resp, width=200, columns=["status", "client_id"])
        self.assertEqual(picked.splitlines()[:2], ["STATUS    CLIENT_ID", "VERIFIED  c1"])
        with self.assertRaises(UsageError) as cm:
            output.render_table(resp, columns=["colour"])
        self.assertIn("Client has no field colour", str(cm.exception))
        kv = output.key_values(resp.clients[0])
        self.assertIn("client_id: c1", kv)
        self.assertIn("status   : VERIFIED", kv)
        self.assertIn('"clientId": "c1"', output.to_json(resp))

    def test_resource_prints_fields_then_its_lists(self):
        p = msg("triad.production.v1.Project", project_id="p1", title="Hospital")
        ph = p.phases.add(phase_id="ph1", name="scheme design", effort_hours=75)
        ph.allocations.add(date="2026-11-30", hours=8)
        ph.allocations.add(date="2026-12-01", hours=4)
        lines = output.render_table(p, width=200).splitlines()
        self.assertEqual(lines[:3], ["project_id: p1", "title     : Hospital", "phases:"])
        self.assertEqual(lines[3].split(), ["PHASE_ID", "NAME", "EFFORT_HOURS"])
        self.assertEqual(lines[4].split(), ["ph1", "scheme", "design", "75"])
        kv = output.key_values(ph)
        self.assertIn("allocations : date=2026-11-30 hours=8, date=2026-12-01 hours=4", kv)


def funnel_report():
    r = msg("triad.pipeline.v1.FunnelReport", won_count=1, lost_count=1, win_rate=0.5)
    r.start_time.FromDatetime(datetime.datetime(2026, 9, 1))
    r.end_time.FromDatetime(datetime.datetime(2026, 11, 30))
    for step, count in (("signal", 40), ("lead", 4), ("opportunity", 2)):
        r.steps.add(step=step, count=count)
    r.steps[2].values.add(currency="CNY", value_minor=120000000)
    r.ratios.add(from_step="signal", to_step="lead", actual_ratio=10, target_ratio=5)
    r.ratios.add(from_step="lead", to_step="opportunity", actual_ratio=2, target_ratio=4)
    return r


class ViewTest(unittest.TestCase):
    def test_funnel_bars_and_target_markers(self):
        text = funnel.render(funnel_report(), width=40, charset="ascii")
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("Funnel 2026-09-01 .. 2026-11-30"))
        signal = next(l for l in lines if l.startswith("signal"))
        lead = next(l for l in lines if l.startswith("lead"))
        opp = next(l for l in lines if l.startswith("opportunity"))
        bar_at = signal.index("#")
        self.assertEqual(signal[bar_at:].rstrip(), "#" * 40)
        # lead: 4 of 40 -> 4 cells; target 40 / 5 = 8 -> marker at cell 8.
        self.assertEqual(lead[bar_at:bar_at + 9], "####    |")
        self.assertIn("8 (5 signal per lead; actual 10): below target", lead)
        # opportunity: 2 cells; target 4 / 4 = 1 -> the marker over the bar's second cell.
        self.assertEqual(opp[bar_at:bar_at + 3], "#| ")
        self.assertIn("1 (4 lead per opportunity; actual 2): on target", opp)
        self.assertIn("1,200,000.00 CNY", opp)
        self.assertIn("won 1, lost 1, win rate 50%", text)
        uni = funnel.render(funnel_report(), width=40)
        self.assertIn("█" * 40, uni)
        self.assertEqual(funnel.bar(1, 16, 2), "▏")

    def test_load_table_marks_over_capacity(self):
        v = msg("triad.review.v1.GetLoadViewResponse", max_load_ratio=1.25)
        v.experts.add(expert_id="u:zhou", capacity_hours=10, load_hours=12.5, load_ratio=1.25,
                      open_reviews=3, active=True, weekly_load_hours=[12.5, 0, 0])
        v.experts.add(expert_id="u:wu", capacity_hours=20, load_hours=4, load_ratio=0.2,
                      open_reviews=1, active=True, on_leave=True, weekly_load_hours=[0, 4, 0])
        v.domains.add(domain="structural", experts=2, capacity_hours=30, load_hours=16.5,
                      min_load_ratio=0.2, max_load_ratio=1.25, queued=1)
        v.queue.length = 1
        v.queue.oldest_wait_hours = 5
        v.queue.mean_wait_hours = 5
        text = load.render(v, now=NOW)
        lines = text.splitlines()
        self.assertEqual(lines[1].split(), ["EXPERT", "11-29", "12-06", "12-13", "OPEN/CAP",
                                            "REVIEWS", "STATE"])
        zhou = next(l for l in lines if l.startswith("u:zhou"))
        self.assertEqual(zhou.split()[1:4], ["12.5/10!", "0/10", "0/10"])
        self.assertIn("12.5/10! 125%", zhou)
        wu = next(l for l in lines if l.startswith("u:wu"))
        self.assertEqual(wu.split()[1:4], ["0/20", "4/20", "0/20"])
        self.assertTrue(wu.endswith("on leave"))
        self.assertNotIn("!", wu)
        self.assertIn("queue: 1 waiting, oldest 5h, mean 5h; highest load ratio 125%", text)
        colored = load.render(v, now=NOW, color=True)
        self.assertIn(load.RED + "12.5/10!", colored)
        self.assertNotIn(load.RED, text)

    def test_gantt_draws_phases_per_resource_by_day(self):
        res = msg("triad.production.v1.Resource", resource_id="r1", display_name="Design team",
                  weekly_capacity_hours=40)
        p = msg("triad.production.v1.Project", project_id="p1", title="Hospital",
                due_date="2026-12-31", at_risk=True)
        # Monday 2026-11-30 .. Wednesday 2026-12-09 by range; the second phase by allocations.
        p.phases.add(phase_id="ph1", name="scheme", resource_id="r1",
                     planned_start_date="2026-11-30", planned_end_date="2026-12-09", state=2)
        ph2 = p.phases.add(phase_id="ph2", name="drawings", resource_id="r1", state=1)
        ph2.allocations.add(date="2026-12-10", hours=8)
        ph2.allocations.add(date="2026-12-11", hours=8)
        p.phases.add(phase_id="ph3", name="sign-off", unschedulable_reason="no resource with "
                     "skill structural")
        u1 = msg("triad.production.v1.UtilisationRow", resource_id="r1",
                 week_start_date="2026-11-30", allocated_hours=40, capacity_hours=40)
        u2 = msg("triad.production.v1.UtilisationRow", resource_id="r1",
                 week_start_date="2026-12-07", allocated_hours=48, capacity_hours=40,
                 over_allocated=True)
        text = gantt.render([p], [res], [u1, u2], datetime.date(2026, 11, 30), 3, "ascii")
        lines = text.splitlines()
        self.assertEqual(lines[1].split(), ["11-30", "12-07", "12-14"])
        self.assertEqual(lines[2], "Design team (r1) 40h/wk")
        self.assertEqual(lines[3].split(), ["load", "100%", "120%!", "-"])
        col = lines[1].index("11-30")
        scheme = next(l for l in lines if "scheme" in l)
        self.assertEqual(scheme[col:col + 17], "===== ===        ")
        drawings = next(l for l in lines if "drawings" in l)
        self.assertEqual(drawings[col:col + 17], "         ##      ")
        self.assertIn("due 2026-12-31 AT RISK", drawings)
        self.assertIn("  Hospital sign-off: no resource with skill structural", text)

    def test_import_splits_numbers_and_merges(self):
        data = ('\ufeffname,owner_id,notes\nA,u:1,"two\nlines"\n\n , \nB,u:1,x\nC,,y\n'
                .encode("utf-8"))
        header, recs = importcsv.read_csv(data)
        self.assertEqual(header, ["name", "owner_id", "notes"])
        self.assertEqual([(r.cells[0], r.row, r.line) for r in recs],
                         [("A", 1, 2), ("B", 2, 6), ("C", 3, 7)])
        chunks = [recs[0:2], recs[2:3]]
        self.assertEqual(importcsv.chunk_csv(header, chunks[1]), b"name,owner_id,notes\nC,,y\n")
        self.assertIn(b'"two\nlines"', importcsv.chunk_csv(header, chunks[0]))
        ids = importcsv.request_ids(data, "", False, 2, 2)
        self.assertEqual(ids, importcsv.request_ids(data, "", False, 2, 2))
        self.assertNotEqual(ids[0], ids[1])
        self.assertNotEqual(ids, importcsv.request_ids(data, "", True, 2, 2))
        self.assertLessEqual(len(ids[0]), 128)
        r1 = msg("triad.clients.v1.ImportClientsCsvResponse", created=2)
        r1.rows.add(row=1, outcome=1, client_id="c1")
        r1.rows.add(row=2, outcome=1, client_id="c2")
        r2 = msg("triad.clients.v1.ImportClientsCsvResponse", invalid=1)
        r2.rows.add(row=1, outcome=3, error="owner_id: required")
        merged, lines = importcsv.merge([r1, r2], chunks)
        self.assertEqual([r.row for r in merged.rows], [1, 2, 3])
        self.assertEqual((merged.created, merged.invalid), (2, 1))
        report = importcsv.render_report(merged, lines, errors_only=True)
        row = report.splitlines()[1].split()
        self.assertEqual(row[:3], ["3", "7", "INVALID"])
        self.assertIn("imported 3 row(s): 2 created, 0 duplicate(s), 1 invalid", report)
        with self.assertRaises(UsageError):
            importcsv.read_csv(b"\xff\xfe")

    def test_progress_lines_when_not_a_terminal(self):
        import io

        buf = io.StringIO()
        p = importcsv.Progress(5, stream=buf)
        p.update(2)
        p.update(5)
        self.assertEqual(buf.getvalue(), "rows 2/5\nrows 5/5\n")

        class Tty(io.StringIO):
            def isatty(self):
                return True

        tty = Tty()
        p = importcsv.Progress(4, stream=tty, width=8)
        p.update(1)
        p.update(4)
        self.assertEqual(tty.getvalue(), "\r[##......] 1/4 rows\r[########] 4/4 rows\n")


class OpsTest(unittest.TestCase):
    def test_restore_needs_triad_store(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(CommandError) as cm:
                ops.find_triad_store(environ={"PATH": d}, build_dirs=[d])
            self.assertIn("triad-store not found", str(cm.exception))
            binary = os.path.join(d, ops.TRIAD_STORE_BUILD)
            os.makedirs(os.path.dirname(binary))
            with open(binary, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(binary, 0o755)
            self.assertEqual(ops.find_triad_store(environ={"PATH": ""}, build_dirs=[d]), binary)
        args = parse("backup", "restore", "--service", "clients", "--backup-id", "3",
                     "--data-dir", "/var/triad/clients/")
        self.assertEqual(ops.restore_command("ts", args), [
            "ts", "restore", "--backup_dir=/var/triad/clients-backups",
            "--data_dir=/var/triad/clients/", "--backup_id=3"])

    def test_dlq_hands_its_flags_to_triad_dlq(self):
        args = parse("dlq", "redrive", "--topic", "t.dlq", "--all", "--dry-run")
        self.assertIs(args.run, ops.run_dlq)
        self.assertEqual(args.rest, ["--topic", "t.dlq", "--all", "--dry-run"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CommandTest(unittest.TestCase):
    def run_ctl(self, *argv):
        env = dict(os.environ, TRIAD_CLIENTS_ADDR="127.0.0.1:%d" % free_port())
        return subprocess.run([sys.executable, TRIADCTL] + list(argv), capture_output=True,
                              text=True, env=env, timeout=120)

    def test_usage_error_exits_2(self):
        r = self.run_ctl("clients", "list-clients", "--status", "shiny")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--status: 'shiny' is not one of", r.stderr)

    def test_unavailable_service_exits_3(self):
        r = self.run_ctl("clients", "get-client", "--client-id", "c1", "--deadline", "3s")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("error: UNAVAILABLE", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
