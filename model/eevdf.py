"""An estimate of EEVDF's per-CPU state, kept from the trace's events alone.

The fair class picks, among the tasks queued on a CPU, the *eligible* one (virtual runtime at
or below the queue's weighted average) with the earliest *virtual deadline*
(kernel/sched/fair.c). None of that is in a trace, but all of it follows from what is: a
task's virtual runtime grows by its time on the CPU scaled by 1024 / weight (weight from its
prio), a woken task is placed at the queue's average minus the lag it kept when it went to
sleep (PLACE_LAG), its deadline is one virtual slice later (half for a new task), a sleeper
that is not eligible stays queued until it is (DELAY_DEQUEUE, its lag then zeroed), and a task
that migrates keeps its lag and its deadline's distance. This module replays those rules so the
encoder can describe each candidate as EEVDF sees it (eligible, lag, deadline, its rank in
EEVDF's order); a live agent can keep the same estimate from the same events.

It is an estimate: the kernel charges run time from its task clock (without IRQ and steal
time), its slice depends on the CPU count, and cgroups nest queues; the trace has none of that.
(The VM kernel's base slice, read by `record_env` in vm/scenarios/lib.sh, is 1.4 ms at 2 CPUs
and 2.1 ms at 4, not the spec's 1.5 ms; scored as a rule on hackbench_pipe, the estimate's
first choice matched the kernel's pick equally often with 1.4, 1.5 and 2.1 ms.)
Everything is integer arithmetic with floored division, so oracle/src/eevdf.rs, its mirror,
computes bit-identical state (the round-trip test checks the features).
"""
from collections import defaultdict
from dataclasses import dataclass, field

PRIO_TO_WEIGHT = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
]


def weight_of(prio):
    """sched_prio_to_weight; real-time (prio < 100) and unknown prios count as nice 0."""
    if prio is None or not 100 <= prio <= 139:
        return 1024
    return PRIO_TO_WEIGHT[prio - 100]


@dataclass
class Entity:
    v: int = 0            # virtual runtime
    dl: int = 0           # virtual deadline
    vlag: int = 0         # lag kept while asleep (avg - v when it left the queue)
    rel: int = -1         # dl - v kept over a migration (-1: none)
    w: int = 1024
    cpu: int = -1         # the queue it is on (-1: none)
    delayed: bool = False  # asleep but still queued (DELAY_DEQUEUE)
    seen: bool = False    # placed at least once (a first placement has no lag)


@dataclass
class Queue:
    sum_w: int = 0
    sum_wv: int = 0       # sum of w * v over the queued entities, the running one included
    zero: int = 0         # the average when the queue was last non-empty
    members: set = field(default_factory=set)
    delayed: set = field(default_factory=set)
    curr: int = 0         # the task running here (0: idle)
    last: int = -1        # when curr's run time was last charged


@dataclass
class Queued:
    v: int                # virtual runtime (the running task's charged up to the view's time)
    dl: int               # virtual deadline
    w: int
    delayed: bool         # asleep but still queued


class View:
    """What the encoder reads of one CPU's queue at one time (oracle/src/eevdf.rs: `View`)."""

    def __init__(self, avg, queued):
        self.avg = avg
        self.queued = queued      # pid -> Queued
        order = sorted((p for p, q in queued.items() if not q.delayed),
                       key=lambda p: (not self.eligible(p), queued[p].dl, p))
        self.rank = {p: i for i, p in enumerate(order)}   # EEVDF's preference: eligible first,
        # then earliest deadline, pid breaking ties; delayed sleepers are not in it

    def eligible(self, pid):
        """Queued here, not delayed, virtual runtime at or below the weighted average."""
        q = self.queued.get(pid)
        return q is not None and not q.delayed and q.v <= self.avg


class Eevdf:
    def __init__(self, spec):
        self.slice = spec["eevdf_slice_ns"]
        self.lag_limit = spec["eevdf_lag_limit_ns"]
        self.ents = defaultdict(Entity)     # .get() and `in` never create one
        self.queues = defaultdict(Queue)

    def queue(self, c):
        return self.queues[c]

    def ent(self, pid):
        return self.ents[pid]

    def vslice(self, e):
        """The virtual slice of `e` (an Entity or a Queued: its weight w), floored."""
        return self.slice * 1024 // e.w

    @staticmethod
    def avg(q):
        return q.sum_wv // q.sum_w if q.sum_w else q.zero

    # -- queue membership (the sums follow every change) ----------------------------------
    def add(self, c, pid, e):
        q = self.queue(c)
        q.sum_w += e.w
        q.sum_wv += e.w * e.v
        q.members.add(pid)
        e.cpu, e.delayed = c, False

    def remove(self, pid, e):
        q = self.queue(e.cpu)
        q.zero = self.avg(q)
        q.sum_w -= e.w
        q.sum_wv -= e.w * e.v
        q.members.discard(pid)
        q.delayed.discard(pid)
        e.cpu, e.delayed = -1, False

    def set_v(self, e, v):
        if e.cpu >= 0:
            self.queue(e.cpu).sum_wv += e.w * (v - e.v)
        e.v = v

    def set_prio(self, pid, prio):
        e = self.ent(pid)
        w = weight_of(prio)
        if w != e.w:
            if e.cpu >= 0:
                q = self.queue(e.cpu)
                q.sum_w += w - e.w
                q.sum_wv += (w - e.w) * e.v
            e.w = w

    def lag_of(self, e, avg):
        limit = self.lag_limit * 1024 // e.w
        return max(-limit, min(limit, avg - e.v))

    # -- the rules ------------------------------------------------------------------------
    def charge(self, c, now):
        """update_curr(): the running task's virtual runtime up to `now`."""
        q = self.queue(c)
        if q.curr and q.last >= 0 and now > q.last:
            e = self.ents.get(q.curr)
            if e is not None and e.cpu == c:
                self.set_v(e, e.v + (now - q.last) * 1024 // e.w)
                if e.v >= e.dl:   # slice used up: a new deadline
                    e.dl = e.v + self.vslice(e)
        q.last = max(q.last, now)

    def place(self, c, pid, e, initial=False):
        """place_entity() + enqueue: at the average minus the kept lag (scaled, as the kernel
        does, so the average stays put), one virtual slice to the deadline."""
        q = self.queue(c)
        avg = self.avg(q)
        lag = 0
        if not initial and e.seen and q.sum_w and e.vlag:
            lag = e.vlag * (q.sum_w + e.w) // q.sum_w
        e.v = avg - lag
        if e.rel >= 0:
            e.dl, e.rel = e.v + e.rel, -1
        else:
            e.dl = e.v + (self.vslice(e) // 2 if initial else self.vslice(e))
        e.seen = True
        self.add(c, pid, e)

    def leave(self, pid, e, keep_deadline=False):
        """Out of its queue with its lag saved (update_entity_lag)."""
        e.vlag = self.lag_of(e, self.avg(self.queue(e.cpu)))
        if keep_deadline:
            e.rel = max(e.dl - e.v, 0)
        self.remove(pid, e)

    def finish_delayed(self, pid, e):
        self.leave(pid, e)
        e.vlag = min(e.vlag, 0)   # DELAY_ZERO

    def wakeup(self, pid, c, now, new):
        self.charge(c, now)
        e = self.ent(pid)
        if e.cpu == c and e.delayed:          # requeue_delayed_entity()
            q = self.queue(c)
            q.delayed.discard(pid)
            e.delayed = False
            if self.lag_of(e, self.avg(q)) > 0:   # DELAY_ZERO: placed again with no lag
                self.remove(pid, e)
                e.vlag = 0
                self.place(c, pid, e)
            return
        if e.cpu >= 0:
            if e.cpu == c and not e.delayed:
                return                            # already runnable here
            self.charge(e.cpu, now)               # the average it leaves, up to date
            if e.delayed:
                self.finish_delayed(pid, e)
            else:
                self.leave(pid, e)
        self.place(c, pid, e, initial=new)

    def migrate(self, pid, dest, now):
        e = self.ents.get(pid)
        if e is None or e.cpu < 0 or e.cpu == dest:
            return
        if e.delayed:                             # asleep: its wakeup places it
            self.charge(e.cpu, now)
            self.finish_delayed(pid, e)
            return
        if self.queue(e.cpu).curr == pid:
            return                                # running: its switch-out comes first
        self.charge(e.cpu, now)
        self.leave(pid, e, keep_deadline=True)
        self.charge(dest, now)
        self.place(dest, pid, e)

    def switch(self, c, now, prev, first, nxt):
        """prev leaves the CPU in state `first` (R, S, D, X, ...), nxt takes it."""
        q = self.queue(c)
        if q.curr != prev:
            # The task the last switch put here left without a switch record (seen on 6.18:
            # a picked task another one ran for, as proxy execution does): prev ran instead,
            # and the other is taken out of the queue rather than left there, never charged.
            ghost, q.curr = q.curr, prev
            e = self.ents.get(ghost)
            if ghost and e is not None and e.cpu == c and not e.delayed:
                self.leave(ghost, e)
        self.charge(c, now)
        if prev:
            e = self.ents.get(prev)
            if e is None and first == "R":
                e = self.ent(prev)
            if first in ("X", "Z"):
                if e is not None and e.cpu >= 0:
                    self.remove(prev, e)
                self.ents.pop(prev, None)
            elif e is not None:
                if first == "R":
                    if e.delayed and e.cpu == c:
                        q.delayed.discard(prev)
                        e.delayed = False
                    if e.cpu != c:
                        if e.cpu >= 0:
                            self.leave(prev, e)
                        self.place(c, prev, e)
                    e.dl = e.v + self.vslice(e)   # switched out runnable: its slice ended
                elif e.cpu == c and not e.delayed:
                    if e.v > self.avg(q):         # not eligible: stays, delayed
                        e.delayed = True
                        q.delayed.add(prev)
                    else:
                        self.leave(prev, e)
                elif e.cpu >= 0 and e.cpu != c:
                    self.leave(prev, e)
        # delayed sleepers that became eligible would now be picked, and so dequeued
        avg = self.avg(q)
        for pid in sorted(q.delayed):
            e = self.ents[pid]
            if e.v <= avg:
                self.finish_delayed(pid, e)
        if nxt:
            e = self.ent(nxt)
            if e.cpu != c:
                if e.cpu >= 0:
                    self.leave(nxt, e)
                self.place(c, nxt, e)
            elif e.delayed:
                q.delayed.discard(nxt)
                e.delayed = False
        q.curr, q.last = nxt, now

    # -- what the encoder reads (pure: nothing changes) -----------------------------------
    def view(self, c, now):
        """The tasks queued on c (delayed ones included) as of `now`: the running task charged
        up to now without changing the state."""
        q = self.queue(c)
        sum_wv = q.sum_wv
        vals = {}
        for pid in q.members:
            e = self.ents[pid]
            v, dl = e.v, e.dl
            if pid == q.curr and q.last >= 0 and now > q.last:   # as charge() would
                dv = (now - q.last) * 1024 // e.w
                sum_wv += e.w * dv
                v += dv
                if v >= dl:
                    dl = v + self.vslice(e)
            vals[pid] = Queued(v, dl, e.w, pid in q.delayed)
        return View(sum_wv // q.sum_w if q.sum_w else q.zero, vals)
