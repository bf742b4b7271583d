//! The agent, shaped like scx_rustland's: [`Scheduler::init`] loads and attaches the BPF side
//! with a policy, [`Scheduler::schedule_once`] is one round of the loop, [`Scheduler::sample`]
//! and [`Scheduler::report`] say how it went. `run.rs` owns signals, the stats server and the
//! `--stats` line; policies (policy/) see only `QueuedTask`s and return `Decision`s.
//!
//! One round: queued tasks from the kernel go to the policy, then the policy's decisions go
//! back to the kernel (earlier ones refused by a full ring first). State the loop keeps per
//! CPU, and events observed besides the queued ring, belong to the policy; a new input
//! stream gets its own step in `schedule_once`, before the policy is asked to pick.
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::Result;
use libbpf_rs::OpenObject;

use crate::bpf_scheduler::{BpfScheduler, ExitInfo, Options};
use crate::latency::Histogram;
use crate::policy::Policy;
use crate::stats::{round3, Metrics, Sample};
use crate::summary::Summary;
use crate::task::{Decision, QueuedTask};

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
}

impl<'obj> Scheduler<'obj> {
    /// Loads and attaches the BPF scheduler. Lock memory before calling this: once
    /// attached, a page fault of the agent waits on the agent's own decisions.
    pub fn init(open_object: &'obj mut MaybeUninit<OpenObject>, opts: &Options, policy: Box<dyn Policy>) -> Result<Self> {
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
        })
    }

    pub fn ops(&self) -> &str {
        &self.ops
    }

    pub fn policy_name(&self) -> &'static str {
        self.policy.name()
    }

    /// One round: kernel -> policy, policy -> kernel, then tell BPF what is still pending.
    pub fn schedule_once(&mut self) -> Result<()> {
        self.take_queued()?;
        self.send_backlog();
        if self.backlog.is_empty() {
            self.send_picks();
        }
        self.bpf.set_pending(self.pending());
        Ok(())
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
        let c = self.bpf.counters();
        let totals = Metrics {
            at_s: round3(self.attached_at.elapsed().as_secs_f64()),
            userspace_decisions: self.decisions,
            pending: self.pending() as u64,
            ring_full_retries: self.ring_full_retries,
            malformed_records: self.bpf.malformed_records(),
            queued: c.queued,
            user_dispatches: c.user_dispatches,
            direct_dispatches: c.direct_dispatches,
            kthread_dispatches: c.kthread_dispatches,
            congested: c.congested,
            stale_dropped: c.stale_dropped,
            bounced: c.bounced,
            agent_dispatches: c.agent_dispatches,
            heartbeats: c.heartbeats,
            agent_preempts: c.agent_preempts,
            drain_errors: c.drain_errors,
            ..totals
        };
        Sample { totals, dispatch_latency: self.bpf.dispatch_latency(), pick_latency: self.pick_latency.clone() }
    }

    /// Detaches and reports the whole run: metrics over the run and why the kernel side exited.
    pub fn report(mut self) -> Summary {
        let last = self.sample();
        let exit: ExitInfo = self.bpf.shutdown();
        Summary::new(self.ops.clone(), self.policy.name(), last.window_since(&Sample::default()), &exit)
    }
}
