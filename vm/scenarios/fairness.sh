# scx-meta: agent=yes timeout=120
# fairness: nice 0 and nice 5 busy loops share one CPU under the agent (lib.sh's nice_pair);
# fact fairness_share_ratio against the weight ratio 3.06. Params: scx.policy, scx.agent_flags,
# scx.duration (seconds measured, default 5).
record_env
start_agent
wait_enabled
nice_pair "${SCX_DURATION:-5}" fairness
workload_done 0
fact state_after_workload "$(scx_state)"
stop_agent
