//! `scx_oracle trace`: records scheduler events with raw-tracepoint BPF
//! programs into an oracle_trace file (Parquet or CSV).
//!
//! Two parts, also used by the agent (live event stream, `--record`):
//! - [`EventSource`]: loads and attaches the BPF tracer; `poll` returns the
//!   decoded events available now, without blocking.
//! - [`BackgroundWriter`]: a `TraceWriter` on its own thread behind a bounded
//!   channel; when it falls behind, batches are dropped and counted by CPU and
//!   time (never an unbounded queue, never a stalled drain), and `finish`
//!   stores that loss report (plus the ring's) in the file metadata.
//!
//! Filters: --cpus and --comm-filter are applied in BPF (less ring
//! bandwidth). An event passes the CPU filter if its `cpu` or its
//! `target_cpu` is listed, and the comm filter if prev or next comm starts
//! with the prefix.
mod args;
mod background;
mod bpf;
mod decode;
mod intf;
mod meta;
mod priority;
mod progress;
mod record;
mod skel;
mod source;

use std::mem::MaybeUninit;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use trace::{Format, TraceWriter};

pub use args::TraceArgs;
pub use background::{BackgroundWriter, QueueOptions};
#[allow(unused_imports)] // the type of QueueOptions::priority, for other users of the writer
pub use priority::Priority;
pub use source::{EventSource, SourceOptions};

pub fn run(args: TraceArgs) -> Result<i32> {
    Format::from_path(&args.output)?;
    if let Some(list) = &args.cpus {
        check_cpus_exist(&list.cpus)?;
    }
    let meta = meta::user_meta(&args)?;
    let stop = stop_on_signals()?;

    let mut open_object = MaybeUninit::uninit();
    let opts = SourceOptions {
        ring_mb: args.ring_mb,
        cpus: args.cpus.as_ref().map(|c| c.cpus.clone()),
        comm_prefix: args.comm_filter.clone(),
    };
    let mut source = EventSource::open(&mut open_object, &opts)?;
    // FILE.partial appears once the probes are attached: scripts wait for it.
    let writer = TraceWriter::create(&args.output)?;
    let default = QueueOptions::default();
    let queue = QueueOptions {
        batches: args.debug_writer_queue.unwrap_or(default.batches),
        throttle: args.debug_writer_delay_ms.map(Duration::from_millis),
        priority: args.priority,
        ..default
    };
    args.priority.apply_to_this_thread(); // the drain thread
    let mut writer = BackgroundWriter::spawn(writer, source.start_ns(), queue)?;
    let progress = (!args.quiet).then(|| progress::Progress::new(Instant::now()));
    let out = record::record(
        &mut source,
        &mut writer,
        &stop,
        args.duration.map(Duration::from_secs_f64),
        args.debug_drain_ms.map_or(record::DRAIN_INTERVAL, Duration::from_millis),
        progress,
    )?;
    let meta = meta::complete(meta, &args, &out)?;
    let meta = writer.finish(meta, source.losses())?;
    if source.unknown_comms() > 0 {
        log::warn!("trace: {} comms missing from the comm cache (rows with a null comm)", source.unknown_comms());
    }
    if source.malformed() > 0 {
        log::warn!("trace: {} malformed ring records skipped", source.malformed());
    }
    log::debug!("trace: BPF ring drops per CPU: {:?}", source.lost_per_cpu());
    if meta.events_lost > 0 {
        log::warn!("trace: {} events lost: `scx_oracle stats {}` shows when and on which CPU", meta.events_lost, args.output.display());
    }
    println!("events written: {}", meta.events);
    println!("events lost: {}", meta.events_lost);
    println!("output: {}", args.output.display());
    Ok(0)
}

/// SIGINT/SIGTERM end the trace cleanly; a second SIGINT/SIGTERM kills us.
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .context("installing signal handlers")?;
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    Ok(stop)
}

fn check_cpus_exist(cpus: &[u32]) -> Result<()> {
    let n = libbpf_rs::num_possible_cpus().context("counting possible CPUs")? as u32;
    if let Some(&bad) = cpus.iter().find(|&&c| c >= n) {
        bail!("--cpus: CPU {bad} does not exist (this machine has CPUs 0-{})", n - 1);
    }
    Ok(())
}
