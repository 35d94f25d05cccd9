#!/usr/bin/env bash
# `npm start`: install on first use, build when the sources changed since the last build (the
# first start always builds; scripts/build.mjs keeps a stamp of the inputs), then run a hub with
# its embedded broker and store plus a local agent on this machine (`edgepilot up`). Extra
# arguments go to `up`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/build.mjs --if-stale
exec node bin/edgepilot.js up "$@"
