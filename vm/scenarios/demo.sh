# scx-meta: agent=yes timeout=240
# demo: (1) the mixed load under the fair class, traced, so the host can replay it through the
# bundled model (scripts/demo runs `scx_oracle eval`); (2) the same load with the agent making
# every decision, its --stats 2 lines on the console.
# Run with scripts/vm-run demo -v. Params: scx.duration (agent phase, default 20),
# scx.trace_secs (fair-class traced phase, default 6; 0 skips it), scx.policy.
SCX_STATS=${SCX_STATS:-2}
record_env

mixed_load() {  # seconds -> exit code of the load
  stress-ng --cpu "$NPROC" --switch "$NPROC" --pipe 1 -t "$1" >>/results/stress.log 2>&1 &
  local wl=$! t0 rc1=0
  t0=$(now)
  while awk -v a="$t0" -v b="$(now)" -v d="$1" 'BEGIN { exit !(b - a < d - 2) }'; do
    hackbench -g 2 -l 100 >>/results/hackbench.log 2>&1 || rc1=$?
  done
  wait "$wl"
  local rc2=$?
  return $((rc1 ? rc1 : rc2))
}

ts=${SCX_TRACE_SECS:-6}
trc=0
if [ "$ts" -gt 0 ]; then
  mkdir -p /results/traces
  base=/results/traces/demo-fair-${NPROC}cpu
  "$AGENT" trace -o "$base.parquet" --quiet --ring-mb 32 --meta "workload=demo_mixed" \
    --meta "vcpus=$NPROC" --meta "scheduler=fair" --meta "duration_s=$ts" >"$base.log" 2>&1 &
  tpid=$!
  j=0; while [ ! -e "$base.parquet.partial" ] && [ $j -lt 100 ]; do usleep 50000; j=$((j + 1)); done
  mixed_load "$ts"
  kill -INT "$tpid"; wait "$tpid"; trc=$?
  fact trace_exit_code "$trc"
fi

start_agent
wait_enabled
mixed_load "${SCX_DURATION:-20}"
rc=$?
workload_done $((rc ? rc : trc))
fact state_after_workload "$(scx_state)"
stop_agent
