# scx-meta: agent=yes timeout=240 cpus=4
# faults: the abuse users try, one case after another in one 4-vCPU boot (hotplug needs spare
# CPUs). Each case records facts named CASE.KEY; the host judges them (vm/vmlib/faults.py) and
# writes faults.json next to the result. A case that cannot run records why and fails.
# Cases: kill9, sigstop, ring_saturation, hotplug, bad_model_{corrupt,truncated,wrong_shape},
# no_onnxruntime, bad_flags_{policy,unknown,range}, tracer_killed.
record_env
N=$NPROC

# cf CASE KEY VALUE...: a fact of one case.
cf() { c=$1; k=$2; shift 2; fact "$c.$k" "$*"; }

# agent_up CASE [args]: start the agent for CASE (AGENT_PID), wait until it is enabled.
agent_up() {
  c=$1; shift
  "$AGENT" run --summary-json "/results/$c.agent.json" --stats 1 "$@" >"/results/$c.agent.log" 2>&1 &
  AGENT_PID=$!
  took=$(wait_state enabled 60)
  cf "$c" enable_s "$took"
  cf "$c" state_while_running "$(scx_state)"
}

# wait_exit PID SECS: wait up to SECS for PID (a child of this shell) to end; sets RC to its
# exit status, or to "timeout" (and SIGKILLs it) if it did not end in time. In this shell, not
# in $(...): only the parent can reap the child and read its status.
wait_exit() {
  rm -f /tmp/wait_timeout
  ( sleep "$2"; kill -0 "$1" 2>/dev/null && : >/tmp/wait_timeout && kill -KILL "$1" ) &
  wk=$!
  wait "$1"; RC=$?
  kill "$wk" 2>/dev/null
  [ -e /tmp/wait_timeout ] && RC=timeout
}

# uptime_now: /proc/uptime read by the shell itself. $(now) forks, and while the agent is
# stopped a new task waits for the watchdog like any other.
uptime_now() { read -r UPTIME _ </proc/uptime; }

# wait_off T0 SECS: poll (shell builtins only, nothing to schedule) until sched_ext is disabled
# or SECS passed since uptime T0; sets OFF_AT to the uptime it saw the state change.
wait_off() {
  while :; do
    read -r st <"$SCX_SYS/state"; uptime_now
    [ "$st" = disabled ] && break
    [ $((${UPTIME%.*} - ${1%.*})) -ge "$2" ] && break
    usleep 20000
  done
  OFF_AT=$UPTIME
}

# Only the case runner's own attach counts: dmesg's "enabled" lines before and after a refusal.
enabled_lines() { dmesg | grep -c 'sched_ext: BPF scheduler "oracle.*" enabled'; }

# --- kill -9 under load: the fair class back within 1 s, every workload finishes -----------
c=kill9
agent_up $c --policy fifo
stress-ng --cpu "$N" -t 6 >/results/$c.stress.log 2>&1 & w1=$!
hackbench -g 2 -l 400 >/results/$c.hackbench.log 2>&1 & w2=$!
( i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done ) & w3=$!
sleep 2
cf $c state_before_kill "$(scx_state)"
kill -0 "$AGENT_PID" && cf $c agent_alive_before_kill yes
# Timed on the kernel's clock. A kprobe on switched_to_fair fires as sched_ext's disable moves
# each task back to the fair class, in a trace instance that also gets the kill mark (builtin
# writes, nothing forked); the host reads the last move. Where kprobes are missing, the mark in
# the kernel log to the later "disabled" line bounds it from above.
kt=/sys/kernel/tracing; ki=$kt/instances/scx_kill9
if mkdir "$ki" 2>/dev/null && echo 'p:scx_faults/back_to_fair switched_to_fair' >>"$kt/kprobe_events" 2>/dev/null \
   && echo 1 >"$ki/events/scx_faults/back_to_fair/enable" 2>/dev/null; then
  cf $c class_probe switched_to_fair
else
  cf $c class_probe unavailable
fi
echo "scx-faults: kill9: SIGKILL to the agent" >"$ki/trace_marker" 2>/dev/null
echo "scx-faults: kill9: SIGKILL to the agent" >/dev/kmsg
kill -KILL "$AGENT_PID"
uptime_now; t0=$UPTIME
wait_off "$t0" 10
if [ -d "$ki" ]; then
  echo 0 >"$ki/tracing_on"; cat "$ki/trace" >/results/$c.trace.txt
  echo 0 >"$ki/events/scx_faults/back_to_fair/enable" 2>/dev/null; rmdir "$ki"
  echo '-:scx_faults/back_to_fair' >>"$kt/kprobe_events" 2>/dev/null
fi
cf $c disable_s "$(elapsed "$t0" "$OFF_AT")"
cf $c kill_uptime "$t0"
cf $c state_after "$(scx_state)"
wait "$AGENT_PID"
cf $c agent_exit_code $?
wait $w1; cf $c stress_exit_code $?
wait $w2; cf $c hackbench_exit_code $?
wait $w3; cf $c loop_exit_code $?

# --- SIGSTOP past the watchdog: ejected cleanly; after SIGCONT, the reason and exit 2 -------
c=sigstop
agent_up $c --policy fifo
stress-ng --cpu "$N" -t 10 >/results/$c.stress.log 2>&1 & w1=$!
sleep 1
kill -STOP "$AGENT_PID" && stopped=yes
uptime_now; t0=$UPTIME
# The watchdog (timeout_ms 5000) must eject us.
wait_off "$t0" 30
cf $c stopped "$stopped"
cf $c state_after_stop "$(scx_state)"
cf $c eject_s "$(elapsed "$t0" "$OFF_AT")"
# The system keeps running under the fair class while the agent is still stopped.
t2=$(now); hackbench -g 1 -l 100 >/results/$c.after.log 2>&1
cf $c after_workload_exit_code $?
cf $c after_workload_s "$(elapsed "$t2" "$(now)")"
kill -CONT "$AGENT_PID"
wait_exit "$AGENT_PID" 20; cf $c agent_exit_code "$RC"
wait $w1; cf $c stress_exit_code $?

# --- ring saturation: a fork and thread storm, congestion counted, no stall -----------------
# At its default size (room for 8192 tasks) the ring never fills in a TCG guest: the agent is
# woken at once and keeps up with any storm that fits in one (20 k tasks queued in 4 s, none
# congested). So the ring is 4 KiB (36 tasks), and the agent runs only when a 100 ms slice ends
# (--lazy-agent): the storm overflows it, and the fallback path really runs.
c=ring_saturation
agent_up $c --policy fifo --queue-ring-kib 4 --lazy-agent --slice-us 100000
# Thousands of short tasks at once: forks that exit at once, and threads woken together.
stress-ng --fork "$N" --fork-max 512 --pthread "$N" --pthread-max 1024 -t 4 \
  >/results/$c.stress.log 2>&1
cf $c stress_exit_code $?
cf $c state_after_storm "$(scx_state)"
kill -0 "$AGENT_PID" 2>/dev/null && cf $c agent_alive_after_storm yes
kill -INT "$AGENT_PID"
wait_exit "$AGENT_PID" 15; cf $c agent_exit_code "$RC"

# --- CPU hotplug: a CPU taken offline and back -------------------------------------------
c=hotplug
cpu=$((N - 1))
cf $c cpu "$cpu"
agent_up $c --policy fifo
stress-ng --cpu "$N" -t 6 >/results/$c.stress.log 2>&1 & w1=$!
sleep 1
echo 0 >/sys/devices/system/cpu/cpu$cpu/online; cf $c offline_rc $?
cf $c online_after_offline "$(cat /sys/devices/system/cpu/cpu$cpu/online)"
sleep 2
cf $c state_after_offline "$(scx_state)"
echo 1 >/sys/devices/system/cpu/cpu$cpu/online; cf $c online_rc $?
cf $c online_after_online "$(cat /sys/devices/system/cpu/cpu$cpu/online)"
cf $c nproc_after "$(nproc)"
if kill -0 "$AGENT_PID" 2>/dev/null; then
  cf $c agent_alive_after yes
  kill -INT "$AGENT_PID"
fi
wait_exit "$AGENT_PID" 15; cf $c agent_exit_code "$RC"
cf $c state_after "$(scx_state)"
wait $w1; cf $c stress_exit_code $?

# --- refusals: one clear line, non-zero, never attached ------------------------------------
# refuse CASE CMD...: run CMD (an agent invocation that must be refused) and record it.
refuse() {
  c=$1; shift
  before=$(enabled_lines)
  ( while :; do scx_state; usleep 20000; done ) >/tmp/$c.states & poller=$!
  "$@" >/results/$c.out 2>&1
  cf $c exit_code $?
  kill $poller; wait $poller 2>/dev/null
  cf $c states_seen "$(sort -u /tmp/$c.states | tr '\n' ' ')"
  cf $c attaches "$(($(enabled_lines) - before))"
  cf $c state_after "$(scx_state)"
}

head -c 60000 /dev/urandom >/tmp/corrupt.onnx
refuse bad_model_corrupt "$AGENT" run --policy oracle --model /tmp/corrupt.onnx
head -c 4000 /usr/bin/oracle.onnx >/tmp/truncated.onnx
refuse bad_model_truncated "$AGENT" run --policy oracle --model /tmp/truncated.onnx
# Wrong shape: the bundled model with input "step" widened by one feature. Its shape follows
# the name as ... dim{dim_param "batch"} dim{dim_value W}: patch W's byte in place (same length).
c=bad_model_wrong_shape
cp /usr/bin/oracle.onnx /tmp/wrong_shape.onnx
hex=$(xxd -p /tmp/wrong_shape.onnx | tr -d '\n')
off=$(echo "$hex" | awk '{ i = index($0, "0a0473746570"); if (!i) exit;
  j = index(substr($0, i), "0a0208"); if (!j) exit; print (i - 1 + j - 1) / 2 + 3 }')
if [ -n "$off" ]; then
  w=$(dd if=/tmp/wrong_shape.onnx bs=1 skip="$off" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
  printf "\\$(printf %o $((w + 1)))" | dd of=/tmp/wrong_shape.onnx bs=1 seek="$off" conv=notrunc 2>/dev/null
  cf $c step_width_patched "$w -> $((w + 1))"
  refuse $c "$AGENT" run --policy oracle --model /tmp/wrong_shape.onnx
else
  cf $c error "input \"step\" shape not found in the bundled model: case not run"
fi
# No ONNX Runtime: the agent alone, no library beside it, ORT_DYLIB_PATH cleared.
mkdir -p /tmp/alone && cp "$AGENT" /tmp/alone/scx_oracle
refuse no_onnxruntime env -u ORT_DYLIB_PATH /tmp/alone/scx_oracle run --policy oracle \
  --model /usr/bin/oracle.onnx
refuse bad_flags_policy "$AGENT" run --policy nosuch
refuse bad_flags_unknown "$AGENT" run --no-such-flag
refuse bad_flags_range "$AGENT" run --policy fifo --slice-us 0

# --- the tracer killed while writing: never a silently short file --------------------------
# (--convert live: the trace file itself is being written when the kill comes)
c=tracer_killed
"$AGENT" trace -o /tmp/killed.parquet --convert live --duration 60 >/results/$c.trace.log 2>&1 & tp=$!
hackbench -g 4 -l 100000 >/dev/null 2>&1 & hb=$!
# Kill it once it has written part of the file (a row group is 128 k events: a few seconds).
i=0; while [ "$(stat -c %s /tmp/killed.parquet.partial 2>/dev/null || echo 0)" -eq 0 ] && [ $i -lt 200 ]; do
  usleep 100000; i=$((i + 1)); done
kill -KILL $tp; wait $tp; cf $c trace_exit_code $?
kill $hb; wait $hb
[ -e /tmp/killed.parquet ] && cf $c final_exists yes || cf $c final_exists no
[ -e /tmp/killed.parquet.partial ] && cf $c partial_exists yes || cf $c partial_exists no
cf $c partial_bytes "$(stat -c %s /tmp/killed.parquet.partial 2>/dev/null)"
"$AGENT" stats /tmp/killed.parquet.partial >/results/$c.stats_partial.out 2>&1
cf $c stats_partial_exit_code $?
"$AGENT" stats /tmp/killed.parquet >/results/$c.stats_final.out 2>&1
cf $c stats_final_exit_code $?
# The same tracer stopped by SIGINT leaves a whole, readable file.
"$AGENT" trace -o /tmp/whole.parquet --convert live --duration 30 >/results/$c.trace_int.log 2>&1 & tp=$!
i=0; while [ ! -e /tmp/whole.parquet.partial ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
hackbench -g 1 -l 200 >/dev/null 2>&1
kill -INT $tp; wait $tp; cf $c trace_int_exit_code $?
"$AGENT" stats /tmp/whole.parquet >/results/$c.stats_whole.out 2>&1
cf $c stats_whole_exit_code $?
workload_done 0
