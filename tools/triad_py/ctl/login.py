"""Development identities: `triadctl login`, `dev-token`, `whoami` and `logout`.

    triadctl login --as u:zhao --roles sales --teams firm-a.east   # stores .triad/token (0600)
    triadctl dev-token --as u:ops --roles operator                 # prints a token
    triadctl whoami                                                # who the stored token names
    triadctl logout

login and dev-token mint tokens with the signing key of the dev PKI (`make run` writes it into
.triad/pki; --pki-dir or $TRIAD_PKI_DIR name another): development only, a real deployment's
tokens come from its identity provider (store one with `login --token-file FILE`, or pass it
with --token-file / $TRIAD_TOKEN). No command prints a stored token.
"""
import os
import sys
import time

from triad_py import auth
from triad_py.ctl import UsageError


def _ttl(text):
    """Seconds from "3600", "90m", "8h" or "2d"."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip()
    try:
        if t and t[-1] in units:
            v = float(t[:-1]) * units[t[-1]]
        else:
            v = float(t)
    except ValueError:
        v = 0
    if v <= 0:
        raise UsageError("--ttl: %r is not a duration (e.g. 8h, 90m, 3600)" % text)
    return int(v)


def _csv(values):
    out = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def add_parsers(groups, parents):
    """Adds login, dev-token, whoami and logout to the top-level subparsers."""
    for name, helptext in (("login", "mint a dev token and store it in .triad/token (0600), "
                            "or store a token given in a file"),
                           ("dev-token", "mint a dev token and print it (for scripts)")):
        p = groups.add_parser(name, parents=parents, help=helptext, description=__doc__)
        p.add_argument("--as", dest="subject", metavar="SUB",
                       help="the person or service account (the token's sub, the actor of "
                       "every change), e.g. u:zhao")
        p.add_argument("--roles", action="append", metavar="ROLE[,ROLE]",
                       help="role names: %s" % ", ".join(auth.ROLES))
        p.add_argument("--teams", action="append", metavar="TEAM[,TEAM]", help="team ids")
        p.add_argument("--ttl", default="8h", help="validity (default 8h)")
        p.add_argument("--pki-dir", metavar="DIR",
                       help="the dev PKI (default $TRIAD_PKI_DIR, else .triad/pki)")
        if name == "login":
            p.add_argument("--from-file", dest="from_file", metavar="FILE",
                           help="store the token in FILE (e.g. one from your identity "
                           "provider) instead of minting one")
        p.set_defaults(run=run_login if name == "login" else run_dev_token)
    p = groups.add_parser("whoami", parents=parents,
                          help="the subject, roles, teams and expiry of the stored token")
    p.set_defaults(run=run_whoami)
    p = groups.add_parser("logout", parents=parents, help="remove the stored token")
    p.set_defaults(run=run_logout)


def _mint(args):
    if not args.subject:
        raise UsageError("--as: required (the token's subject, e.g. u:zhao)")
    roles = _csv(args.roles)
    if not roles:
        raise UsageError("--roles: at least one of %s" % ", ".join(auth.ROLES))
    unknown = [r for r in roles if r not in auth.ROLES]
    if unknown:
        raise UsageError("--roles: unknown role %s (known: %s)" % (", ".join(unknown),
                                                                   ", ".join(auth.ROLES)))
    pki = auth.DevPki(args.pki_dir or auth.dev_pki_dir())
    if not os.path.isfile(pki.signing_key):
        raise UsageError("no dev signing key at %s: run `make run` (or scripts/dev-pki.sh %s) "
                         "first; with a real identity provider use `login --from-file`"
                         % (pki.signing_key, pki.root))
    return pki.token(args.subject, roles, _csv(args.teams), ttl_s=_ttl(args.ttl))


def _describe(token):
    c = auth.token_claims(token)
    left = int(c.get("exp", 0) - time.time())
    return "%s, roles %s, teams %s, %s" % (
        c.get("sub", "?"), ",".join(c.get("roles") or []) or "-",
        ",".join(c.get("teams") or []) or "-",
        "expires in %dh%02dm" % (left // 3600, left % 3600 // 60) if left > 0 else "EXPIRED")


def run_login(ctx, args):
    path = getattr(args, "token_file", None) or auth.token_file_default()
    if getattr(args, "from_file", None):
        try:
            token = auth.read_file(args.from_file).decode().strip()
        except OSError as e:
            raise UsageError("--from-file: %s: %s" % (args.from_file, e.strerror))
        if not token:
            raise UsageError("--from-file: %s is empty" % args.from_file)
    else:
        token = _mint(args)
    auth.write_token(path, token)
    print("logged in as %s; token stored in %s" % (_describe(token), path))
    return 0


def run_dev_token(ctx, args):
    sys.stdout.write(_mint(args) + "\n")
    return 0


def run_whoami(ctx, args):
    tok = ctx.security.token
    if not tok:
        print("no token (use `triadctl login`, --token-file or $TRIAD_TOKEN)")
        return 1
    print(_describe(tok))
    return 0


def run_logout(ctx, args):
    path = getattr(args, "token_file", None) or auth.token_file_default()
    try:
        os.remove(path)
        print("removed %s" % path)
    except FileNotFoundError:
        print("no token stored at %s" % path)
    return 0
