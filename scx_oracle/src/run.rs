//! `scx_oracle run`: options, signals, memory locking, the stats server and the loop that
//! drives [`Scheduler`]; `--monitor` instead reads a running agent's stats server.
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use crossbeam::channel::{Receiver, Sender};
use log::{debug, info, warn};
use scx_stats::prelude::StatsServer;

use crate::bpf_scheduler::Options;
use crate::live_events::LiveEvents;
use crate::model_reload::ModelReloader;
use crate::policy::{self, PolicyConfig, POLICY_NAMES};
use crate::scheduler::Scheduler;
use crate::stats::{self, Sample};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Pick-next policy.
    #[arg(long, default_value = "fifo", value_parser = clap::builder::PossibleValuesParser::new(POLICY_NAMES))]
    pub policy: String,
    /// Default time slice in microseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub slice_us: u64,
    /// Print the metrics line every SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = positive_secs)]
    pub stats: Option<f64>,
    /// Load nothing: print the metrics of the scx_oracle agent running on this machine
    /// every SECS seconds, read from its stats server (/var/run/scx/root/stats).
    #[arg(long, value_name = "SECS", value_parser = positive_secs,
          conflicts_with_all = ["stats", "summary_json", "duration"])]
    pub monitor: Option<f64>,
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
    /// A woken task's decision preempts the task running on its CPU once that task has run
    /// this long (0: never; the woken task then waits for the running slice to end).
    #[arg(long, value_name = "US", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub wakeup_preempt_us: u64,
    /// End slices at the kernel's tick (4 ms at HZ=250) instead of with a per-CPU timer when
    /// the policy said: fewer timer interrupts, but slices shorter than a tick stop
    /// meaning anything (nice stops working).
    #[arg(long)]
    pub tick_slices: bool,
    /// Detach after SECS seconds (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS", value_parser = positive_secs)]
    pub duration: Option<f64>,
    /// oracle: the ONNX model (default: the bundled one). SIGHUP reloads this file.
    #[arg(long, value_name = "M.onnx")]
    pub model: Option<PathBuf>,
    /// oracle: how to run the model (native: the lean graph computed in Rust, checked
    /// against ONNX Runtime at load; auto: native when it can, else ort).
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: oracle::Backend,
    /// oracle, recent_wakeup: the most one ranking may take; a slower one is replaced by the
    /// vruntime choice (counted as fallback_over_budget). Default: 1000, or 4 times what a
    /// ranking of the model costs on this machine (timed at load, and again for a model
    /// reloaded on SIGHUP) when that is more.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub budget_us: Option<u64>,
    /// oracle, recent_wakeup: a task held longer than this is sent at once (counted as
    /// fallback_starving), whatever the ranker says.
    #[arg(long, value_name = "MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=4_000))]
    pub max_wait_ms: u64,
    /// oracle, recent_wakeup: also record the scheduler events the policy saw into this
    /// trace, as it saw them (`scx_oracle eval`/`encode` replay the same steps).
    #[arg(long, value_name = "T.parquet")]
    pub record: Option<PathBuf>,
    /// Size of the kernel->agent ring in KiB (default: room for 8192 tasks; rounded up to a
    /// power of two). A small ring drives the congestion fallback (the fault suite's storm).
    #[arg(long, value_name = "KIB", value_parser = clap::value_parser!(u32).range(4..=65_536))]
    pub queue_ring_kib: Option<u32>,
    /// Debug messages too (BPF loader output included).
    #[arg(short, long)]
    pub verbose: bool,
}

/// A number of seconds: finite and above zero.
fn positive_secs(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds above 0")),
    }
}

/// Exit status when the kernel ejected the scheduler.
pub const EXIT_EJECTED: i32 = 2;

pub fn run(args: RunArgs) -> Result<i32> {
    crate::logger::set_verbose(args.verbose);
    let shutdown = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, shutdown.clone()).context("installing signal handler")?;
    }
    if let Some(secs) = args.monitor {
        stats::monitor(Duration::from_secs_f64(secs), shutdown)?;
        return Ok(0);
    }

    // Before attaching: once attached, a page fault of ours waits on our own decisions.
    if let Err(e) = crate::memlock::lock_all_memory() {
        warn!("mlockall failed ({e}); page faults may stall the agent");
    }
    let nr_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slice_ns = args.slice_us * 1000;
    let model = args.model.clone().unwrap_or_else(crate::model_reload::bundled_model);
    // Read once: the live estimate and the recording's metadata must name the same slice.
    // Ours is the scheduler that runs: the estimate must not read the kernel's run-queue
    // counts as the fair class's (no delayed sleepers under sched_ext), nor a later
    // encode/eval of the recording.
    let meta = LiveEvents::meta(&format!("run --policy {}", args.policy))?
        .with(trace::meta::SCHEDULER_KEY, format!("scx_oracle-{}", args.policy))?;
    let cfg = PolicyConfig {
        slice_ns,
        nr_cpus,
        model: model.clone(),
        backend: args.backend,
        budget: args.budget_us.map(Duration::from_micros),
        max_wait: Duration::from_millis(args.max_wait_ms),
        host: meta.clone(),
    };
    // A model that cannot be used (missing, corrupt, another encoding) is refused here,
    // before anything attaches.
    let policy = policy::by_name(&args.policy, &cfg)?;
    if args.record.is_some() && !policy.wants_events() {
        anyhow::bail!("--record: policy {} reads no scheduler events (oracle and recent_wakeup do)", args.policy);
    }
    let mut events_object = MaybeUninit::uninit();
    let events = if policy.wants_events() {
        // The agent drains every round; 8 MiB (rather than the tracer's 64) keeps its locked
        // memory small.
        Some(LiveEvents::open(&mut events_object, 8, args.record.as_deref(), meta)?)
    } else {
        None
    };
    let reloads = ModelReloader::start((args.policy == "oracle").then_some(model), args.backend)?;
    let opts = Options {
        slice_ns,
        direct_idle: args.direct_idle,
        preempt_agent: !args.lazy_agent,
        slice_timer: !args.tick_slices,
        wakeup_preempt_ns: args.wakeup_preempt_us * 1000,
        queue_ring_bytes: args.queue_ring_kib.map(|k| k * 1024),
        verbose: args.verbose,
    };
    let mut open_object = MaybeUninit::uninit();
    let mut sched = Scheduler::init(&mut open_object, &opts, policy, events)?;
    info!("attached as '{}', policy {}, slice {} us", sched.ops(), sched.policy_description(), args.slice_us);

    // The server thread asks the loop for samples over crossbeam channels; the loop answers
    // between rounds, so a monitor never touches the scheduler's state.
    let server = match StatsServer::new(stats::server_data()).launch() {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("stats server not started ({e:#}); --monitor will not see this agent");
            None
        }
    };
    // (to the server, from the server): a sample answers each `()` request.
    let channels: Option<(Sender<Sample>, Receiver<()>)> = server.as_ref().map(StatsServer::channels);

    let start = Instant::now();
    let deadline = args.duration.map(|s| start + Duration::from_secs_f64(s));
    let stats_every = args.stats.map(Duration::from_secs_f64);
    let mut next_line = stats_every.map(|d| start + d);
    let mut prev = Sample::default();

    while !shutdown.load(Ordering::Relaxed) && !sched.exited() && deadline.is_none_or(|d| Instant::now() < d) {
        sched.schedule_once()?;
        if let Some(loaded) = reloads.try_take() {
            match sched.swap_model(loaded) {
                Ok(()) => info!("SIGHUP: model reloaded"),
                Err(e) => warn!("SIGHUP: model not reloaded, the old one keeps deciding: {e:#}"),
            }
        }
        if let Some((to_server, from_server)) = &channels {
            while from_server.try_recv().is_ok() {
                if to_server.send(sched.sample()).is_err() {
                    debug!("stats server gone");
                }
            }
        }
        if let (Some(every), Some(at)) = (stats_every, next_line) {
            if Instant::now() >= at {
                let now = sched.sample();
                println!("[{:7.1}s] {}", now.totals.at_s, now.window_since(&prev).line());
                prev = now;
                next_line = Some(at + every);
            }
        }
        // Give the CPU back; BPF runs us again as soon as work is queued.
        std::thread::yield_now();
    }

    drop(server);
    let summary = sched.report()?;
    info!("{}", summary.describe());
    if let Some(path) = &args.summary_json {
        summary.write_json(path)?;
    }
    Ok(if summary.ejected { EXIT_EJECTED } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::positive_secs;

    #[test]
    fn seconds_must_be_finite_and_positive() {
        assert_eq!(positive_secs("1.5"), Ok(1.5));
        for bad in ["0", "-1", "nan", "inf", "x", ""] {
            assert!(positive_secs(bad).is_err(), "{bad} accepted");
        }
    }
}
