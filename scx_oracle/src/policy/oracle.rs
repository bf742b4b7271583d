//! `oracle`: the LSTM decides what each CPU runs next. (`recent_wakeup` is the same policy
//! with a hand rule ranking the same candidates: the control that shows what the LSTM adds.)
//!
//! How a decision is made:
//! - Runnable tasks are *held* here, each in the queue of the CPU the kernel chose for it at
//!   wakeup (its `cpu`). Each CPU gets at most `AHEAD` task dispatched ahead of time into its
//!   DSQ, so when its current task stops the next one is already there, and the kernel never
//!   waits for us on the hot path.
//! - The scheduler events (switch, wakeup, migrate, exit) feed the model live ([`LiveModel`]):
//!   every switch steps that CPU's LSTM state, exactly as in training. A switch to a task we
//!   sent ahead means the CPU needs its next one: the model is asked "what runs after the task
//!   now running on CPU c?" (the encoder's decision step) and the best-ranked candidate that is
//!   waiting for c is sent. BPF wakes us when a CPU's queue runs dry (refill_needed).
//! - Pre-filter: the model ranks the encoder's candidate slots (31: the tasks waiting in the
//!   CPU's run queue as the events tell it, in estimated EEVDF order, then other recent ones). A
//!   waiting task outside them cannot be chosen by the model; when none of c's waiting tasks has
//!   a slot, the decision falls back.
//! - Fallback (counted by reason) is the vruntime order of c's waiting tasks: over the
//!   `--budget-us` budget (by default 1 ms, or 4 rankings timed at load where one costs more,
//!   as under emulation: `policy::default_budget`), an inference error, no waiting task among
//!   the candidates, a task waiting longer than `--max-wait-ms` (sent at once, so the model can
//!   never starve one), or an idle CPU taking work queued for a busy one (steal). When recent decisions ran over
//!   budget the model is skipped, with a probe every `PROBE_EVERY` decisions.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::Result;
use oracle::live::LiveModel;
use trace::{Event, EventKind};

use oracle::Scorer;

use super::vruntime::TaskClocks;
use super::{default_budget, Policy};
use crate::latency::Histogram;
use crate::stats::{round3, Metrics};
use oracle::timing::Percentiles;
use crate::task::{Decision, QueuedTask, Target};

/// Tasks dispatched ahead into each CPU's queue.
const AHEAD: usize = 1;
/// After this many over-budget decisions in a row the model is skipped...
const SKIP_AFTER: u32 = 8;
/// ...except for one probe decision in this many.
const PROBE_EVERY: u64 = 64;

/// Why a decision did not come from the ranker; each counted separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    OverBudget,
    ModelError,
    NotInCandidates,
    Starving,
    Steal,
}

#[derive(Clone, Debug, Default)]
pub struct Fallbacks {
    /// The ranking took longer than --budget-us, or recent ones did and the model was skipped.
    pub over_budget: u64,
    pub model_error: u64,
    /// None of the CPU's waiting tasks was among the model's candidate slots.
    pub not_in_candidates: u64,
    /// Waited longer than --max-wait-ms: sent at once.
    pub starving: u64,
    /// An idle CPU took a task waiting for a busy one.
    pub steal: u64,
}

impl Fallbacks {
    fn count(&mut self, why: Fallback) {
        *match why {
            Fallback::OverBudget => &mut self.over_budget,
            Fallback::ModelError => &mut self.model_error,
            Fallback::NotInCandidates => &mut self.not_in_candidates,
            Fallback::Starving => &mut self.starving,
            Fallback::Steal => &mut self.steal,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.over_budget + self.model_error + self.not_in_candidates + self.starving + self.steal
    }
}

struct Waiting {
    task: QueuedTask,
    vruntime: u64,
    cpu: usize,
    since: Instant,
}

pub struct Oracle {
    name: &'static str,
    live: LiveModel,
    clocks: TaskClocks,
    budget: Duration,
    /// No --budget-us: the budget follows the model's measured ranking cost, reloads included.
    auto_budget: bool,
    max_wait: Duration,
    ahead_timeout: Duration,
    waiting: HashMap<i32, Waiting>,
    /// Per CPU: pids waiting for it, oldest first.
    queues: Vec<VecDeque<i32>>,
    /// Per CPU: tasks sent ahead and not yet seen running there.
    ahead: Vec<Vec<(i32, Instant)>>,
    ready: VecDeque<Decision>,
    seq: u64,
    over_budget_run: u32,
    decisions: u64,
    agreed: u64,
    inference: Histogram,
    fallbacks: Fallbacks,
    model_decisions: u64,
    events_observed: u64,
    ahead_expired: u64,
    model_reloads: u64,
    model_reload_failures: u64,
}

impl Oracle {
    pub fn new(
        name: &'static str,
        live: LiveModel,
        slice_ns: u64,
        nr_cpus: usize,
        budget: Option<Duration>,
        max_wait: Duration,
    ) -> Oracle {
        let nr_cpus = nr_cpus.max(1);
        Oracle {
            name,
            budget: budget.unwrap_or_else(|| default_budget(live.scorer().and_then(Scorer::ranking_cost))),
            auto_budget: budget.is_none(),
            live,
            clocks: TaskClocks::new(slice_ns, nr_cpus),
            max_wait,
            ahead_timeout: Duration::from_nanos(slice_ns * 4).max(Duration::from_millis(20)),
            waiting: HashMap::with_capacity(4096),
            queues: vec![VecDeque::new(); nr_cpus],
            ahead: vec![Vec::new(); nr_cpus],
            ready: VecDeque::new(),
            seq: 0,
            over_budget_run: 0,
            decisions: 0,
            agreed: 0,
            inference: Histogram::default(),
            fallbacks: Fallbacks::default(),
            model_decisions: 0,
            events_observed: 0,
            ahead_expired: 0,
            model_reloads: 0,
            model_reload_failures: 0,
        }
    }

    fn cpu_of(&self, task: &QueuedTask) -> usize {
        usize::try_from(task.cpu).ok().filter(|&c| c < self.queues.len()).unwrap_or(0)
    }

    /// Forgets a task sent ahead (it ran, came back, or exited).
    fn clear_ahead(&mut self, pid: i32) {
        for a in &mut self.ahead {
            a.retain(|&(p, _)| p != pid);
        }
    }

    fn send(&mut self, pid: i32, cpu: usize) {
        let Some(w) = self.waiting.remove(&pid) else { return };
        self.queues[w.cpu].retain(|&p| p != pid);
        self.clocks.ran(w.vruntime);
        self.seq += 1;
        let slice = self.clocks.slice_for(self.waiting.len() + 1, w.task.weight);
        let target = w.task.pinned_cpu().map_or(Target::Cpu(cpu as u32), Target::Cpu);
        self.ready.push_back(Decision::for_task(&w.task, target, slice, self.seq));
        self.ahead[cpu].push((pid, Instant::now()));
    }

    /// vruntime's choice among the tasks waiting for `cpu`.
    fn vruntime_pick(&self, cpu: usize) -> Option<i32> {
        self.queues[cpu]
            .iter()
            .filter_map(|p| self.waiting.get(p).map(|w| (w.vruntime, *p)))
            .min()
            .map(|(_, p)| p)
    }

    fn fall_back(&mut self, cpu: usize, why: Fallback) {
        if let Some(pid) = self.vruntime_pick(cpu) {
            self.fallbacks.count(why);
            self.send(pid, cpu);
        }
    }

    /// One decision for `cpu`, which has tasks waiting and room ahead.
    fn decide(&mut self, cpu: usize) {
        self.decisions += 1;
        let skip = self.over_budget_run >= SKIP_AFTER && self.decisions % PROBE_EVERY != 0;
        if skip {
            return self.fall_back(cpu, Fallback::OverBudget);
        }
        let t0 = Instant::now();
        let now = self.live.now();
        let nr_running = (self.queues[cpu].len() + 1).min(u32::MAX as usize) as u32;
        self.live.prepare(cpu as u32, now, Some("R"), Some(nr_running));
        let waiting = &self.waiting;
        let pick = self.live.rank(|pid| waiting.get(&pid).is_some_and(|w| w.cpu == cpu));
        let took = t0.elapsed();
        self.inference.record(took.as_nanos() as u64);
        let over = took > self.budget;
        self.over_budget_run = if over { self.over_budget_run + 1 } else { 0 };
        match pick {
            Err(_) => self.fall_back(cpu, Fallback::ModelError),
            Ok(None) => self.fall_back(cpu, Fallback::NotInCandidates),
            Ok(Some(_)) if over => self.fall_back(cpu, Fallback::OverBudget),
            Ok(Some(p)) => {
                self.model_decisions += 1;
                self.agreed += u64::from(self.vruntime_pick(cpu) == Some(p.pid));
                self.send(p.pid, cpu);
            }
        }
    }

    /// Fills `ready`: starving tasks first, then every CPU with room ahead, then idle CPUs
    /// with nothing of their own take the oldest movable task of the longest queue.
    fn plan(&mut self) {
        let now = Instant::now();
        for cpu in 0..self.queues.len() {
            let before = self.ahead[cpu].len();
            let timeout = self.ahead_timeout;
            self.ahead[cpu].retain(|&(_, at)| now.duration_since(at) < timeout);
            self.ahead_expired += (before - self.ahead[cpu].len()) as u64;
            while let Some(&pid) = self.queues[cpu].front() {
                match self.waiting.get(&pid) {
                    Some(w) if now.duration_since(w.since) > self.max_wait => {
                        self.fallbacks.count(Fallback::Starving);
                        self.send(pid, cpu);
                    }
                    Some(_) => break,
                    None => {
                        self.queues[cpu].pop_front();
                    }
                }
            }
        }
        for cpu in 0..self.queues.len() {
            while self.ahead[cpu].len() < AHEAD && !self.queues[cpu].is_empty() {
                self.decide(cpu);
            }
        }
        for cpu in 0..self.queues.len() {
            if !self.queues[cpu].is_empty() || !self.ahead[cpu].is_empty() || self.live.current(cpu as u32).is_some() {
                continue;
            }
            let busiest = (0..self.queues.len()).max_by_key(|&c| self.queues[c].len());
            let Some(from) = busiest.filter(|&c| self.queues[c].len() >= 2) else { break };
            let nr_cpus = self.queues.len() as i32;
            let movable = self.queues[from]
                .iter()
                .copied()
                .find(|p| self.waiting.get(p).is_some_and(|w| w.task.nr_cpus_allowed >= nr_cpus));
            if let Some(pid) = movable {
                self.fallbacks.count(Fallback::Steal);
                self.send(pid, cpu);
            }
        }
    }
}

impl Policy for Oracle {
    fn name(&self) -> &'static str {
        self.name
    }

    fn enqueue(&mut self, task: QueuedTask) {
        self.clear_ahead(task.pid);
        let vruntime = self.clocks.charge(&task);
        let cpu = self.cpu_of(&task);
        let pid = task.pid;
        if let Some(old) = self.waiting.insert(pid, Waiting { task, vruntime, cpu, since: Instant::now() }) {
            self.queues[old.cpu].retain(|&p| p != pid);
        }
        self.queues[cpu].push_back(pid);
    }

    fn pick(&mut self) -> Option<Decision> {
        if self.ready.is_empty() {
            self.plan();
        }
        self.ready.pop_front()
    }

    fn pending(&self) -> usize {
        self.ready.len()
    }

    fn held(&self) -> usize {
        self.waiting.len()
    }

    fn wants_events(&self) -> bool {
        true
    }

    fn detail(&self) -> Option<String> {
        let ranker = match self.live.scorer() {
            Some(s) => match s.native_refused() {
                Some(why) => format!("model {} run in ort: {why}", s.path().display()),
                None => format!("model {} run {}", s.path().display(), s.backend()),
            },
            None => "hand rule, no model".into(),
        };
        Some(format!("{ranker}; budget {} us", self.budget.as_micros()))
    }

    fn report(&self, m: &mut Metrics) {
        let Percentiles { p50, p99, .. } = self.inference.percentiles();
        let f = &self.fallbacks;
        m.held = self.waiting.len() as u64;
        m.events_observed = self.events_observed;
        m.events_reordered = self.live.reordered();
        m.model_decisions = self.model_decisions;
        m.fallbacks = f.total();
        m.fallback_over_budget = f.over_budget;
        m.fallback_model_error = f.model_error;
        m.fallback_not_in_candidates = f.not_in_candidates;
        m.fallback_starving = f.starving;
        m.fallback_steal = f.steal;
        m.agreement_with_vruntime = if self.model_decisions > 0 {
            round3(self.agreed as f64 / self.model_decisions as f64)
        } else {
            0.0
        };
        m.inference_p50_us = round3(p50);
        m.inference_p99_us = round3(p99);
        m.decision_budget_us = self.budget.as_micros() as u64;
        m.ahead_expired = self.ahead_expired;
        m.model_reloads = self.model_reloads;
        m.model_reload_failures = self.model_reload_failures;
    }

    fn swap_model(&mut self, loaded: Result<Scorer>) -> Result<()> {
        let cost = loaded.as_ref().ok().and_then(Scorer::ranking_cost);
        let swapped = loaded.and_then(|scorer| self.live.replace_scorer(scorer));
        match &swapped {
            Ok(()) => {
                self.model_reloads += 1;
                if self.auto_budget {
                    self.budget = default_budget(cost);
                }
            }
            Err(_) => self.model_reload_failures += 1,
        }
        swapped
    }

    fn observe(&mut self, ev: &mut Event) -> Result<()> {
        self.live.stamp(ev);
        self.events_observed += 1;
        match ev.kind {
            EventKind::Switch => {
                if let Some(next) = ev.next_pid.filter(|&p| p > 0) {
                    self.clear_ahead(next);
                }
            }
            EventKind::Exit => {
                if let Some(pid) = ev.prev_pid {
                    self.clear_ahead(pid);
                    if let Some(w) = self.waiting.remove(&pid) {
                        self.queues[w.cpu].retain(|&p| p != pid);
                    }
                }
            }
            _ => {}
        }
        self.live.observe(ev, false).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::test_task;
    use trace::{ShortStr, Task};

    fn policy(budget_us: u64) -> Oracle {
        let live = LiveModel::recent_wakeup().unwrap();
        Oracle::new("recent_wakeup", live, 5_000_000, 2, Some(Duration::from_micros(budget_us)), Duration::from_secs(1))
    }

    #[test]
    fn a_default_budget_follows_a_reloaded_models_cost_and_a_given_one_stays() {
        let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/artifacts/oracle.onnx");
        let timed = || {
            let mut s = Scorer::load(&model, oracle::Backend::Auto).unwrap();
            let cost = s.step_cost(4).unwrap();
            (s, cost)
        };
        for given in [None, Some(Duration::ZERO)] {
            let (first, _) = timed();
            let mut o = Oracle::new("oracle", LiveModel::new(first).unwrap(), 5_000_000, 2, given, Duration::from_secs(1));
            o.budget = Duration::from_micros(7); // neither value either rule gives
            let (next, cost) = timed();
            o.swap_model(Ok(next)).unwrap();
            let want = if given.is_some() { Duration::from_micros(7) } else { default_budget(Some(cost)) };
            assert_eq!(o.budget, want, "given {given:?}");
        }
    }

    fn t(pid: i32) -> Task {
        Task::new(pid, pid, b"w", 120)
    }

    /// A task pinned to `cpu` (so no idle CPU steals it unless a test says so).
    fn queued(pid: i32, cpu: i32) -> QueuedTask {
        let mut q = test_task(pid);
        q.cpu = cpu;
        q.nr_cpus_allowed = 1;
        q
    }

    fn feed(p: &mut Oracle, mut ev: Event) {
        p.observe(&mut ev).unwrap();
    }

    fn stats(p: &Oracle) -> Metrics {
        let mut m = Metrics::default();
        p.report(&mut m);
        m
    }

    #[test]
    fn one_task_ahead_per_cpu_then_the_next_after_a_switch() {
        let mut p = policy(1_000_000);
        for pid in [11, 12, 13] {
            feed(&mut p, Event::wakeup(1_000 + pid as u64, 0, t(pid), Some(0)));
            p.enqueue(queued(pid, 0));
        }
        let d = p.pick().unwrap();
        assert_eq!(d.target, Target::Cpu(0));
        assert_eq!(d.pid, 13, "most recent wakeup first (the rule)");
        assert!(p.pick().is_none(), "only one ahead");
        assert_eq!(p.held(), 2);
        // The CPU switches to the task we sent: room for the next one.
        feed(&mut p, Event::switch(2_000, 0, t(0), None, t(13)));
        assert_eq!(p.pick().unwrap().pid, 12);
        let s = stats(&p);
        assert_eq!(s.model_decisions, 2);
        assert_eq!(s.fallbacks, 0);
    }

    #[test]
    fn a_task_without_a_candidate_slot_falls_back_to_vruntime() {
        let mut p = policy(1_000_000);
        p.enqueue(queued(21, 1)); // never seen in any event: not a candidate on CPU 1
        let d = p.pick().unwrap();
        assert_eq!((d.pid, d.target), (21, Target::Cpu(1)));
        assert_eq!(stats(&p).fallback_not_in_candidates, 1);
        assert_eq!(stats(&p).model_decisions, 0);
    }

    #[test]
    fn over_budget_decisions_fall_back_and_are_counted() {
        let mut p = policy(0); // every ranking takes longer than 0 µs
        for i in 0..20 {
            let pid = 100 + i;
            feed(&mut p, Event::wakeup(1_000 + i as u64, 0, t(pid), Some(0)));
            p.enqueue(queued(pid, 0));
            let d = p.pick().unwrap();
            feed(&mut p, Event::switch(2_000 + i as u64, 0, t(0), Some(ShortStr::from("R")), t(d.pid)));
        }
        let s = stats(&p);
        assert_eq!(s.model_decisions, 0);
        assert_eq!(s.fallback_over_budget, 20);
    }

    #[test]
    fn a_starving_task_is_sent_at_once() {
        let mut p = policy(1_000_000);
        p.max_wait = Duration::ZERO;
        feed(&mut p, Event::switch(500, 0, t(0), None, t(5))); // CPU 0 busy with 5
        for pid in [31, 32] {
            feed(&mut p, Event::wakeup(1_000 + pid as u64, 0, t(pid), Some(0)));
            p.enqueue(queued(pid, 0));
        }
        std::thread::sleep(Duration::from_millis(1));
        let sent: Vec<i32> = std::iter::from_fn(|| p.pick()).map(|d| d.pid).collect();
        assert_eq!(sent, vec![31, 32], "both past max wait, oldest first, beyond the ahead limit");
        assert_eq!(stats(&p).fallback_starving, 2);
    }

    #[test]
    fn an_idle_cpu_steals_from_a_long_queue() {
        let mut p = policy(1_000_000);
        feed(&mut p, Event::switch(500, 0, t(0), None, t(5))); // CPU 0 busy; CPU 1 never ran
        for pid in [41, 42, 43] {
            feed(&mut p, Event::wakeup(1_000 + pid as u64, 0, t(pid), Some(0)));
            let mut q = queued(pid, 0);
            q.nr_cpus_allowed = 2;
            p.enqueue(q);
        }
        let sent: Vec<(i32, Target)> = std::iter::from_fn(|| p.pick()).map(|d| (d.pid, d.target)).collect();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent.contains(&(41, Target::Cpu(1))), "oldest movable task to idle CPU 1: {sent:?}");
        assert_eq!(stats(&p).fallback_steal, 1);
    }

    #[test]
    fn an_exited_task_is_forgotten() {
        let mut p = policy(1_000_000);
        feed(&mut p, Event::switch(500, 0, t(0), None, t(5)));
        p.enqueue(queued(51, 0));
        p.enqueue(queued(52, 0));
        let first = p.pick().unwrap().pid;
        let other = if first == 51 { 52 } else { 51 };
        feed(&mut p, Event::exit(900, 0, t(other)));
        assert_eq!(p.held(), 0);
        feed(&mut p, Event::switch(1_000, 0, t(5), None, t(first)));
        assert!(p.pick().is_none());
    }
}
