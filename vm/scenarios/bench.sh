# scx-meta: agent=yes timeout=200
# bench: throughput/latency under load; decisions/s and enqueue->dispatch latency come from
# the agent's summary JSON. Params: scx.duration (default 20), scx.policy, scx.agent_flags,
# scx.baseline=1 (no agent: the same workload under the default fair class, for ratios).
record_env
if [ "${SCX_BASELINE:-0}" = 1 ]; then
  fact baseline yes
else
  start_agent
  wait_enabled
fi
d=${SCX_DURATION:-20}
stress-ng --cpu "$NPROC" --switch "$NPROC" --pipe "$NPROC" -t "$d" -M >/results/stress.log 2>&1 &
wl=$!
run_workload hackbench hackbench -g 4 -l 500
rc1=$?
wait "$wl"
rc2=$?
workload_done $((rc1 ? rc1 : rc2))
fact state_after_workload "$(scx_state)"
[ "${SCX_BASELINE:-0}" = 1 ] || stop_agent
