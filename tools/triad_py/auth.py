"""Authentication on the client side: dev tokens, TLS channels with bearer credentials, and the
dev PKI (scripts/dev-pki.sh) of `make run` and the tests.

    pki = auth.DevPki.ensure("/tmp/x/pki")          # runs scripts/dev-pki.sh when needed
    token = pki.token("u:zhao", roles=["sales"], teams=["t1"])
    ch = auth.channel("127.0.0.1:7101", ca_file=pki.ca, token=token)
    svc_flags = pki.server_flags()                   # --tls_cert_file=... --auth_jwt_keys_dir=...

Tokens follow the servers' rules: RS256 (or ES256) signed, header `kid`, claims iss, aud
("triad"), sub, roles, teams, iat, nbf, exp. Only a dev signing key mints them here; a real
deployment takes its tokens from its identity provider.

ActorTokens is for tests and the demo, where requests name the person acting: it sends each
call under a token whose subject is the request's `actor.id` (the servers take the actor from
the token), with the roles a directory gives that person.
"""
import os
import subprocess
import threading
import time
import uuid

import grpc

from triad_py import REPO_ROOT

DEV_ISSUER = "https://triad.local/dev"
DEV_KID = "dev"
AUDIENCE = "triad"
DEFAULT_TTL_S = 3600
ROLES = ("sales", "sales_manager", "expert", "product_head", "production_manager", "operator",
         "service")
DEV_PKI_SCRIPT = os.path.join(REPO_ROOT, "scripts", "dev-pki.sh")


def mint_token(signing_key_pem, subject, roles=(), teams=(), issuer=DEV_ISSUER,
               audience=AUDIENCE, kid=DEV_KID, ttl_s=DEFAULT_TTL_S, now=None, algorithm=None,
               extra_claims=None):
    """MintToken: a signed JWT for `subject` with `roles` and `teams`, valid for ttl_s seconds
    from `now` (epoch seconds, default the current time). The algorithm follows the key (RS256
    for RSA, ES256 for EC P-256) unless given. extra_claims are merged last (tests use them to
    break a claim)."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(signing_key_pem, str):
        signing_key_pem = signing_key_pem.encode()
    key = serialization.load_pem_private_key(signing_key_pem, password=None)
    if algorithm is None:
        if isinstance(key, rsa.RSAPrivateKey):
            algorithm = "RS256"
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            algorithm = "ES256"
        else:
            raise ValueError("signing key: RSA or EC P-256 expected")
    now = int(time.time() if now is None else now)
    claims = {"iss": issuer, "aud": audience, "sub": subject, "roles": list(roles),
              "teams": list(teams), "iat": now, "nbf": now, "exp": now + int(ttl_s),
              "jti": uuid.uuid4().hex}
    claims.update(extra_claims or {})
    token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
    return token.decode() if isinstance(token, bytes) else token


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def channel_credentials(ca_file, client_cert_file=None, client_key_file=None):
    """ChannelCredentials: TLS trusting ca_file (PEM), presenting the client certificate (mTLS)
    when one is given (both files or neither)."""
    if bool(client_cert_file) != bool(client_key_file):
        raise ValueError("a client certificate needs both its certificate and its key")
    return grpc.ssl_channel_credentials(
        root_certificates=read_file(ca_file),
        private_key=read_file(client_key_file) if client_key_file else None,
        certificate_chain=read_file(client_cert_file) if client_cert_file else None)


def channel(address, ca_file=None, token=None, client_cert_file=None, client_key_file=None,
            options=None):
    """Channel to address: plaintext when ca_file is None (a server run with authentication
    disabled), else TLS with the CA, an optional client certificate and, when token is given,
    the bearer token on every call (`authorization: Bearer <token>`)."""
    if ca_file is None:
        if token:
            raise ValueError("a bearer token is only sent over TLS (give the CA file)")
        return grpc.insecure_channel(address, options=options)
    creds = channel_credentials(ca_file, client_cert_file, client_key_file)
    if token:
        creds = grpc.composite_channel_credentials(
            creds, grpc.access_token_call_credentials(token))
    return grpc.secure_channel(address, creds, options=options)


def bearer(token):
    """CallCredentials sending `token` as the bearer token of one call."""
    return grpc.access_token_call_credentials(token)


def dev_pki_dir(environ=None):
    """The dev PKI of `make run`: $TRIAD_PKI_DIR, else <repo>/.triad/pki."""
    environ = os.environ if environ is None else environ
    return environ.get("TRIAD_PKI_DIR") or os.path.join(REPO_ROOT, ".triad", "pki")


def token_file_default(environ=None):
    """Where `triadctl login` keeps the token: $TRIAD_TOKEN_FILE, else <repo>/.triad/token."""
    environ = os.environ if environ is None else environ
    return environ.get("TRIAD_TOKEN_FILE") or os.path.join(REPO_ROOT, ".triad", "token")


class ClientConfig:
    """How a tool connects: the CA to trust (None: plaintext), the bearer token, the client
    certificate. resolve() reads flags, then the environment, then the dev PKI of `make run`."""

    def __init__(self, ca_file=None, token=None, client_cert=None, client_key=None):
        if token and not ca_file:
            raise ValueError("a bearer token is only sent over TLS: give the CA (--tls-ca or "
                             "TRIAD_TLS_CA)")
        if bool(client_cert) != bool(client_key):
            raise ValueError("--client-cert and --client-key go together")
        self.ca_file = ca_file
        self.token = token
        self.client_cert = client_cert
        self.client_key = client_key

    def __repr__(self):  # never shows the token
        return "ClientConfig(ca_file=%r, token=%s, client_cert=%r)" % (
            self.ca_file, "<set>" if self.token else None, self.client_cert)

    @property
    def tls(self):
        return self.ca_file is not None

    @classmethod
    def resolve(cls, tls_ca=None, token=None, token_file=None, client_cert=None,
                client_key=None, plaintext=False, environ=None):
        """The configuration from explicit values (flags), else the environment (TRIAD_TLS_CA,
        TRIAD_TOKEN, TRIAD_CLIENT_CERT, TRIAD_CLIENT_KEY), else the dev PKI
        (dev_pki_dir()/ca.pem) and the token `triadctl login` stored (token_file_default():
        $TRIAD_TOKEN_FILE or .triad/token), when they exist. plaintext: no TLS and no token (servers run with
        --auth_mode=disabled). ValueError on an unreadable file or a bad combination."""
        environ = os.environ if environ is None else environ
        if plaintext:
            return cls()
        ca = tls_ca or environ.get("TRIAD_TLS_CA")
        if not ca:
            dev_ca = os.path.join(dev_pki_dir(environ), "ca.pem")
            ca = dev_ca if os.path.isfile(dev_ca) else None
        if not token:
            if token_file:
                token = _read_token(token_file)
            elif environ.get("TRIAD_TOKEN"):
                token = environ["TRIAD_TOKEN"].strip()
            elif ca and os.path.isfile(token_file_default(environ)):
                token = _read_token(token_file_default(environ))
        cert = client_cert or environ.get("TRIAD_CLIENT_CERT")
        key = client_key or environ.get("TRIAD_CLIENT_KEY")
        for what, path in (("CA", ca), ("client certificate", cert), ("client key", key)):
            if path and not os.path.isfile(path):
                raise ValueError("%s file %s not found" % (what, path))
        return cls(ca, token or None, cert, key)

    def channel(self, address, options=None):
        """A channel to address with this configuration."""
        return channel(address, self.ca_file, self.token, self.client_cert, self.client_key,
                       options)


def _read_token(path):
    try:
        tok = read_file(path).decode().strip()
    except OSError as e:
        raise ValueError("token file %s: %s" % (path, e.strerror))
    if not tok:
        raise ValueError("token file %s is empty" % path)
    return tok


def write_token(path, token):
    """Stores token in path, readable by its owner only (0600)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)


def token_claims(token):
    """The claims of a token, NOT verified (for showing who a stored token names)."""
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


class DevPki:
    """The files scripts/dev-pki.sh writes into `root`: CA, server and client certificates, the
    JWT signing key (kid "dev") and its public key directory."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.ca = os.path.join(self.root, "ca.pem")
        self.server_cert = os.path.join(self.root, "server.pem")
        self.server_key = os.path.join(self.root, "server.key")
        self.jwt_keys_dir = os.path.join(self.root, "jwt")
        self.signing_key = os.path.join(self.root, "jwt-signing", DEV_KID + ".key")
        self.issuer = DEV_ISSUER
        issuer_file = os.path.join(self.root, "issuer")
        if os.path.isfile(issuer_file):
            self.issuer = read_file(issuer_file).decode().strip() or DEV_ISSUER

    @classmethod
    def ensure(cls, root, clients=()):
        """Runs scripts/dev-pki.sh root (it keeps what exists) and returns the DevPki."""
        r = subprocess.run([DEV_PKI_SCRIPT, root] + list(clients), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError("scripts/dev-pki.sh %s failed:\n%s" % (root, r.stdout.decode()))
        return cls(root)

    def exists(self):
        return all(os.path.isfile(p) for p in (self.ca, self.server_cert, self.signing_key))

    def client_cert(self, name):
        """(certificate, key) paths of the service account `name`'s client certificate."""
        return (os.path.join(self.root, "client-%s.pem" % name),
                os.path.join(self.root, "client-%s.key" % name))

    def token(self, subject, roles=(), teams=(), **kw):
        """A token signed with the dev key (see mint_token for kw)."""
        kw.setdefault("issuer", self.issuer)
        return mint_token(read_file(self.signing_key), subject, roles, teams, **kw)

    def server_flags(self, client_ca=True):
        """The flags that run a service with TLS (mTLS requested when client_ca) and JWT
        authentication against this PKI."""
        flags = ["--tls_cert_file=" + self.server_cert, "--tls_key_file=" + self.server_key,
                 "--auth_mode=jwt", "--auth_jwt_keys_dir=" + self.jwt_keys_dir,
                 "--auth_issuer=" + self.issuer, "--auth_audience=" + AUDIENCE]
        if client_ca:
            flags.append("--tls_client_ca_file=" + self.ca)
        return flags

    def channel(self, address, token=None, client=None, options=None):
        """A TLS channel to address trusting the dev CA, with `token` on every call and the
        client certificate of service account `client` when given."""
        cert, key = self.client_cert(client) if client else (None, None)
        return channel(address, self.ca, token, cert, key, options)


class ActorTokens(grpc.UnaryUnaryClientInterceptor):
    """Sends each call with a token of the person it names: the subject is the request's
    top-level `actor.id` when set, else `default_subject`; the roles and teams come from
    directory(subject) -> (roles, teams). Tokens are minted with the dev key and reused until
    shortly before they expire. For tests and the demo: the servers take the actor from the
    token, so a request keeps meaning "done by actor.id"."""

    def __init__(self, pki, directory, default_subject, ttl_s=DEFAULT_TTL_S):
        self._pki = pki
        self._directory = directory
        self._default = default_subject
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._cache = {}

    def token_for(self, subject):
        """The (cached) token of subject."""
        with self._lock:
            hit = self._cache.get(subject)
            if hit is not None and hit[1] - time.time() > 60:
                return hit[0]
            roles, teams = self._directory(subject)
            tok = self._pki.token(subject, roles, teams, ttl_s=self._ttl)
            self._cache[subject] = (tok, time.time() + self._ttl)
            return tok

    def subject_of(self, request):
        actor = getattr(request, "actor", None)
        if actor is not None and hasattr(actor, "id") and actor.id:
            return actor.id
        return self._default

    def intercept_unary_unary(self, continuation, details, request):
        if details.credentials is not None:  # the caller chose the identity of this call
            return continuation(details, request)
        creds = bearer(self.token_for(self.subject_of(request)))
        details = _CallDetails(details.method, details.timeout, details.metadata, creds,
                               getattr(details, "wait_for_ready", None),
                               getattr(details, "compression", None))
        return continuation(details, request)

    def channel(self, address, options=None):
        """A TLS channel to address (dev CA) whose calls carry the acting person's token."""
        return grpc.intercept_channel(self._pki.channel(address, options=options), self)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression
