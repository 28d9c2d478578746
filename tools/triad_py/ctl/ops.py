"""Operator commands: dead letters, backups and the outbox quarantine.

  triadctl dlq list|redrive ...           tools/triad-dlq itself (its own flags; see
                                          `triadctl dlq list --help`)
  triadctl backup create|list|delete --service S      AdminService of service S
  triadctl backup restore --service S --backup-id N --data-dir X [--backup-dir D] [--force]
                                          the offline `triad-store restore` (service stopped)
  triadctl quarantine list|requeue --service S        AdminService of service S

The AdminService methods are looked up by name in the service's group, wherever the catalog
found them (triad.admin.v1.AdminService today).
"""
import argparse
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import uuid

from triad_py import REPO_ROOT
from triad_py.ctl import CommandError, catalog, output

TRIAD_DLQ = os.path.join(REPO_ROOT, "tools", "triad-dlq")
TRIAD_STORE_BUILD = os.path.join("tools", "triad-store", "triad-store")


def _load_triad_dlq():
    """tools/triad-dlq as a module (its file name is not importable as is)."""
    loader = importlib.machinery.SourceFileLoader("triad_dlq_cli", TRIAD_DLQ)
    spec = importlib.util.spec_from_loader("triad_dlq_cli", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run_dlq(ctx, args):
    """Hands the command line to tools/triad-dlq (list and redrive are its code)."""
    return _load_triad_dlq().main([args.dlq_command] + list(args.rest))


def find_triad_store(environ=None, build_dirs=None):
    """The triad-store binary: $TRIAD_STORE_BIN, build/tools/triad-store/triad-store (or that
    path under $TRIAD_BUILD_DIR), else triad-store on PATH; CommandError when none exists."""
    environ = os.environ if environ is None else environ
    tried = []
    explicit = environ.get("TRIAD_STORE_BIN")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise CommandError("TRIAD_STORE_BIN=%s is not an executable file" % explicit)
    if build_dirs is None:
        build_dirs = [d for d in (environ.get("TRIAD_BUILD_DIR"),
                                  os.path.join(REPO_ROOT, "build")) if d]
    for d in build_dirs:
        path = os.path.join(d, TRIAD_STORE_BUILD)
        tried.append(path)
        if os.access(path, os.X_OK):
            return path
    on_path = shutil.which("triad-store", path=environ.get("PATH"))
    if on_path:
        return on_path
    raise CommandError("triad-store not found (tried %s and PATH): build it (make build) or set "
                       "TRIAD_STORE_BIN" % ", ".join(tried))


def restore_command(binary, args):
    """The triad-store command line of `backup restore`."""
    backup_dir = args.backup_dir or args.data_dir.rstrip("/") + "-backups"
    cmd = [binary, "restore", "--backup_dir=" + backup_dir, "--data_dir=" + args.data_dir]
    if args.backup_id is not None:
        cmd.append("--backup_id=%d" % args.backup_id)
    if args.force:
        cmd.append("--force")
    return cmd


def run_restore(ctx, args):
    cmd = restore_command(find_triad_store(), args)
    print("restoring %s: %s" % (args.service, " ".join(cmd)), file=sys.stderr)
    rc = subprocess.call(cmd)
    if rc != 0:
        raise CommandError("triad-store restore failed (exit %d)" % rc)
    return 0


def _admin(ctx, args, name, **fields):
    m = ctx.method(args.service, name)
    req = m.request_cls(**fields)
    if name.startswith("List"):
        resp = ctx.call_all(m, req, follow=args.all)
    else:
        resp = ctx.call(m, req)
    print(output.render(resp, ctx.output))
    if getattr(resp, "next_page_token", "") and ctx.output != "json":
        print("next page: --page-token %s (or --all for every page)" % resp.next_page_token)
    return 0


def run_backup_create(ctx, args):
    return _admin(ctx, args, "CreateBackup", keep_last=args.keep_last,
                  request_id=args.request_id or "triadctl-" + uuid.uuid4().hex)


def run_backup_list(ctx, args):
    return _admin(ctx, args, "ListBackups", page_size=args.page_size,
                  page_token=args.page_token or "")


def run_backup_delete(ctx, args):
    rc = _admin(ctx, args, "DeleteBackup", backup_id=args.backup_id)
    print("deleted backup %d of %s" % (args.backup_id, args.service), file=sys.stderr)
    return rc


def run_quarantine_list(ctx, args):
    return _admin(ctx, args, "ListQuarantinedEvents", page_size=args.page_size,
                  page_token=args.page_token or "")


def run_quarantine_requeue(ctx, args):
    rc = _admin(ctx, args, "RequeueQuarantinedEvent", sequence=args.sequence)
    print("requeued event %d of %s" % (args.sequence, args.service), file=sys.stderr)
    return rc


def _service_flag(p):
    p.add_argument("--service", required=True, choices=catalog.SERVICES,
                   help="the service whose AdminService is called")


def _list_flags(p):
    p.add_argument("--page-size", type=int, default=0, help="items per page (server default)")
    p.add_argument("--page-token", help="the page to start at")
    p.add_argument("--all", action="store_true", help="follow every page")


def add_parsers(groups, parents):
    """Adds the dlq, backup and quarantine groups."""
    g = groups.add_parser("dlq", help="dead letters: list, redrive (tools/triad-dlq)",
                          description="Dead-letter topics, through tools/triad-dlq.")
    cmds = g.add_subparsers(dest="dlq_command", metavar="<command>", required=True)
    for name, what in (("list", "list the dead letters of a <topic>.dlq"),
                       ("redrive", "re-publish dead letters to their original topic")):
        p = cmds.add_parser(name, help=what, add_help=False, prefix_chars="\0")
        p.add_argument("rest", nargs=argparse.REMAINDER,
                       help="triad-dlq %s flags (triadctl dlq %s --help)" % (name, name))
        p.set_defaults(run=run_dlq)

    g = groups.add_parser("backup", help="online backups (AdminService) and offline restore",
                          description="Backups of a service's store.")
    cmds = g.add_subparsers(dest="backup_command", metavar="<command>", required=True)
    p = cmds.add_parser("create", parents=parents, help="take an online backup now")
    _service_flag(p)
    p.add_argument("--keep-last", type=int, default=0,
                   help="keep at most N backups after this one (0: all)")
    p.add_argument("--request-id", help="idempotency key (default: a fresh one)")
    p.set_defaults(run=run_backup_create)
    p = cmds.add_parser("list", parents=parents, help="list backups, newest first")
    _service_flag(p)
    _list_flags(p)
    p.set_defaults(run=run_backup_list)
    p = cmds.add_parser("delete", parents=parents, help="delete one backup")
    _service_flag(p)
    p.add_argument("--backup-id", type=int, required=True)
    p.set_defaults(run=run_backup_delete)
    p = cmds.add_parser(
        "restore", parents=parents,
        help="restore a backup into a data directory (offline: the service must be stopped)",
        description="Runs `triad-store restore` (found as $TRIAD_STORE_BIN, "
        "build/tools/triad-store/triad-store or on PATH). The service must be stopped; "
        "restart it on the data directory afterwards.")
    _service_flag(p)
    p.add_argument("--backup-id", type=int, help="the backup (default: the newest)")
    p.add_argument("--data-dir", required=True, help="the service's data directory")
    p.add_argument("--backup-dir", help="the backup directory (default <data-dir>-backups)")
    p.add_argument("--force", action="store_true",
                   help="restore over a non-empty data directory (triad-store moves it aside)")
    p.set_defaults(run=run_restore)

    g = groups.add_parser("quarantine", help="outbox events Kafka refused (AdminService)",
                          description="The outbox quarantine of a service.")
    cmds = g.add_subparsers(dest="quarantine_command", metavar="<command>", required=True)
    p = cmds.add_parser("list", parents=parents, help="list quarantined events, oldest first")
    _service_flag(p)
    _list_flags(p)
    p.set_defaults(run=run_quarantine_list)
    p = cmds.add_parser("requeue", parents=parents,
                        help="move one quarantined event back into the outbox")
    _service_flag(p)
    p.add_argument("--sequence", type=int, required=True, help="its outbox sequence number")
    p.set_defaults(run=run_quarantine_requeue)
