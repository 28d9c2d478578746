#!/usr/bin/env bash
# validate_manifests.sh — offline validation of deploy/ (ctest: deploy_manifests_test):
#   1. renders the kustomize base and both overlays (dev, prod) with kustomize v5;
#   2. validates every rendered object strictly against the Kubernetes JSON schemas
#      (kubernetes-validate, Kubernetes 1.29 and 1.33), Strimzi KafkaTopics by their required
#      fields, and checks the policy (non-root, read-only root, resources, gRPC probes, PVC
#      templates, PDBs, ...) and the consistency with the code (flags, topics):
#      tests/deploy/check_manifests.py; Kafka users (ACLs against the contracts registry of the
#      build's contracts_dump), NetworkPolicies, secrets, TLS: manifest_security.py;
#   3. checks deploy/docker/Dockerfile statically: tests/deploy/check_dockerfile.py.
# Needs no cluster and no network once tests/deploy/install_tools.sh has run (it is called here
# and returns at once when everything is installed). Exits non-zero on any problem.
# TRIAD_DEPLOY_STRICT_COVERAGE=1 also fails on services and topics in the code that have no
# manifests yet (otherwise those are warnings).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS="${TRIAD_DEPLOY_TOOLS_DIR:-$ROOT/.cache/deploy-tools}"
BUILD_DIR="${TRIAD_DEPLOY_BUILD_DIR:-$ROOT/${TRIAD_BUILD_DIR:-build}}"
K8S_VERSIONS=(1.29 1.33)

"$HERE/install_tools.sh"
# shellcheck source=/dev/null
source "$TOOLS/env.sh"
read -r -a KUSTOMIZE <<<"$TRIAD_KUSTOMIZE"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
failed=0
version_args=()
for v in "${K8S_VERSIONS[@]}"; do version_args+=(--k8s-version "$v"); done

# check NAME DIR [check_manifests.py options...]
check() {
  local name="$1" dir="$2"
  shift 2
  local rendered="$OUT/${name//\//_}.yaml"
  if ! "${KUSTOMIZE[@]}" "$ROOT/deploy/k8s/$dir" >"$rendered" 2>"$OUT/err"; then
    echo "ERROR $name: kustomize failed:" >&2
    sed 's/^/  /' "$OUT/err" >&2
    failed=1
    return
  fi
  "$TRIAD_DEPLOY_PYTHON" "$HERE/check_manifests.py" --name "$name" --repo "$ROOT" \
    "${version_args[@]}" "$@" "$rendered" || failed=1
}

# The Kafka users' ACLs are compared with the contracts registry when it is built.
DUMP="$BUILD_DIR/tools/contracts/contracts_dump"
dump_args=()
if [[ -x "$DUMP" ]]; then dump_args=(--contracts-dump "$DUMP"); fi
check base base "${dump_args[@]}"
check overlays/dev overlays/dev --replicas 1 --require-namespace "${dump_args[@]}"
check overlays/prod overlays/prod --replicas 1 --require-namespace --require-monitoring --hardened \
  "${dump_args[@]}"

# The security checks themselves: the rendered prod overlay passes and each weakening is caught.
if [[ -x "$DUMP" ]]; then
  "$DUMP" >"$OUT/registry.json"
  "$TRIAD_DEPLOY_PYTHON" "$HERE/manifest_security_test.py" "$OUT/overlays_prod.yaml" \
    "$OUT/registry.json" 2>"$OUT/security-test.log" ||
    { cat "$OUT/security-test.log" >&2; failed=1; }
fi

# Every directory under overlays/ must be one of the checked ones.
for d in "$ROOT"/deploy/k8s/overlays/*/; do
  case "$(basename "$d")" in
    dev | prod) ;;
    *) echo "ERROR overlays/$(basename "$d"): not validated (add it to $0)" >&2; failed=1 ;;
  esac
done

"$TRIAD_DEPLOY_PYTHON" "$HERE/check_dockerfile.py" --repo "$ROOT" --build-dir "$BUILD_DIR" || failed=1

if ((failed)); then
  echo "deploy manifests: FAILED" >&2
  exit 1
fi
echo "deploy manifests: ok"
