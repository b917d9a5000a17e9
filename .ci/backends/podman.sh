#!/usr/bin/env bash
# Podman backend for the SwarmPS Docker provider tests run a second time against podman's
# Docker-compatible API, on a clean Debian/Ubuntu machine as root, without systemd and without any
# registry (the test image is made offline with `podman import`).
#
# Usage: .ci/backends/podman.sh [start|stop|status]      (default: start; every command is idempotent)
#   start  : install podman + busybox-static if missing, write a private containers.conf and
#            storage.conf, import swarmps-tiny:latest if missing, start `podman system service` on
#            $PODMAN_DIR/podman.sock unless it already answers. Prints the exports on its last line.
#   stop   : stop the API service this script started (by its pid file).
#   status : exit 0 when the API answers, 1 otherwise.
#
# The tests find the socket through SWARMPS_PODMAN_HOST (default unix://$PODMAN_DIR/podman.sock).
# Facts: Debian 12 podman is 4.3 (compat API 1.41). Pitfall: root in a container-ish CI machine may lack
# CAP_SYS_RESOURCE; podman's default container rlimits (nofile 1048576, nproc 4194304) then make runc
# fail with "error setting rlimit ... operation not permitted" (rc 126), so the defaults are pinned at
# or below the limits this shell has. The storage and run roots are private to this script.
# Env: SWARMPS_BACKENDS_DIR (state, default /tmp/swarmps-backends).
set -euo pipefail
PODMAN_DIR="${SWARMPS_BACKENDS_DIR:-/tmp/swarmps-backends}/swarmps-podman"
SOCK="$PODMAN_DIR/podman.sock"
PIDFILE="$PODMAN_DIR/service.pid"
IMAGE=swarmps-tiny:latest
export CONTAINERS_CONF="$PODMAN_DIR/containers.conf" CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf"
cmd="${1:-start}"

alive() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
ping() { [ -S "$SOCK" ] && [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]; }

case "$cmd" in
  status)
    if ping; then curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/version | tr ',' '\n' | grep -E '"(Version|ApiVersion)"' | head -2; exit 0; fi
    echo "no podman API answers on $SOCK" >&2; exit 1 ;;
  stop)
    if alive; then
      p="$(cat "$PIDFILE")"; kill "$p"
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

# 1. packages (~10 s on a clean machine).
if ! command -v podman >/dev/null || ! command -v curl >/dev/null || ! dpkg -s busybox-static >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "installing podman needs root" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman busybox-static curl ca-certificates >/dev/null
fi

# 2. private configuration: rlimits within what this shell may grant, cgroupfs (no systemd), file events.
mkdir -p "$PODMAN_DIR"
nofile="$(ulimit -Hn)"; [ "$nofile" = unlimited ] && nofile=1048576
nproc="$(ulimit -Hu)"; if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
cat > "$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat > "$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$PODMAN_DIR/storage"
runroot = "$PODMAN_DIR/run"
EOF

# 3. the offline test image (the same busybox rootfs the docker script imports).
if ! podman image exists "localhost/$IMAGE"; then
  bash "$(dirname "$0")/busybox-rootfs.sh" | podman import -q -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -c 'LABEL org.swarmps.test-image=1' - "localhost/$IMAGE" >/dev/null
fi

# 4. the Docker-compatible API (ready in well under a second).
if ! ping; then
  if ! alive; then
    rm -f "$SOCK"
    # From /: the service and every conmon it starts keep this working directory, and a caller's folder (a CI
    # clone, a worktree) may be deleted while they run ("conmon: Failed to get working directory", and then
    # every container start fails with "write child: broken pipe").
    cd /
    setsid nohup podman system service --time=0 "unix://$SOCK" >>"$PODMAN_DIR/service.log" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    cd "$OLDPWD"
  fi
  for _ in $(seq 1 150); do ping && break; sleep 0.1; done
  ping || { echo "podman did not answer on $SOCK within 15 s; last log lines:" >&2; tail -20 "$PODMAN_DIR/service.log" >&2 || true; exit 1; }
fi
echo "export SWARMPS_PODMAN_HOST=unix://$SOCK CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
