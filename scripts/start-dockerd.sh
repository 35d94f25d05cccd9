#!/usr/bin/env bash
# Starts Debian's dockerd by hand (no systemd here) on the default socket, unless one answers
# already, and makes the offline test image local/busybox:latest (no registry is reachable).
set -euo pipefail
SOCK=/var/run/docker.sock
if ! docker -H "unix://$SOCK" version >/dev/null 2>&1; then
  mkdir -p /run/edgepilot-dockerd /var/lib/edgepilot-dockerd
  # The host network is 192.0.2.0/24; keep Docker off it and leave iptables alone.
  nohup dockerd --host "unix://$SOCK" \
    --data-root /var/lib/edgepilot-dockerd --exec-root /run/edgepilot-dockerd \
    --pidfile /run/edgepilot-dockerd/dockerd.pid --storage-driver overlay2 \
    --iptables=false --bridge=none --ip-forward=false \
    >/var/log/edgepilot-dockerd.log 2>&1 &
  for _ in $(seq 1 100); do
    docker -H "unix://$SOCK" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  docker -H "unix://$SOCK" version >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/edgepilot-dockerd.log" >&2; tail -20 /var/log/edgepilot-dockerd.log >&2; exit 1; }
fi
if ! docker image inspect local/busybox:latest >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/data" "$rootfs/etc"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox:latest >/dev/null
  rm -rf "$rootfs"
fi
echo "dockerd ready on $SOCK with image local/busybox:latest"
