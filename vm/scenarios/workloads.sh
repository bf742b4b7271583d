# The dataset workload suite (sourced by collect.sh; not a scenario itself).
# run_suite_workload NAME SECS SEED: runs one workload for about SECS seconds in the
# foreground. Loop-bounded tools (hackbench, the HTTP client) run under `timeout`, so their
# exit status 143 after a full period counts as success (see suite_ok).
SUITE_WORKLOADS="hackbench_pipe hackbench_socket stress_cpu stress_switch stress_pipe stress_fork \
stress_futex stress_io cyclic_wakers request_response desktop_idle"

run_suite_workload() {
  name=$1; secs=$2; seed=$3; n=$NPROC
  sng="stress-ng -t $secs --seed $seed --temp-path /tmp -q"
  case "$name" in
    hackbench_pipe)   timeout -s TERM "$secs" hackbench -p -g 2 -l 1000000 ;;
    hackbench_socket) timeout -s TERM "$secs" hackbench -g 2 -l 1000000 ;;
    stress_cpu)       $sng --cpu "$n" ;;
    stress_switch)    $sng --switch "$n" ;;
    stress_pipe)      $sng --pipe "$n" ;;
    stress_fork)      $sng --fork "$n" ;;
    stress_futex)     $sng --futex "$n" ;;
    stress_io)        $sng --iomix 1 --iomix-bytes 8m --cpu 1 --cpu-load 30 ;;
    # Periodic wakers: one cyclictest thread per CPU at 1 kHz, the cyclictest-style mix.
    cyclic_wakers)    cyclictest -q -t "$n" -i 1000 -D "$secs" -m >/dev/null ;;
    request_response) request_response "$secs" ;;
    # Idle-ish desktop: sleepers, a timer, a 5 % CPU background task.
    desktop_idle)     $sng --sleep 2 --timer 1 --timer-freq 50 --cpu 1 --cpu-load 5 ;;
    *) echo "unknown workload $name (valid: $SUITE_WORKLOADS)" >&2; return 2 ;;
  esac
}

# A server/client pair over loopback: busybox httpd serves a small page and a client loop
# fetches it back to back (request -> response -> next request). Fails (status 1) if the
# server never answers or a request fails before the period ends: only timeout's signal
# ends a good run.
request_response() {
  secs=$1
  url=http://127.0.0.1:8080/index.html
  mkdir -p /tmp/www && head -c 2048 /dev/zero | tr '\0' x >/tmp/www/index.html
  httpd -f -p 127.0.0.1:8080 -h /tmp/www &
  srv=$!
  i=0
  until wget -q -O /dev/null "$url"; do
    i=$((i + 1))
    if [ "$i" -ge 30 ]; then
      echo "request_response: the server never answered" >&2
      kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
      return 1
    fi
    usleep 100000
  done
  timeout -s TERM "$secs" sh -c "while wget -q -O /dev/null $url; do :; done; echo 'request_response: a request failed' >&2; exit 1"
  rc=$?
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
  return $rc
}

# timeout's 143 (SIGTERM at the end of the period) is the normal end of a looped workload.
suite_ok() { [ "$1" -eq 0 ] || [ "$1" -eq 143 ] || [ "$1" -eq 124 ]; }
