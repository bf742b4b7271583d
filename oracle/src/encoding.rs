//! The PID-agnostic encoding of scheduler events into per-CPU decision steps: a port of
//! model/encoding.py's `Encoder`, kept equal to it by model/tests/test_rust_side.py.
//!
//! One step per `switch` event: the CPU's candidate set (slot 0 = its idle task, then the tasks
//! waiting in that CPU's run queue, in the order of an estimate of EEVDF's state (eevdf.rs),
//! then longest off a CPU first, then the other tasks recently seen there, runnable elsewhere
//! first, most recent first), one feature row per candidate, one row of step features and the
//! target slot (the task that ran next, -1 if it was not a candidate). Math is f64 like
//! Python's, stored as f32.

use anyhow::{anyhow, Result};
use trace::{text::escape_into, Event, EventKind, ShortStr};

use super::eevdf::{Eevdf, View};
use super::int_map::IntMap;
use super::spec::{Spec, ONEHOT};

/// pid of a CPU's idle task (swapper).
pub const IDLE: i32 = 0;

/// Recency rank of a task queued on a CPU that has dropped out of its recent list.
const NOT_RECENT: usize = usize::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Unknown,
    Running,
    Runnable,
    Sleeping,
}

#[derive(Clone, Debug)]
struct Task {
    state: State,
    /// Where it runs (state Running).
    cpu: Option<u32>,
    /// When it last became runnable (-1 unknown).
    woken_ts: i64,
    /// Where it was woken/preempted/migrated to.
    woken_cpu: Option<u32>,
    /// When it entered `woken_cpu`'s run queue (-1 unknown).
    queued_ts: i64,
    /// When it last left a CPU (-1 unknown).
    last_out_ts: i64,
    last_cpu: Option<u32>,
    /// When it last got a CPU (-1 unknown).
    last_in_ts: i64,
    /// Length of its last stint on a CPU.
    last_run_ns: i64,
    /// `last_run_ns` on the time scale, kept with it: it only changes at a switch-out, and a
    /// decision would otherwise pay a log per candidate for it.
    last_run_scaled: f32,
    /// Total time on CPUs since first seen.
    runtime_ns: i64,
    /// Runnable because it was switched out still runnable (not woken from sleep).
    preempted: bool,
    /// The task running where its last wakeup fired (0 = idle, -1 unknown) and that CPU.
    waker: i32,
    waker_cpu: Option<u32>,
    prio: i32,
    tgid: i32,
    kthread: bool,
}

impl Default for Task {
    fn default() -> Self {
        // prio 120 (nice 0) and tgid -1 as in Python's Task dataclass.
        Task {
            state: State::Unknown,
            cpu: None,
            woken_ts: -1,
            woken_cpu: None,
            queued_ts: -1,
            last_out_ts: -1,
            last_cpu: None,
            last_in_ts: -1,
            last_run_ns: 0,
            last_run_scaled: 0.0,
            runtime_ns: 0,
            preempted: false,
            waker: -1,
            waker_cpu: None,
            prio: 120,
            tgid: -1,
            kthread: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Cpu {
    /// pids most recently seen here, most recent first, no idle.
    recent: Vec<i32>,
    /// Runnable tasks waiting here (state Runnable, `woken_cpu` here), in no order.
    queued: Vec<i32>,
    /// pids chosen at the last switches, newest first (idle included).
    picks: Vec<i32>,
    last_switch_ts: i64,
    last_pick_slot: i32,
    idle_out_ts: i64,
    /// When this CPU last picked its idle task (-1 never).
    idle_in_ts: i64,
    /// The task running here (-1 before the first switch).
    current: i32,
    /// Bit i: the i-th latest task picked here was not eligible in the EEVDF estimate.
    estimate_misses: u32,
}

impl Default for Cpu {
    fn default() -> Self {
        Cpu {
            recent: Vec::new(),
            queued: Vec::new(),
            picks: Vec::new(),
            last_switch_ts: -1,
            last_pick_slot: -1,
            idle_out_ts: -1,
            idle_in_ts: -1,
            current: -1,
            estimate_misses: 0,
        }
    }
}

/// One decision: what the model sees and what actually happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub ts: u64,
    pub cpu: u32,
    /// `[step_width]`.
    pub step: Vec<f32>,
    /// `[candidates * candidate_width]`, row-major.
    pub cands: Vec<f32>,
    /// pid per slot (slot 0 = idle = 0); `None` for an empty slot.
    pub cand_pids: Vec<Option<i32>>,
    pub prev_pid: i32,
    pub next_pid: i32,
    /// Slot of `next_pid`, -1 when it is not a candidate.
    pub target: i32,
}

impl Step {
    pub fn zeroed(spec: &Spec) -> Step {
        Step {
            ts: 0,
            cpu: 0,
            step: vec![0.0; spec.step_width()],
            cands: vec![0.0; spec.candidates * spec.candidate_width()],
            cand_pids: vec![None; spec.candidates],
            prev_pid: 0,
            next_pid: 0,
            target: -1,
        }
    }
}

/// Declares a column table once: the struct of column indices, the list of feature names this
/// encoder computes (a spec naming another one is refused rather than silently fed zeros) and
/// the lookup of each name in the spec.
macro_rules! columns {
    ($table:ident, $names:ident, { $($field:ident = $name:expr),* $(,)? }) => {
        struct $table { $($field: usize),* }
        const $names: &[&str] = &[$($name),*];
        impl $table {
            fn new(n: &[String]) -> Result<Self> {
                Ok($table { $($field: col(n, $name)?),* })
            }
        }
    };
}

columns!(CandCols, CANDIDATE_FEATURES, {
    present = "present",
    is_idle = "is_idle",
    is_prev = "is_prev",
    recency_rank = "recency_rank",
    runnable = "runnable",
    running_elsewhere = "running_elsewhere",
    woken_here = "woken_here",
    since_woken = "since_woken",
    since_ran = "since_ran",
    last_cpu_here = "last_cpu_here",
    picked_2_ago = "picked_2_ago",
    picked_3_ago = "picked_3_ago",
    picked_4_ago = "picked_4_ago",
    picked_5_ago = "picked_5_ago",
    prio = "prio",
    same_tgid_as_prev = "same_tgid_as_prev",
    kthread = "kthread",
    preempted = "preempted",
    wake_order = "wake_order",
    last_run = "last_run",
    runtime_rel = "runtime_rel",
    woken_by_prev = "woken_by_prev",
    eevdf_eligible = "eevdf_eligible",
    eevdf_lag = "eevdf_lag",
    eevdf_deadline = "eevdf_deadline",
    eevdf_rank = "eevdf_rank",
    eevdf_delayed = "eevdf_delayed",
});

// The one-hot is last, so every other step column sits at its list index.
columns!(StepCols, STEP_FEATURES, {
    prev_idle = "prev_idle",
    state_runnable = "prev_state_runnable",
    state_sleep = "prev_state_sleep",
    state_block = "prev_state_block",
    state_other = "prev_state_other",
    since_last_switch = "since_last_switch",
    nr_running = "nr_running",
    runnable_candidates = "runnable_candidates",
    woken_here_candidates = "woken_here_candidates",
    eevdf_trusted = "eevdf_trusted",
    onehot = ONEHOT,
});

impl CandCols {
    /// picked_2_ago .. picked_5_ago: whether the pick `j` switches ago was this candidate.
    fn picked_ago(&self) -> [(usize, usize); 4] {
        [
            (2, self.picked_2_ago),
            (3, self.picked_3_ago),
            (4, self.picked_4_ago),
            (5, self.picked_5_ago),
        ]
    }
}

fn only_known(names: &[String], known: &[&str], what: &str) -> Result<()> {
    match names.iter().find(|n| !known.contains(&n.as_str())) {
        Some(n) => Err(anyhow!(
            "encoding spec {what} {n:?} is not implemented by this encoder"
        )),
        None => Ok(()),
    }
}

fn col(names: &[String], name: &str) -> Result<usize> {
    names
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| anyhow!("encoding spec has no feature {name:?}"))
}

/// `min(1, log1p(dt_us) / log_norm)` for a duration in ns.
fn time_scale(dt_ns: f64, log_norm: f64) -> f64 {
    let dt_us = dt_ns.max(0.0) / 1000.0;
    (dt_us.ln_1p() / log_norm).min(1.0)
}

/// `x` clipped to +-`clip`, over `clip`.
fn clipped(x: f64, clip: f64) -> f64 {
    x.min(clip).max(-clip) / clip
}

fn b(x: bool) -> f32 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// Feed events in stable ts order; a switch event yields a [`Step`].
pub struct Encoder {
    spec: Spec,
    k: usize,
    cw: usize,
    log_norm: f64,
    cc: CandCols,
    sc: StepCols,
    tasks: IntMap<i32, Task>,
    cpus: IntMap<u32, Cpu>,
    /// The estimate of EEVDF's per-CPU state (model/eevdf.py's mirror).
    eevdf: Eevdf,
    /// Scratch: the estimate's view of the deciding CPU's queue.
    view: View,
    /// Scratch: whether the step uses that view (`trusted`); the view is kept either way, to
    /// score the estimate against the pick.
    view_trusted: bool,
    /// Scratch: the escaped comm (Python matches prefixes on the escaped string).
    comm: String,
    /// Scratch: (pid, recency rank) of the candidates.
    order: Vec<(i32, usize)>,
    /// Scratch: the candidates that are not runnable, while ordering.
    rest: Vec<(i32, usize)>,
    /// Scratch: (index in the EEVDF order, last switch-out, wake time, pid) of the tasks queued
    /// here, while ordering.
    waiting: Vec<(usize, i64, i64, i32)>,
    /// Scratch: wake times of the runnable candidates woken onto this CPU.
    woken: Vec<i64>,
}

impl Encoder {
    pub fn new(spec: Spec) -> Result<Encoder> {
        only_known(&spec.candidate_features, CANDIDATE_FEATURES, "candidate feature")?;
        only_known(&spec.step_features, STEP_FEATURES, "step feature")?;
        Ok(Encoder {
            eevdf: Eevdf::new(
                spec.eevdf_slice_ns,
                spec.eevdf_lag_limit_ns,
                spec.eevdf_passed_over_max,
                spec.eevdf_kernel_count != 0,
                spec.eevdf_keep_preempted_deadline != 0,
            ),
            view: View::default(),
            view_trusted: false,
            k: spec.candidates,
            cw: spec.candidate_width(),
            log_norm: spec.log_time_norm_us.ln_1p(),
            cc: CandCols::new(&spec.candidate_features)?,
            sc: StepCols::new(&spec.step_features)?,
            spec,
            tasks: IntMap::default(),
            cpus: IntMap::default(),
            comm: String::new(),
            order: Vec::new(),
            rest: Vec::new(),
            waiting: Vec::new(),
            woken: Vec::new(),
        })
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// `min(1, log1p(dt_us) / log1p(norm))`; 1 when `then` is unknown.
    fn tlog(&self, now: i64, then: i64) -> f64 {
        if then < 0 {
            return 1.0;
        }
        let dt_us = (now - then).max(0) as f64 / 1000.0;
        (dt_us.ln_1p() / self.log_norm).min(1.0)
    }

    /// The same scale for a duration in ns (`tlog(dt, 0)` in Python).
    fn tscale(&self, dt_ns: f64) -> f64 {
        time_scale(dt_ns, self.log_norm)
    }

    fn touch(&mut self, c: u32, pid: i32) {
        if pid == IDLE {
            return;
        }
        let cap = self.spec.recent_per_cpu;
        let recent = &mut self.cpus.entry(c).or_default().recent;
        if let Some(i) = recent.iter().position(|&p| p == pid) {
            recent.remove(i);
        }
        recent.insert(0, pid);
        recent.truncate(cap);
    }

    /// `pid` now waits on CPU `c`: it moves to c's run queue.
    fn make_runnable(&mut self, pid: i32, c: u32, now: i64) {
        self.unqueue(pid);
        let t = self.tasks.entry(pid).or_default();
        t.state = State::Runnable;
        t.woken_cpu = Some(c);
        t.queued_ts = now;
        self.cpus.entry(c).or_default().queued.push(pid);
    }

    /// `pid` leaves the run queue it waits in, if any (it runs, sleeps or is gone).
    fn unqueue(&mut self, pid: i32) {
        let Some(t) = self.tasks.get(&pid) else { return };
        if t.state != State::Runnable {
            return;
        }
        if let Some(q) = t.woken_cpu.and_then(|c| self.cpus.get_mut(&c)).map(|s| &mut s.queued) {
            if let Some(i) = q.iter().position(|&p| p == pid) {
                q.swap_remove(i);
            }
        }
    }

    /// A task that has exited: out of every list, so it never takes a candidate slot.
    fn forget(&mut self, pid: i32) {
        self.unqueue(pid);
        self.tasks.remove(&pid);
        for s in self.cpus.values_mut() {
            s.recent.retain(|&p| p != pid);
        }
    }

    fn learn(
        &mut self,
        pid: i32,
        prio: Option<i32>,
        tgid: Option<i32>,
        comm: Option<ShortStr>,
    ) -> &mut Task {
        let kthread = comm.map(|c| {
            self.comm.clear();
            escape_into(c.as_bytes(), &mut self.comm);
            self.spec
                .kthread_comm_prefixes
                .iter()
                .any(|p| self.comm.starts_with(p.as_str()))
        });
        if let Some(p) = prio {
            self.eevdf.set_prio(pid, p);
        }
        let t = self.tasks.entry(pid).or_default();
        if let Some(p) = prio {
            t.prio = p;
        }
        if let Some(g) = tgid {
            t.tgid = g;
        }
        if let Some(k) = kthread {
            t.kthread = k;
        }
        t
    }

    /// Allocating form of [`Encoder::event_into`].
    pub fn event(&mut self, ev: &Event) -> Option<Step> {
        let mut out = Step::zeroed(&self.spec);
        self.event_into(ev, &mut out).then_some(out)
    }

    /// Applies one event; for a switch fills `out` (reusing its buffers) and returns true.
    pub fn event_into(&mut self, ev: &Event, out: &mut Step) -> bool {
        self.apply_event(ev, out, true)
    }

    /// [`Encoder::event_into`] without the candidate rows (`out.cands` is left as it was):
    /// all an LSTM state update reads is the step row, and the rows are most of the cost.
    pub fn event_step_into(&mut self, ev: &Event, out: &mut Step) -> bool {
        self.apply_event(ev, out, false)
    }

    fn apply_event(&mut self, ev: &Event, out: &mut Step, rows: bool) -> bool {
        let ts = ev.ts_ns as i64;
        match ev.kind {
            EventKind::Switch => return self.switch(ev, out, rows),
            EventKind::Wakeup | EventKind::WakeupNew => {
                if let Some(pid) = ev.next_pid.filter(|&p| p != IDLE) {
                    let target = ev.target_cpu.unwrap_or(ev.cpu);
                    let waker = self.cpus.get(&ev.cpu).map_or(-1, |s| s.current);
                    let running =
                        self.learn(pid, ev.next_prio, ev.next_tgid, ev.next_comm).state == State::Running;
                    if !running {
                        let new = ev.kind == EventKind::WakeupNew;
                        self.eevdf.wakeup(pid, target, ts, new, ev.prev_pid, ev.prev_runtime_ns);
                        self.make_runnable(pid, target, ts);
                        let t = self.tasks.get_mut(&pid).expect("learned above");
                        t.woken_ts = ts;
                        t.preempted = false;
                        t.waker = waker;
                        t.waker_cpu = Some(ev.cpu);
                    }
                    self.touch(target, pid);
                }
            }
            EventKind::Migrate => {
                if let Some(pid) = ev.next_pid.filter(|&p| p != IDLE) {
                    self.tasks.entry(pid).or_default();
                    if let Some(dest) = ev.target_cpu {
                        self.eevdf.migrate(pid, dest, ts);
                        if self.tasks[&pid].state == State::Runnable {
                            self.make_runnable(pid, dest, ts);
                        }
                        self.touch(dest, pid);
                    }
                }
            }
            // Not the end: the task still runs its exit path (it can be preempted or block
            // there); it is forgotten at its last switch-out, in state X or Z.
            EventKind::Exit => {}
        }
        false
    }

    /// A switch: the step the model sees (stages 1-3, all before the pick), its target, then
    /// stage 4 applies the switch. Python's `Encoder.switch` has the same stages.
    fn switch(&mut self, ev: &Event, out: &mut Step, rows: bool) -> bool {
        let (Some(prev), Some(nxt)) = (ev.prev_pid, ev.next_pid) else {
            return false;
        };
        let (now, c) = (ev.ts_ns as i64, ev.cpu);
        let prev_tgid = ev.prev_tgid.or_else(|| {
            (prev != IDLE)
                .then(|| self.tasks.get(&prev).map(|t| t.tgid))
                .flatten()
        });
        let first = ev.prev_state.and_then(|p| p.as_bytes().first().copied());
        let runtime = ev.prev_runtime_ns;
        self.decision_step(c, now, prev, prev_tgid, first, ev.nr_running, runtime, rows, out);
        out.ts = ev.ts_ns;
        out.next_pid = nxt;
        out.target = out
            .cand_pids
            .iter()
            .position(|&p| p == Some(nxt))
            .map_or(-1, |i| i as i32);
        self.score_estimate(c, nxt);
        self.apply_switch(ev, prev, nxt, first, out.target);
        true
    }

    /// Whether CPU `c`'s picks have agreed with the estimate lately: at most
    /// eevdf_trust_max_misses of the last eevdf_trust_window tasks picked there were not
    /// eligible in it. Where tasks are grouped (cgroups, autogroup) a flat estimate is wrong,
    /// and an untrusted one is left out of the step (features blank, order unused).
    fn trusted(&self, c: u32) -> bool {
        let misses = self.cpus.get(&c).map_or(0, |s| s.estimate_misses);
        misses.count_ones() <= self.spec.eevdf_trust_max_misses
    }

    /// After a step: was the task picked (not idle) eligible in the estimate's view?
    fn score_estimate(&mut self, c: u32, nxt: i32) {
        if nxt == IDLE {
            return;
        }
        let ok = self
            .view
            .get(nxt)
            .is_some_and(|q| q.eligible(self.view.avg));
        let w = self.spec.eevdf_trust_window;
        let mask = if w >= 32 { u32::MAX } else { (1u32 << w) - 1 };
        let s = self.cpus.entry(c).or_default();
        s.estimate_misses = ((s.estimate_misses << 1) | u32::from(!ok)) & mask;
    }

    /// The step for a pick on `cpu` at `now` that has not happened yet: what the live agent
    /// ranks when a CPU needs its next task. `prev` is the task running there now, which the
    /// pick will replace; `prev_state` is the state it is expected to leave in ("R" when its
    /// slice ends, "S" when it sleeps); `nr_running` as the switch event would report it.
    /// Leaves the encoder unchanged: the switch itself arrives later as an event.
    pub fn decision_into(
        &mut self,
        cpu: u32,
        now: u64,
        prev_state: Option<&str>,
        nr_running: Option<u32>,
        out: &mut Step,
    ) {
        let prev = self.cpus.get(&cpu).map_or(IDLE, |s| s.current.max(IDLE));
        let prev_tgid = (prev != IDLE)
            .then(|| self.tasks.get(&prev).map(|t| t.tgid))
            .flatten();
        let first = prev_state.and_then(|p| p.as_bytes().first().copied());
        // The live agent does not know prev's CPU time: the estimate charges it by time.
        self.decision_step(cpu, now as i64, prev, prev_tgid, first, nr_running, None, true, out);
        out.ts = now;
        out.next_pid = -1;
        out.target = -1;
    }

    /// The task running on `cpu` as the events tell it (None before its first switch or idle).
    pub fn current(&self, cpu: u32) -> Option<i32> {
        self.cpus
            .get(&cpu)
            .map(|s| s.current)
            .filter(|&p| p > IDLE)
    }

    /// Stages 1-3: candidates, their rows, the step row.
    #[allow(clippy::too_many_arguments)]
    fn decision_step(
        &mut self,
        c: u32,
        now: i64,
        prev: i32,
        prev_tgid: Option<i32>,
        prev_state: Option<u8>,
        nr_running: Option<u32>,
        runtime: Option<u64>,
        rows: bool,
        out: &mut Step,
    ) {
        self.cpus.entry(c).or_default();
        self.eevdf
            .view_into(c, now, prev, prev_state, runtime, &mut self.view);
        self.view_trusted = self.trusted(c);
        self.order_candidates(c);
        out.cpu = c;
        out.prev_pid = prev;
        out.cand_pids.clear();
        out.cand_pids.push(Some(IDLE));
        out.cand_pids
            .extend(self.order.iter().map(|&(p, _)| Some(p)));
        out.cand_pids.resize(self.k, None);
        let counts = if rows {
            self.candidate_rows(c, now, prev, prev_tgid.filter(|&g| g >= 0), out)
        } else {
            self.candidate_counts(c)
        };
        self.step_row(c, now, prev, prev_state, nr_running, counts, out);
    }

    /// Stage 1, at most `candidates - 1` tasks (slot 0 is idle): the tasks waiting in this
    /// CPU's run queue (nearly every pick is one), in the estimated EEVDF order (`self.view`,
    /// those it does not hold after the others), then longest off a CPU first (never ran
    /// first), so that when more wait than there are slots the ones the fair class serves next
    /// are kept;
    /// then the rest of the recent list, runnable elsewhere first, in recency order. Fills
    /// `self.order` with (pid, recency rank; `NOT_RECENT` for a queued task no longer there).
    fn order_candidates(&mut self, c: u32) {
        let s = &self.cpus[&c];
        let slots = self.k - 1;
        self.order.clear();
        self.rest.clear();
        self.waiting.clear();
        let (view, miss, trusted) = (&self.view, self.view.order_len(), self.view_trusted);
        self.waiting.extend(s.queued.iter().map(|&pid| {
            let t = &self.tasks[&pid];
            let rank = if trusted { view.rank(pid).unwrap_or(miss) } else { 0 };
            (rank, t.last_out_ts, t.woken_ts, pid)
        }));
        if self.waiting.len() > slots {
            self.waiting.select_nth_unstable(slots);
            self.waiting.truncate(slots);
        }
        self.waiting.sort_unstable();
        let rank_of = |pid: i32| s.recent.iter().position(|&p| p == pid).unwrap_or(NOT_RECENT);
        self.order.extend(self.waiting.iter().map(|&(_, _, _, pid)| (pid, rank_of(pid))));
        for (rank, &pid) in s.recent.iter().enumerate() {
            let t = self.tasks.get(&pid);
            let runnable = t.is_some_and(|t| t.state == State::Runnable);
            if runnable && t.is_some_and(|t| t.woken_cpu == Some(c)) {
                continue; // queued here: placed above
            }
            if runnable {
                self.order.push((pid, rank));
            } else {
                self.rest.push((pid, rank));
            }
        }
        self.order.append(&mut self.rest);
        self.order.truncate(slots);
    }

    /// Stage 2 without the rows: just the (runnable, woken here) counts the step row needs.
    fn candidate_counts(&self, c: u32) -> (usize, usize) {
        let (mut runnable, mut woken_here) = (0, 0);
        for &(pid, _) in &self.order {
            if let Some(t) = self.tasks.get(&pid).filter(|t| t.state == State::Runnable) {
                runnable += 1;
                woken_here += (t.woken_cpu == Some(c)) as usize;
            }
        }
        (runnable, woken_here)
    }

    /// Stage 2: one feature row per candidate slot. Returns (runnable, woken here) counts.
    fn candidate_rows(
        &mut self,
        c: u32,
        now: i64,
        prev: i32,
        prev_tgid: Option<i32>,
        out: &mut Step,
    ) -> (usize, usize) {
        let (k, cw) = (self.k, self.cw);
        let s = &self.cpus[&c];
        let cc = &self.cc;
        out.cands.clear();
        out.cands.resize(k * cw, 0.0);
        let (mut runnable, mut woken_here) = (0usize, 0usize);
        let unknown = Task::default();
        // Each candidate looked up once (two passes read them).
        let looked_up: Vec<&Task> =
            self.order.iter().map(|(pid, _)| self.tasks.get(pid).unwrap_or(&unknown)).collect();
        let cand_task = |slot: usize| looked_up[slot - 1];
        // Runnable candidates' mean run time (integer sum: exact, as in Python) and the wake
        // times of those woken here, for runtime_rel and wake_order.
        let (mut rt_sum, mut rt_n) = (0i64, 0i64);
        self.woken.clear();
        for slot in 1..=self.order.len() {
            let t = cand_task(slot);
            if t.state == State::Runnable {
                rt_sum += t.runtime_ns;
                rt_n += 1;
                if t.woken_cpu == Some(c) {
                    self.woken.push(t.woken_ts);
                }
            }
        }
        let mean_rt = if rt_n > 0 {
            rt_sum as f64 / rt_n as f64
        } else {
            0.0
        };
        for slot in 0..=self.order.len() {
            let row = &mut out.cands[slot * cw..(slot + 1) * cw];
            let pid = if slot == 0 {
                IDLE
            } else {
                self.order[slot - 1].0
            };
            row[cc.present] = 1.0;
            for (j, colj) in cc.picked_ago() {
                row[colj] = b(s.picks.len() >= j && s.picks[j - 1] == pid);
            }
            if slot == 0 {
                row[cc.is_idle] = 1.0;
                row[cc.since_ran] = self.tlog(now, s.idle_out_ts) as f32;
                continue;
            }
            let rank = self.order[slot - 1].1;
            let t = cand_task(slot);
            let is_runnable = t.state == State::Runnable;
            let here = is_runnable && t.woken_cpu == Some(c);
            row[cc.is_prev] = b(pid == prev);
            row[cc.recency_rank] = if rank == NOT_RECENT {
                1.0
            } else {
                (rank as f64 / (self.spec.recent_per_cpu - 1) as f64) as f32
            };
            row[cc.runnable] = b(is_runnable);
            row[cc.running_elsewhere] = b(t.state == State::Running && t.cpu != Some(c));
            row[cc.woken_here] = b(here);
            row[cc.since_woken] = if is_runnable {
                self.tlog(now, t.woken_ts) as f32
            } else {
                0.0
            };
            row[cc.since_ran] = self.tlog(now, t.last_out_ts) as f32;
            row[cc.last_cpu_here] = b(t.last_cpu == Some(c));
            let prio = (t.prio as f64 - self.spec.prio_base) / self.spec.prio_scale;
            row[cc.prio] = prio.clamp(-1.0, 1.0) as f32;
            row[cc.same_tgid_as_prev] = b(pid != prev && prev_tgid.is_some_and(|g| t.tgid == g));
            row[cc.kthread] = b(t.kthread);
            row[cc.preempted] = b(is_runnable && t.preempted);
            row[cc.woken_by_prev] = b(is_runnable
                && !t.preempted
                && t.waker == prev
                && t.waker_cpu == Some(c));
            if here {
                // Share of this CPU's woken-here candidates woken after this one.
                let later = self.woken.iter().filter(|&&w| w > t.woken_ts).count();
                row[cc.wake_order] = (later as f64 / (k - 1) as f64) as f32;
            }
            row[cc.last_run] = if t.last_in_ts >= 0 {
                t.last_run_scaled
            } else {
                0.0
            };
            let d = t.runtime_ns as f64 - mean_rt;
            row[cc.runtime_rel] = if d != 0.0 {
                self.tscale(d.abs()).copysign(d) as f32
            } else {
                0.0
            };
            let (view, clip) = (&self.view, self.spec.eevdf_clip_slices);
            let queued = if self.view_trusted { view.get(pid) } else { None };
            if let Some(q) = queued {
                // queued on this CPU, as EEVDF would see it
                let vslice = self.eevdf.vslice(q.w) as f64;
                row[cc.eevdf_eligible] = b(q.eligible(view.avg));
                row[cc.eevdf_lag] = clipped((view.avg - q.v) as f64 / vslice, clip) as f32;
                row[cc.eevdf_deadline] = clipped((q.dl - view.avg) as f64 / vslice, clip) as f32;
                row[cc.eevdf_delayed] = b(q.delayed);
            }
            row[cc.eevdf_rank] = match queued.and_then(|q| q.rank) {
                Some(r) => (r as f64 / (k - 1) as f64).min(1.0) as f32,
                None => 1.0,
            };
            runnable += is_runnable as usize;
            woken_here += here as usize;
        }
        (runnable, woken_here)
    }

    /// Stage 3: the step row (what the CPU's previous task did, timing, counts, last pick).
    #[allow(clippy::too_many_arguments)]
    fn step_row(
        &self,
        c: u32,
        now: i64,
        prev: i32,
        prev_state: Option<u8>,
        nr_running: Option<u32>,
        (runnable, woken_here): (usize, usize),
        out: &mut Step,
    ) {
        let (sc, k, s) = (&self.sc, self.k, &self.cpus[&c]);
        let st = &mut out.step;
        st.clear();
        st.resize(self.spec.step_width(), 0.0);
        st[sc.prev_idle] = b(prev == IDLE);
        let state_col = match prev_state {
            Some(b'R') => sc.state_runnable,
            Some(b'S') => sc.state_sleep,
            Some(b'D') => sc.state_block,
            _ => sc.state_other,
        };
        st[state_col] = 1.0;
        st[sc.since_last_switch] = self.tlog(now, s.last_switch_ts) as f32;
        let cap = self.spec.nr_running_cap;
        st[sc.nr_running] = nr_running.map_or(0.0, |n| (n.min(cap) as f64 / cap as f64) as f32);
        st[sc.runnable_candidates] = (runnable as f64 / (k - 1) as f64) as f32;
        st[sc.woken_here_candidates] = (woken_here as f64 / (k - 1) as f64) as f32;
        st[sc.eevdf_trusted] = b(self.view_trusted);
        if (0..k as i32).contains(&s.last_pick_slot) {
            st[sc.onehot + s.last_pick_slot as usize] = 1.0;
        }
    }

    /// Stage 4: apply the switch to the task and CPU state.
    fn apply_switch(&mut self, ev: &Event, prev: i32, nxt: i32, first: Option<u8>, target: i32) {
        let (now, c, log_norm) = (ev.ts_ns as i64, ev.cpu, self.log_norm);
        // Its last switch-out: gone, not a sleeper.
        let dead = prev != IDLE && matches!(first, Some(b'X' | b'Z'));
        if prev == IDLE {
            self.cpus.get_mut(&c).expect("created above").idle_out_ts = now;
        } else if dead {
            self.forget(prev);
        } else {
            // It was running; only a trace that missed its switch-in has it queued.
            self.unqueue(prev);
            let t = self.learn(prev, ev.prev_prio, ev.prev_tgid, ev.prev_comm);
            t.last_out_ts = now;
            t.last_cpu = Some(c);
            if t.last_in_ts >= 0 {
                t.last_run_ns = (now - t.last_in_ts).max(0);
                t.last_run_scaled = time_scale(t.last_run_ns as f64, log_norm) as f32;
                t.runtime_ns += t.last_run_ns;
            }
            if first == Some(b'R') {
                t.woken_ts = now;
                t.preempted = true;
                t.waker = -1;
                t.waker_cpu = None;
                self.make_runnable(prev, c, now);
            } else {
                t.state = State::Sleeping;
            }
        }
        if nxt != IDLE {
            self.unqueue(nxt);
            let t = self.learn(nxt, ev.next_prio, ev.next_tgid, ev.next_comm);
            t.state = State::Running;
            t.cpu = Some(c);
            t.last_in_ts = now;
        }
        self.eevdf
            .switch(c, now, prev, first, nxt, ev.prev_runtime_ns, ev.nr_running);
        if !dead {
            self.touch(c, prev);
        }
        self.touch(c, nxt);
        let hist = self.spec.pick_history;
        let s = self.cpus.get_mut(&c).expect("created above");
        s.picks.insert(0, nxt);
        s.picks.truncate(hist);
        s.last_switch_ts = now;
        s.last_pick_slot = target;
        s.current = nxt;
        if nxt == IDLE {
            s.idle_in_ts = now;
        }
        self.expire_stale(c, now);
    }

    /// Takes out of c's run queue (state unknown, out of the estimate's queue too) a task that
    /// has waited there longer than `stale_after_idle_ns` while c picked idle since it came, or
    /// longer than `stale_after_ns` in all. Without it, a task whose later events the trace
    /// lacks (events lost, recordings joined, a cut) would stay a candidate for good, and the
    /// estimate would rank it first, since its deadline never moves. The kernel picks idle
    /// only when nothing waits there, and nothing in the recorded suite waits over 1.5 s.
    /// Python's `Encoder.expire_stale` is the same rule.
    fn expire_stale(&mut self, c: u32, now: i64) {
        let (idle, after_idle, after) =
            (self.cpus[&c].idle_in_ts, self.spec.stale_after_idle_ns, self.spec.stale_after_ns);
        let tasks = &self.tasks;
        let is_stale = |p: &i32| {
            let since = tasks[p].queued_ts;
            now - since > after || (now - since > after_idle && idle > since)
        };
        if !self.cpus[&c].queued.iter().any(is_stale) {
            return;
        }
        // Sorted: the estimate's queue sums change with each removal, in Python's order.
        let mut stale: Vec<i32> = self.cpus[&c].queued.iter().copied().filter(is_stale).collect();
        stale.sort_unstable();
        for p in stale {
            self.unqueue(p);
            self.tasks.get_mut(&p).expect("queued tasks are known").state = State::Unknown;
            self.eevdf.expire(p);
        }
    }
}
