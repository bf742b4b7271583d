//! `scx_oracle eval`: replay traces through the encoder and the ONNX model exactly as the agent
//! would (one LSTM state per CPU, one model call per switch) and report top-1/top-3 accuracy
//! and per-call inference latency.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use super::encoding::{Encoder, Step};
use super::events::{expand_traces, load_sorted};
use super::model::OracleModel;
use super::out_file::OutFile;
use super::rank::rank_of;
use super::spec::ENCODING_VERSION;
use super::timing::Percentiles;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Exported ONNX model (python -m model export).
    #[arg(long)]
    pub model: PathBuf,
    /// A trace file; repeatable.
    #[arg(long = "trace")]
    pub traces: Vec<PathBuf>,
    /// More traces: files, or directories (all *.parquet inside, sorted).
    pub paths: Vec<PathBuf>,
    /// Write every step's scores as JSON lines {"trace","cpu","ts","scores"} (parity tests).
    #[arg(long)]
    pub scores_out: Option<PathBuf>,
    /// Also write the result JSON to this file.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

#[derive(Serialize)]
struct TraceResult {
    trace: String,
    workload: Option<String>,
    steps: u64,
    /// Steps whose next task was not a candidate (target -1): misses for every scorer.
    misses: u64,
    top1: f64,
    top3: f64,
}

#[derive(Serialize)]
struct Overall {
    steps: u64,
    top1: f64,
    top3: f64,
}

#[derive(Serialize)]
struct Report {
    model: String,
    encoding_version: u32,
    traces: Vec<TraceResult>,
    overall: Overall,
    inference_us: Percentiles,
    wall_s: f64,
}

#[derive(Serialize)]
struct ScoresLine<'a> {
    trace: &'a str,
    cpu: u32,
    ts: u64,
    scores: Vec<f64>,
}

fn frac(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Counts for one trace.
#[derive(Default)]
struct Tally {
    steps: u64,
    misses: u64,
    top1: u64,
    top3: u64,
}

fn eval_trace(
    model: &mut OracleModel,
    path: &Path,
    times: &mut Vec<Duration>,
    scores_out: &mut Option<OutFile>,
) -> Result<(TraceResult, Tally)> {
    let (meta, events) = load_sorted(path)?;
    let name = path.display().to_string();
    let spec = model.spec().clone();
    let mut enc = Encoder::new(spec.clone())?;
    let mut step = Step::zeroed(&spec);
    let mut states = HashMap::new();
    let mut t = Tally::default();
    for ev in &events {
        if !enc.event_into(ev, &mut step) {
            continue;
        }
        let state = states
            .entry(step.cpu)
            .or_insert_with(|| model.zero_state());
        let t0 = Instant::now();
        let scores = model.run(&step.step, &step.cands, state)?;
        times.push(t0.elapsed());
        t.steps += 1;
        match rank_of(scores, step.target) {
            None => t.misses += 1,
            Some(r) => {
                t.top1 += u64::from(r == 0);
                t.top3 += u64::from(r < 3);
            }
        }
        if let Some(out) = scores_out {
            let w = out.writer();
            let line = ScoresLine {
                trace: &name,
                cpu: step.cpu,
                ts: step.ts,
                scores: scores.iter().map(|&s| f64::from(s)).collect(),
            };
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
        }
    }
    let result = TraceResult {
        trace: name,
        workload: meta.get("workload").map(str::to_string),
        steps: t.steps,
        misses: t.misses,
        top1: frac(t.top1, t.steps),
        top3: frac(t.top3, t.steps),
    };
    Ok((result, t))
}

impl EvalArgs {
    pub fn run(self) -> Result<i32> {
        let start = Instant::now();
        let mut args = self.traces.clone();
        args.extend(self.paths.iter().cloned());
        let traces = expand_traces(&args)?;
        if traces.is_empty() {
            bail!("no traces given: pass --trace FILE or directories of *.parquet");
        }
        let mut model = OracleModel::load(&self.model)?;
        let mut scores_out = self.scores_out.as_deref().map(OutFile::create).transpose()?;
        let mut times = Vec::new();
        let mut results = Vec::new();
        let mut all = Tally::default();
        for path in &traces {
            let (r, t) = eval_trace(&mut model, path, &mut times, &mut scores_out)?;
            results.push(r);
            all.steps += t.steps;
            all.top1 += t.top1;
            all.top3 += t.top3;
        }
        if let Some(out) = scores_out {
            out.finish()?;
        }
        let overall = Overall {
            steps: all.steps,
            top1: frac(all.top1, all.steps),
            top3: frac(all.top3, all.steps),
        };
        let report = Report {
            model: self.model.display().to_string(),
            encoding_version: ENCODING_VERSION,
            traces: results,
            overall,
            inference_us: Percentiles::of(&times),
            wall_s: start.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&report)?;
        println!("{text}");
        if let Some(p) = &self.json_out {
            let mut out = OutFile::create(p)?;
            writeln!(out.writer(), "{text}")?;
            out.finish()?;
        }
        Ok(0)
    }
}
