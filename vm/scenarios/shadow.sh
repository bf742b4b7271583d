# scx-meta: agent=yes timeout=480
# shadow: the bundled model watches EEVDF (no sched_ext scheduler loaded) schedule a suite
# workload (hackbench over pipes, run as the dataset runs it) and scores its picks online; the
# events it saw are recorded, then replayed in the guest with `scx_oracle eval` and `encode`:
# online and offline figures must agree, and the live encoded steps must equal the replayed ones.
# Params: scx.duration (seconds of workload, default 3: ~20 k switches under TCG, whose encoded
# steps take ~7 KB each in the guest's RAM-backed file system).
# The limit: a whole shadow takes ~135 s in the TCG guest here, most of it the model's 2-3 ms
# steps (live, then replayed by eval); one CI run overran the 215 s in the guest that 240 gave.
record_env
d=${SCX_DURATION:-3}
mkdir -p /results/traces
"$AGENT" shadow --duration $((d + 2)) --json /results/shadow.json \
  --record /results/traces/shadow.parquet --steps-out /tmp/live.jsonl >/results/shadow.log 2>&1 &
spid=$!
fact shadow_attach_s "$(wait_shadow /results/shadow.log "$spid" 60)"
fact state_while_running "$(scx_state)"
# The dataset's own command (workloads.sh), so the live figure compares with the dataset's.
. /scenarios/workloads.sh
run_suite_workload hackbench_pipe "$d" 1 >>/results/hackbench.log 2>&1
rc=$?
suite_ok "$rc" || workload_done "$rc"
wait "$spid"
fact shadow_exit_code $?
"$AGENT" eval --model /usr/bin/oracle.onnx /results/traces/shadow.parquet \
  --json-out /results/eval.json >/results/eval.log 2>&1
fact eval_exit_code $?
# One steps file at a time: each is ~7 KB per step, and the guest's files live in its RAM.
fact live_steps "$(wc -l </tmp/live.jsonl)"
live_sum=$(sha256sum </tmp/live.jsonl); rm -f /tmp/live.jsonl
"$AGENT" encode --trace /results/traces/shadow.parquet --out /tmp/replay.jsonl >>/results/eval.log 2>&1
replay_sum=$(sha256sum </tmp/replay.jsonl); rm -f /tmp/replay.jsonl
if [ "$live_sum" = "$replay_sum" ]; then fact steps_identical yes; else fact steps_identical no; fi
[ -f /results/facts/workload_exit_code ] || workload_done 0
fact state_after "$(scx_state)"
