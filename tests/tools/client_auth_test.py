#!/usr/bin/env python3
"""Unit test of the client side of authentication (no broker, no Triad service):
scripts/dev-pki.sh (files, modes, idempotence, SANs, chain), triad_py.auth (tokens verified
with the public key the servers get, TLS channels with the dev CA, client certificates and
bearer credentials against an in-process gRPC health server, ActorTokens, ClientConfig's
precedence), triad_py.jwks (an identity provider's JWKS to PEM files per kid) and
`triadctl login / dev-token / whoami` (token stored 0600, never printed; a request needs no
--actor when a token is sent).

Run: python3 tests/tools/client_auth_test.py
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent import futures

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENV_SOURCE = os.environ.get("TRIAD_SOURCE_DIR", "")
if _ENV_SOURCE and os.path.isdir(os.path.join(_ENV_SOURCE, "tools", "triad_py")):
    SOURCE_DIR = _ENV_SOURCE
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))

import triad_py  # noqa: E402

triad_py.ensure_python(("grpc", "google.protobuf", "grpc_tools", "jwt", "cryptography"))

import grpc  # noqa: E402
import jwt  # noqa: E402

from triad_py import auth, rpc, stubs  # noqa: E402

TRIADCTL = os.path.join(SOURCE_DIR, "tools", "triadctl")
DIR = None
PKI = None


def setUpModule():
    global DIR, PKI
    DIR = tempfile.mkdtemp(prefix="triad-auth-unit-")
    PKI = auth.DevPki.ensure(os.path.join(DIR, "pki"), clients=["svc-x"])


def tearDownModule():
    shutil.rmtree(DIR, ignore_errors=True)


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True)


def public_key():
    with open(os.path.join(PKI.jwt_keys_dir, "dev.pem"), "rb") as f:
        return f.read()


class DevPkiTest(unittest.TestCase):
    def test_files_modes_and_chain(self):
        for name in ("ca.key", "server.key", "client-demo.key", "client-svc-x.key",
                     "jwt-signing/dev.key"):
            mode = stat.S_IMODE(os.stat(os.path.join(PKI.root, name)).st_mode)
            self.assertEqual(mode, 0o600, name)
        self.assertEqual(open(os.path.join(PKI.root, "issuer")).read().strip(),
                         "https://triad.local/dev")
        for cert in ("server.pem", "client-demo.pem", "client-svc-x.pem"):
            r = openssl("verify", "-CAfile", PKI.ca, os.path.join(PKI.root, cert))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        san = openssl("x509", "-in", PKI.server_cert, "-noout", "-ext", "subjectAltName").stdout
        for name in ("DNS:localhost", "IP Address:127.0.0.1", "DNS:triad-clients",
                     "DNS:triad-pipeline.triad.svc.cluster.local", "DNS:triad-review.triad-dev",
                     "DNS:triad-production"):
            self.assertIn(name, san)
        subject = openssl("x509", "-in", os.path.join(PKI.root, "client-svc-x.pem"), "-noout",
                          "-subject").stdout
        self.assertIn("CN = svc-x", subject)

    def test_rerun_keeps_every_file(self):
        def snapshot():
            out = {}
            for base, _, files in os.walk(PKI.root):
                for f in files:
                    with open(os.path.join(base, f), "rb") as fh:
                        out[os.path.join(base, f)] = fh.read()
            return out
        before = snapshot()
        auth.DevPki.ensure(PKI.root, clients=["svc-x"])
        self.assertEqual(snapshot(), before)

    def test_bad_client_name_is_refused(self):
        r = subprocess.run([auth.DEV_PKI_SCRIPT, os.path.join(DIR, "other"), "../x"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("client name", r.stderr)


class TokenTest(unittest.TestCase):
    def test_token_verifies_with_the_public_key(self):
        tok = PKI.token("u:zhao", ["sales", "sales_manager"], ["t1"], ttl_s=600)
        header = jwt.get_unverified_header(tok)
        self.assertEqual((header["alg"], header["kid"]), ("RS256", "dev"))
        claims = jwt.decode(tok, public_key(), algorithms=["RS256"], audience="triad",
                            issuer="https://triad.local/dev")
        self.assertEqual(claims["sub"], "u:zhao")
        self.assertEqual(claims["roles"], ["sales", "sales_manager"])
        self.assertEqual(claims["teams"], ["t1"])
        self.assertLessEqual(abs(claims["exp"] - time.time() - 600), 5)
        self.assertLessEqual(claims["nbf"], time.time())

    def test_expired_and_foreign_tokens_do_not_verify(self):
        old = PKI.token("u:a", ["sales"], now=time.time() - 7200, ttl_s=60)
        with self.assertRaises(jwt.ExpiredSignatureError):
            jwt.decode(old, public_key(), algorithms=["RS256"], audience="triad")
        other = auth.DevPki.ensure(os.path.join(DIR, "other-pki"))
        forged = other.token("u:a", ["operator"])
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(forged, public_key(), algorithms=["RS256"], audience="triad")

    def test_ec_key_signs_es256(self):
        key = os.path.join(PKI.root, "ca.key")  # an EC P-256 key
        tok = auth.mint_token(open(key, "rb").read(), "u:b", ["expert"], kid="ec")
        self.assertEqual(jwt.get_unverified_header(tok)["alg"], "ES256")


class _Health(object):
    """An in-process gRPC health server over TLS that records each call's bearer token and
    client certificate subject."""

    def __init__(self, require_client_cert=False):
        s = stubs.load()
        mod = s.module("triad.testing.v1.health_service_pb2_grpc")
        self.seen = []
        seen = self.seen

        class Servicer(mod.HealthServicer):
            def Check(self, request, context):
                md = dict(context.invocation_metadata())
                cn = context.auth_context().get("x509_common_name", [b""])
                seen.append((md.get("authorization"), cn[0].decode() if cn else ""))
                return s.health.HealthCheckResponse(status=s.health.HealthCheckResponse.SERVING)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        mod.add_HealthServicer_to_server(Servicer(), self.server)
        creds = grpc.ssl_server_credentials(
            [(open(PKI.server_key, "rb").read(), open(PKI.server_cert, "rb").read())],
            root_certificates=open(PKI.ca, "rb").read(),
            require_client_auth=require_client_cert)
        self.address = "127.0.0.1:%d" % self.server.add_secure_port("127.0.0.1:0", creds)
        self.server.start()

    def check(self, security):
        s = stubs.load()
        with rpc.channel(self.address, security) as ch:
            s.HealthStub(ch).Check(s.health.HealthCheckRequest(), timeout=5)
        return self.seen[-1]

    def stop(self):
        self.server.stop(0)


class ChannelTest(unittest.TestCase):
    def setUp(self):
        self.health = _Health()
        self.addCleanup(self.health.stop)

    def test_tls_with_token(self):
        tok = PKI.token("u:zhao", ["sales"])
        self.assertEqual(self.health.check(auth.ClientConfig(PKI.ca, tok)),
                         ("Bearer " + tok, ""))
        self.assertEqual(rpc.wait_serving(self.health.address, 5, security=PKI) >= 0, True)

    def test_client_certificate_for_mtls(self):
        mtls = _Health(require_client_cert=True)
        self.addCleanup(mtls.stop)
        cert, key = PKI.client_cert("svc-x")
        self.assertEqual(mtls.check(auth.ClientConfig(PKI.ca, None, cert, key)),
                         (None, "svc-x"))
        self.assertEqual(rpc.health_status(mtls.address, security=PKI), "UNAVAILABLE")

    def test_a_foreign_ca_does_not_connect(self):
        other = auth.DevPki.ensure(os.path.join(DIR, "other-pki"))
        self.assertEqual(rpc.health_status(self.health.address, security=other), "UNAVAILABLE")

    def test_actor_tokens_follow_the_request_actor(self):
        roles = {"u:gao": (["expert"], [])}
        at = auth.ActorTokens(PKI, lambda sub: roles.get(sub, (["operator"], [])), "u:ops")
        s = stubs.load()
        with at.channel(self.health.address) as ch:
            s.HealthStub(ch).Check(s.health.HealthCheckRequest(), timeout=5)
        claims = jwt.decode(self.health.seen[-1][0][len("Bearer "):], public_key(),
                            algorithms=["RS256"], audience="triad")
        self.assertEqual((claims["sub"], claims["roles"]), ("u:ops", ["operator"]))
        req = s.clients.CreateClientRequest(actor=s.common.Actor(id="u:gao"))
        self.assertEqual(at.subject_of(req), "u:gao")
        self.assertEqual(jwt.decode(at.token_for("u:gao"), public_key(), algorithms=["RS256"],
                                    audience="triad")["roles"], ["expert"])
        self.assertIs(at.token_for("u:gao"), at.token_for("u:gao"))

    def test_token_needs_tls(self):
        with self.assertRaises(ValueError):
            auth.ClientConfig(None, "x.y.z")


class ResolveTest(unittest.TestCase):
    def test_flags_then_environment_then_dev_pki(self):
        tok_file = os.path.join(DIR, "tok")
        auth.write_token(tok_file, "a.b.c")
        env = {"TRIAD_PKI_DIR": PKI.root, "TRIAD_TOKEN_FILE": tok_file}
        c = auth.ClientConfig.resolve(environ=env)
        self.assertEqual((c.ca_file, c.token), (PKI.ca, "a.b.c"))
        self.assertNotIn("a.b.c", repr(c))
        env["TRIAD_TOKEN"] = "d.e.f"
        self.assertEqual(auth.ClientConfig.resolve(environ=env).token, "d.e.f")
        self.assertEqual(auth.ClientConfig.resolve(token="g.h.i", environ=env).token, "g.h.i")
        plain = auth.ClientConfig.resolve(plaintext=True, environ=env)
        self.assertEqual((plain.ca_file, plain.token), (None, None))
        none = auth.ClientConfig.resolve(environ={"TRIAD_PKI_DIR": os.path.join(DIR, "none"),
                                                  "TRIAD_TOKEN_FILE": tok_file})
        self.assertEqual((none.ca_file, none.token), (None, None))
        with self.assertRaises(ValueError):
            auth.ClientConfig.resolve(tls_ca=os.path.join(DIR, "missing.pem"), environ={})


class JwksTest(unittest.TestCase):
    def test_jwks_keys_become_pem_per_kid(self):
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm, RSAAlgorithm
        from cryptography.hazmat.primitives import serialization
        from triad_py import jwks

        rsa_pub = serialization.load_pem_public_key(public_key())
        ec_priv = ec.generate_private_key(ec.SECP256R1())
        doc = {"keys": [
            dict(json_loads(RSAAlgorithm.to_jwk(rsa_pub)), kid="rsa-1", alg="RS256", use="sig"),
            dict(json_loads(ECAlgorithm.to_jwk(ec_priv)), kid="ec-1"),
            dict(json_loads(RSAAlgorithm.to_jwk(rsa_pub)), kid="enc-1", use="enc"),
            dict(json_loads(RSAAlgorithm.to_jwk(rsa_pub)), kid="../evil"),
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac-1"},
        ]}
        out = os.path.join(DIR, "jwks-out")
        written, skipped = jwks.convert(doc, out)
        self.assertEqual(written, ["rsa-1", "ec-1"])
        self.assertEqual(sorted(k for k, _ in skipped), ["../evil", "enc-1", "hmac-1"])
        self.assertEqual(sorted(os.listdir(out)), ["ec-1.pem", "rsa-1.pem"])
        # The RSA key is the dev key: a dev token verifies with the converted file.
        tok = PKI.token("u:a", ["sales"], kid="rsa-1")
        with open(os.path.join(out, "rsa-1.pem"), "rb") as f:
            self.assertEqual(jwt.decode(tok, f.read(), algorithms=["RS256"],
                                        audience="triad")["sub"], "u:a")
        ec_pem = open(os.path.join(out, "ec-1.pem")).read()
        self.assertIn("BEGIN PUBLIC KEY", ec_pem)
        self.assertNotIn("PRIVATE", ec_pem)


def json_loads(text):
    import json
    return json.loads(text)


class TriadctlLoginTest(unittest.TestCase):
    def ctl(self, *argv, env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("TRIAD_")}
        e.update(TRIAD_PKI_DIR=PKI.root, TRIAD_TOKEN_FILE=os.path.join(DIR, "ctl-token"))
        e.update(env or {})
        return subprocess.run([sys.executable, TRIADCTL] + list(argv), capture_output=True,
                              text=True, env=e, timeout=120, stdin=subprocess.DEVNULL)

    def test_login_stores_0600_and_never_prints_the_token(self):
        r = self.ctl("login", "--as", "u:zhao", "--roles", "sales", "--teams", "t1,t2")
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(DIR, "ctl-token")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        tok = open(path).read().strip()
        self.assertNotIn(tok, r.stdout + r.stderr)
        claims = jwt.decode(tok, public_key(), algorithms=["RS256"], audience="triad")
        self.assertEqual((claims["sub"], claims["roles"], claims["teams"]),
                         ("u:zhao", ["sales"], ["t1", "t2"]))
        who = self.ctl("whoami")
        self.assertTrue(who.stdout.startswith("u:zhao, roles sales, teams t1,t2"), who.stdout)
        self.assertNotIn(tok, who.stdout)
        self.assertEqual(self.ctl("logout").returncode, 0)
        self.assertFalse(os.path.exists(path))

    def test_dev_token_prints_one_and_checks_roles(self):
        r = self.ctl("dev-token", "--as", "u:ops", "--roles", "operator", "--ttl", "10m")
        self.assertEqual(r.returncode, 0, r.stderr)
        claims = jwt.decode(r.stdout.strip(), public_key(), algorithms=["RS256"],
                            audience="triad")
        self.assertLessEqual(abs(claims["exp"] - claims["iat"] - 600), 1)
        bad = self.ctl("dev-token", "--as", "u:ops", "--roles", "admin")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--roles: unknown role admin", bad.stderr)
        nokey = self.ctl("dev-token", "--as", "u:ops", "--roles", "sales",
                         env={"TRIAD_PKI_DIR": os.path.join(DIR, "none")})
        self.assertEqual(nokey.returncode, 2)
        self.assertIn("no dev signing key", nokey.stderr)

    def test_requests_need_no_actor_with_a_token(self):
        from triad_py.ctl import catalog, main, rpc_cmd
        cat = catalog.Catalog(stubs.load())
        args = main.build_parser(cat).parse_args(
            ["clients", "create-client", "--client.name", "X", "--reason", "trade fair"])
        req = rpc_cmd.build_request(args.method, args.flags, args, environ={}, with_token=True)
        self.assertEqual((req.actor.id, req.actor.reason), ("", "trade fair"))
        req = rpc_cmd.build_request(args.method, args.flags, args, environ={})
        self.assertTrue(req.actor.id.startswith("u:"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
