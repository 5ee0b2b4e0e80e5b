# shellcheck shell=bash
# A SLURM cluster of two nodes on this one machine, for tests (source it from bash).
#
#   source tests/tools/slurm_two_nodes.sh
#   two_nodes_require        # skip (exit 77, one line) unless root, SLURM installed/installable, ports free
#   two_nodes_up             # munged + slurmctld + slurmd nodeA (127.0.0.1) + slurmd nodeB (127.0.0.2)
#   ... srun / sbatch with SLURM_CONF exported; scratch space under $TWO_NODES_DIR ...
#   (two_nodes_cleanup runs on EXIT: it was installed as the trap by two_nodes_up)
#
# The checked recipe is ../shared/notes/local-slurm.md, "Two nodes on one machine": Debian's
# slurm 22.05 runs several slurmd side by side (MULTIPLE_SLURMD); each gets its own UTS namespace
# and host name (else Open MPI's shared-memory files of the two "nodes" collide), its own spool,
# TmpFS (else pmix's /tmp/spmix_appdir_* of the two collide), pid and log files. The ports are
# 17000 (slurmctld), 17001/17002 (slurmd), away from a single-node test cluster's 6817-6819.
# Everything lives in a private mktemp directory; every daemon is stopped by its recorded PID.
#
# Settings (before two_nodes_up): TWO_NODES_CPUS (per node, default 2), TWO_NODES_UP_DEADLINE
# (seconds for both nodes to be idle, default 60); KEEP=1 keeps the directory. Defines `skip`
# (prints "SKIP: reason", exits 77) for the sourcing script too.

TWO_NODES_CTLD_PORT=17000
TWO_NODES_NAMES=(nodeA nodeB)
TWO_NODES_ADDRS=(127.0.0.1 127.0.0.2)
TWO_NODES_PORTS=(17001 17002)
TWO_NODES_DIR=
TWO_NODES_PIDS=()
TWO_NODES_SPMIX_BEFORE=

skip() { echo "SKIP: $*"; exit 77; }

two_nodes_have_pmix() { [[ "$(ldconfig -p)" == *"libpmix.so "* ]]; } # whole output: no SIGPIPE under pipefail

# root, the packages (installed when missing, as tests/scripts/test_slurm.sh does), free ports
two_nodes_require() {
  [ "$(id -u)" = 0 ] || skip "needs root to start slurmctld, two slurmd and munged"
  command -v unshare > /dev/null || skip "unshare (util-linux) not installed: the two nodes need their own host names"
  if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v sbatch > /dev/null ||
     ! command -v munged > /dev/null || ! two_nodes_have_pmix; then
    command -v apt-get > /dev/null || skip "SLURM not installed and no apt-get"
    echo "installing slurmctld slurmd slurm-client munge libpmix-dev"
    local made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then # keep package scripts from starting services
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive timeout 240 apt-get install -y --no-install-recommends \
      slurmctld slurmd slurm-client munge libpmix-dev > /tmp/sg-slurm-apt.log 2>&1
    local apt_rc=$?
    [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
    [ $apt_rc = 0 ] || skip "apt-get install of SLURM failed (see /tmp/sg-slurm-apt.log)"
  fi
  unshare --uts true 2> /dev/null || skip "unshare --uts is not permitted here (a container without CAP_SYS_ADMIN?)"
  local i
  if (exec 3<> /dev/tcp/127.0.0.1/$TWO_NODES_CTLD_PORT) 2> /dev/null; then
    skip "port $TWO_NODES_CTLD_PORT in use: another two-node test cluster is running"
  fi
  for i in 0 1; do
    if (exec 3<> "/dev/tcp/${TWO_NODES_ADDRS[$i]}/${TWO_NODES_PORTS[$i]}") 2> /dev/null; then
      skip "port ${TWO_NODES_ADDRS[$i]}:${TWO_NODES_PORTS[$i]} in use: another two-node test cluster is running"
    fi
  done
}

two_nodes_start() { # name, command...: in its own session, output to <dir>/<name>.out, PID recorded
  local name=$1; shift
  setsid "$@" > "$TWO_NODES_DIR/$name.out" 2>&1 &
  TWO_NODES_PIDS+=($!)
}

two_nodes_dump_logs() {
  local f
  for f in "$TWO_NODES_DIR"/*.out "$TWO_NODES_DIR"/log/*.log; do [ -f "$f" ] && { echo "== $f"; tail -15 "$f"; }; done
}

two_nodes_up() {
  local t0=$SECONDS cpus=${TWO_NODES_CPUS:-2} deadline=${TWO_NODES_UP_DEADLINE:-60} i n
  TWO_NODES_SPMIX_BEFORE=$(shopt -s nullglob; printf '%s\n' /tmp/spmix*)
  TWO_NODES_DIR=$(mktemp -d /tmp/sg-2nodes.XXXXXX) || { echo "FAIL mktemp"; exit 1; }
  chmod 755 "$TWO_NODES_DIR"
  trap two_nodes_cleanup EXIT
  trap 'exit 130' INT; trap 'exit 143' TERM # a signal ends the script through the EXIT trap too
  local W=$TWO_NODES_DIR
  mkdir -p "$W/munge" "$W/state" "$W/log" && chmod 755 "$W/munge"
  for n in "${TWO_NODES_NAMES[@]}"; do mkdir -p "$W/spool/$n" "$W/tmp/$n"; done
  dd if=/dev/urandom of="$W/munge.key" bs=1024 count=1 status=none && chmod 400 "$W/munge.key"
  two_nodes_start munged munged -F --force --key-file="$W/munge.key" --socket="$W/munge/munge.socket" \
    --pid-file="$W/munged.pid" --seed-file="$W/munge.seed" --log-file="$W/log/munged.log"
  for _ in $(seq 50); do [ -S "$W/munge/munge.socket" ] && break; sleep 0.1; done
  [ -S "$W/munge/munge.socket" ] || { two_nodes_dump_logs; skip "munged did not start"; }

  {
    cat << EOF
ClusterName=sg2nodes
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10,socket=$W/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
SlurmdParameters=config_overrides
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
KillWait=5
SchedulerParameters=sched_interval=2,bf_interval=1
StateSaveLocation=$W/state
SlurmctldPidFile=$W/slurmctld.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmctldPort=$TWO_NODES_CTLD_PORT
SlurmdSpoolDir=$W/spool/%n
TmpFS=$W/tmp/%n
SlurmdPidFile=$W/slurmd.%n.pid
SlurmdLogFile=$W/log/slurmd.%n.log
EOF
    for i in 0 1; do
      echo "NodeName=${TWO_NODES_NAMES[$i]} NodeHostname=${TWO_NODES_NAMES[$i]} NodeAddr=${TWO_NODES_ADDRS[$i]}" \
           "Port=${TWO_NODES_PORTS[$i]} CPUs=$cpus RealMemory=4000 State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=$(IFS=,; echo "${TWO_NODES_NAMES[*]}") Default=YES MaxTime=INFINITE State=UP"
  } > "$W/slurm.conf"
  # every client command reads this one (a stale /etc/slurm/slurm.conf may name another munge socket)
  export SLURM_CONF=$W/slurm.conf

  two_nodes_start slurmctld slurmctld -D -i -f "$SLURM_CONF"
  for _ in $(seq 100); do [[ "$(scontrol ping 2> /dev/null)" == *UP* ]] && break; sleep 0.1; done
  [[ "$(scontrol ping 2> /dev/null)" == *UP* ]] || { two_nodes_dump_logs; echo "FAIL slurmctld did not answer"; exit 1; }
  # each slurmd in its own UTS namespace with its node's host name (`exec`: the recorded PID is slurmd's)
  for n in "${TWO_NODES_NAMES[@]}"; do
    two_nodes_start "slurmd.$n" unshare --uts sh -c "hostname $n && exec slurmd -D -f '$SLURM_CONF' -N $n"
  done
  local idle=0
  while [ $((SECONDS - t0)) -lt "$deadline" ]; do
    idle=$(sinfo -h -N -o '%N %T' 2> /dev/null | grep -c ' idle$')
    [ "$idle" = 2 ] && break
    sleep 0.2
  done
  if [ "$idle" != 2 ]; then
    sinfo -N 2> /dev/null
    two_nodes_dump_logs
    echo "FAIL the two nodes were not idle within $deadline s"
    exit 1
  fi
  # the daemons' own pid files must name the PIDs recorded (else stopping by PID would miss one)
  for n in "${TWO_NODES_NAMES[@]}"; do
    local pf="$W/slurmd.$n.pid" p
    for _ in $(seq 20); do [ -s "$pf" ] && break; sleep 0.1; done
    p=$(cat "$pf" 2> /dev/null)
    [[ " ${TWO_NODES_PIDS[*]} " == *" $p "* ]] || { echo "note: slurmd $n runs as PID $p, not the recorded one; recorded too"; TWO_NODES_PIDS+=("$p"); }
  done
  echo "two nodes up in $((SECONDS - t0)) s: $(sinfo -h -N -o '%N(%T)' | tr '\n' ' ')(cluster in $W)"
}

# PIDs of processes still running with our private SLURM_CONF in their environment: job steps and
# tasks our slurmd started (slurmstepd re-parents to init, so the daemons' PIDs do not reach it)
two_nodes_strays() {
  # (env -u: grep's own environment must not match, and no other child runs beside it; a shell's
  # `export` never shows in its /proc/PID/environ)
  local f
  for f in $(env -u SLURM_CONF grep -lzxF "SLURM_CONF=$TWO_NODES_DIR/slurm.conf" /proc/[0-9]*/environ 2> /dev/null); do
    f=${f#/proc/}; echo "${f%/environ}"
  done
}

two_nodes_stop_pids() { # PIDs: TERM, up to 4 s, then KILL
  local p
  for p in "$@"; do kill -TERM "$p" 2> /dev/null; done
  for p in "$@"; do
    for _ in $(seq 40); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null
  done
}

# Cancels our jobs, stops every daemon by its PID, checks nothing of ours is left (processes,
# /tmp/spmix*), removes the directory unless KEEP=1. A leftover turns a passing exit status into 1.
two_nodes_cleanup() {
  local rc=$? problems=() ids=
  trap - EXIT
  [ -n "$TWO_NODES_DIR" ] || exit $rc
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$TWO_NODES_DIR/slurmctld.pid" ]; then
    ids=$(scontrol -o show jobs 2> /dev/null | sed -n 's/^JobId=\([0-9]*\) .*/\1/p' | sort -u)
    local live
    mapfile -t live < <(squeue -h -o %A 2> /dev/null | sort -u)
    [ ${#live[@]} -gt 0 ] && scancel "${live[@]}" 2> /dev/null
    for _ in $(seq 40); do [ -z "$(squeue -h 2> /dev/null)" ] && break; sleep 0.25; done
  fi
  two_nodes_stop_pids "${TWO_NODES_PIDS[@]}"
  wait 2> /dev/null
  local strays=()
  for _ in $(seq 30); do # a step's processes may still be exiting (e.g. after an MPI abort)
    mapfile -t strays < <(two_nodes_strays)
    [ ${#strays[@]} = 0 ] && break
    sleep 0.1
  done
  if [ ${#strays[@]} -gt 0 ]; then
    problems+=("processes of our cluster outlived it (stopped now by PID): ${strays[*]}")
    two_nodes_stop_pids "${strays[@]}"
  fi
  # pmix's per-step directories belong under our TmpFS; one in /tmp naming our job ids is a leak
  local d id
  for d in /tmp/spmix*; do
    [ -e "$d" ] || continue
    [[ $'\n'"$TWO_NODES_SPMIX_BEFORE"$'\n' == *$'\n'"$d"$'\n'* ]] && continue
    for id in $ids; do [[ "$d" =~ _${id}\.[0-9]+$ ]] && problems+=("left behind: $d"); done
  done
  local p
  for p in "${problems[@]}"; do echo "FAIL cleanup: $p"; done
  if [ -n "${KEEP:-}" ]; then echo "kept $TWO_NODES_DIR"; else rm -rf "$TWO_NODES_DIR"; fi
  [ ${#problems[@]} -gt 0 ] && [ $rc = 0 ] && rc=1
  exit $rc
}
