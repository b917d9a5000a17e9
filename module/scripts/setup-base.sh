#!/usr/bin/env bash
# setup-base.sh - provision a SwarmPS KVM base image (Debian 12 / Ubuntu 22.04+ cloud images, apt, systemd).
#
# Installs what ticket environments need inside the VM:
#   PostgreSQL + pgvector (the extension is created in template1, so every new database has it),
#   Redis, Node.js + npm, Python 3 + venv + pip + Poetry, Rust (rustup, stable, minimal profile), git,
#   OpenSSH server, build tools. No Docker: each environment IS the isolation boundary.
#
# Usage (as root, inside the guest):
#   setup-base.sh [--poweroff]
# As the provisioning script of a build it is run once by the seed's wrapper with SWARMPS_PROVISIONING=1:
#   New-SwarmBaseImage -Provider Kvm -Name deb12-dev -From debian-12-genericcloud-amd64.qcow2 `
#       -ProvisionScript (Join-Path (Get-Module SwarmPS).ModuleBase 'scripts/setup-base.sh')
#   swarmps image build deb12-dev --provider kvm --from debian-12-genericcloud-amd64.qcow2 --provision-script setup-base.sh
# Then (SWARMPS_PROVISIONING=1 or --poweroff) the VM powers off at the end: the builder's cloud-init powers it
# off right after the wrapper has reported the exit code; a power-off scheduled one minute out is the fallback.
#
# Idempotent: every step checks first, so running it again changes nothing that is already there.
# Environment: SWARMPS_RUST_FROM_APT=1 installs Debian's rustc/cargo instead of rustup (no download from
#              static.rust-lang.org).
set -euo pipefail

poweroff_at_end=0
[ "${SWARMPS_PROVISIONING:-0}" = 1 ] && poweroff_at_end=1
for arg in "$@"; do
  case "$arg" in
    --poweroff) poweroff_at_end=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-base.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

log() { printf '[setup-base %s] %s\n' "$(date -u +%T)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
command -v apt-get >/dev/null || die "this script needs an apt-based distribution (Debian 12, Ubuntu 22.04 or later)"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

apt_updated=0
apt_install() {  # installs only the packages that are missing
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
have_pkg() { apt-cache show "$1" >/dev/null 2>&1; }

# 1. base tools, git, OpenSSH
apt_install ca-certificates curl gnupg git openssh-server build-essential pkg-config libssl-dev unzip jq sudo
systemctl enable --now ssh >/dev/null 2>&1 || systemctl enable --now sshd >/dev/null 2>&1 || true

# 2. PostgreSQL + pgvector (the distribution's default major version)
apt_install postgresql postgresql-contrib
pgver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$pgver" ] || die "PostgreSQL did not install (no /usr/lib/postgresql/<version>)"
if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
have_pkg "postgresql-$pgver-pgvector" || die "postgresql-$pgver-pgvector is not in the apt sources (Debian 12 and Ubuntu 24.04 have it)"
apt_install "postgresql-$pgver-pgvector"
systemctl enable --now postgresql >/dev/null
for _ in $(seq 1 60); do runuser -u postgres -- pg_isready -q && break; sleep 1; done
runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt -d template1 -c 'CREATE EXTENSION IF NOT EXISTS vector;' >/dev/null
log "PostgreSQL $pgver with pgvector $(runuser -u postgres -- psql -qAt -d template1 -c "SELECT extversion FROM pg_extension WHERE extname='vector'")"

# 3. Redis
apt_install redis-server
systemctl enable --now redis-server >/dev/null

# 4. Node.js + npm
apt_install nodejs npm
log "Node.js $(node --version), npm $(npm --version)"

# 5. Python 3 + venv + pip + Poetry
apt_install python3 python3-venv python3-pip python3-dev pipx
if ! command -v poetry >/dev/null; then
  if have_pkg python3-poetry; then
    apt_install python3-poetry
  else
    PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install poetry
  fi
fi
log "$(python3 --version), $(poetry --version 2>/dev/null || echo 'poetry missing')"

# 6. Rust (system-wide, so every user of the VM has cargo on PATH)
if ! command -v cargo >/dev/null; then
  if [ "${SWARMPS_RUST_FROM_APT:-0}" = 1 ]; then
    apt_install rustc cargo
  else
    export RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo
    tmp=$(mktemp)
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs -o "$tmp"
    sh "$tmp" -y --no-modify-path --profile minimal --default-toolchain stable
    rm -f "$tmp"
    for b in /usr/local/cargo/bin/*; do ln -sf "$b" "/usr/local/bin/$(basename "$b")"; done
    printf 'export RUSTUP_HOME=/usr/local/rustup\nexport CARGO_HOME="${HOME}/.cargo"\n' > /etc/profile.d/rust.sh
  fi
fi
log "$(rustc --version), $(cargo --version)"

# 7. no Docker in the base image
if command -v docker >/dev/null || dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'install ok'; then
  die "Docker is installed in this image; SwarmPS base images must not ship it (remove docker.io / docker-ce first)"
fi

# 8. smaller image: package caches out
apt-get clean
rm -rf /var/lib/apt/lists/* 2>/dev/null || true

log "done: postgresql $pgver + pgvector, redis, node, python + poetry, rust, git, openssh"
if [ $poweroff_at_end = 1 ]; then
  # Not "poweroff" at once: the build wrapper still reports the exit code on the console, and cloud-init's
  # power_state powers the VM off right after that. This is the fallback if nothing else does.
  log "powering off within a minute"
  shutdown -P +1 "SwarmPS base image provisioning done" >/dev/null 2>&1 || (sleep 60; poweroff) &
fi
exit 0
