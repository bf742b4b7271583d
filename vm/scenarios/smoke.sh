# scx-meta: agent=yes timeout=150
# smoke: attach the fifo policy, run a short workload, detach with SIGINT.
# Params: scx.duration (stress-ng seconds, default 8), scx.policy, scx.stats.
record_env
start_agent
wait_enabled
run_workload hackbench hackbench -g 2 -l 200
rc1=$?
run_workload stress stress-ng --cpu "$NPROC" --switch "$NPROC" -t "${SCX_DURATION:-8}"
rc2=$?
workload_done $((rc1 ? rc1 : rc2))
fact state_after_workload "$(scx_state)"
stop_agent
