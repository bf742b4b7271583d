# scx-meta: agent=yes timeout=900
# collect: record one trace per workload of the dataset suite (vm/scenarios/workloads.sh) with
# `scx_oracle trace`, under the fair class or, with scx.under=oracle, under our scheduler.
# Params: scx.duration (seconds per workload, default 5), scx.reps (repetitions, default 1),
# scx.seed (base seed, default 1), scx.workloads (comma-separated subset), scx.under.
# --convert live: /results is in guest RAM, where a spool of the whole run would sit until the end.
. /scenarios/workloads.sh
record_env
secs=${SCX_DURATION:-5}
reps=${SCX_REPS:-1}
seed0=${SCX_SEED:-1}
under=${SCX_UNDER:-fair}
list=$(echo "${SCX_WORKLOADS:-$SUITE_WORKLOADS}" | tr ',' ' ')
mkdir -p /results/traces
if [ "$under" = oracle ]; then start_agent; wait_enabled; fi
fail=0
rep=1
while [ "$rep" -le "$reps" ]; do
  i=0
  for w in $list; do
    i=$((i + 1))
    seed=$((seed0 + 1000 * rep + i))
    base=/results/traces/${w}-${NPROC}cpu-rep${rep}
    "$AGENT" trace -o "$base.parquet" --quiet --ring-mb 32 --convert live --meta "workload=$w" \
      --meta "repetition=$rep" --meta "vcpus=$NPROC" --meta "seed=$seed" \
      --meta "scheduler=$under" --meta "duration_s=$secs" >"$base.log" 2>&1 &
    tpid=$!
    # The tracer is attached once its .partial file exists.
    j=0; while [ ! -e "$base.parquet.partial" ] && [ $j -lt 100 ]; do usleep 50000; j=$((j + 1)); done
    run_suite_workload "$w" "$secs" "$seed" >"$base.workload.log" 2>&1
    rc=$?
    kill -INT "$tpid"; wait "$tpid"; trc=$?
    echo "$w rep=$rep seed=$seed workload_rc=$rc tracer_rc=$trc" >>/results/collect.log
    suite_ok "$rc" || { fail=1; echo "workload $w failed ($rc)" >>/results/collect.log; }
    [ "$trc" -eq 0 ] || { fail=1; echo "tracer for $w failed ($trc)" >>/results/collect.log; }
  done
  rep=$((rep + 1))
done
[ "$under" = oracle ] && stop_agent
workload_done "$fail"
