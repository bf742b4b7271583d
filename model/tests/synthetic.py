"""Hand-made event streams for tests: a periodic schedule on CPUs where every task stays runnable."""


def periodic_events(pattern, repeats, cpu=0, first_pid=100, start_ns=1_000_000, gap_ns=50_000):
    """`pattern` lists task letters (or '-' for idle) run in turn on `cpu`; each task is woken
    once at the start and is preempted (state R) at every switch, so only the order tells."""
    pids = {name: (0 if name == "-" else first_pid + i) for i, name in enumerate(sorted(set(pattern)))}
    ts = start_ns
    events = []
    for name, pid in sorted(pids.items()):
        if pid:
            events.append(dict(ts_ns=ts, cpu=cpu, event="wakeup", next_pid=pid, next_tgid=pid,
                               next_comm=f"task{name}", next_prio=120, target_cpu=cpu))
            ts += 1000
    prev = 0
    for _ in range(repeats):
        for name in pattern:
            nxt = pids[name]
            if nxt == prev:
                continue
            ts += gap_ns
            events.append(dict(ts_ns=ts, cpu=cpu, event="switch", prev_pid=prev, prev_tgid=prev,
                               prev_comm="swapper/0" if prev == 0 else f"p{prev}", prev_prio=120,
                               prev_state="R+" if prev else "R", next_pid=nxt, next_tgid=nxt,
                               next_comm="swapper/0" if nxt == 0 else f"p{nxt}", next_prio=120,
                               nr_running=len(pids)))
            prev = nxt
    return events
