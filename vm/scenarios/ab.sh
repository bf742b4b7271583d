# scx-meta: agent=yes timeout=300
# ab: one boot of the A/B comparison (scripts/ab): every workload in sequence under one
# scheduler. Params: scx.config=eevdf|fifo|vruntime|oracle|recent_wakeup|rustland (eevdf: no
# scheduler loaded, the fair class; rustland: upstream scx_rustland, copied in by scripts/ab),
# scx.quick=1 (short workloads, for CI). Each metric is a fact named ab_<workload>_<metric>;
# the raw outputs stay in /results/ab/.
record_env
mkdir -p /results/ab
cfg=${SCX_CONFIG:-eevdf}
fact ab_config "$cfg"
if [ "${SCX_QUICK:-0}" = 1 ]; then
  HB_LOOPS=200; SECS=4
else
  HB_LOOPS=500; SECS=10
fi

case "$cfg" in
  eevdf) fact baseline yes ;;
  rustland)
    # The peer column: upstream's userspace scheduler, started and stopped like our agent.
    fact peer_cmd "/usr/bin/scx_rustland"
    /usr/bin/scx_rustland >/results/ab/rustland.log 2>&1 &
    AGENT_PID=$!
    wait_enabled ;;
  *)
    SCX_POLICY=$cfg start_agent
    wait_enabled ;;
esac

fails=0
# note NAME RC: a workload's exit status; the first failure becomes the verdict.
note() { fact "ab_${1}_exit_code" "$2"; [ "$2" -eq 0 ] || [ "$fails" -ne 0 ] || fails=$2; }

# hackbench prints "Time: S": the completion time it measured itself (no fork/exec of its own).
hackbench_time() {
  hackbench $2 -g 4 -l "$HB_LOOPS" >"/results/ab/$1.log" 2>&1
  note "$1" $?
  fact "ab_${1}_time_s" "$(awk '/^Time:/ { print $2 }' "/results/ab/$1.log")"
}
hackbench_time hackbench_pipe -p
hackbench_time hackbench_socket ""

# Wakeup latency: cyclictest (SCHED_OTHER: no -p, so the scheduler under test decides) on
# every CPU while a CPU hog per CPU competes; percentiles of every sample (-v, in us).
stress-ng --cpu "$NPROC" -t $((SECS + 2)) -q >/dev/null 2>&1 &
hogs=$!
sleep 1
cyclictest -q -v -m -t "$NPROC" -i 1000 -D "$SECS" >/tmp/cyclic.txt 2>/results/ab/cyclictest.log
note cyclictest $?
wait "$hogs"
# Every sample, in order per thread ("thread: loop: latency_us"): kept, to see when the tail
# happens, and sorted by latency for the percentiles.
awk 'NF == 3 && $1 ~ /^[0-9]+:$/' /tmp/cyclic.txt >/tmp/samples.txt
gzip -c /tmp/samples.txt >/results/ab/cyclictest.samples.gz
awk '{ print $3 }' /tmp/samples.txt | sort -n >/tmp/lat.txt
n=$(wc -l </tmp/lat.txt)
fact ab_wakeup_samples "$n"
if [ "$n" -gt 0 ]; then
  fact ab_wakeup_p50_us "$(sed -n "$(( (n + 1) / 2 ))p" /tmp/lat.txt)"
  fact ab_wakeup_p99_us "$(sed -n "$(( (n * 99 + 99) / 100 ))p" /tmp/lat.txt)"
  fact ab_wakeup_max_us "$(tail -n 1 /tmp/lat.txt)"
fi

# stress-ng mixes: bogo-ops/s over real time, from its YAML metrics.
stress_mix() {
  stress-ng "--$2" "$NPROC" -t "$SECS" -q --metrics-brief --yaml "/results/ab/$1.yaml" \
    >"/results/ab/$1.log" 2>&1
  note "$1" $?
  fact "ab_${1}_bogo_ops_s" "$(awk '/bogo-ops-per-second-real-time:/ { print $2; exit }' \
    "/results/ab/$1.yaml")"
}
stress_mix stress_cpu cpu
stress_mix stress_switch switch

# Request/response over loopback (workloads.sh's httpd + wget pair): completed requests per
# second, and each request's time as the client sees it (p50/p99). Each request is a wget
# fork+exec, so this is a fork-heavy round trip by design. busybox has no sub-ms clock: the
# times come from /proc/timer_list's "now at N nsecs" line (the hrtimer clock, CLOCK_MONOTONIC),
# read with shell builtins so timing a request forks nothing of its own.
: >/tmp/rr.us
mkdir -p /tmp/www && head -c 2048 /dev/zero | tr '\0' x >/tmp/www/index.html
httpd -f -p 127.0.0.1:8080 -h /tmp/www &
srv=$!
usleep 300000
t0=$(now)
timeout -s TERM "$SECS" sh -c 'ns() { { read -r _; read -r _; read -r _ _ T _; } </proc/timer_list; }
  while ns; a=$T; wget -q -O /dev/null http://127.0.0.1:8080/index.html
  do ns; echo $(( (T - a) / 1000 )) >>/tmp/rr.us; done' 2>/dev/null
t1=$(now)
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
reqs=$(wc -l </tmp/rr.us)
fact ab_request_response_requests "$reqs"
fact ab_request_response_req_s "$(awk -v n="$reqs" -v a="$t0" -v b="$t1" \
  'BEGIN { printf "%.1f", (b > a) ? n / (b - a) : 0 }')"
# percentile P of the sorted times: the ceil(P * n)-th (nearest rank)
rr_pct() { sort -n /tmp/rr.us | awk -v p="$1" '{ v[NR] = $1 } END {
  if (NR == 0) exit 1; r = int(p * NR); if (r < p * NR) r++; if (r < 1) r = 1; print v[r] }'; }
if [ "$reqs" -gt 0 ]; then
  fact ab_request_response_p50_us "$(rr_pct 0.50)"
  fact ab_request_response_p99_us "$(rr_pct 0.99)"
fi
[ "$reqs" -gt 0 ]; note request_response $?

# Fairness: two busy loops on one CPU at nice 0 and nice 5 (lib.sh's nice_pair).
nice_pair "$SECS" ab_fairness

workload_done "$fails"
fact state_after_workload "$(scx_state)"
case "$cfg" in
  eevdf) ;;
  rustland) stop_agent; fact peer_exit_code "$(cat /results/facts/agent_exit_code)" ;;
  *) stop_agent ;;
esac
