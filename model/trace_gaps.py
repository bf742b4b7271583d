"""What a trace lacks that the model's features need, found before its score is believed.
`perf sched map` text has switches only (no wakeups, no prev_state); a tracer that recorded
neither sched_waking nor sched_wakeup has no wakeups. The model is still scored on such a
trace, but the eval says why its number means little there. Keys and wording are the same in
oracle/src/trace_gaps.rs."""
from .trace_file import read_table

NO_STEPS = "no_steps"
NO_WAKEUPS = "no_wakeups"
NO_PREV_STATE = "no_prev_state"

DESCRIBE = {
    NO_STEPS: "no scheduling decision to score (no switch with a known next task): left out of "
              "the workloads and their mean",
    NO_WAKEUPS: "switches but no wakeup events (perf sched map, or neither sched_waking nor "
                "sched_wakeup recorded): the model's woken/runnable features are blank, so its "
                "score here says little; the identity baselines do not use them",
    NO_PREV_STATE: "no prev_state on any switch (perf sched map has none): a preempted task "
                   "cannot be told from a sleeping one, so runnable tasks leave the candidate "
                   "set and the model's score here says little",
}


def gaps(path):
    """The gaps of a trace's events (NO_STEPS is decided by the caller, from its steps)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    t = read_table(path, columns=["event", "prev_state"])
    event = t["event"].cast(pa.string())
    switch = pc.equal(event, "switch")
    switches = pc.sum(switch).as_py() or 0
    wakeups = pc.sum(pc.is_in(event, value_set=pa.array(["wakeup", "wakeup_new"]))).as_py() or 0
    with_state = pc.sum(pc.and_(switch, pc.is_valid(t["prev_state"]))).as_py() or 0
    out = []
    if switches and not wakeups:
        out.append(NO_WAKEUPS)
    if switches and not with_state:
        out.append(NO_PREV_STATE)
    return out
