//! `scx_oracle run`: the agent's main loop, dequeue -> policy -> dispatch.
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use crate::bpf_scheduler::{BpfScheduler, Counters, Options};
use crate::latency::Histogram;
use crate::policy::{self, POLICY_NAMES};
use crate::summary::Summary;
use crate::task::Decision;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Pick-next policy.
    #[arg(long, default_value = "fifo", value_parser = clap::builder::PossibleValuesParser::new(POLICY_NAMES))]
    pub policy: String,
    /// Default time slice in microseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub slice_us: u64,
    /// Print a stats line every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub stats: Option<f64>,
    /// Write the run summary as JSON to FILE at exit.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Let BPF dispatch a waking task straight to an idle CPU (fewer
    /// userspace decisions, lower latency).
    #[arg(long)]
    pub direct_idle: bool,
    /// Never preempt a busy CPU to run the agent; it waits for a slice to
    /// end (the A/B baseline for that safety net).
    #[arg(long)]
    pub lazy_agent: bool,
    /// Detach after SECS seconds (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    #[arg(short, long)]
    pub verbose: bool,
}

/// Exit status when the kernel ejected the scheduler.
pub const EXIT_EJECTED: i32 = 2;

pub fn run(args: RunArgs) -> Result<i32> {
    let shutdown = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, shutdown.clone()).context("installing signal handler")?;
    }
    let nr_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slice_ns = args.slice_us * 1000;
    let mut policy = policy::by_name(&args.policy, slice_ns, nr_cpus)?;

    let mut open_object = MaybeUninit::uninit();
    let opts = Options {
        slice_ns,
        direct_idle: args.direct_idle,
        preempt_agent: !args.lazy_agent,
        verbose: args.verbose,
    };
    let mut sched = BpfScheduler::init(&mut open_object, &opts)?;
    if let Err(e) = crate::memlock::lock_all_memory() {
        eprintln!("scx_oracle: warning: mlockall failed ({e}); page faults may stall the agent");
    }
    let ops = std::fs::read_to_string("/sys/kernel/sched_ext/root/ops").unwrap_or_default().trim().to_string();
    eprintln!("scx_oracle: attached as '{ops}', policy {}, slice {} us", policy.name(), args.slice_us);

    let start = Instant::now();
    let deadline = args.duration.map(|s| start + Duration::from_secs_f64(s));
    let stats_every = args.stats.map(Duration::from_secs_f64);
    let mut next_stats = stats_every.map(|d| start + d);
    let mut prev = StatsPoint::default();

    let mut inbox = Vec::with_capacity(8192);
    let mut backlog: VecDeque<Decision> = VecDeque::with_capacity(8192);
    let mut decisions = 0u64;
    let mut ring_full = 0u64;
    let mut policy_hist = Histogram::default();

    while !shutdown.load(Ordering::Relaxed) && !sched.exited() && deadline.is_none_or(|d| Instant::now() < d) {
        sched.receive(&mut inbox)?;
        for task in inbox.drain(..) {
            policy.enqueue(task);
        }
        // Decisions refused by a full ring go first, in their order.
        while let Some(d) = backlog.front() {
            if sched.send(d).is_err() {
                break;
            }
            backlog.pop_front();
            decisions += 1;
        }
        while backlog.is_empty() {
            let t = Instant::now();
            let Some(d) = policy.pick() else { break };
            policy_hist.record(t.elapsed().as_nanos() as u64);
            if sched.send(&d).is_ok() {
                decisions += 1;
            } else {
                ring_full += 1;
                backlog.push_back(d);
            }
        }
        sched.set_pending(policy.pending() + backlog.len());

        if let (Some(every), Some(at)) = (stats_every, next_stats) {
            if Instant::now() >= at {
                let now = StatsPoint::take(&sched, decisions, start);
                print_stats(&now, &prev, policy.pending() + backlog.len());
                prev = now;
                next_stats = Some(at + every);
            }
        }
        // Give the CPU back; BPF runs us again as soon as work is queued.
        // SAFETY: no arguments.
        unsafe { libc::sched_yield() };
    }

    let runtime_s = start.elapsed().as_secs_f64();
    let counters = sched.counters();
    let latency = sched.dispatch_latency().percentiles();
    let malformed = sched.malformed_records();
    let exit = sched.shutdown();
    let summary = Summary::new(
        ops, policy.name(), runtime_s, decisions, ring_full, malformed, &counters, latency,
        policy_hist.percentiles(), &exit,
    );
    eprintln!(
        "scx_oracle: detached after {runtime_s:.1} s: {} userspace decisions ({:.0}/s), {} direct, \
         {} congested, {} stale; enqueue->dispatch p50 {} us p99 {} us; exit: {} {}{}",
        summary.userspace_decisions, summary.decisions_per_s, summary.direct_dispatches,
        summary.congestion_fallbacks, summary.stale_dropped,
        summary.enqueue_to_dispatch_ns.p50 / 1000, summary.enqueue_to_dispatch_ns.p99 / 1000,
        summary.exit_kind, summary.exit_reason,
        if summary.exit_message.is_empty() { String::new() } else { format!(" ({})", summary.exit_message) },
    );
    if let Some(path) = &args.summary_json {
        summary.write_json(path)?;
    }
    Ok(if exit.ejected { EXIT_EJECTED } else { 0 })
}

#[derive(Default)]
struct StatsPoint {
    at_s: f64,
    decisions: u64,
    counters: Counters,
    latency: Histogram,
}

impl StatsPoint {
    fn take(sched: &BpfScheduler, decisions: u64, start: Instant) -> Self {
        StatsPoint {
            at_s: start.elapsed().as_secs_f64(),
            decisions,
            counters: sched.counters(),
            latency: sched.dispatch_latency(),
        }
    }
}

fn print_stats(now: &StatsPoint, prev: &StatsPoint, pending: usize) {
    let dt = (now.at_s - prev.at_s).max(1e-9);
    let lat = now.latency.since(&prev.latency).percentiles();
    let c = &now.counters;
    println!(
        "[{:7.1}s] decisions {:>9} ({:>7.0}/s) direct {:>7} congested {:>5} stale {:>5} bounced {:>5} \
         pending {:>4} enq->dispatch p50 {:>6} us p99 {:>6} us",
        now.at_s,
        now.decisions,
        (now.decisions - prev.decisions) as f64 / dt,
        c.direct_dispatches,
        c.congested,
        c.stale_dropped,
        c.bounced,
        pending,
        lat.p50 / 1000,
        lat.p99 / 1000,
    );
}
