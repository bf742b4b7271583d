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
//! `--convert after` (the default) spools the ring's records undecoded while
//! tracing and writes the trace file once tracing stops (`spool.rs`): the
//! traced load then pays for the BPF programs and a copy only. `--convert
//! live` decodes and writes as it goes: for long traces, where a spool
//! (~75 bytes per event) would outgrow the disk, or for a RAM-backed one.
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
#[cfg(test)]
mod scratch;
mod skel;
mod source;
mod spool;
mod spool_file;

use std::mem::MaybeUninit;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use trace::{Format, TraceMeta, TraceWriter};

pub use args::{Convert, TraceArgs};
pub use background::{BackgroundWriter, QueueOptions};
pub use meta::with_fair_class;
#[allow(unused_imports)] // the type of QueueOptions::priority, for other users of the writer
pub use priority::Priority;
pub use source::{EventSource, SourceOptions};
use spool::SpoolFile;

pub fn run(args: TraceArgs) -> Result<i32> {
    Format::from_path(&args.output)?;
    if let Some(spool) = &args.from_spool {
        return recover_spool(spool, &args);
    }
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
        raw: args.convert == Convert::After,
        batch: true,
    };
    let mut source = EventSource::open(&mut open_object, &opts)?;
    // FILE.partial appears once the probes are attached: scripts wait for it.
    let writer = TraceWriter::create(&args.output)?;
    let default = QueueOptions::default();
    // The spool's queue is counted in chunks (spool::CHUNK_BYTES).
    let batches = if args.convert == Convert::After { spool::QUEUE_CHUNKS } else { default.batches };
    let queue = QueueOptions {
        batches: args.debug_writer_queue.unwrap_or(batches),
        throttle: args.debug_writer_delay_ms.map(Duration::from_millis),
        priority: args.priority,
        ..default
    };
    args.priority.apply_to_this_thread(); // the drain thread
    let (mut drain, trace_writer) = match args.convert {
        Convert::Live => (record::Drain::Live(BackgroundWriter::spawn(writer, source.start_ns(), queue)?, Vec::new()), None),
        Convert::After => {
            let spool = SpoolFile::create(SpoolFile::path_for(&args.output))?;
            let writer_thread = BackgroundWriter::spawn(spool, source.start_ns(), queue)?;
            let spare = writer_thread.empty_batch();
            (record::Drain::Spool(writer_thread, spare, Instant::now()), Some(writer))
        }
    };
    let progress = (!args.quiet).then(|| progress::Progress::new(Instant::now()));
    let out = record::record(
        &mut source,
        &mut drain,
        &stop,
        args.duration.map(Duration::from_secs_f64),
        args.debug_drain_ms.map_or(record::DRAIN_INTERVAL, Duration::from_millis),
        progress,
    )?;
    let meta = meta::complete(meta, &args, &out)?;
    let (meta, malformed, unknown_comms) = match (drain, trace_writer) {
        (record::Drain::Live(writer, _), _) => {
            (writer.finish(meta, source.losses())?, source.malformed(), source.unknown_comms())
        }
        (record::Drain::Spool(spool, ..), Some(writer)) => finish_from_spool(spool, writer, meta, source.losses(), args.quiet)?,
        (record::Drain::Spool(..), None) => unreachable!("--convert after keeps its trace writer"),
    };
    if unknown_comms > 0 {
        log::warn!("trace: {unknown_comms} comms missing from the comm cache (rows with a null comm)");
    }
    if malformed > 0 {
        log::warn!("trace: {malformed} malformed ring records skipped");
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

/// `--convert after`: closes the spool, decodes it into `writer`'s file with
/// the loss report, and removes it. On failure the spool stays, named in the error.
fn finish_from_spool(
    spool: BackgroundWriter<SpoolFile>,
    mut writer: TraceWriter,
    meta: TraceMeta,
    ring_losses: &trace::meta::LossTally,
    quiet: bool,
) -> Result<(TraceMeta, u64, u64)> {
    let (spool, dropped) = spool.close()?;
    let path = spool.finish()?;
    if !quiet {
        eprintln!("trace: stopped; converting the spool into the trace file");
    }
    let t0 = Instant::now();
    let got = spool::convert(&path, &mut writer, false)
        .with_context(|| format!("converting the spool {0} (kept: `scx_oracle trace --from-spool {0} -o OUT` retries)", path.display()))?;
    let meta = background::finish_with_losses(writer, meta, ring_losses, &dropped)?;
    log::debug!("trace: {} events converted in {:.2} s", got.events, t0.elapsed().as_secs_f64());
    std::fs::remove_file(&path).with_context(|| format!("removing the spool {}", path.display()))?;
    Ok((meta, got.malformed, got.unknown_comms))
}

/// `--from-spool`: the spool a killed tracer left, made into a trace file.
/// The BPF side's loss counts died with the tracer: the file says so.
fn recover_spool(spool: &std::path::Path, args: &TraceArgs) -> Result<i32> {
    let mut meta = meta::user_meta(args)?;
    meta.insert("recovered_from_spool", spool.display().to_string())?;
    meta.insert("loss_report", "unknown: recovered from the spool of a tracer that did not finish")?;
    meta.insert("convert", "after")?;
    let mut writer = TraceWriter::create(&args.output)?;
    let got = spool::convert(spool, &mut writer, true).with_context(|| format!("recovering {}", spool.display()))?;
    if let Some(at) = got.torn_at {
        log::warn!("trace: {} ends inside a record at byte {at}: kept what came before", spool.display());
    }
    let meta = writer.finish(meta)?;
    println!("events written: {}", meta.events);
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
