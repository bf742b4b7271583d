# scx-meta: agent=yes timeout=180
# demo: watch the agent work: ~20 s of mixed load with its --stats 2 lines on the console.
# Run with scripts/vm-run demo -v. Params: scx.duration (default 20), scx.policy.
SCX_STATS=${SCX_STATS:-2}
record_env
start_agent
wait_enabled
d=${SCX_DURATION:-20}
stress-ng --cpu "$NPROC" --switch "$NPROC" --pipe 1 -t "$d" >/results/stress.log 2>&1 &
wl=$!
t0=$(now)
rc1=0
while awk -v a="$t0" -v b="$(now)" -v d="$d" 'BEGIN { exit !(b - a < d - 2) }'; do
  hackbench -g 2 -l 100 >>/results/hackbench.log 2>&1 || rc1=$?
done
wait "$wl"
rc2=$?
workload_done $((rc1 ? rc1 : rc2))
fact state_after_workload "$(scx_state)"
stop_agent
