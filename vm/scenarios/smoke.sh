# scx-meta: agent=yes timeout=150
# smoke: attach the agent (fifo unless scx.policy), run a short workload, detach with SIGINT.
# While stress-ng runs, `scx_oracle run --monitor 1` reads the agent's stats server
# (/results/monitor.log, the same metric lines as the agent's --stats output).
# Params: scx.duration (stress-ng seconds, default 8), scx.policy, scx.stats, scx.agent_flags.
record_env
start_agent
wait_enabled
run_workload hackbench hackbench -g 2 -l 200
rc1=$?
"$AGENT" run --monitor 1 >/results/monitor.log 2>&1 &
mon=$!
run_workload stress stress-ng --cpu "$NPROC" --switch "$NPROC" -t "${SCX_DURATION:-8}"
rc2=$?
kill -INT "$mon"
wait "$mon"
fact monitor_exit_code $?
workload_done $((rc1 ? rc1 : rc2))
fact state_after_workload "$(scx_state)"
stop_agent
