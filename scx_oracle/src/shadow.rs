//! `scx_oracle shadow`: the model watches the kernel schedule and says how often it would have
//! picked what the kernel picked — on any BPF kernel, under the default fair class, no
//! sched_ext needed. The tracer's events feed the live model exactly as in the oracle policy
//! (oracle::live); at every switch the model ranks the CPU's candidates before learning which
//! task ran. Reported per CPU: top-1/top-3 over the switches, misses (the task that ran was not
//! a candidate), inference cost, events lost. `--record T` keeps the events as the model saw
//! them: `scx_oracle eval --model M T` on it gives the same figures.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use log::info;
use oracle::live::LiveModel;
use oracle::rank::Hits;
use oracle::timing::Percentiles;
use oracle::{Backend, Scorer};
use serde::Serialize;

use crate::latency::Histogram;
use crate::live_events::LiveEvents;

#[derive(clap::Args, Debug)]
pub struct ShadowArgs {
    /// The ONNX model (default: the bundled one).
    #[arg(long, value_name = "M.onnx")]
    pub model: Option<PathBuf>,
    /// How to run the model (see `run --backend`).
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Stop after SECS seconds (default: at SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Write the report as JSON to FILE (it is always printed).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Record the events the model saw to this trace file.
    #[arg(long, value_name = "T.parquet")]
    pub record: Option<PathBuf>,
    /// Write every encoded step as JSON lines (the `scx_oracle encode` format): the live
    /// encoding, to compare with `encode` on the recording.
    #[arg(long, value_name = "F.jsonl")]
    pub steps_out: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Accuracy {
    pub steps: u64,
    /// Switches whose next task was not among the candidates (wrong for every scorer).
    pub misses: u64,
    pub top1: f64,
    pub top3: f64,
    #[serde(skip)]
    hits: Hits,
}

impl Accuracy {
    fn add(&mut self, rank: Option<usize>) {
        self.steps += 1;
        self.misses += u64::from(rank.is_none());
        self.hits.add_rank(rank);
    }

    fn finish(&mut self) {
        let r = self.hits.rates(self.steps);
        (self.top1, self.top3) = (r.top1, r.top3);
    }
}

#[derive(Debug, Serialize)]
pub struct CpuAccuracy {
    pub cpu: u32,
    #[serde(flatten)]
    pub accuracy: Accuracy,
}

#[derive(Debug, Serialize)]
pub struct ShadowReport {
    pub model: String,
    pub backend: &'static str,
    pub kernel: String,
    pub duration_s: f64,
    pub events: u64,
    pub events_lost: u64,
    #[serde(flatten)]
    pub overall: Accuracy,
    pub per_cpu: Vec<CpuAccuracy>,
    /// One model step (encode + rank + state update) per switch, µs: log-linear buckets
    /// (within 25%), so a session of any length keeps a fixed-size record.
    pub inference_us: Percentiles,
    pub recording: Option<String>,
    /// The EEVDF estimate's slice: this kernel's base slice where debugfs shows it (and in
    /// the recording's metadata, so its replay encodes the same), else the model's default.
    pub eevdf_slice_ns: i64,
}

pub fn run(args: ShadowArgs) -> Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    let model = args.model.clone().unwrap_or_else(crate::model_reload::bundled_model);
    let scorer = Scorer::load(&model, args.backend)?;
    let backend = scorer.backend();
    if let Some(why) = scorer.native_refused() {
        info!("shadow: running the model in ONNX Runtime: {why}");
    }
    let cw = scorer.spec().candidate_width();
    let meta = LiveEvents::meta("shadow")?;
    let mut live = LiveModel::new(scorer)?.on_host(&meta)?;
    let mut steps_out = args
        .steps_out
        .as_ref()
        .map(|p| File::create(p).map(BufWriter::new).with_context(|| format!("creating {}", p.display())))
        .transpose()?;

    let mut object = MaybeUninit::uninit();
    let mut events = LiveEvents::open(&mut object, 32, args.record.as_deref(), meta)?;
    info!("shadow: {} ({backend}) watching the kernel's picks", model.display());

    let mut overall = Accuracy::default();
    let mut per_cpu: Vec<Accuracy> = Vec::new();
    let mut times = Histogram::default();
    let mut seen = 0u64;
    let mut consume = |ev: &mut trace::Event| -> Result<()> {
        seen += 1;
        live.stamp(ev);
        let t0 = Instant::now();
        let Some(o) = live.observe(ev, true)? else { return Ok(()) };
        times.record(t0.elapsed().as_nanos() as u64);
        overall.add(o.rank);
        let i = o.cpu as usize;
        if per_cpu.len() <= i {
            per_cpu.resize(i + 1, Accuracy::default());
        }
        per_cpu[i].add(o.rank);
        if let Some(w) = steps_out.as_mut() {
            oracle::cli_encode::write_step(w, live.last_step(), cw)?;
        }
        Ok(())
    };
    let deadline = args.duration.map(|s| Instant::now() + Duration::from_secs_f64(s));
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        events.pump(&mut consume)?;
        std::thread::sleep(Duration::from_millis(10));
    }
    let lost_before_finish = events.lost();
    let duration_s = events.elapsed_s();
    let recorded = events.finish(&mut consume)?;
    if let Some(mut w) = steps_out {
        w.flush()?;
    }
    overall.finish();
    let per_cpu = per_cpu
        .into_iter()
        .enumerate()
        .filter(|(_, a)| a.steps > 0)
        .map(|(cpu, mut a)| {
            a.finish();
            CpuAccuracy { cpu: cpu as u32, accuracy: a }
        })
        .collect();
    let report = ShadowReport {
        model: model.display().to_string(),
        backend,
        kernel: nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default(),
        duration_s,
        events: seen,
        events_lost: recorded.as_ref().map_or(lost_before_finish, |(_, m)| m.events_lost),
        overall,
        per_cpu,
        inference_us: times.percentiles(),
        recording: recorded.map(|(p, _)| p.display().to_string()),
        eevdf_slice_ns: live.spec().eevdf_slice_ns,
    };
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(path) = &args.json {
        trace::atomic::write_atomic(path, (text + "\n").as_bytes())?;
    }
    Ok(0)
}
