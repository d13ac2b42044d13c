#!/usr/bin/env bash
# A single-node Slurm cluster on this machine (slurmctld + slurmd + munge, no cgroups, no accounting), for the
# sweep launcher's tests and for trying Slurm launches locally. Needs root and Debian's slurm-wlm and munge
# (`apt-get install -y slurm-wlm munge`).
#
#   scripts/slurm-local.sh start    # writes $DIR/slurm.conf, starts munged (if needed), slurmctld, slurmd; waits for the node
#   scripts/slurm-local.sh status   # sinfo / squeue
#   scripts/slurm-local.sh stop     # stops the two Slurm daemons by their pid files
#   scripts/slurm-local.sh env      # prints `export SLURM_CONF=...` for clients (sbatch, squeue, multilora)
#
# State (config, pid files, spool, logs) lives in $MULTILORA_SLURM_DIR (default /tmp/multilora-slurm). Clients must see
# SLURM_CONF=$DIR/slurm.conf. Daemons are stopped by pid, never by name, so another cluster on the host is left alone.
set -euo pipefail

DIR=${MULTILORA_SLURM_DIR:-/tmp/multilora-slurm}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

need() { command -v "$1" >/dev/null 2>&1 || { echo "slurm-local: $1 not found (apt-get install -y slurm-wlm munge)" >&2; exit 2; }; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  local host; host=$(hostname -s)
  mkdir -p "$DIR/spool" "$DIR/state"
  cat > "$CONF" <<CONF
ClusterName=multilora-local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${MULTILORA_SLURM_PORT:-6817}
SlurmdPort=$(( ${MULTILORA_SLURM_PORT:-6817} + 1 ))
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmdSpoolDir=$DIR/spool
StateSaveLocation=$DIR/state
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=300
NodeName=$host CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  [[ -f /etc/munge/munge.key ]] || { command -v mungekey >/dev/null && mungekey -c -f -k /etc/munge/munge.key || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; }
  chmod 400 /etc/munge/munge.key
  /usr/sbin/munged --force
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
  echo "slurm-local: munged did not come up" >&2; exit 1
}

case ${1:-} in
  start)
    need slurmctld; need slurmd; need munged; need sinfo
    [[ $(id -u) == 0 ]] || { echo "slurm-local: start needs root" >&2; exit 2; }
    if alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid"; then echo "slurm-local: already running ($CONF)"; exit 0; fi
    write_conf
    start_munge
    alive "$DIR/slurmctld.pid" || /usr/sbin/slurmctld -i -f "$CONF"
    alive "$DIR/slurmd.pid" || /usr/sbin/slurmd -f "$CONF"
    for _ in $(seq 100); do
      if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then echo "slurm-local: up ($CONF)"; exit 0; fi
      sleep 0.2
    done
    echo "slurm-local: the node did not become idle; see $DIR/slurmctld.log and $DIR/slurmd.log" >&2
    sinfo >&2 || true
    exit 1
    ;;
  stop)
    for d in slurmd slurmctld; do
      if alive "$DIR/$d.pid"; then
        pid=$(cat "$DIR/$d.pid"); kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
    done
    echo "slurm-local: stopped"
    ;;
  status)
    sinfo; squeue
    ;;
  env)
    echo "export SLURM_CONF=$CONF"
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2; exit 2
    ;;
esac
