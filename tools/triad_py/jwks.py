#!/usr/bin/env python3
"""Converts an identity provider's JWKS (its JSON Web Key Set, e.g. the document at the
`jwks_uri` of its OpenID configuration, saved to a file) into the keys directory the services
read (--auth_jwt_keys_dir): one PEM public key per key, named `<kid>.pem`.

    python3 tools/triad_py/jwks.py jwks.json /etc/triad/jwt-keys
    python3 tools/triad_py/jwks.py - DIR < jwks.json

Only signing keys the services accept are written: RSA (kty RSA, alg RS256 or none given) and
EC P-256 (kty EC, crv P-256, alg ES256 or none given), with a kid and without `use` other than
"sig". Others are listed as skipped. A kid must be a safe file name (letters, digits, '.', '_',
'-'). Existing files of other kids are left alone (remove retired keys yourself). Exit status:
0 when at least one key was written, 1 when none, 2 on bad input.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import triad_py  # noqa: E402

triad_py.ensure_python(("jwt", "cryptography"))

_KID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def convert(jwks, out_dir):
    """Writes <kid>.pem for every usable key of jwks (a dict); returns (written kids,
    [(kid, why skipped)])."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    written, skipped = [], []
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise ValueError("not a JWKS: no \"keys\" array")
    for jwk in keys:
        kid = str(jwk.get("kid", ""))
        kty, alg, use = jwk.get("kty"), jwk.get("alg"), jwk.get("use", "sig")
        if not _KID.match(kid) or kid.startswith("."):
            skipped.append((kid, "kid missing or not a safe file name"))
            continue
        if use != "sig":
            skipped.append((kid, "use %r is not sig" % use))
            continue
        try:
            if kty == "RSA" and alg in (None, "RS256"):
                key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            elif kty == "EC" and jwk.get("crv") == "P-256" and alg in (None, "ES256"):
                key = ECAlgorithm.from_jwk(json.dumps(jwk))
            else:
                skipped.append((kid, "kty %s alg %s: only RS256 and ES256 (P-256)" % (kty, alg)))
                continue
        except Exception as e:  # a malformed key: say which and go on
            skipped.append((kid, "malformed: %s" % e))
            continue
        if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            key = key.public_key()  # a JWK with private parts: keep only the public key
        pem = key.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        os.makedirs(out_dir, exist_ok=True)
        tmp = os.path.join(out_dir, ".%s.pem.tmp" % kid)
        with open(tmp, "wb") as f:
            f.write(pem)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(out_dir, kid + ".pem"))
        written.append(kid)
    return written, skipped


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if argv[1] == "-" else open(argv[1], encoding="utf-8").read()
        written, skipped = convert(json.loads(text), argv[2])
    except (OSError, ValueError) as e:
        print("jwks: %s" % e, file=sys.stderr)
        return 2
    for kid in written:
        print("wrote %s" % os.path.join(argv[2], kid + ".pem"))
    for kid, why in skipped:
        print("skipped %s: %s" % (kid or "(no kid)", why))
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
