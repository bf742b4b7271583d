//! The agent, shaped like scx_rustland's: [`Scheduler::init`] loads and attaches the BPF side
//! with a policy, [`Scheduler::schedule_once`] is one round of the loop, [`Scheduler::sample`]
//! and [`Scheduler::report`] say how it went. `run.rs` owns signals, the stats server and the
//! `--stats` line; policies (policy/) see only `QueuedTask`s and return `Decision`s.
//!
//! One round: scheduler events (for policies that read them: switch, wakeup, migrate, exit,
//! in time order) and then queued tasks from the kernel go to the policy, then the policy's
//! decisions go back to the kernel (earlier ones refused by a full ring first). State the loop
//! keeps per CPU belongs to the policy.
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::Result;
use libbpf_rs::OpenObject;

use crate::bpf_scheduler::{BpfScheduler, ExitInfo, Options};
use crate::bpf_skel::types::oracle_counters;
use crate::latency::Histogram;
use crate::live_events::LiveEvents;
use crate::policy::Policy;
use crate::stats::{round3, Metrics, Sample};
use crate::summary::Summary;
use crate::task::{Decision, QueuedTask};

/// `Metrics { <each BPF counter>, ..base }` from a `struct oracle_counters`, one name per
/// counter. The pattern is exhaustive on purpose: a counter added to bpf/intf.h does not build
/// until it is listed here (and declared in stats.rs).
macro_rules! with_bpf_counters {
    ($counters:expr, $base:expr, $($name:ident),+ $(,)?) => {{
        let oracle_counters { $($name),+ } = $counters;
        Metrics { $($name,)+ ..$base }
    }};
}

/// How long one round may spend on scheduler events before it makes its decisions; a burst
/// longer than this is worked off over several rounds.
const EVENTS_PER_ROUND: std::time::Duration = std::time::Duration::from_millis(2);

pub struct Scheduler<'obj> {
    bpf: BpfScheduler<'obj>,
    policy: Box<dyn Policy>,
    /// sched_ext ops name as the kernel reported it once attached.
    ops: String,
    attached_at: Instant,
    /// Reused buffer of tasks taken from the queued ring.
    inbox: Vec<QueuedTask>,
    /// Decisions the user ring refused (full), sent first next round, in order.
    backlog: VecDeque<Decision>,
    decisions: u64,
    ring_full_retries: u64,
    pick_latency: Histogram,
    /// The scheduler events, for a policy that reads them.
    events: Option<LiveEvents<'obj>>,
    observe_errors: u64,
}

impl<'obj> Scheduler<'obj> {
    /// Loads and attaches the BPF scheduler. Lock memory before calling this: once
    /// attached, a page fault of the agent waits on the agent's own decisions.
    /// `events` (already attached, so the policy sees the switches from the start) go to the
    /// policy each round.
    pub fn init(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        opts: &Options,
        policy: Box<dyn Policy>,
        events: Option<LiveEvents<'obj>>,
    ) -> Result<Self> {
        let bpf = BpfScheduler::init(open_object, opts)?;
        let ops = std::fs::read_to_string("/sys/kernel/sched_ext/root/ops").unwrap_or_default().trim().to_string();
        Ok(Scheduler {
            bpf,
            policy,
            ops,
            attached_at: Instant::now(),
            inbox: Vec::with_capacity(8192),
            backlog: VecDeque::with_capacity(8192),
            decisions: 0,
            ring_full_retries: 0,
            pick_latency: Histogram::default(),
            events,
            observe_errors: 0,
        })
    }

    pub fn ops(&self) -> &str {
        &self.ops
    }

    /// The policy's name and what else it wants said (its model).
    pub fn policy_description(&self) -> String {
        match self.policy.detail() {
            Some(d) => format!("{} ({d})", self.policy.name()),
            None => self.policy.name().to_string(),
        }
    }

    /// One round: kernel -> policy, policy -> kernel, then tell BPF what is still pending.
    pub fn schedule_once(&mut self) -> Result<()> {
        // Busy until the end of the round: if a CPU preempts us half-way, BPF serves the
        // agent's queue first instead of leaving it to the heartbeat (1 s later).
        self.bpf.set_pending(1);
        self.take_events()?;
        self.take_queued()?;
        self.send_backlog();
        if self.backlog.is_empty() {
            self.send_picks();
        }
        self.bpf.set_pending(self.pending());
        self.bpf.set_held(self.policy.held());
        Ok(())
    }

    /// Scheduler events since the last round go to the policy, in time order. A policy that
    /// fails on one (its model) has the failure counted and logged once; it goes on.
    fn take_events(&mut self) -> Result<()> {
        let Some(events) = self.events.as_mut() else { return Ok(()) };
        let policy = &mut self.policy;
        if let Err(e) = events.pump_for(Some(EVENTS_PER_ROUND), |ev| policy.observe(ev)) {
            if self.observe_errors.is_power_of_two() || self.observe_errors == 0 {
                log::warn!("policy {}: {e:#}", policy.name());
            }
            self.observe_errors += 1;
        }
        Ok(())
    }

    /// A model loaded off the loop takes over (or its load error is reported, the old model
    /// kept).
    pub fn swap_model(&mut self, loaded: Result<::oracle::Scorer>) -> Result<()> {
        self.policy.swap_model(loaded)
    }

    /// Every task the kernel queued since the last round goes to the policy.
    fn take_queued(&mut self) -> Result<()> {
        self.bpf.receive(&mut self.inbox)?;
        for task in self.inbox.drain(..) {
            self.policy.enqueue(task);
        }
        Ok(())
    }

    /// Decisions refused by a full ring go first, in their order.
    fn send_backlog(&mut self) {
        while let Some(d) = self.backlog.front() {
            if self.bpf.send(d).is_err() {
                return;
            }
            self.backlog.pop_front();
            self.decisions += 1;
        }
    }

    /// Asks the policy for decisions until it has none or the ring is full.
    fn send_picks(&mut self) {
        loop {
            let t = Instant::now();
            let Some(d) = self.policy.pick() else { return };
            self.pick_latency.record(t.elapsed().as_nanos() as u64);
            if self.bpf.send(&d).is_ok() {
                self.decisions += 1;
            } else {
                self.ring_full_retries += 1;
                self.backlog.push_back(d);
                return;
            }
        }
    }

    /// Tasks the agent holds: undecided in the policy or decided and waiting for ring space.
    pub fn pending(&self) -> usize {
        self.policy.pending() + self.backlog.len()
    }

    /// True once the kernel side has exited (error or unregistration).
    pub fn exited(&self) -> bool {
        self.bpf.exited()
    }

    /// Totals now, for a stats window or the final report.
    pub fn sample(&self) -> Sample {
        let mut totals = Metrics::default();
        self.policy.report(&mut totals);
        let agent = Metrics {
            at_s: round3(self.attached_at.elapsed().as_secs_f64()),
            userspace_decisions: self.decisions,
            pending: self.pending() as u64,
            ring_full_retries: self.ring_full_retries,
            malformed_records: self.bpf.malformed_records(),
            rss_kib: oracle::timing::rss_kib(),
            events_lost: self.events.as_ref().map_or(0, LiveEvents::lost),
            ..totals
        };
        let totals = with_bpf_counters!(
            self.bpf.counters(),
            agent,
            queued,
            user_dispatches,
            direct_dispatches,
            kthread_dispatches,
            congested,
            stale_dropped,
            bounced,
            agent_dispatches,
            heartbeats,
            agent_preempts,
            drain_errors,
            drain_busy,
            refill_wakeups,
            agent_thread_dispatches,
            slice_timer_ends,
            wakeup_preempts,
            wakeup_slice_cuts,
        );
        Sample { totals, dispatch_latency: self.bpf.dispatch_latency(), pick_latency: self.pick_latency.clone() }
    }

    /// Detaches and reports the whole run: metrics over the run and why the kernel side exited.
    /// A recording (`--record`) is completed after the detach, with the last events.
    pub fn report(mut self) -> Result<Summary> {
        let last = self.sample();
        let exit: ExitInfo = self.bpf.shutdown();
        if let Some(events) = self.events.take() {
            let policy = &mut self.policy;
            if let Some((path, meta)) = events.finish(|ev| policy.observe(ev))? {
                log::info!("recorded {} events ({} lost) to {}", meta.events, meta.events_lost, path.display());
            }
        }
        Ok(Summary::new(self.ops.clone(), self.policy.name(), self.policy.detail(), last.window_since(&Sample::default()), &exit))
    }
}
