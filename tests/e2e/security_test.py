#!/usr/bin/env python3
"""Black-box security test: the four real service binaries (TLS, mTLS requested, JWT
authentication against a dev PKI made for the run) on the real broker, called through gRPC as
an attacker or a careless client would:

  - health answers without a token;
  - no token, a token signed by another key, an expired token, a wrong issuer, a wrong
    audience, `alg: none` and an HS256 token keyed with the public key (algorithm confusion)
    are UNAUTHENTICATED, on every service;
  - a client certificate of the dev CA without a token is the service account of its CN (role
    service): it may call the services' APIs but not the operator's AdminService;
  - a salesperson of team A cannot read, list or change a team-B client or opportunity
    (PERMISSION_DENIED) but can their own, and an unscoped list is refused saying which filter
    to set (OWNERSHIP_WIRED);
  - a spoofed actor.id in a request has no effect: the client's history shows the token's sub
    (and keeps the free-text reason);
  - a sales token calling AdminService is PERMISSION_DENIED, triad_auth_denied_total on the
    service's /metrics goes up and AdminService.ListAccessDenials shows who, what and when;
  - an oversized request is RESOURCE_EXHAUSTED (over --grpc_max_message_bytes) or
    INVALID_ARGUMENT (over a field's limit) and the service keeps serving.

Environment: KAFKA_BOOTSTRAP_SERVERS, TRIAD_BUILD_DIR, TRIAD_SOURCE_DIR (see harness.py).
Run: python3 tests/e2e/security_test.py   (exit status 0 only when every check passed)
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402  (first: it makes sure the Python packages are there)

import grpc  # noqa: E402

from triad_py import auth, rpc  # noqa: E402

# The lead sets this to True once ResourceAccess (ownership) is wired into the clients and
# pipeline adapters; until then the ownership cases are skipped with this reason.
OWNERSHIP_WIRED = True
OWNERSHIP_PENDING = "ownership wiring pending"

RUN = harness.RUN
T = rpc.DEFAULT_RPC_TIMEOUT
TEAM_A, TEAM_B = "team-a-" + RUN, "team-b-" + RUN
ALICE, BOB = "u:alice.%s" % RUN, "u:bob.%s" % RUN
S = None


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header, claims, key=None):
    """A JWT with `header` signed HS256 with `key` (bytes), or unsigned when key is None."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    if key is None:
        return head + "."
    return head + "." + b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


class SecurityTest(unittest.TestCase):
    cluster = None
    failed = False
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        global S
        S = harness.stubs()
        if not harness.supports_auth(harness.binary("clients")):
            raise RuntimeError("the service binaries have no authentication flags "
                               "(--auth_jwt_keys_dir): this test needs a build with them")
        cls.cluster = harness.Cluster(tag="sec").start()
        cls.pki = harness.pki()
        cls.ch = {name: cls.pki.channel(svc.address) for name, svc in cls.cluster.svc.items()}
        cls.clients = S.ClientsStub(cls.ch["clients"])
        cls.pipeline = S.PipelineStub(cls.ch["pipeline"])
        cls.admin = {name: S.module("triad.admin.v1.admin_service_pb2_grpc").AdminServiceStub(ch)
                     for name, ch in cls.ch.items()}

    @classmethod
    def tearDownClass(cls):
        for ch in getattr(cls, "ch", {}).values():
            ch.close()
        if cls.cluster is not None:
            cls.cluster.close(failed=cls.failed)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self).failed = True
        return out

    # ------------------------------------------------------------------ helpers

    def as_(self, subject, *roles, teams=()):
        """Per-call credentials: a dev token of subject with roles and teams."""
        return auth.bearer(self.pki.token(subject, list(roles), list(teams)))

    def code_of(self, fn):
        try:
            fn()
        except grpc.RpcError as e:
            return e.code(), e.details()
        return grpc.StatusCode.OK, ""

    def assertCode(self, code, fn, *contains):
        got, details = self.code_of(fn)
        self.assertEqual(got, code, "want %s, got %s: %s" % (code.name, got.name, details))
        for text in contains:
            self.assertIn(text, details)
        return details

    def list_clients(self, creds, **kw):
        return self.clients.ListClients(S.clients.ListClientsRequest(**kw), timeout=T,
                                        credentials=creds)

    def create_client(self, key, owner, team, creds, actor_id="", reason="e2e"):
        return self.clients.CreateClient(S.clients.CreateClientRequest(
            request_id="sec-%s-%s" % (key, RUN), actor=S.common.Actor(id=actor_id, reason=reason),
            client=S.clients.Client(name="Security %s %s" % (key, RUN), owner_id=owner,
                                    team_id=team, region="cn-east", industry="healthcare")),
            timeout=T, credentials=creds)

    def opportunity(self, key, client_id, owner, team, creds):
        req = S.pipeline.CreateOpportunityRequest(
            request_id="sec-opp-%s-%s" % (key, RUN), client_id=client_id, owner_id=owner,
            team_id=team, title="Deal " + key, value=rpc.money(100_000),
            product_line=harness.SHIPPED_LINE, expected_close_time=rpc.timestamp(30))

        def attempt():
            try:
                return self.pipeline.CreateOpportunity(req, timeout=T, credentials=creds)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "not known" in e.details():
                    raise LookupError(e.details())
                raise
        return harness.poll(attempt, "pipeline to learn client %s" % client_id)

    # ------------------------------------------------------------------ authentication

    def test_health_answers_without_a_token(self):
        for name, svc in self.cluster.svc.items():
            self.assertEqual(rpc.health_status(svc.address, security=self.pki), "SERVING", name)

    def test_bad_tokens_are_unauthenticated_on_every_service(self):
        now = int(time.time())
        claims = {"iss": self.pki.issuer, "aud": "triad", "sub": "u:mallory", "roles":
                  ["operator"], "iat": now, "nbf": now, "exp": now + 600}
        with open(os.path.join(self.pki.jwt_keys_dir, "dev.pem"), "rb") as f:
            public_pem = f.read()
        other = auth.DevPki.ensure(os.path.join(self.cluster.workdir, "other-pki"))
        bad = {
            "none": None,
            "forged (another key, kid dev)": other.token("u:mallory", ["operator"]),
            "expired": self.pki.token("u:mallory", ["operator"], now=now - 7200, ttl_s=600),
            "wrong issuer": self.pki.token("u:mallory", ["operator"],
                                           issuer="https://evil.example/"),
            "wrong audience": self.pki.token("u:mallory", ["operator"], audience="other"),
            "alg none": unsigned_token({"alg": "none", "kid": "dev", "typ": "JWT"}, claims),
            "HS256 keyed with the public key": unsigned_token(
                {"alg": "HS256", "kid": "dev", "typ": "JWT"}, claims, public_pem),
            "no sub": self.pki.token("", ["operator"]),
            "garbage": "not.a.jwt",
        }
        for name, ch in self.ch.items():
            for what, tok in bad.items():
                creds = None if tok is None else auth.bearer(tok)
                with self.subTest(service=name, token=what):
                    self.assertCode(grpc.StatusCode.UNAUTHENTICATED, lambda: self.admin[name]
                                    .ListBackups(S.module("triad.admin.v1.admin_service_pb2")
                                                 .ListBackupsRequest(), timeout=T,
                                                 credentials=creds))
        for what, tok in bad.items():
            creds = None if tok is None else auth.bearer(tok)
            with self.subTest(api="ListClients", token=what):
                self.assertCode(grpc.StatusCode.UNAUTHENTICATED,
                                lambda: self.list_clients(creds, owner_id="u:mallory"))
        # The same call with a good token passes authentication.
        self.list_clients(self.as_("u:ops." + RUN, "operator"), owner_id="u:mallory")

    def test_client_certificate_is_a_service_account(self):
        cert, key = self.pki.client_cert("demo")
        cfg = auth.ClientConfig(self.pki.ca, None, cert, key)
        with cfg.channel(self.cluster.svc["clients"].address) as ch:
            resp = S.ClientsStub(ch).ListClients(S.clients.ListClientsRequest(
                owner_id="u:nobody." + RUN), timeout=T)
            self.assertEqual(len(resp.clients), 0)
            admin = S.module("triad.admin.v1.admin_service_pb2_grpc").AdminServiceStub(ch)
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: admin.ListBackups(
                S.module("triad.admin.v1.admin_service_pb2").ListBackupsRequest(), timeout=T))

    # ------------------------------------------------------------------ authorisation

    def test_sales_token_on_admin_service_is_denied_and_counted(self):
        admin_pb = S.module("triad.admin.v1.admin_service_pb2")
        sales = self.as_(ALICE, "sales", teams=[TEAM_A])
        for name in ("clients", "production"):
            svc = self.cluster.svc[name]
            before = svc.metric("triad_auth_denied_total", contains="ListBackups")
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: self.admin[name]
                            .ListBackups(admin_pb.ListBackupsRequest(), timeout=T,
                                         credentials=sales))
            harness.poll(lambda: svc.metric("triad_auth_denied_total",
                                            contains="ListBackups") >= before + 1,
                         "triad_auth_denied_total of %s to count the denial" % name, timeout=10)
        # An operator may, and finds the denial in the service's audit (who, what, when).
        ops = self.as_("u:ops." + RUN, "operator")
        self.admin["clients"].ListBackups(admin_pb.ListBackupsRequest(), timeout=T,
                                          credentials=ops)
        denials = self.admin["clients"].ListAccessDenials(
            admin_pb.ListAccessDenialsRequest(page_size=100), timeout=T,
            credentials=ops).denials
        mine = [d for d in denials if d.subject == ALICE and d.method == "ListBackups"]
        self.assertTrue(mine, "no audited denial of %s in %s" % (ALICE, denials))
        self.assertEqual((mine[0].code, mine[0].service), ("PERMISSION_DENIED", "clients"))
        self.assertGreater(mine[0].denial_time.seconds, time.time() - 600)

    def test_spoofed_actor_has_no_effect_on_the_audit(self):
        alice = self.as_(ALICE, "sales", teams=[TEAM_A])
        c = self.create_client("spoof", ALICE, TEAM_A, alice, actor_id="u:ceo.spoofed",
                               reason="met at the trade fair")
        hist = self.clients.ListClientHistory(S.clients.ListClientHistoryRequest(
            client_id=c.client_id), timeout=T, credentials=alice).entries
        self.assertTrue(hist, "no history for %s" % c.client_id)
        self.assertEqual([(h.actor.id, h.actor.reason) for h in hist],
                         [(ALICE, "met at the trade fair")])
        spoofed = self.clients.ListActorHistory(S.clients.ListActorHistoryRequest(
            actor_id="u:ceo.spoofed"), timeout=T,
            credentials=self.as_("u:ops." + RUN, "operator")).entries
        self.assertNotIn(c.client_id, [h.client_id for h in spoofed])

    @unittest.skipUnless(OWNERSHIP_WIRED, OWNERSHIP_PENDING)
    def test_salesperson_sees_and_changes_only_their_teams_clients(self):
        alice = self.as_(ALICE, "sales", teams=[TEAM_A])
        bob = self.as_(BOB, "sales", teams=[TEAM_B])
        mine = self.create_client("own-a", ALICE, TEAM_A, alice)
        theirs = self.create_client("own-b", BOB, TEAM_B, bob)
        # Their own: read, list (by owner and by team), change.
        got = self.clients.GetClient(S.clients.GetClientRequest(client_id=mine.client_id),
                                     timeout=T, credentials=alice)
        self.assertEqual(got.owner_id, ALICE)
        self.assertIn(mine.client_id, [c.client_id for c in self.list_clients(
            alice, owner_id=ALICE).clients])
        self.assertIn(mine.client_id, [c.client_id for c in self.list_clients(
            alice, team_id=TEAM_A).clients])
        self.clients.UpdateClient(S.clients.UpdateClientRequest(
            client=S.clients.Client(client_id=mine.client_id, phone="027-8765-4321"),
            update_mask=rpc.field_mask("phone"), etag=got.etag), timeout=T, credentials=alice)
        # Team B's: not readable, listable or changeable.
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: self.clients.GetClient(
            S.clients.GetClientRequest(client_id=theirs.client_id), timeout=T,
            credentials=alice))
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED,
                        lambda: self.list_clients(alice, team_id=TEAM_B))
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED,
                        lambda: self.list_clients(alice, owner_id=BOB))
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: self.clients.UpdateClient(
            S.clients.UpdateClientRequest(
                client=S.clients.Client(client_id=theirs.client_id, phone="000"),
                update_mask=rpc.field_mask("phone"), etag=theirs.etag), timeout=T,
            credentials=alice))
        # An unscoped list says which filter to set.
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: self.list_clients(alice),
                        "owner_id")
        # Bob's record is untouched.
        after = self.clients.GetClient(S.clients.GetClientRequest(client_id=theirs.client_id),
                                       timeout=T, credentials=bob)
        self.assertEqual((after.phone, after.etag), (theirs.phone, theirs.etag))

    @unittest.skipUnless(OWNERSHIP_WIRED, OWNERSHIP_PENDING)
    def test_salesperson_sees_and_changes_only_their_teams_opportunities(self):
        alice = self.as_(ALICE, "sales", teams=[TEAM_A])
        bob = self.as_(BOB, "sales", teams=[TEAM_B])
        ca = self.create_client("opp-a", ALICE, TEAM_A, alice)
        cb = self.create_client("opp-b", BOB, TEAM_B, bob)
        mine = self.opportunity("a", ca.client_id, ALICE, TEAM_A, alice)
        theirs = self.opportunity("b", cb.client_id, BOB, TEAM_B, bob)
        P = S.pipeline
        self.assertEqual(self.pipeline.GetOpportunity(P.GetOpportunityRequest(
            opportunity_id=mine.id), timeout=T, credentials=alice).owner_id, ALICE)
        self.assertIn(mine.id, [o.id for o in self.pipeline.ListOpportunities(
            P.ListOpportunitiesRequest(owner_id=ALICE), timeout=T,
            credentials=alice).opportunities])
        upd = P.Opportunity(id=mine.id)
        upd.fields["site"] = "Wuhan"
        self.pipeline.UpdateOpportunity(P.UpdateOpportunityRequest(
            opportunity=upd, update_mask=rpc.field_mask("fields"), etag=mine.etag), timeout=T,
            credentials=alice)
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: self.pipeline.GetOpportunity(
            P.GetOpportunityRequest(opportunity_id=theirs.id), timeout=T, credentials=alice))
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED,
                        lambda: self.pipeline.ListOpportunities(
                            P.ListOpportunitiesRequest(owner_id=BOB), timeout=T,
                            credentials=alice))
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED,
                        lambda: self.pipeline.ListOpportunities(
                            P.ListOpportunitiesRequest(), timeout=T, credentials=alice))
        other = P.Opportunity(id=theirs.id)
        other.fields["site"] = "elsewhere"
        self.assertCode(grpc.StatusCode.PERMISSION_DENIED, lambda: self.pipeline
                        .UpdateOpportunity(P.UpdateOpportunityRequest(
                            opportunity=other, update_mask=rpc.field_mask("fields"),
                            etag=theirs.etag), timeout=T, credentials=alice))
        after = self.pipeline.GetOpportunity(P.GetOpportunityRequest(opportunity_id=theirs.id),
                                             timeout=T, credentials=bob)
        self.assertNotIn("site", after.fields)

    # ------------------------------------------------------------------ input limits

    def test_oversized_requests_are_refused_and_the_service_keeps_serving(self):
        ops = self.as_("u:ops." + RUN, "operator")
        huge = S.clients.CreateClientRequest(
            request_id="sec-huge-" + RUN, actor=S.common.Actor(reason="x" * 16),
            client=S.clients.Client(name="Huge " + RUN, owner_id=ALICE,
                                    notes="n" * (5 * 1024 * 1024)))
        code, details = self.code_of(lambda: self.clients.CreateClient(huge, timeout=T,
                                                                       credentials=ops))
        self.assertIn(code, (grpc.StatusCode.RESOURCE_EXHAUSTED,
                             grpc.StatusCode.INVALID_ARGUMENT), details)
        long_name = S.clients.CreateClientRequest(
            request_id="sec-long-" + RUN, client=S.clients.Client(
                name="N" * 100_000, owner_id=ALICE, team_id=TEAM_A))
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.clients.CreateClient(
            long_name, timeout=T, credentials=ops), "client.name")
        self.assertEqual(rpc.health_status(self.cluster.svc["clients"].address,
                                           security=self.pki), "SERVING")
        self.assertTrue(self.cluster.svc["clients"].alive())
        ok = self.create_client("after-huge", ALICE, TEAM_A, ops)
        self.assertTrue(ok.client_id)


if __name__ == "__main__":
    sys.exit(harness.main(SecurityTest))
