# scx-meta: agent=yes timeout=150
# kill: SIGKILL the agent mid-workload. The kernel must fall back to the fair class (state
# "disabled", measured in disable_s) and the workload must still finish.
# Params: scx.duration (workload seconds, default 15), scx.kill_after (default 4).
record_env
start_agent
wait_enabled
stress-ng --cpu "$NPROC" --switch "$NPROC" -t "${SCX_DURATION:-15}" >/results/stress.log 2>&1 &
wl=$!
fact stress_cmd "stress-ng --cpu $NPROC --switch $NPROC -t ${SCX_DURATION:-15}"
sleep "${SCX_KILL_AFTER:-4}"
agent_alive && fact agent_alive_before_kill yes || fact agent_alive_before_kill no
fact state_before_kill "$(scx_state)"
kill -KILL "$AGENT_PID" && fact agent_killed yes
# Time from the SIGKILL until the kernel has fallen back (the link dies with the process).
took=$(wait_state disabled 10)
fact disable_s "$took"
fact state_after "$(scx_state)"
wait "$AGENT_PID"
fact agent_exit_code $?
stop_console_tail
wait "$wl"
rc=$?
workload_done "$rc"
fact workload_finished yes
