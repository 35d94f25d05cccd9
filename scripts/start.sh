#!/usr/bin/env bash
# `npm start`: install and build on first use, then run a hub with its embedded broker and
# store plus a local agent on this machine (`edgepilot up`). Extra arguments go to `up`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
exec node bin/edgepilot.js up "$@"
