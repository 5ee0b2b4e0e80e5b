#!/usr/bin/env bash
# `spikeglue submit` on a real single-node SLURM cluster (slurmctld + slurmd + munged started here
# as root, private config and state under a temporary directory; facts in
# ../shared/notes/local-slurm.md):
#  1. the same small sweep three ways: directly under mpirun, as one MPI job (srun --mpi=pmix over
#     2 tasks) and as a job array of 3 slices with a merge job (afterany): per-run metrics and the
#     leaderboards are identical;
#  2. `spikeglue status` reads progress and the queue state of the recorded job ids;
#  3. a sweep requeued mid-way completes with every run finished exactly once in its journal
#     (none lost, none repeated): once by `scontrol requeue`, once by the time-limit warning
#     (USR1 to the batch shell, which forwards it to the sweep and requeues the job itself).
# Every daemon started here is stopped by its PID (trap EXIT). Skips (77) when SLURM cannot be
# installed or another cluster holds the ports.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SG=$BUILD/spikeglue
T0=$(date +%s)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to start slurmctld, slurmd and munged"
command -v mpirun >/dev/null || skip "mpirun not installed"

# ---- packages (only when missing) ----
have_pmix() { [[ "$(ldconfig -p)" == *"libpmix.so "* ]]; } # (whole output: no SIGPIPE under pipefail)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
   ! command -v munged >/dev/null || ! have_pmix; then
  command -v apt-get >/dev/null || skip "SLURM not installed and no apt-get"
  echo "installing slurmctld slurmd slurm-client munge libpmix-dev"
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then # keep package scripts from starting services
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive timeout 240 apt-get install -y --no-install-recommends \
    slurmctld slurmd slurm-client munge libpmix-dev > /tmp/sg-slurm-apt.log 2>&1
  apt_rc=$?
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ $apt_rc = 0 ] || skip "apt-get install of SLURM failed (see /tmp/sg-slurm-apt.log)"
fi
for p in 6817 6818; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then skip "port $p in use: another SLURM cluster is running"; fi
done

# ---- the cluster ----
W=$(mktemp -d /tmp/sg-slurm.XXXXXX); chmod 755 "$W"
H=$(hostname -s)
PIDS=()
cleanup() {
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$W/slurmctld.pid" ]; then
    ids=$(squeue -h -o %A 2>/dev/null | sort -u)
    [ -n "$ids" ] && scancel $ids 2>/dev/null
    for _ in $(seq 40); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.25; done
  fi
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  wait 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
start() { # name, command...: in its own session, PID recorded
  local name=$1; shift
  setsid "$@" > "$W/$name.out" 2>&1 &
  PIDS+=($!)
}
dump_logs() { for f in "$W"/*.log "$W"/*.out; do echo "== $f"; tail -15 "$f"; done; }

mkdir -p "$W/munge" "$W/state" "$W/spool" && chmod 755 "$W/munge"
dd if=/dev/urandom of="$W/munge.key" bs=1024 count=1 status=none && chmod 400 "$W/munge.key"
start munged munged -F --force --key-file="$W/munge.key" --socket="$W/munge/munge.socket" \
  --pid-file="$W/munged.pid" --seed-file="$W/munge.seed" --log-file="$W/munged.log"
for _ in $(seq 50); do [ -S "$W/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$W/munge/munge.socket" ] || { dump_logs; skip "munged did not start"; }

cat > "$W/slurm.conf" <<EOF
ClusterName=sgtest
SlurmctldHost=$H(127.0.0.1)
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
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$H NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$W/slurm.conf
start slurmctld slurmctld -D -i -f "$SLURM_CONF"
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
start slurmd slurmd -D -N "$H" -f "$SLURM_CONF"
for _ in $(seq 150); do sinfo -h -o %T 2>/dev/null | grep -q '^idle' && break; sleep 0.2; done
sinfo -h -o %T | grep -q '^idle' || { dump_logs; echo "FAIL cluster did not come up"; exit 1; }
echo "cluster up in $(( $(date +%s) - T0 )) s"

# ---- the sweeps ----
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's plugins are unloaded before LeakSanitizer reports: full unwinding keeps libmpi.so in
# the stacks, where tests/lsan.supp matches it (as in test_sweep_mpi.sh)
# Under srun more of them load, and some leaks keep only "<unknown module>" frames that no
# suppression can match: leaks are not checked here (test_slurm_submit.sh checks the slice,
# merge, submit and status code under LeakSanitizer), memory errors still are.
# (ldd's output is taken whole: `ldd | grep -q` fails at random under pipefail when grep exits
# early and ldd dies of SIGPIPE)
if [ -n "${SG_SANITIZED:-}" ] || [[ "$(ldd "$SG" 2>/dev/null)" == *libasan* ]]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0:detect_leaks=0"
fi
cd "$W" && mkdir work && cd work && ln -s "$SRC/configs" configs
sed "s|SWEEP_DATA|$W/work/data|" "$SRC/tests/data/jobs/slurm_small.yaml" > small.yaml
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; return 1; fi; }
summary() { # per run id: task variant seed status metrics (timings dropped)
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    try: r = json.loads(line)
    except ValueError: continue
    latest[r["id"]] = r
for i in sorted(latest):
    r = latest[i]
    q = {k: v for k, v in (r.get("qann") or {}).items() if "runtime" not in k and "per_second" not in k}
    print(i, r["task"], r["variant"], r["seed"], r["status"], json.dumps(q, sort_keys=True))
PY
}
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sed 's/JobState=//' | sort | uniq -c | tr '\n' ' '; }
wait_jobs() { # ids...: until none is pending/running (at most 150 s)
  local t
  for t in $(seq 600); do
    local busy=0 id
    for id in "$@"; do
      job_state "$id" | grep -qE 'PENDING|RUNNING|COMPLETING|CONFIGURING|REQUEUE|SUSPENDED' && busy=1
    done
    [ $busy = 0 ] && return 0
    sleep 0.25
  done
  return 1
}
submitted_ids() { sed -n 's/^submitted job \([0-9]*\):.*/\1/p' "$1"; }

t=$(date +%s)
mpirun -n 2 "$SG" sweep small.yaml --results direct --threads 1 > direct.log 2>&1
check "direct mpirun sweep finishes" "[ $? = 0 ]" || tail -5 direct.log
echo "direct sweep: $(( $(date +%s) - t )) s"

t=$(date +%s)
"$SG" submit small.yaml --results viampi --ntasks-per-node 2 > submit_mpi.log 2>&1
check "submit (MPI form)" "[ $? = 0 ] && grep -q '^submitted job' submit_mpi.log" || cat submit_mpi.log
"$SG" submit small.yaml --results viaarray --array --slices 3 --array-throttle 2 > submit_array.log 2>&1
check "submit --array (3 slices + merge)" "[ $? = 0 ] && [ \$(grep -c '^submitted job' submit_array.log) = 2 ]" || cat submit_array.log
mpi_id=$(submitted_ids submit_mpi.log); array_ids=$(submitted_ids submit_array.log)
check "job ids recorded" "grep -q \"\\\"$mpi_id\\\"\" viampi/slurm_small/slurm_jobs.json"
check "array: 3 tasks, throttle %2" "grep -q '^#SBATCH --array=0-2%2$' viaarray/slurm_small/slurm/array.sbatch"
wait_jobs $mpi_id $array_ids || echo "timeout waiting for jobs"
echo "MPI job + array jobs: $(( $(date +%s) - t )) s"
check "MPI job completed" "job_state $mpi_id | grep -q COMPLETED" || { job_state $mpi_id; tail -20 viampi/slurm_small/slurm/*.out; }
merge_id=$(echo $array_ids | awk '{print $2}')
check "array tasks and merge job completed" "[ \"\$(job_state $(echo $array_ids | awk '{print $1}'))\" = '      3 COMPLETED ' ] && job_state $merge_id | grep -q COMPLETED" ||
  { job_state $array_ids; job_state $merge_id; tail -20 viaarray/slurm_small/slurm/*.out; }
check "MPI job ran 2 ranks through srun" "grep -q ', 2 ranks,' viampi/slurm_small/slurm/sg-slurm_small-$mpi_id.out" || tail viampi/slurm_small/slurm/*.out
summary direct/slurm_small/results.jsonl > sum_direct
summary viampi/slurm_small/results.jsonl > sum_mpi 2>/dev/null
summary viaarray/slurm_small/results.jsonl > sum_array 2>/dev/null
check "8 runs finished directly" "[ \$(grep -c ' finished ' sum_direct) = 8 ]"
check "MPI job: the same results as mpirun" "cmp -s sum_direct sum_mpi" || diff sum_direct sum_mpi | head
check "array + merge: the same results as mpirun" "cmp -s sum_direct sum_array" || diff sum_direct sum_array | head
check "array + merge: the same leaderboard" "cmp -s direct/slurm_small/leaderboard.csv viaarray/slurm_small/leaderboard.csv" ||
  diff direct/slurm_small/leaderboard.csv viaarray/slurm_small/leaderboard.csv | head
check "MPI job: the same leaderboard" "cmp -s direct/slurm_small/leaderboard.csv viampi/slurm_small/leaderboard.csv"
check "slices hold disjoint runs" "[ \$(cat viaarray/slurm_small/slices/*/slurm_small/results.jsonl | wc -l) = 8 ]"

"$SG" status viaarray/slurm_small > status.log 2>&1
check "status: runs and job states" "grep -q '8 runs: 8 finished, 0 failed' status.log && grep -q 'merge .*COMPLETED' status.log" || cat status.log
before=$(find viaarray -newer status.log | wc -l)
check "status changes nothing" "[ $before = 0 ]"

# ---- requeued mid-way: by `scontrol requeue` (preemption), and by the time-limit warning ----
# (USR1 to the batch shell, as --signal=B:USR1@S sends it: the script forwards it to the sweep,
# which checkpoints and exits, then requeues itself). Both at once, 1 rank each.
t=$(date +%s)
slow() { sed "s/^name: slurm_small/name: $1/; s/epochs: 1,/epochs: 2,/; s/max_train_samples: 96/max_train_samples: 480/" small.yaml > "$1.yaml"; }
slow rq_scontrol; slow rq_usr1
"$SG" submit rq_scontrol.yaml --results rq --ntasks-per-node 1 > submit_rq1.log 2>&1
"$SG" submit rq_usr1.yaml --results rq --ntasks-per-node 1 > submit_rq2.log 2>&1
rq1=$(submitted_ids submit_rq1.log); rq2=$(submitted_ids submit_rq2.log)
J1=rq/rq_scontrol/results.jsonl J2=rq/rq_usr1/results.jsonl
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
sent1= sent2=
for _ in $(seq 900); do
  if [ -z "$sent1" ] && [ "$(lines $J1)" -ge 2 ]; then sent1=$(lines $J1); scontrol requeue "$rq1" || sent1=failed; fi
  if [ -z "$sent2" ] && [ "$(lines $J2)" -ge 2 ]; then sent2=$(lines $J2); scancel --batch --signal=USR1 "$rq2" || sent2=failed; fi
  [ -n "$sent1" ] && [ -n "$sent2" ] && break
  sleep 0.1
done
check "scontrol requeue after $sent1 of 8 runs" "[ '$sent1' -lt 8 ] 2>/dev/null"
check "USR1 to the batch shell after $sent2 of 8 runs" "[ '$sent2' -lt 8 ] 2>/dev/null"
for _ in $(seq 150); do
  scontrol -o show job "$rq1" | grep -q 'Restarts=[1-9]' && scontrol -o show job "$rq2" | grep -q 'Restarts=[1-9]' && break
  sleep 0.2
done
wait_jobs $rq1 $rq2 || echo "timeout waiting for the requeued jobs"
echo "requeue tests: $(( $(date +%s) - t )) s"
check "USR1: the batch script forwarded it and requeued the job" "grep -q 'time limit near: requeueing job $rq2' rq/rq_usr1/slurm/*.out && grep -q 'SIGUSR1 .*: asking' rq/rq_usr1/slurm/*.out" ||
  tail -30 rq/rq_usr1/slurm/*.out
for pair in "$rq1 rq_scontrol" "$rq2 rq_usr1"; do
  set -- $pair
  out=$(ls rq/$2/slurm/*.out 2>/dev/null | head -1)
  check "$2: job completed" "job_state $1 | grep -q COMPLETED" || { job_state $1; tail -30 "$out"; }
  check "$2: it ran twice (Restarts=1)" "scontrol -o show job $1 | grep -q 'Restarts=1'"
  check "$2: the second start resumed" "grep -q 'start 1 on' $out && grep -q '([1-9][0-9]* already finished)' $out" || tail -30 "$out"
  /usr/bin/python3 - "rq/$2/results.jsonl" > counts_$2 <<'PY'
import json, sys, collections
finished = collections.Counter(); other = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    (finished if r["status"] == "finished" else other)[r["id"]] += 1
print(len(finished), max(finished.values() or [0]), sum(other.values()))
PY
  read -r nids most interim < counts_$2
  check "$2: journal: 8 runs, each finished exactly once (none lost, none repeated)" "[ '$nids $most' = '8 1' ]" || cat counts_$2
  # SLURM signals every process of the step: a pipeline it stops goes back to the queue, never
  # into the journal as failed
  check "$2: no interim 'failed' records from the preemption" "[ '$interim' = 0 ]" || cat counts_$2
done
echo "test_slurm: $(( $(date +%s) - T0 )) s in all"
exit $fail
