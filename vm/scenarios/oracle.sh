# scx-meta: agent=yes timeout=300
# oracle: the scx CI stress recipe (stress-ng -c N -f N --affinity churn, 45 s limit) with the
# LSTM deciding every CPU's next task (--policy oracle, the bundled model beside the agent).
# Meanwhile the model file is hot-swapped twice with SIGHUP: first to a corrupt copy (refused,
# the old model keeps deciding), then back to the real one (reloaded).
# Params: scx.duration (workload seconds, default 31), scx.agent_timeout (default 45),
# scx.agent_flags (e.g. --budget-us,0 to drive the fallback path), scx.swap_at (seconds into
# the workload of the first SIGHUP, default 8; 0 skips the hot-swap).
SCX_POLICY=${SCX_POLICY:-oracle}
# Loading ONNX Runtime and checking the native step against it takes 4-9 s under TCG.
SCX_ENABLE_TIMEOUT=${SCX_ENABLE_TIMEOUT:-60}
record_env
cp /usr/bin/oracle.onnx /tmp/model.onnx
start_agent --model /tmp/model.onnx
wait_enabled
limit=${SCX_AGENT_TIMEOUT:-45}
( sleep "$limit"; kill -0 "$AGENT_PID" 2>/dev/null && fact agent_timeout_fired yes &&
  kill -INT "$AGENT_PID" ) &
watchdog=$!
swap_at=${SCX_SWAP_AT:-8}
if [ "$swap_at" -gt 0 ]; then
  (
    sleep "$swap_at"
    head -c 4000 /usr/bin/oracle.onnx >/tmp/model.onnx      # truncated: not a model
    kill -HUP "$AGENT_PID" && fact bad_reload_sent yes
    sleep 4
    agent_alive && fact agent_alive_after_bad_reload yes || fact agent_alive_after_bad_reload no
    fact state_after_bad_reload "$(scx_state)"
    cp /usr/bin/oracle.onnx /tmp/model.onnx
    kill -HUP "$AGENT_PID" && fact good_reload_sent yes
  ) &
  swapper=$!
fi
run_workload stress stress-ng -t "${SCX_DURATION:-31}" --aggressive -M -c "$NPROC" -f "$NPROC" \
  --affinity 1 --affinity-delay 1 --affinity-pin
workload_done $?
fact state_after_workload "$(scx_state)"
agent_alive && fact agent_alive_after_workload yes || fact agent_alive_after_workload no
[ -n "${swapper:-}" ] && wait "$swapper"
kill "$watchdog" 2>/dev/null
stop_agent
grep -c "model not reloaded" /results/agent.log >/results/facts/reload_refused_lines
