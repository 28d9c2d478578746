#!/usr/bin/env bash
# install_tools.sh — installs what tests/asyncapi/validate_asyncapi.sh needs, idempotently (a
# second run only compares two files): the npm packages pinned in tests/asyncapi/package.json
# and package-lock.json (@asyncapi/parser and its dependencies), installed with `npm ci` into
# .cache/asyncapi-tools. npm ci installs exactly the versions of the lockfile and verifies each
# tarball against its sha512 integrity hash (it fails with EINTEGRITY on a mismatch); lifecycle
# scripts are not run. Before that, the lockfile itself is checked: every package must carry a
# sha512 integrity and come from registry.npmjs.org (no git, file or other URLs, which would
# have no hash to verify). Needs node and npm
# (scripts/setup.sh installs Debian's nodejs and npm when they are missing). Env override:
# TRIAD_ASYNCAPI_TOOLS_DIR (where to install).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/tests/asyncapi"
TOOLS="${TRIAD_ASYNCAPI_TOOLS_DIR:-$ROOT/.cache/asyncapi-tools}"

log() { echo "asyncapi-tools: $*" >&2; }

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing (apt-get install nodejs npm)"; exit 1; }
done

# Installed when the lockfile the last install used is the committed one and the parser loads.
if cmp -s "$SRC/package-lock.json" "$TOOLS/package-lock.json" &&
   [[ -f "$TOOLS/node_modules/@asyncapi/parser/package.json" ]]; then
  exit 0
fi

# Every package of the lockfile pinned by a sha512 integrity hash, from the npm registry.
if ! node - "$SRC/package-lock.json" <<'JS' >&2; then
const lock = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
const bad = [];
for (const [path, p] of Object.entries(lock.packages || {})) {
  if (path === "" || p.link) continue;
  if (!/^sha512-/.test(p.integrity || "")) bad.push(`${path}: no sha512 integrity`);
  if (p.resolved && !p.resolved.startsWith("https://registry.npmjs.org/")) {
    bad.push(`${path}: resolved from ${p.resolved}`);
  }
}
if (lock.lockfileVersion < 2) bad.push(`lockfileVersion ${lock.lockfileVersion}: use npm 7 or newer`);
for (const b of bad) console.error(`asyncapi-tools: FATAL: package-lock.json: ${b}`);
process.exit(bad.length ? 1 : 0);
JS
  log "FATAL: tests/asyncapi/package-lock.json pins packages without a verifiable hash"
  exit 1
fi

log "installing @asyncapi/parser (tests/asyncapi/package-lock.json) into $TOOLS"
mkdir -p "$TOOLS"
rm -rf "$TOOLS/node_modules" "$TOOLS/package-lock.json"
cp "$SRC/package.json" "$TOOLS/package.json"
cp "$SRC/package-lock.json" "$TOOLS/package-lock.json.new"
mv "$TOOLS/package-lock.json.new" "$TOOLS/package-lock.json"
if ! (cd "$TOOLS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
  rm -f "$TOOLS/package-lock.json"  # so the next run tries again
  log "npm ci failed"
  exit 1
fi
log "ok ($(cd "$TOOLS" && node -p 'require("@asyncapi/parser/package.json").version'))"
