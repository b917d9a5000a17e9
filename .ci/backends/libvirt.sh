#!/usr/bin/env bash
# SwarmPS CI backend: libvirt (qemu:///system) + QEMU for the KVM provider, on a machine without systemd.
# Usage: .ci/backends/libvirt.sh [start|stop|status]      (default: start; every command is idempotent)
#   start  : install libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage
#            (only when missing), give /dev/kvm udev's permissions, start virtlogd + libvirtd (no
#            systemd), define + start the dir storage pool SwarmPS owns, and the 'default' NAT network.
#   stop   : destroy running SwarmPS domains (swarm-*), then stop only the daemons/network THIS script
#            started (remembered in $STATE); a libvirtd that was already running is left alone.
#   status : print what runs; exit 0 when `virsh -c qemu:///system version` works, 3 otherwise.
# Env: SWARMPS_KVM_POOL (pool name, default swarmps), SWARMPS_KVM_POOL_DIR (default /var/lib/swarmps/pool),
#      SWARMPS_BACKENDS_DIR (state, default /tmp/swarmps-backends).
# Pitfalls handled (see also /work/shared/backends/libvirt-qemu-tcg.sh):
#   - no socket activation: virtlogd MUST run, or `virsh start` fails on /run/libvirt/virtlogd-sock;
#   - /dev/kvm root:root 0600 without udev makes libvirt re-probe QEMU on every call (define: 44 s);
#   - `virsh list --name` ends with a blank line;
#   - `undefine --remove-all-storage` deletes only pool volumes (the provider deletes its files itself).
set -euo pipefail
URI=qemu:///system
POOL="${SWARMPS_KVM_POOL:-swarmps}"
POOL_DIR="${SWARMPS_KVM_POOL_DIR:-/var/lib/swarmps/pool}"
STATE="${SWARMPS_BACKENDS_DIR:-/tmp/swarmps-backends}/libvirt-swarmps"
cmd="${1:-start}"
export LC_ALL=C
v() { virsh -q -c "$URI" "$@"; }
log() { printf '[libvirt.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
reachable() { timeout 10 virsh -q -c "$URI" version >/dev/null 2>&1; }

stop_pid() {  # stop_pid NAME: stop the daemon if this script started it (same pid as recorded)
  local n="$1" p
  [ -s "$STATE/$n.pid" ] || return 0
  p="$(cat "$STATE/$n.pid")"
  if [ "$(cat "/run/$n.pid" 2>/dev/null)" = "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && { log "$n (pid $p) did not stop"; return 1; }
    log "stopped $n (pid $p)"
  fi
  rm -f "$STATE/$n.pid"
}

case "$cmd" in
status)
  for d in virtlogd libvirtd; do
    if alive "/run/$d.pid"; then echo "$d: running (pid $(cat /run/$d.pid))$([ -s "$STATE/$d.pid" ] && echo ', started by libvirt.sh')"; else echo "$d: not running"; fi
  done
  if reachable; then
    echo "libvirt: reachable at $URI ($(v version | awk -F': ' '/Running hypervisor/{print $2}'))"
    echo "pool $POOL: $(v pool-info "$POOL" 2>/dev/null | awk '/^State:/{print $2}' || echo undefined) at $POOL_DIR"
    echo "network default: $(v net-info default 2>/dev/null | awk '/^Active:/{print ($2=="yes"?"active":"inactive")}' || echo undefined)"
    echo "domains: $(v list --all --name | sed '/^$/d' | tr '\n' ' ')"
    exit 0
  fi
  echo "libvirt: NOT reachable at $URI"; exit 3 ;;
stop)
  if reachable; then
    for d in $(v list --name | sed '/^$/d' | grep '^swarm-' || true); do v destroy "$d" >/dev/null 2>&1 || true; done
    if [ -f "$STATE/net-started" ]; then v net-destroy default >/dev/null 2>&1 || true; rm -f "$STATE/net-started"; log "network default stopped"; fi
  fi
  stop_pid libvirtd
  stop_pid virtlogd
  exit 0 ;;
start) ;;
*) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

t0=$(date +%s)
mkdir -p "$STATE"
# 1. packages (only when missing; dnsmasq-base + iptables for the NAT network, genisoimage for seeds)
missing=()
for p in libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage dnsmasq-base iptables; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. /dev/kvm as udev would leave it (root:kvm 0660); without udev it is root:root 0600 and libvirt
#    re-probes both QEMU binaries on every API call.
if [ -c /dev/kvm ]; then
  getent group kvm >/dev/null || groupadd -r kvm
  chown root:kvm /dev/kvm; chmod 0660 /dev/kvm
fi

# 3. daemons (remember the ones we start: stop touches only those)
# From /: a daemon keeps the working directory it started in, and the caller's folder may be deleted.
if ! alive /run/virtlogd.pid; then (cd / && /usr/sbin/virtlogd -d); sleep 0.2; alive /run/virtlogd.pid && cat /run/virtlogd.pid > "$STATE/virtlogd.pid"; fi
if ! alive /run/libvirtd.pid; then (cd / && /usr/sbin/libvirtd -d); sleep 0.2; alive /run/libvirtd.pid && cat /run/libvirtd.pid > "$STATE/libvirtd.pid"; fi
# the first start on a fresh machine probes QEMU's capabilities (~8 s); later ~0.2 s
for _ in $(seq 1 600); do reachable && break; sleep 0.1; done
reachable || { log "libvirtd does not answer at $URI"; exit 1; }

# 4. the dir pool SwarmPS owns (overlays + seeds live here; base images may live anywhere readable)
mkdir -p "$POOL_DIR"; chmod 0755 "$POOL_DIR"
if ! v pool-info "$POOL" >/dev/null 2>&1; then
  v pool-define-as "$POOL" dir --target "$POOL_DIR" >/dev/null
  v pool-autostart "$POOL" >/dev/null 2>&1 || true
fi
[ "$(v pool-info "$POOL" | awk '/^State:/{print $2}')" = running ] || v pool-start "$POOL" >/dev/null
v pool-refresh "$POOL" >/dev/null

# 5. the 'default' NAT network (192.168.122.0/24) guests get their DHCP lease from
if ! v net-info default >/dev/null 2>&1; then
  x=$(mktemp)
  cat > "$x" <<'EOF'
<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='off' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>
EOF
  v net-define "$x" >/dev/null; rm -f "$x"
fi
if [ "$(v net-info default | awk '/^Active:/{print $2}')" != yes ]; then
  v net-start default >/dev/null; touch "$STATE/net-started"
fi
# 6. STP off on the network's bridge: every boot AND every running snapshot revert (QEMU restarts with a
#    new tap port) otherwise waits 2x2 s of STP listening/learning before the guest's packets pass.
br="$(v net-info default | awk '/^Bridge:/{print $2}')"
[ -n "$br" ] && ip link set "$br" type bridge stp_state 0 2>/dev/null || true
log "ready in $(( $(date +%s) - t0 )) s: $URI, pool $POOL at $POOL_DIR, network default"
