//! An estimate of EEVDF's per-CPU state, kept from the trace's events alone: the mirror of
//! model/eevdf.py (its module doc gives the rules and why), bit-identical to it.
//!
//! The fair class picks, among the tasks queued on a CPU, the *eligible* one (virtual runtime
//! at or below the queue's weighted average) with the earliest *virtual deadline*. Virtual
//! runtime grows by CPU time x 1024 / weight(prio) (the kernel's own charge, prev_runtime_ns,
//! where the trace has it; timestamps otherwise); a woken task is placed at the average minus
//! the lag it kept (scaled so the average stays put), its deadline one virtual slice later
//! (half for a new task), renewed when the slice is used up; an ineligible sleeper stays
//! queued, delayed, until it is eligible (DELAY_DEQUEUE, lag then zeroed: DELAY_ZERO); a
//! migrating task keeps its lag and its deadline's distance; real-time tasks are never queued;
//! and a task the kernel picks was eligible, so one the estimate has past the average is put at
//! it (encoding version 6), and came before every other eligible task, so where a few of those
//! have an earlier deadline in the estimate the error is split between them and the pick
//! (encoding version 7).
//!
//! Integer arithmetic exactly as Python's: sums of w x v in i128, everything else in i64, and
//! every Python `//` is a floored division (`div_euclid`; all divisors are positive). Python's
//! sets are unordered, and only sums and sorted orders are observable, so members are kept in
//! no order, and the delayed sleepers by pid (Python purges them in sorted pid order).
//! [`Eevdf::view_into`] is pure: the live agent asks it for a decision without changing
//! anything.

use super::int_map::IntMap;

/// sched_prio_to_weight, nice -20 .. 19.
const PRIO_TO_WEIGHT: [i64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// sched_prio_to_weight; real-time (prio < 100) and unknown prios count as nice 0.
pub fn weight_of(prio: i32) -> i64 {
    match prio {
        100..=139 => PRIO_TO_WEIGHT[(prio - 100) as usize],
        _ => 1024,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entity {
    /// Virtual runtime.
    pub(crate) v: i64,
    /// Virtual deadline.
    pub(crate) dl: i64,
    /// Lag kept while asleep (avg - v when it left the queue).
    pub(crate) vlag: i64,
    /// dl - v kept over a migration (-1: none).
    pub(crate) rel: i64,
    pub(crate) w: i64,
    /// The queue it is on.
    pub(crate) cpu: Option<u32>,
    /// Asleep but still queued (DELAY_DEQUEUE).
    pub(crate) delayed: bool,
    /// Placed at least once (a first placement has no lag).
    pub(crate) seen: bool,
    /// Real-time or deadline class (prio < 100): queued outside the fair sums, served first.
    pub(crate) rt: bool,
    /// Its CPU time as the kernel charged it, at its last switch-out (-1: unknown).
    pub(crate) runtime: i64,
    /// Its virtual runtime when it last switched in.
    pub(crate) v_in: i64,
    /// Its CPU time (the kernel's charge) when its deadline was last set (-1: unknown).
    pub(crate) dl_run: i64,
    /// dl - v then: the virtual time it could run before the kernel renews the deadline.
    pub(crate) dl_left: i64,
    /// Its time on a CPU by timestamps (the clock where the kernel's is unknown).
    pub(crate) on_cpu: i64,
    /// `on_cpu` when its deadline was last set.
    pub(crate) dl_on_cpu: i64,
}

impl Default for Entity {
    fn default() -> Self {
        Entity {
            v: 0,
            dl: 0,
            vlag: 0,
            rel: -1,
            w: 1024,
            cpu: None,
            delayed: false,
            seen: false,
            rt: false,
            runtime: -1,
            v_in: 0,
            dl_run: -1,
            dl_left: 0,
            on_cpu: 0,
            dl_on_cpu: 0,
        }
    }
}

#[derive(Clone, Debug)]
struct Queue {
    sum_w: i64,
    /// Sum of w x v over the queued entities, the running one included.
    sum_wv: i128,
    /// The average when the queue was last non-empty.
    zero: i64,
    /// Queued pids, in no order.
    members: Vec<i32>,
    /// Delayed sleepers (a subset of `members`), sorted by pid.
    delayed: Vec<i32>,
    /// The task running here (0: idle).
    curr: i32,
    /// When curr's run time was last charged (-1: never).
    last: i64,
    /// The task last woken onto this CPU since curr switched in (0: none).
    woken: i32,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            sum_w: 0,
            sum_wv: 0,
            zero: 0,
            members: Vec::new(),
            delayed: Vec::new(),
            curr: 0,
            last: -1,
            woken: 0,
        }
    }
}

impl Queue {
    fn avg(&self) -> i64 {
        if self.sum_w != 0 {
            self.sum_wv.div_euclid(i128::from(self.sum_w)) as i64
        } else {
            self.zero
        }
    }

    fn undelay(&mut self, pid: i32) {
        if let Ok(i) = self.delayed.binary_search(&pid) {
            self.delayed.remove(i);
        }
    }
}

/// The queues and the constants: the rules that touch one entity and its queue.
struct Queues {
    slice: i64,
    lag_limit: i64,
    /// The most passed-over tasks a pick corrects (0: none; see `Eevdf::passed_over`).
    passed_over_max: usize,
    /// Whether a switch's nr_running corrects the delayed sleepers (`Eevdf::drop_dequeued`).
    kernel_count: bool,
    /// Whether a wakeup preemption keeps a deadline not used up (`Queues::keep_deadline`).
    keep_preempted: bool,
    map: IntMap<u32, Queue>,
}

impl Queues {
    fn get(&mut self, c: u32) -> &mut Queue {
        self.map.entry(c).or_default()
    }

    fn vslice(&self, e: &Entity) -> i64 {
        (self.slice * 1024).div_euclid(e.w)
    }

    /// update_deadline(): one virtual slice after v; `run`, the task's CPU time now as the
    /// kernel charged it (None: unknown), says when the kernel will renew it next.
    fn renew(&self, e: &mut Entity, run: Option<i64>) {
        e.dl = e.v + self.vslice(e);
        Queues::deadline_set(e, run.unwrap_or(-1));
    }

    /// `e.dl` was just set, the task having run `run` ns of CPU time as the kernel charged it
    /// (-1: unknown): what `slice_left` measures from.
    fn deadline_set(e: &mut Entity, run: i64) {
        e.dl_run = run;
        e.dl_left = e.dl - e.v;
        e.dl_on_cpu = e.on_cpu;
    }

    /// Whether the kernel, having charged the task `run` ns of CPU time in all (None:
    /// unknown), still has its deadline where it last set it: the virtual time run since then
    /// is short of what was left; run since then by the kernel's charges where both ends are
    /// known, else by its time on the CPU by timestamps (model/eevdf.py: `slice_left`).
    fn slice_left(e: &Entity, run: Option<i64>) -> bool {
        let ran = match run {
            Some(r) if e.dl_run >= 0 && r >= e.dl_run => r - e.dl_run,
            _ => e.on_cpu - e.dl_on_cpu,
        };
        (ran * 1024).div_euclid(e.w) < e.dl_left
    }

    /// Whether prev (`e`), switched out runnable having run `run` ns in all, keeps its
    /// deadline: `nxt` is the task last woken onto `c` since prev switched in (a wakeup
    /// preemption) and prev's slice is not used up (model/eevdf.py: `keep_deadline`, with
    /// what it measured).
    fn keep_deadline(&mut self, c: u32, e: &Entity, nxt: i32, run: Option<i64>) -> bool {
        self.keep_preempted && nxt != 0 && self.get(c).woken == nxt && Queues::slice_left(e, run)
    }

    fn lag_of(&self, e: &Entity, avg: i64) -> i64 {
        let limit = (self.lag_limit * 1024).div_euclid(e.w);
        (-limit).max(limit.min(avg - e.v))
    }

    /// Real-time tasks are members, queued on the CPU, but not in the fair class's sums.
    fn add(&mut self, c: u32, pid: i32, e: &mut Entity) {
        let q = self.get(c);
        if !e.rt {
            q.sum_w += e.w;
            q.sum_wv += i128::from(e.w) * i128::from(e.v);
        }
        if !q.members.contains(&pid) {
            q.members.push(pid);
        }
        e.cpu = Some(c);
        e.delayed = false;
    }

    fn remove(&mut self, pid: i32, e: &mut Entity) {
        let q = self.get(e.cpu.expect("removed from a queue it is on"));
        q.zero = q.avg();
        if !e.rt {
            q.sum_w -= e.w;
            q.sum_wv -= i128::from(e.w) * i128::from(e.v);
        }
        if let Some(i) = q.members.iter().position(|&p| p == pid) {
            q.members.swap_remove(i);
        }
        q.undelay(pid);
        e.cpu = None;
        e.delayed = false;
    }

    fn set_v(&mut self, e: &mut Entity, v: i64) {
        if let Some(c) = e.cpu.filter(|_| !e.rt) {
            self.get(c).sum_wv += i128::from(e.w) * i128::from(v - e.v);
        }
        e.v = v;
    }

    /// place_entity() + enqueue: at the average minus the kept lag (scaled, as the kernel does,
    /// so the average stays put), one virtual slice to the deadline. A real-time task is
    /// queued outside the fair class's sums, at the average.
    fn place(&mut self, c: u32, pid: i32, e: &mut Entity, initial: bool) {
        let q = self.get(c);
        let (avg, sum_w) = (q.avg(), q.sum_w);
        if e.rt {
            e.v = avg;
            e.dl = avg;
            e.seen = true;
            self.add(c, pid, e);
            return;
        }
        let mut lag = 0;
        if !initial && e.seen && sum_w != 0 && e.vlag != 0 {
            let scaled = i128::from(e.vlag) * i128::from(sum_w + e.w);
            lag = scaled.div_euclid(i128::from(sum_w)) as i64;
        }
        e.v = avg - lag;
        if e.rel >= 0 {
            e.dl = e.v + e.rel;
            e.rel = -1;
        } else {
            let vs = self.vslice(e);
            e.dl = e.v + if initial { vs.div_euclid(2) } else { vs };
        }
        Queues::deadline_set(e, e.runtime); // asleep since its last run: its CPU time then
        e.seen = true;
        self.add(c, pid, e);
    }

    /// The running task's virtual runtime from the CPU time the kernel charged it since it
    /// switched in (the switch record's prev_runtime_ns); None when that is not known.
    fn exact_v(e: &Entity, runtime: Option<u64>) -> Option<i64> {
        let r = i64::try_from(runtime?).ok()?;
        if e.runtime < 0 || r < e.runtime {
            return None;
        }
        Some(e.v_in + ((r - e.runtime) * 1024).div_euclid(e.w))
    }

    /// Out of its queue with its lag saved (update_entity_lag).
    fn leave(&mut self, pid: i32, e: &mut Entity, keep_deadline: bool) {
        let avg = self.get(e.cpu.expect("leaves a queue it is on")).avg();
        e.vlag = self.lag_of(e, avg);
        if keep_deadline {
            e.rel = (e.dl - e.v).max(0);
        }
        self.remove(pid, e);
    }

    fn finish_delayed(&mut self, pid: i32, e: &mut Entity) {
        self.leave(pid, e, false);
        e.vlag = e.vlag.min(0); // DELAY_ZERO
    }
}

/// One task queued on the viewed CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    pub pid: i32,
    /// Virtual runtime (the running task's charged up to the view's time).
    pub v: i64,
    /// Virtual deadline.
    pub dl: i64,
    /// Weight.
    pub w: i64,
    /// Asleep but still queued.
    pub delayed: bool,
    /// Real-time: runs before every fair task (v and dl: the average).
    pub rt: bool,
    /// Its index in the order (None for a delayed one).
    pub rank: Option<usize>,
}

impl Queued {
    /// Not delayed, real-time or virtual runtime at or below the queue's weighted average.
    pub fn eligible(&self, avg: i64) -> bool {
        !self.delayed && (self.rt || self.v <= avg)
    }
}

/// What the encoder reads of one CPU's queue at one time (Python's `view` tuple: the average,
/// the per-pid values, the order). Reused between calls: no allocation once warm.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The weighted average virtual runtime.
    pub avg: i64,
    /// The queued tasks (delayed ones included), sorted by pid.
    queued: Vec<Queued>,
    /// Sort keys of the ones that are not delayed, in the kernel's order: (not real-time,
    /// not eligible, deadline, pid).
    order: Vec<(bool, bool, i64, i32)>,
}

impl View {
    /// The task `pid` if it is queued on the viewed CPU.
    pub fn get(&self, pid: i32) -> Option<&Queued> {
        self.queued
            .binary_search_by_key(&pid, |q| q.pid)
            .ok()
            .map(|i| &self.queued[i])
    }

    /// Its index in EEVDF's order, None when the order does not hold it.
    pub fn rank(&self, pid: i32) -> Option<usize> {
        self.get(pid).and_then(|q| q.rank)
    }

    /// How many tasks the order holds.
    pub fn order_len(&self) -> usize {
        self.order.len()
    }

    /// The kernel's preference: real-time tasks first (their class runs before the fair
    /// one), then EEVDF's: eligible first, then earliest deadline, pid breaking ties.
    pub fn order(&self) -> impl Iterator<Item = i32> + '_ {
        self.order.iter().map(|&(_, _, _, pid)| pid)
    }
}

/// The estimate: one entity per task seen, one queue per CPU.
pub struct Eevdf {
    ents: IntMap<i32, Entity>,
    qs: Queues,
}

impl Eevdf {
    /// `slice_ns`, `lag_limit_ns`, `passed_over_max`, `kernel_count` and `keep_preempted` as in
    /// the spec (eevdf_slice_ns, eevdf_lag_limit_ns, eevdf_passed_over_max, eevdf_kernel_count
    /// != 0, eevdf_keep_preempted_deadline != 0).
    pub fn new(
        slice_ns: i64,
        lag_limit_ns: i64,
        passed_over_max: usize,
        kernel_count: bool,
        keep_preempted: bool,
    ) -> Eevdf {
        Eevdf {
            ents: IntMap::default(),
            qs: Queues {
                slice: slice_ns,
                lag_limit: lag_limit_ns,
                passed_over_max,
                kernel_count,
                keep_preempted,
                map: IntMap::default(),
            },
        }
    }

    /// The virtual slice of a task of weight `w`: slice x 1024 / w, floored.
    pub fn vslice(&self, w: i64) -> i64 {
        (self.qs.slice * 1024).div_euclid(w)
    }

    #[cfg(test)]
    pub(crate) fn entity(&self, pid: i32) -> Option<&Entity> {
        self.ents.get(&pid)
    }

    pub fn set_prio(&mut self, pid: i32, prio: i32) {
        let e = self.ents.entry(pid).or_default();
        let rt = prio < 100;
        if let Some(c) = e.cpu.filter(|_| rt != e.rt) {
            // changed class while queued: out of one, into the other
            self.qs.remove(pid, e);
            e.rt = rt;
            self.qs.add(c, pid, e);
        }
        e.rt = rt;
        let w = weight_of(prio);
        if w != e.w {
            if let Some(c) = e.cpu.filter(|_| !e.rt) {
                let q = self.qs.get(c);
                q.sum_w += w - e.w;
                q.sum_wv += i128::from(w - e.w) * i128::from(e.v);
            }
            e.w = w;
        }
    }

    /// update_curr(): the running task's virtual runtime up to `now`.
    fn charge(&mut self, c: u32, now: i64) {
        self.charge_known(c, now, None, None);
    }

    /// [`Eevdf::charge`], exactly from the kernel's charge when `curr` is the task running on
    /// `c` and `runtime` its CPU time now (a wakeup record's prev_pid and prev_runtime_ns).
    fn charge_known(&mut self, c: u32, now: i64, curr: Option<i32>, runtime: Option<u64>) {
        let q = self.qs.get(c);
        let (running, last) = (q.curr, q.last);
        if running != 0 {
            if let Some(e) = self
                .ents
                .get_mut(&running)
                .filter(|e| e.cpu == Some(c) && !e.rt)
            {
                let exact = if curr == Some(running) { Queues::exact_v(e, runtime) } else { None };
                let run = exact.and(runtime).and_then(|r| i64::try_from(r).ok());
                let elapsed = (last >= 0 && now > last).then(|| now - last);
                if let Some(d) = elapsed {
                    e.on_cpu += d;
                }
                let v = exact.or_else(|| elapsed.map(|d| e.v + (d * 1024).div_euclid(e.w)));
                if let Some(v) = v {
                    self.qs.set_v(e, v);
                    if e.v >= e.dl {
                        // slice used up: a new deadline
                        self.qs.renew(e, run);
                    }
                }
            }
        }
        let q = self.qs.get(c);
        q.last = q.last.max(now);
    }

    /// A wakeup of `pid` onto CPU `c` (`new`: wakeup_new); `curr`, `curr_runtime`: the task
    /// running on `c` then and its CPU time, when the trace has them.
    pub fn wakeup(&mut self, pid: i32, c: u32, now: i64, new: bool, curr: Option<i32>, curr_runtime: Option<u64>) {
        self.charge_known(c, now, curr, curr_runtime);
        self.qs.get(c).woken = pid;
        let e = self.ents.entry(pid).or_default();
        let qs = &mut self.qs;
        if e.cpu == Some(c) && e.delayed {
            // requeue_delayed_entity()
            let q = qs.get(c);
            q.undelay(pid);
            e.delayed = false;
            let avg = q.avg();
            if qs.lag_of(e, avg) > 0 {
                // DELAY_ZERO: placed again with no lag
                qs.remove(pid, e);
                e.vlag = 0;
                qs.place(c, pid, e, false);
            }
            return;
        }
        if let Some(old) = e.cpu {
            if old == c && !e.delayed {
                return; // already runnable here
            }
            self.charge(old, now); // the average it leaves, up to date
            let e = self.ents.get_mut(&pid).expect("entered above");
            if e.delayed {
                self.qs.finish_delayed(pid, e);
            } else {
                self.qs.leave(pid, e, false);
            }
        }
        let e = self.ents.get_mut(&pid).expect("entered above");
        self.qs.place(c, pid, e, new);
    }

    /// `pid` moves to CPU `dest`.
    pub fn migrate(&mut self, pid: i32, dest: u32, now: i64) {
        let Some(e) = self.ents.get_mut(&pid) else {
            return;
        };
        let Some(src) = e.cpu.filter(|&s| s != dest) else {
            return;
        };
        if e.delayed {
            // asleep: its wakeup places it
            self.charge(src, now);
            let e = self.ents.get_mut(&pid).expect("looked up above");
            self.qs.finish_delayed(pid, e);
            return;
        }
        if self.qs.get(src).curr == pid {
            return; // running: its switch-out comes first
        }
        self.charge(src, now);
        let e = self.ents.get_mut(&pid).expect("looked up above");
        self.qs.leave(pid, e, true);
        self.charge(dest, now);
        let e = self.ents.get_mut(&pid).expect("looked up above");
        self.qs.place(dest, pid, e, false);
    }

    /// `pid` is no longer believed to wait where it was queued (encoding.rs: `expire_stale`):
    /// out of that queue with its lag, as a migration away would take it.
    pub fn expire(&mut self, pid: i32) {
        let Some(e) = self.ents.get_mut(&pid) else { return };
        let Some(c) = e.cpu else { return };
        if self.qs.get(c).curr != pid {
            self.qs.leave(pid, e, false);
        }
    }

    /// `prev` leaves CPU `c` in state `first` (the prev_state's first byte: R, S, D, X, ...)
    /// having run `runtime` ns in all (None: unknown), `nxt` takes it (0: idle);
    /// `nr_running`: the switch record's count of the CPU's run queue (None: unknown).
    #[allow(clippy::too_many_arguments)]
    pub fn switch(
        &mut self,
        c: u32,
        now: i64,
        prev: i32,
        first: Option<u8>,
        nxt: i32,
        runtime: Option<u64>,
        nr_running: Option<u32>,
    ) {
        let q = self.qs.get(c);
        if q.curr != prev {
            // The task the last switch put here left without a switch record (seen on 6.18:
            // a picked task another one ran for, as proxy execution does): prev ran instead,
            // and the other is taken out of the queue rather than left there, never charged.
            let ghost = std::mem::replace(&mut q.curr, prev);
            if let Some(e) = self.ents.get_mut(&ghost) {
                if ghost != 0 && e.cpu == Some(c) && !e.delayed {
                    self.qs.leave(ghost, e, false);
                }
            }
        }
        self.charge(c, now);
        let run = runtime.and_then(|r| i64::try_from(r).ok());
        if prev != 0 {
            if let Some(e) = self.ents.get_mut(&prev) {
                if e.cpu == Some(c) && !e.rt {
                    if let Some(v) = Queues::exact_v(e, runtime) {
                        // the kernel's charge replaces the estimate's
                        self.qs.set_v(e, v);
                        if e.v >= e.dl {
                            self.qs.renew(e, run);
                        }
                    }
                }
                if let Some(r) = runtime.and_then(|r| i64::try_from(r).ok()) {
                    e.runtime = r;
                }
            }
            self.switch_out(c, prev, first, nxt, run);
        }
        if let Some(n) = nr_running.filter(|_| self.qs.kernel_count) {
            self.drop_dequeued(c, nxt, n);
        }
        // delayed sleepers that became eligible would now be picked, and so dequeued (in pid
        // order, as Python's sorted(); each dequeue moves the average the next one leaves at)
        let avg = self.qs.get(c).avg();
        let mut i = 0;
        while let Some(&pid) = self.qs.get(c).delayed.get(i) {
            let e = self
                .ents
                .get_mut(&pid)
                .expect("a delayed task has an entity");
            if e.v <= avg {
                self.qs.finish_delayed(pid, e); // takes it out of `delayed`
            } else {
                i += 1;
            }
        }
        if nxt != 0 {
            let e = self.ents.entry(nxt).or_default();
            if e.cpu != Some(c) {
                if e.cpu.is_some() {
                    self.qs.leave(nxt, e, false);
                }
                self.qs.place(c, nxt, e, false);
            } else if e.delayed {
                self.qs.get(c).undelay(nxt);
                e.delayed = false;
            } else if !e.rt {
                // The kernel's pick is news about its state: EEVDF picks only an eligible
                // task, so an estimate that has nxt past the average is wrong there; the
                // smallest correction puts it at the average (model/eevdf.py, encoding
                // version 6).
                let avg = self.qs.get(c).avg();
                if e.v > avg {
                    self.qs.set_v(e, avg);
                }
            }
            self.passed_over(c, nxt);
            let e = self.ents.get_mut(&nxt).expect("entered above");
            e.v_in = e.v;
        }
        let q = self.qs.get(c);
        q.curr = nxt;
        q.last = now;
        q.woken = 0;
    }

    /// What the kernel's count says: rq->nr_running counts every task on the run queue, the
    /// one switched in and the delayed sleepers included, so where the estimate holds more
    /// tasks on `c` than that, the extra are delayed sleepers the kernel has dequeued (a pick
    /// would have run them: they were eligible). Those with the lowest virtual runtime leave,
    /// with no lag (model/eevdf.py, `drop_dequeued`, says why and what it measured).
    fn drop_dequeued(&mut self, c: u32, nxt: i32, nr_running: u32) {
        let q = self.qs.get(c);
        let count = q.members.len() + usize::from(nxt != 0 && !q.members.contains(&nxt));
        let extra = count.saturating_sub(nr_running as usize);
        // One lowest (v, pid) at a time, no sorted copy on this per-switch path: a leaving task
        // moves no other one's v, so this takes what Python's sorted()[:extra] takes.
        for _ in 0..extra {
            let ents = &self.ents;
            let lowest = self
                .qs
                .get(c)
                .delayed
                .iter()
                .copied()
                .filter(|&p| p != nxt)
                .min_by_key(|&p| (ents[&p].v, p));
            let Some(pid) = lowest else { break };
            let e = self
                .ents
                .get_mut(&pid)
                .expect("a delayed task has an entity");
            self.qs.leave(pid, e, false);
            e.vlag = 0;
        }
    }

    /// The rest of what the kernel's pick says: every other eligible task queued on `c` has
    /// a deadline at or after `nxt`'s. Where the estimate has at most `passed_over_max` of them
    /// earlier, each moves (virtual runtime and deadline) half way to nxt's deadline and nxt
    /// moves back until it comes first; more of them, nothing moves (model/eevdf.py,
    /// `passed_over`, says why and what it measured). Each moved task's shift depends only on
    /// its own deadline and nxt's, so the members' order does not matter. `switch` has just
    /// queued nxt on `c`.
    fn passed_over(&mut self, c: u32, nxt: i32) {
        let max = self.qs.passed_over_max;
        let e = &self.ents[&nxt];
        if e.rt || max == 0 {
            return;
        }
        let dl = e.dl;
        let q = self.qs.get(c);
        let avg = q.avg();
        let mut over = Vec::new();
        for &p in &q.members {
            if p == nxt || q.delayed.binary_search(&p).is_ok() {
                continue;
            }
            let o = &self.ents[&p];
            if !o.rt && o.v <= avg && o.dl < dl {
                over.push(p);
                if over.len() > max {
                    return;
                }
            }
        }
        if over.is_empty() {
            return;
        }
        let mut first = i64::MAX;
        for p in over {
            let o = self.ents.get_mut(&p).expect("a member has an entity");
            let d = (dl + 1 - o.dl).div_euclid(2);
            self.qs.set_v(o, o.v + d);
            o.dl += d;
            first = first.min(o.dl);
        }
        if first <= dl {
            let d = dl - first + 1;
            let e = self.ents.get_mut(&nxt).expect("looked up above");
            self.qs.set_v(e, e.v - d);
            e.dl -= d;
        }
    }

    fn switch_out(&mut self, c: u32, prev: i32, first: Option<u8>, nxt: i32, run: Option<i64>) {
        let qs = &mut self.qs;
        if matches!(first, Some(b'X' | b'Z')) {
            if let Some(mut e) = self.ents.remove(&prev) {
                if e.cpu.is_some() {
                    qs.remove(prev, &mut e);
                }
            }
            return;
        }
        let e = if first == Some(b'R') {
            self.ents.entry(prev).or_default()
        } else {
            match self.ents.get_mut(&prev) {
                Some(e) => e,
                None => return,
            }
        };
        if first == Some(b'R') {
            if e.delayed && e.cpu == Some(c) {
                qs.get(c).undelay(prev);
                e.delayed = false;
            }
            if e.cpu != Some(c) {
                if e.cpu.is_some() {
                    qs.leave(prev, e, false);
                }
                qs.place(c, prev, e, false);
            }
            // switched out runnable: a new deadline, unless a wakeup preempted it before its
            // slice was used up (model/eevdf.py, encoding version 10)
            if !qs.keep_deadline(c, e, nxt, run) {
                qs.renew(e, run);
            }
        } else if e.cpu == Some(c) && !e.delayed {
            let q = qs.get(c);
            if e.v > q.avg() && !e.rt {
                // not eligible: stays, delayed
                e.delayed = true;
                if let Err(i) = q.delayed.binary_search(&prev) {
                    q.delayed.insert(i, prev);
                }
            } else {
                qs.leave(prev, e, false);
            }
        } else if e.cpu.is_some() && e.cpu != Some(c) {
            qs.leave(prev, e, false);
        }
    }

    /// The tasks queued on `c` as the pick at `now` sees them, into `out`, the state
    /// unchanged: the running one charged up to `now` (exactly, from `runtime`, when it is
    /// `prev` and that is known, as switch() does), and `prev`, leaving in state `first`,
    /// already out (dequeued when it blocks eligible or exits, delayed when it blocks not
    /// eligible). The order is EEVDF's preference among those not delayed, eligible first,
    /// then earliest deadline (pid breaks ties). Pure.
    pub fn view_into(
        &self,
        c: u32,
        now: i64,
        prev: i32,
        first: Option<u8>,
        runtime: Option<u64>,
        out: &mut View,
    ) {
        out.queued.clear();
        out.order.clear();
        let Some(q) = self.qs.map.get(&c) else {
            out.avg = 0; // a queue never used: empty, average 0
            return;
        };
        let (mut sum_wv, mut sum_w) = (q.sum_wv, q.sum_w);
        for &pid in &q.members {
            let e = &self.ents[&pid];
            let (mut v, mut dl) = (e.v, e.dl);
            if pid == q.curr && !e.rt {
                let exact = if pid == prev { Queues::exact_v(e, runtime) } else { None };
                if let Some(x) = exact {
                    v = x;
                } else if q.last >= 0 && now > q.last {
                    // as charge() would
                    v += ((now - q.last) * 1024).div_euclid(e.w);
                }
                sum_wv += i128::from(e.w) * i128::from(v - e.v);
                if v >= dl {
                    dl = v + self.qs.vslice(e);
                }
            }
            let delayed = q.delayed.binary_search(&pid).is_ok();
            out.queued.push(Queued {
                pid,
                v,
                dl,
                w: e.w,
                delayed,
                rt: e.rt,
                rank: None,
            });
        }
        let avg_of = |sum_wv: i128, sum_w: i64| {
            if sum_w != 0 {
                sum_wv.div_euclid(i128::from(sum_w)) as i64
            } else {
                q.zero
            }
        };
        let leaving = prev != 0 && first.is_some_and(|f| f != b'R');
        if let Some(i) = out.queued.iter().position(|x| leaving && x.pid == prev && !x.delayed) {
            let p = out.queued[i];
            if p.rt {
                out.queued.swap_remove(i); // not the fair class's
            } else if matches!(first, Some(b'X' | b'Z')) || p.v <= avg_of(sum_wv, sum_w) {
                // gone, or eligible: dequeued before the pick
                sum_wv -= i128::from(p.w) * i128::from(p.v);
                sum_w -= p.w;
                out.queued.swap_remove(i);
            } else {
                out.queued[i].delayed = true; // not eligible: it stays, delayed
            }
        }
        out.avg = avg_of(sum_wv, sum_w);
        let avg = out.avg;
        for x in out.queued.iter_mut().filter(|x| x.rt) {
            (x.v, x.dl, x.delayed) = (avg, avg, false);
        }
        out.queued.sort_unstable_by_key(|q| q.pid);
        out.order.extend(
            out.queued
                .iter()
                .filter(|q| !q.delayed)
                .map(|q| (!q.rt, !q.eligible(avg), q.dl, q.pid)),
        );
        out.order.sort_unstable();
        for (r, &(_, _, _, pid)) in out.order.iter().enumerate() {
            let i = out
                .queued
                .binary_search_by_key(&pid, |q| q.pid)
                .expect("ordered from queued");
            out.queued[i].rank = Some(r);
        }
    }
}
