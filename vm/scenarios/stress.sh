# scx-meta: agent=yes timeout=240
# stress: the sched_ext CI recipe. The agent runs with `timeout 45` semantics (SIGINT at 45 s at
# the latest); it must still be attached after the 31 s workload (not ejected), then
# SIGINT -> clean exit -> disabled.
# All options of the CI recipe exist in Debian's stress-ng (0.15.06 and later): none dropped.
# Params: scx.duration (workload seconds, default 31), scx.agent_timeout (default 45).
record_env
start_agent
wait_enabled
agent_deadline "${SCX_AGENT_TIMEOUT:-45}"
stress_recipe "${SCX_DURATION:-31}"
workload_done $?
fact state_after_workload "$(scx_state)"
agent_alive && fact agent_alive_after_workload yes || fact agent_alive_after_workload no
kill "$WATCHDOG_PID" 2>/dev/null
stop_agent
