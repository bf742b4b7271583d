# scx-meta: agent=yes timeout=300
# demo: (1) the mixed load under the fair class (EEVDF) while the bundled model watches in
# shadow mode: at every switch it ranks the CPU's candidates before the kernel's pick is known
# (online top-1/top-3; the events are recorded for the host to replay with the baselines);
# (2) the same load with the model deciding: --policy oracle, its --stats 2 lines on the
# console. scripts/demo prints both in words.
# Run with scripts/vm-run demo -v. Params: scx.duration (agent phase, default 20),
# scx.trace_secs (shadow phase, default 6; 0 skips it), scx.policy (default oracle).
SCX_STATS=${SCX_STATS:-2}
SCX_POLICY=${SCX_POLICY:-oracle}
SCX_ENABLE_TIMEOUT=${SCX_ENABLE_TIMEOUT:-60}
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
  "$AGENT" shadow --duration $((ts + 1)) --json /results/shadow.json --record "$base.parquet" \
    >"$base.log" 2>&1 &
  spid=$!
  fact shadow_attach_s "$(wait_shadow "$base.log" "$spid" 60)"
  mixed_load "$ts"
  wait "$spid"; trc=$?
  fact shadow_exit_code "$trc"
fi

start_agent
wait_enabled
mixed_load "${SCX_DURATION:-20}"
rc=$?
workload_done $((rc ? rc : trc))
fact state_after_workload "$(scx_state)"
stop_agent
