#!/usr/bin/env bash
# Docker Engine backend for the SwarmPS Docker provider tests, on a clean Debian/Ubuntu machine,
# without systemd and without any registry (the test image is made offline with `docker import`).
#
# Usage: .ci/backends/docker.sh [start|stop|status]      (default: start; every command is idempotent)
#   start  : install docker.io + busybox-static if missing, start dockerd in the background unless an
#            engine already answers on the socket, import swarmps-tiny:latest if missing.
#            Prints `export DOCKER_HOST=unix://...` on its last line.
#   stop   : stop the dockerd this script started (never one it did not start). Containers are left
#            to the daemon (they stop with it); SwarmPS tests remove their own.
#   status : exit 0 and print the engine version when the engine answers, exit 1 otherwise.
#
# Facts: Debian 12 docker.io is Engine 20.10 (API 1.41 max). --iptables=false leaves the host
# firewall alone; the default bridge still works and -p 127.0.0.1:H:C is served by docker-proxy.
# Env: SWARMPS_BACKENDS_DIR (state, default /tmp/swarmps-backends), DOCKER_SOCK (default /var/run/docker.sock).
set -euo pipefail
D_DIR="${SWARMPS_BACKENDS_DIR:-/tmp/swarmps-backends}/swarmps-docker"
PIDFILE="$D_DIR/dockerd.pid"
SOCK="${DOCKER_SOCK:-/var/run/docker.sock}"
IMAGE=swarmps-tiny:latest
cmd="${1:-start}"

alive() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
ping() { [ -S "$SOCK" ] && [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]; }

case "$cmd" in
  status)
    if ping; then
      curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/version | tr ',' '\n' | grep -E '"(Version|ApiVersion)"' | head -2
      exit 0
    fi
    echo "no Docker Engine answers on $SOCK" >&2; exit 1 ;;
  stop)
    if alive; then
      p="$(cat "$PIDFILE")"; kill "$p"
      for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$p" 2>/dev/null; then echo "dockerd $p still alive after 15 s" >&2; exit 1; fi
    fi
    # dockerd leaves the nsfs bind mount of its default netns behind (it blocks rm -rf of the exec root).
    while grep -q " $D_DIR/exec/netns/default " /proc/mounts 2>/dev/null; do umount "$D_DIR/exec/netns/default"; done
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

# 1. packages (~10-30 s on a clean machine): docker.io brings containerd, runc and tini (docker-init).
if ! command -v dockerd >/dev/null || ! command -v curl >/dev/null || ! dpkg -s busybox-static >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "installing docker.io needs root" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io busybox-static curl ca-certificates >/dev/null
fi
# The image is imported through the CLI; docker.io ships it, a docker-ce-cli elsewhere on PATH works too.
command -v docker >/dev/null || { echo "the docker CLI is missing (package docker.io)" >&2; exit 1; }

# 2. daemon (ready in ~0.5 s), unless an engine already answers on the socket.
mkdir -p "$D_DIR"
if ! ping && ! alive; then
  # From / (like every daemon here): its working directory must outlive the caller's folder.
  cd /
  setsid nohup "$(command -v dockerd)" \
    --iptables=false --ip6tables=false \
    --data-root "$D_DIR/data" --exec-root "$D_DIR/exec" \
    --pidfile "$PIDFILE" -H "unix://$SOCK" >>"$D_DIR/dockerd.log" 2>&1 < /dev/null &
  cd "$OLDPWD"
fi
for _ in $(seq 1 300); do ping && break; sleep 0.1; done
ping || { echo "dockerd did not answer on $SOCK within 30 s; last log lines:" >&2; tail -20 "$D_DIR/dockerd.log" >&2 || true; exit 1; }
export DOCKER_HOST="unix://$SOCK"

# 3. an image without a registry: a busybox-static rootfs, docker import.
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  bash "$(dirname "$0")/busybox-rootfs.sh" | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -c 'LABEL org.swarmps.test-image=1' - "$IMAGE" >/dev/null
fi
echo "export DOCKER_HOST=unix://$SOCK"
