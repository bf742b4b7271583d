# Shared helpers for guest scenarios (sourced by /init before the scenario; busybox sh).
# Scenarios only record raw facts as files under /results/facts/; the host turns them into JSON.
# Not a scenario itself: scripts/vm-run skips lib.sh.

AGENT=${SCX_AGENT_BIN:-/usr/bin/scx_oracle}
SCX_SYS=/sys/kernel/sched_ext
NPROC=$(nproc)
mkdir -p /results/facts

# fact KEY VALUE...: one fact per file, so values may hold any text.
fact() { k=$1; shift; echo "$*" >"/results/facts/$k"; }

now() { read -r t _ </proc/uptime; echo "$t"; }

# Seconds (2 decimals) between two uptimes.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

scx_state() { cat "$SCX_SYS/state" 2>/dev/null || echo missing; }

record_env() {
  fact uname "$(uname -a)"
  fact kernel_release "$(uname -r)"
  fact nproc "$NPROC"
  if [ -d "$SCX_SYS" ]; then fact sched_ext_present yes; else fact sched_ext_present no; fi
  fact state_before "$(scx_state)"
  [ -e /sys/kernel/btf/vmlinux ] && fact btf_present yes || fact btf_present no
  # The fair class's own settings: what EEVDF's picks (and the encoder's estimate of them,
  # model/eevdf.py) depend on. /init has mounted debugfs.
  fact sched_features "$(cat /sys/kernel/debug/sched/features 2>/dev/null)"
  fact sched_base_slice_ns "$(cat /sys/kernel/debug/sched/base_slice_ns 2>/dev/null)"
  fact sched_autogroup_enabled "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)"
}

# wait_until SECS CMD...: poll CMD every 0.1 s until it succeeds; prints the seconds it took.
# Returns 1 (still printing the time waited) if SECS passed first.
wait_until() {
  limit=$1; shift; t0=$(now)
  while :; do
    "$@" && { elapsed "$t0" "$(now)"; return 0; }
    if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a >= l) }'; then
      elapsed "$t0" "$(now)"; return 1
    fi
    usleep 100000
  done
}

state_is() { [ "$(scx_state)" = "$1" ]; }

# wait_state WANT SECS: poll until the sched_ext state is WANT (see wait_until).
wait_state() { wait_until "$2" state_is "$1"; }

shadow_watching() { grep -q "watching the kernel's picks" "$1" 2>/dev/null; }
# Watching, or gone (then there is nothing to wait for).
shadow_settled() { shadow_watching "$1" || ! kill -0 "$2" 2>/dev/null; }

# wait_shadow LOG PID SECS: poll until `scx_oracle shadow` (pid PID, output in LOG) says it is
# watching, i.e. its tracer is attached; prints the seconds it took. Loading the model and the
# BPF programs takes seconds under TCG: a load started before that is partly or wholly unseen.
# Returns 1 if the shadow exited or SECS passed first.
wait_shadow() {
  wait_until "$3" shadow_settled "$1" "$2" && shadow_watching "$1"
}

# start_agent [extra args]: start the agent in the background (AGENT_PID); its output goes to
# /results/agent.log and is echoed on the console. Params: scx.policy, scx.stats, scx.agent_flags.
start_agent() {
  # scx.agent_flags: extra agent flags, comma-separated (the cmdline has no spaces).
  set -- "$@" $(echo "${SCX_AGENT_FLAGS:-}" | tr ',' ' ')
  fact agent_cmd "$AGENT run --policy ${SCX_POLICY:-fifo} --summary-json /results/agent.json" \
    "--stats ${SCX_STATS:-1} $*"
  : >/results/agent.log
  "$AGENT" run --policy "${SCX_POLICY:-fifo}" --summary-json /results/agent.json \
    --stats "${SCX_STATS:-1}" "$@" >/results/agent.log 2>&1 &
  AGENT_PID=$!
  tail -f /results/agent.log | sed 's/^/[agent] /' &
  TAIL_PID=$!
  fact agent_started_uptime "$(now)"
}

# wait_enabled: wait up to 10 s (scx.enable_timeout) for state "enabled"; records the state
# seen and the ops name while the agent runs.
wait_enabled() {
  took=$(wait_state enabled "${SCX_ENABLE_TIMEOUT:-10}") && fact enable_s "$took"
  fact state_while_running "$(scx_state)"
  fact ops "$(cat "$SCX_SYS/root/ops" 2>/dev/null)"
}

agent_alive() { kill -0 "$AGENT_PID" 2>/dev/null; }

# stop_agent: SIGINT, wait up to 15 s (then SIGKILL), record its exit code and the state after.
stop_agent() {
  if agent_alive; then
    fact agent_alive_before_stop yes
    kill -INT "$AGENT_PID"
    i=0
    while agent_alive && [ $i -lt 150 ]; do usleep 100000; i=$((i + 1)); done
    if agent_alive; then
      fact agent_stop_timeout yes
      kill -KILL "$AGENT_PID"
    fi
  else
    fact agent_alive_before_stop no
  fi
  wait "$AGENT_PID"
  fact agent_exit_code $?
  took=$(wait_state disabled 10)
  fact disable_s "$took"
  fact state_after "$(scx_state)"
  stop_console_tail
}

stop_console_tail() {
  [ -n "$TAIL_PID" ] && { sleep 0.2; kill "$TAIL_PID" 2>/dev/null; TAIL_PID=; }
}

# run_workload NAME CMD...: run CMD in the foreground; output to /results/NAME.log.
run_workload() {
  name=$1; shift
  fact "${name}_cmd" "$*"
  t0=$(now)
  "$@" >"/results/$name.log" 2>&1
  rc=$?
  fact "${name}_exit_code" "$rc"
  fact "${name}_s" "$(elapsed "$t0" "$(now)")"
  return $rc
}

# agent_deadline SECS: SIGINT the agent after SECS at the latest (scx CI runs schedulers under
# `timeout 45`); WATCHDOG_PID is the timer, to kill once the agent has stopped on its own.
agent_deadline() {
  ( sleep "$1"; kill -0 "$AGENT_PID" 2>/dev/null && fact agent_timeout_fired yes &&
    kill -INT "$AGENT_PID" ) &
  WATCHDOG_PID=$!
}

# The stress recipe of scx CI: CPU hogs and forks with affinity churn for SECS (default 31).
stress_recipe() {
  run_workload stress stress-ng -t "${1:-31}" --aggressive -M -c "$NPROC" -f "$NPROC" \
    --affinity 1 --affinity-delay 1 --affinity-pin
}

# Record the overall workload verdict the host copies to workload_exit_code (first non-zero).
workload_done() { fact workload_exit_code "$1"; }

# nice_pair SECS PREFIX: two busy loops pinned to the last CPU at nice 0 and nice 5 for SECS
# seconds; facts PREFIX_nice0_ticks, PREFIX_nice5_ticks and PREFIX_share_ratio (their CPU-time
# ratio; the weight ratio is 1024/335 = 3.06, sched_prio_to_weight).
nice_pair() {
  secs=$1; prefix=$2
  cpu_ticks() { set -- $(cat "/proc/$1/stat"); echo $(( ${14} + ${15} )); }
  # (busybox has renice but no nice.)
  taskset -c "$((NPROC - 1))" sh -c 'while :; do :; done' &
  h0=$!
  taskset -c "$((NPROC - 1))" sh -c 'while :; do :; done' &
  h5=$!
  renice -n 5 -p "$h5" >/dev/null
  sleep 1
  a0=$(cpu_ticks "$h0"); a5=$(cpu_ticks "$h5")
  sleep "$secs"
  b0=$(cpu_ticks "$h0"); b5=$(cpu_ticks "$h5")
  kill "$h0" "$h5"; wait "$h0" "$h5" 2>/dev/null
  fact "${prefix}_nice0_ticks" $((b0 - a0))
  fact "${prefix}_nice5_ticks" $((b5 - a5))
  [ $((b5 - a5)) -gt 0 ] && fact "${prefix}_share_ratio" \
    "$(awk -v x=$((b0 - a0)) -v y=$((b5 - a5)) 'BEGIN { printf "%.3f", x / y }')"
}
