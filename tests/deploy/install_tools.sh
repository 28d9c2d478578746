#!/usr/bin/env bash
# install_tools.sh — installs what tests/deploy/validate_manifests.sh needs, idempotently (a
# second run only checks, in well under a second):
#   * kustomize v5: `kubectl kustomize` when kubectl embeds kustomize v5 or later; otherwise a
#     standalone kustomize built with `go install` into .cache/deploy-tools/bin (Debian's
#     kubernetes-client 1.20 embeds kustomize v2, too old) inside the module
#     tests/deploy/kustomize, whose go.mod pins the version and whose go.sum pins the hash of
#     every module it is built from (Go stops on a checksum mismatch);
#   * a Python venv (.cache/deploy-tools/venv) with the PyPI package kubernetes-validate, which
#     ships the Kubernetes JSON schemas used offline, and its dependencies: every one pinned
#     with its sha256 in tests/deploy/requirements.txt (pip --require-hashes: a download that
#     differs fails the install). A venv, because Debian bookworm's pip refuses to install into
#     the system Python;
#   * promtool (checks and unit-tests the alert rules, parses the dashboard's PromQL): taken
#     from Debian bookworm's `prometheus` package, upstream version PROMTOOL_VERSION below, by
#     `apt-get download` and extracting only usr/bin/promtool into .cache/deploy-tools/bin
#     (installing the package would also start a Prometheus server); without apt-get, built
#     with `go install github.com/prometheus/prometheus/cmd/promtool` at the same version.
# It writes .cache/deploy-tools/env.sh, which validate_manifests.sh and validate_monitoring.sh
# source. Env overrides: TRIAD_DEPLOY_TOOLS_DIR (where to install), TRIAD_KUSTOMIZE_STANDALONE=1
# (ignore kubectl).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${TRIAD_DEPLOY_TOOLS_DIR:-$ROOT/.cache/deploy-tools}"
KUBERNETES_VALIDATE_VERSION="1.37.0"
KUSTOMIZE_MODULE="$ROOT/tests/deploy/kustomize"
KUSTOMIZE_VERSION="$(sed -n 's:^require sigs.k8s.io/kustomize/kustomize/v5 \(v[0-9.]*\)$:\1:p' "$KUSTOMIZE_MODULE/go.mod")"
# Debian bookworm's prometheus package is 2.42.0+ds-<debian revision>; the Go module of the
# same release is v0.42.0 (Prometheus tags its Go module 0.<minor>).
PROMTOOL_VERSION="2.42.0"
PROMTOOL_GO_VERSION="v0.42.0"
VENV="$TOOLS/venv"
REQUIREMENTS="$ROOT/tests/deploy/requirements.txt"
mkdir -p "$TOOLS/bin"

log() { echo "deploy-tools: $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- Python venv with kubernetes-validate -----------------------------------------------------
venv_ok() {
  cmp -s "$REQUIREMENTS" "$VENV/requirements.txt" &&
  [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" - "$KUBERNETES_VALIDATE_VERSION" <<'EOF' 2>/dev/null
import sys
import yaml  # noqa: F401  (a dependency of kubernetes-validate)
from kubernetes_validate.version import __version__
sys.exit(0 if __version__ == sys.argv[1] else 1)
EOF
}
if ! venv_ok; then
  PY=""
  for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$(command -v "$candidate")"; break; fi
  done
  [[ -n "$PY" ]] || { log "python3 is missing (apt-get install python3)"; exit 1; }
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      log "installing python3-venv"
      as_root apt-get update -qq
      DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends python3-venv >&2
    fi
  fi
  grep -q "^kubernetes-validate==$KUBERNETES_VALIDATE_VERSION " "$REQUIREMENTS" ||
    { log "$REQUIREMENTS does not pin kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"; exit 1; }
  log "creating $VENV with kubernetes-validate==$KUBERNETES_VALIDATE_VERSION ($REQUIREMENTS, hashes required)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
      --no-deps --only-binary=:all: -r "$REQUIREMENTS" >&2; then
    log "FATAL: pip refused the packages of $REQUIREMENTS (a hash mismatch is named above)"
    rm -rf "$VENV"
    exit 1
  fi
  cp "$REQUIREMENTS" "$VENV/requirements.txt"
  venv_ok || { log "kubernetes-validate did not install into $VENV"; exit 1; }
fi

# --- kustomize v5 -------------------------------------------------------------------------------
# major_of "v5.5.0" -> 5 ("" when it is not a version).
major_of() { [[ "$1" =~ ^v?([0-9]+)\. ]] && echo "${BASH_REMATCH[1]}" || true; }
KUSTOMIZE_CMD=""
if [[ "${TRIAD_KUSTOMIZE_STANDALONE:-0}" != "1" ]] && command -v kubectl >/dev/null 2>&1; then
  embedded="$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p' | head -1)"
  major="$(major_of "$embedded")"
  if [[ -n "$major" && "$major" -ge 5 ]]; then
    KUSTOMIZE_CMD="kubectl kustomize"
  fi
fi
if [[ -z "$KUSTOMIZE_CMD" ]]; then
  # `go install` builds report "(devel)" as their version, so a marker file records the version
  # and the go.sum it was built from.
  stamp="$KUSTOMIZE_VERSION $(sha256sum "$KUSTOMIZE_MODULE/go.sum" | cut -d' ' -f1)"
  if [[ -x "$TOOLS/bin/kustomize" && "$(cat "$TOOLS/bin/kustomize.version" 2>/dev/null)" == "$stamp" ]]; then
    KUSTOMIZE_CMD="$TOOLS/bin/kustomize build"
  elif command -v go >/dev/null 2>&1; then
    log "building kustomize $KUSTOMIZE_VERSION with go install from the pinned modules of $KUSTOMIZE_MODULE (a few minutes, once)"
    if ! (cd "$KUSTOMIZE_MODULE" && GOBIN="$TOOLS/bin" GOWORK=off GOFLAGS="-buildvcs=false -mod=readonly" \
          nice -n 10 go install sigs.k8s.io/kustomize/kustomize/v5 >&2); then
      log "FATAL: building kustomize from the pinned modules failed (a checksum mismatch is named above)"
      exit 1
    fi
    echo "$stamp" > "$TOOLS/bin/kustomize.version"
    KUSTOMIZE_CMD="$TOOLS/bin/kustomize build"
  else
    log "no kustomize v5: install kubectl (>= 1.27) or Go (for go install sigs.k8s.io/kustomize/kustomize/v5)"
    exit 1
  fi
fi

# --- promtool -------------------------------------------------------------------------------------
promtool_ok() {
  [[ -x "$TOOLS/bin/promtool" ]] &&
    "$TOOLS/bin/promtool" --version 2>&1 | grep -q "^promtool, version ${PROMTOOL_VERSION}[+ ]"
}
if ! promtool_ok; then
  if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
    log "extracting promtool $PROMTOOL_VERSION from Debian's prometheus package"
    dl="$(mktemp -d)"
    chmod 777 "$dl"  # apt's download user (_apt) writes here
    if ! (cd "$dl" && apt-get download -qq prometheus >&2 2>/dev/null); then
      as_root apt-get update -qq
      (cd "$dl" && apt-get download -qq prometheus >&2)
    fi
    deb="$(ls "$dl"/prometheus_*.deb)"
    case "$(basename "$deb")" in
      prometheus_${PROMTOOL_VERSION}+*) ;;
      *) log "Debian offers $(basename "$deb"), not prometheus ${PROMTOOL_VERSION}: update PROMTOOL_VERSION in $0"
         rm -rf "$dl"; exit 1 ;;
    esac
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl" ./usr/bin/promtool
    mv "$dl/usr/bin/promtool" "$TOOLS/bin/promtool"
    rm -rf "$dl"
  elif command -v go >/dev/null 2>&1; then
    log "building promtool $PROMTOOL_GO_VERSION with go install (several minutes, once)"
    GOBIN="$TOOLS/bin" GOTOOLCHAIN=local GOFLAGS="-buildvcs=false" \
      nice -n 10 go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_GO_VERSION" >&2
  else
    log "no promtool: needs apt-get (Debian) or Go"
    exit 1
  fi
  if ! "$TOOLS/bin/promtool" --version >/dev/null 2>&1; then
    log "promtool did not install into $TOOLS/bin"
    exit 1
  fi
fi

# A temporary file of this run's own, renamed into place: runs side by side (the two deploy
# tests under ctest -j2) each replace env.sh whole, never a half-written or moved-away one.
ENV_TMP="$(mktemp "$TOOLS/env.sh.XXXXXX")"
cat > "$ENV_TMP" <<EOF
# Written by tests/deploy/install_tools.sh; sourced by tests/deploy/validate_manifests.sh.
TRIAD_KUSTOMIZE="$KUSTOMIZE_CMD"
TRIAD_DEPLOY_PYTHON="$VENV/bin/python"
TRIAD_PROMTOOL="$TOOLS/bin/promtool"
EOF
chmod 644 "$ENV_TMP"
mv "$ENV_TMP" "$TOOLS/env.sh"
log "ok (kustomize: $KUSTOMIZE_CMD; python: $VENV/bin/python; promtool: $TOOLS/bin/promtool)"
