#!/usr/bin/env bash
# dev-pki.sh — a development PKI for Triad, made with openssl only: what `make run` and the
# end-to-end tests use to run every service with TLS and JWT authentication. Never use it in
# production: the CA and the JWT signing key sit in plain files beside the certificates.
#
#   scripts/dev-pki.sh DIR [CLIENT_NAME ...]
#
# Writes into DIR (created; files that exist are kept, so running it again changes nothing and
# tokens minted before stay valid):
#   ca.pem, ca.key                  the dev CA (10 years)
#   server.pem, server.key          the server certificate, signed by the CA, for every service:
#                                   SAN localhost, 127.0.0.1, ::1 and the Kubernetes service names
#                                   triad-<svc>[.<ns>[.svc[.cluster.local]]] (ns triad, triad-dev)
#   client-<name>.pem / .key        client certificates of service accounts (CN = name) for mTLS;
#                                   "demo" always, plus every CLIENT_NAME given
#   jwt-signing/dev.key             the RSA key that signs dev tokens (kid "dev")
#   jwt/dev.pem                     its public key: the directory to give --auth_jwt_keys_dir
#   issuer                          the dev tokens' issuer, https://triad.local/dev
# Private keys are 0600.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
  echo "usage: $0 DIR [CLIENT_NAME ...]" >&2
  exit 2
fi
DIR="$1"
shift
ISSUER="https://triad.local/dev"
SERVICES=(clients pipeline review production)
NAMESPACES=(triad triad-dev)
DAYS=3650

umask 077
mkdir -p "$DIR/jwt" "$DIR/jwt-signing"
chmod 0755 "$DIR" "$DIR/jwt"
chmod 0700 "$DIR/jwt-signing"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# new_key FILE: an EC P-256 private key (0600) unless FILE exists.
new_key() {
  [[ -s "$1" ]] && return 0
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 0600 "$1"
}

# issue NAME CN EXT: signs <DIR>/<NAME>.pem for <DIR>/<NAME>.key with the CA, with the extension
# section EXT (written to $TMP/ext.cnf by the caller), unless the certificate exists.
issue() {
  local name="$1" cn="$2"
  [[ -s "$DIR/$name.pem" ]] && return 0
  new_key "$DIR/$name.key"
  openssl req -new -key "$DIR/$name.key" -subj "/O=Triad dev/CN=$cn" -out "$TMP/$name.csr"
  openssl x509 -req -in "$TMP/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -CAcreateserial -CAserial "$TMP/ca.srl" -days "$DAYS" -sha256 \
    -extfile "$TMP/ext.cnf" -extensions ext -out "$DIR/$name.pem" 2>/dev/null
  chmod 0644 "$DIR/$name.pem"
}

# The CA.
if [[ ! -s "$DIR/ca.pem" ]]; then
  new_key "$DIR/ca.key"
  openssl req -new -x509 -key "$DIR/ca.key" -subj "/O=Triad dev/CN=Triad dev CA" \
    -days "$DAYS" -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$DIR/ca.pem"
  chmod 0644 "$DIR/ca.pem"
fi

# The server certificate, one for every service.
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for svc in "${SERVICES[@]}"; do
  san+=",DNS:triad-$svc"
  for ns in "${NAMESPACES[@]}"; do
    san+=",DNS:triad-$svc.$ns,DNS:triad-$svc.$ns.svc,DNS:triad-$svc.$ns.svc.cluster.local"
  done
done
cat >"$TMP/ext.cnf" <<EOF
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
EOF
issue server triad-server

# Client certificates of service accounts (CN = the account, the principal's subject).
cat >"$TMP/ext.cnf" <<EOF
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
for name in demo "$@"; do
  if [[ ! "$name" =~ ^[A-Za-z0-9._-]+$ ]]; then
    echo "dev-pki: client name '$name': letters, digits, '.', '_' and '-' only" >&2
    exit 2
  fi
  issue "client-$name" "$name"
done

# The JWT signing key pair (RS256, kid "dev").
if [[ ! -s "$DIR/jwt-signing/dev.key" ]]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/jwt-signing/dev.key" \
    2>/dev/null
  chmod 0600 "$DIR/jwt-signing/dev.key"
  rm -f "$DIR/jwt/dev.pem"
fi
if [[ ! -s "$DIR/jwt/dev.pem" ]]; then
  openssl pkey -in "$DIR/jwt-signing/dev.key" -pubout -out "$DIR/jwt/dev.pem"
  chmod 0644 "$DIR/jwt/dev.pem"
fi
[[ -s "$DIR/issuer" ]] || { echo "$ISSUER" >"$DIR/issuer"; chmod 0644 "$DIR/issuer"; }
