#!/usr/bin/env bash
# The test command (`npm test`): on a fresh Debian machine as root it installs what the tests
# need, starts the services, builds, and runs every test tier. Nothing is skipped for a
# missing tool: a missing tool is installed here, or the run fails saying which.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have mosquitto || missing+=(mosquitto)
have mosquitto_sub || missing+=(mosquitto-clients)
have curl || missing+=(curl)
have dockerd || missing+=(docker.io)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || missing+=(busybox-static)
have file || missing+=(file)
have socat || missing+=(socat)
# Several hubs share Redis (issue 15): the brokers' layer, the hub list, notices to the leader.
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have sdcc || missing+=(sdcc)
have s51 || missing+=(sdcc-ucsim)
have qemu-system-arm || missing+=(qemu-system-arm)
have arm-none-eabi-gcc || missing+=(gcc-arm-none-eabi)
have stm32flash || missing+=(stm32flash)
have promtool || missing+=(prometheus)
have chromium || missing+=(chromium)
have cc || missing+=(gcc)
have make || missing+=(make)
have udevadm || missing+=(udev)
# Network namespaces and veth pairs (Services' must-show test, the nemesis tier's partitions), a
# dockerd per namespace (nsenter), the nemesis tier's strace durability check and clock steps;
# ss reads the broker's accept-queue limit (restart-desired).
{ have ip && have ss; } || missing+=(iproute2)
have nsenter || missing+=(util-linux)
have strace || missing+=(strace)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || missing+=(libfaketime)
# The PostgreSQL store's tests (issue 15): a cluster of their own, started below.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
# The architecture's import rules are lint rules: a violation fails the run like a test.
npx eslint .
scripts/start-dockerd.sh
EDGEPILOT_TEST_POSTGRES=$(scripts/start-postgres.sh)
export EDGEPILOT_TEST_POSTGRES
scripts/start-redis.sh
make -s -C hardware

npx ava "$@"
