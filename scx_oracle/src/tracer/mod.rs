//! `scx_oracle trace`: records scheduler events with raw-tracepoint BPF
//! programs into an oracle_trace file (Parquet or CSV).
//!
//! Filters: --cpus and --comm-filter are applied in BPF (less ring
//! bandwidth). An event passes the CPU filter if its `cpu` or its
//! `target_cpu` is listed, and the comm filter if prev or next comm starts
//! with the prefix.
mod args;
mod bpf;
mod decode;
mod intf;
mod meta;
mod progress;
mod record;
mod skel;

use std::mem::MaybeUninit;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use trace::{Format, TraceWriter};

pub use args::TraceArgs;

pub fn run(args: TraceArgs) -> Result<i32> {
    Format::from_path(&args.output)?;
    if let Some(list) = &args.cpus {
        check_cpus_exist(&list.cpus)?;
    }
    let meta = meta::user_meta(&args)?;
    let stop = stop_on_signals()?;

    let mut open_object = MaybeUninit::uninit();
    let filters = bpf::Filters {
        cpus: args.cpus.as_ref().map(|c| c.cpus.as_slice()),
        comm_prefix: args.comm_filter.as_deref(),
    };
    let tracer = bpf::Tracer::load(&mut open_object, args.ring_mb << 20, &filters)?;
    let mut writer = TraceWriter::create(&args.output)?;
    let progress = (!args.quiet).then(|| progress::Progress::new(Instant::now()));
    let out = record::record(
        &tracer,
        &mut writer,
        &stop,
        args.duration.map(Duration::from_secs_f64),
        progress,
    )?;
    let meta = meta::complete(meta, &args, &out)?;
    let meta = writer.finish(meta)?;
    if out.malformed > 0 {
        eprintln!("trace: warning: {} malformed ring records skipped", out.malformed);
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
