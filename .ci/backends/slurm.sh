#!/usr/bin/env bash
# Slurm backend for the SwarmPS swarm and slurm-provider tests: one controller and one compute node
# on this machine (Debian 12, Slurm 22.05), without systemd, cgroups or slurmdbd.
#
# Usage: .ci/backends/slurm.sh [start|stop|status]      (default: start; every command is idempotent)
#   start  : install munge, slurmctld, slurmd and the client tools if missing, start munged,
#            slurmctld and slurmd unless they already run, wait until the node takes jobs.
#            The node advertises SLURM_FAKE_CPUS (default 16) CPUs, so a 4-node swarm (a 4-task job
#            array, one CPU each) and a few batch jobs run at the same time on a 2-core machine.
#            /etc/slurm/slurm.conf points to the generated config, so sbatch/squeue need no SLURM_CONF.
#            Prints `export SLURM_CONF=...` on its last line.
#   stop   : stops the daemons THIS script started (their pid files say which); never others.
#   status : sinfo + squeue; exit 1 when the controller does not answer.
#
# Env: SWARMPS_BACKENDS_DIR (state, default /tmp/swarmps-backends), SLURM_FAKE_CPUS.
# Facts: MinJobAge=300 keeps finished jobs visible to `squeue -t all` / `scontrol show job` for 5
# minutes; without slurmdbd `sacct` has nothing, so SwarmPS falls back to scontrol and heartbeats.
set -euo pipefail
S_DIR="${SWARMPS_BACKENDS_DIR:-/tmp/swarmps-backends}/slurm"
CPUS="${SLURM_FAKE_CPUS:-16}"
CONF="$S_DIR/slurm.conf"
export SLURM_CONF="$CONF"
cmd="${1:-start}"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "$cmd" in
  status)
    sinfo && squeue; exit $? ;;
  stop)
    pids=""
    # munged is ours only when this script started it (marker file below).
    for p in "$S_DIR/slurmd.pid" "$S_DIR/slurmctld.pid"; do alive "$p" && pids="$pids $(cat "$p")"; done
    if [ -f "$S_DIR/munged.started" ] && alive /run/munge/munged.pid; then pids="$pids $(cat /run/munge/munged.pid)"; fi
    rm -f "$S_DIR/munged.started"
    [ -n "$pids" ] || exit 0
    kill $pids 2>/dev/null || true
    # pid files go before the processes exit: wait on the pids.
    for _ in $(seq 1 100); do kill -0 $pids 2>/dev/null || exit 0; sleep 0.1; done
    echo "slurm daemons still alive after 10 s: $pids" >&2; exit 1 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

# 1. packages (a few seconds after apt-get update).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "installing slurm needs root" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# 2. munge: the package made a key; make one if it is missing. Start munged unless one runs.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
fi
mkdir -p "$S_DIR"/{state,spool,log} /run/munge
chown munge:munge /run/munge; chmod 0755 /run/munge
if ! alive /run/munge/munged.pid; then
  rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged   # daemonizes; pid in /run/munge/munged.pid
  touch "$S_DIR/munged.started"
fi
munge -n | unmunge >/dev/null

# 3. slurm.conf: one node with CPUS advertised CPUs (config_overrides), no accounting.
host="$(hostname -s)"
mem=$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) - 512 ))
cat > "$CONF.new" <<EOF
ClusterName=swarmps
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=${S_DIR}/state
SlurmdSpoolDir=${S_DIR}/spool
SlurmctldPidFile=${S_DIR}/slurmctld.pid
SlurmdPidFile=${S_DIR}/slurmd.pid
SlurmctldLogFile=${S_DIR}/log/slurmctld.log
SlurmdLogFile=${S_DIR}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
MinJobAge=300
KillWait=2
InactiveLimit=0
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
if ! cmp -s "$CONF.new" "$CONF" 2>/dev/null; then mv "$CONF.new" "$CONF"; else rm -f "$CONF.new"; fi
mkdir -p /etc/slurm
ln -sfn "$CONF" /etc/slurm/slurm.conf

# 4. daemons (both daemonize and write the pid files named above). -c: a clean job state.
# From /: a daemon keeps the working directory it started in, and the caller's folder may be deleted.
alive "$S_DIR/slurmctld.pid" || (cd / && /usr/sbin/slurmctld -c)
alive "$S_DIR/slurmd.pid" || (cd / && /usr/sbin/slurmd)

# 5. ready when the node is idle/mixed/allocated (normally within 2 s); resume a node left DOWN.
ready() { case "$(sinfo -h -N -o %T 2>/dev/null || true)" in idle*|mixed*|allocated*) return 0;; esac; return 1; }
for i in $(seq 1 200); do
  ready && break
  [ "$i" = 50 ] && scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
  sleep 0.1
done
ready || { echo "the slurm node did not become ready; last log lines:" >&2; tail -5 "$S_DIR"/log/*.log >&2 || true; exit 1; }
echo "export SLURM_CONF=$CONF"
