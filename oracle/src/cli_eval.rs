//! `scx_oracle eval`: replay traces through the encoder and the ONNX model exactly as the agent
//! would (one LSTM state per CPU, one model call per switch) and report top-1/top-3 accuracy
//! next to every baseline on the same steps (per CPU, per trace, per workload, overall; the
//! model's margin over the strongest baseline step-weighted and in workload mean) and the
//! per-call inference latency. JSON on stdout, a table on stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use super::baselines::{IdentityBaselines, RecentWakeup, BASELINES};
use super::encoding::{Encoder, Step};
use super::events::{expand_traces, load_sorted};
use super::model::{LstmState, OracleModel};
use super::out_file::OutFile;
use super::rank::{frac, rank_of, Hits, Rates};
use super::spec::ENCODING_VERSION;
use super::timing::Percentiles;
use super::trace_gaps::{self, NO_STEPS};

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

/// Counts for a set of steps: the model and every baseline on the same steps.
#[derive(Default, Clone, Copy)]
struct Tally {
    steps: u64,
    /// Steps whose next task was not a candidate (target -1): misses for the model.
    misses: u64,
    model: Hits,
    /// In [`BASELINES`] order.
    baselines: [Hits; BASELINES.len()],
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.steps += o.steps;
        self.misses += o.misses;
        self.model.top1 += o.model.top1;
        self.model.top3 += o.model.top3;
        for (a, b) in self.baselines.iter_mut().zip(&o.baselines) {
            a.top1 += b.top1;
            a.top3 += b.top3;
        }
    }

    fn baseline_rates(&self) -> BTreeMap<&'static str, Rates> {
        BASELINES
            .iter()
            .zip(&self.baselines)
            .map(|(n, h)| (*n, h.rates(self.steps)))
            .collect()
    }
}

#[derive(Serialize)]
struct CpuResult {
    cpu: u32,
    steps: u64,
    misses: u64,
    top1: f64,
    top3: f64,
    baselines: BTreeMap<&'static str, Rates>,
}

#[derive(Serialize)]
struct TraceResult {
    trace: String,
    workload: Option<String>,
    steps: u64,
    /// Steps whose next task was not a candidate (target -1): misses for the model.
    misses: u64,
    top1: f64,
    top3: f64,
    /// Every baseline on the same steps.
    baselines: BTreeMap<&'static str, Rates>,
    cpus: Vec<CpuResult>,
    /// What the trace lacks that the model's features need (`trace_gaps`); `no_steps`: left
    /// out of the workloads and their mean.
    gaps: Vec<&'static str>,
}

/// Step-weighted results over a group of steps (all traces, one workload).
#[derive(Serialize)]
struct Overall {
    steps: u64,
    top1: f64,
    top3: f64,
    baselines: BTreeMap<&'static str, Rates>,
}

impl Overall {
    fn of(t: &Tally) -> Overall {
        Overall {
            steps: t.steps,
            top1: frac(t.model.top1, t.steps),
            top3: frac(t.model.top3, t.steps),
            baselines: t.baseline_rates(),
        }
    }
}

/// The unweighted mean over workloads.
#[derive(Serialize)]
struct WorkloadMean {
    workloads: usize,
    top1: f64,
    top3: f64,
    baselines: BTreeMap<&'static str, Rates>,
}

/// The strongest baseline by top-1 and the model's margin over it, in points.
#[derive(Serialize)]
struct Best {
    name: &'static str,
    top1: f64,
    margin_points: f64,
}

impl Best {
    fn of(model_top1: f64, baselines: &BTreeMap<&'static str, Rates>) -> Best {
        let (name, r) = BASELINES
            .iter()
            .map(|n| (*n, baselines[n]))
            .fold(None, |best: Option<(&str, Rates)>, (n, r)| match best {
                Some((_, b)) if b.top1 >= r.top1 => best,
                _ => Some((n, r)),
            })
            .expect("BASELINES is not empty");
        Best {
            name,
            top1: r.top1,
            margin_points: 100.0 * (model_top1 - r.top1),
        }
    }
}

#[derive(Serialize)]
struct Report {
    model: String,
    encoding_version: u32,
    traces: Vec<TraceResult>,
    overall: Overall,
    /// By the traces' `workload` metadata (the file name when there is none).
    workloads: BTreeMap<String, Overall>,
    workload_mean: WorkloadMean,
    best_baseline: Best,
    best_baseline_workload_mean: Best,
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

/// What one CPU carries from step to step: the LSTM state and the identity baselines.
struct CpuState {
    lstm: LstmState,
    identity: IdentityBaselines,
    tally: Tally,
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
    let mut enc = Encoder::new(spec.for_trace(&meta))?;
    let recent_wakeup = RecentWakeup::new(&spec)?;
    let mut step = Step::zeroed(&spec);
    let mut rule_scores = Vec::with_capacity(spec.candidates);
    let mut cpus: BTreeMap<u32, CpuState> = BTreeMap::new();
    for ev in &events {
        if !enc.event_into(ev, &mut step) {
            continue;
        }
        let cpu = cpus.entry(step.cpu).or_insert_with(|| CpuState {
            lstm: model.zero_state(),
            identity: IdentityBaselines::default(),
            tally: Tally::default(),
        });
        let t0 = Instant::now();
        let scores = model.run(&step.step, &step.cands, &mut cpu.lstm)?;
        times.push(t0.elapsed());
        let t = &mut cpu.tally;
        t.steps += 1;
        let rank = rank_of(scores, step.target);
        t.misses += u64::from(rank.is_none());
        t.model.add_rank(rank);
        recent_wakeup.scores(&step.step, &step.cands, &mut rule_scores);
        t.baselines[0].add_rank(rank_of(&rule_scores, step.target));
        let guesses = cpu.identity.guesses(step.prev_pid);
        for (h, g) in t.baselines[1..].iter_mut().zip(&guesses) {
            h.add_guesses(g, step.next_pid);
        }
        cpu.identity.observe(step.next_pid);
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
    let mut all = Tally::default();
    let mut per_cpu = Vec::new();
    for (c, s) in &cpus {
        all.add(&s.tally);
        let t = &s.tally;
        per_cpu.push(CpuResult {
            cpu: *c,
            steps: t.steps,
            misses: t.misses,
            top1: frac(t.model.top1, t.steps),
            top3: frac(t.model.top3, t.steps),
            baselines: t.baseline_rates(),
        });
    }
    let workload = meta.get("workload").map(str::to_string);
    let mut gaps = trace_gaps::gaps(&events);
    if all.steps == 0 {
        gaps.insert(0, NO_STEPS);
    }
    let result = TraceResult {
        trace: name,
        workload,
        steps: all.steps,
        misses: all.misses,
        top1: frac(all.model.top1, all.steps),
        top3: frac(all.model.top3, all.steps),
        baselines: all.baseline_rates(),
        cpus: per_cpu,
        gaps,
    };
    Ok((result, all))
}

fn workload_of(r: &TraceResult) -> String {
    r.workload.clone().unwrap_or_else(|| {
        Path::new(&r.trace)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

fn workload_mean(groups: &BTreeMap<String, Overall>) -> WorkloadMean {
    let n = groups.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Overall) -> f64| groups.values().map(f).sum::<f64>() / n;
    WorkloadMean {
        workloads: groups.len(),
        top1: mean(&|o| o.top1),
        top3: mean(&|o| o.top3),
        baselines: BASELINES
            .iter()
            .map(|b| {
                let r = Rates {
                    top1: mean(&|o| o.baselines[b].top1),
                    top3: mean(&|o| o.baselines[b].top3),
                };
                (*b, r)
            })
            .collect(),
    }
}

/// The human-readable summary on stderr (stdout stays JSON).
fn print_table(report: &Report) {
    // steps: None for the workload mean, a mean of rates that no step count describes.
    let row = |label: &str, steps: Option<u64>, top1: f64, b: &BTreeMap<&str, Rates>| {
        let steps = steps.map(|n| n.to_string()).unwrap_or_default();
        let mut line = format!("{label:<44} {steps:>8} {:>8.1}", 100.0 * top1);
        for n in BASELINES {
            line += &format!(" {:>13.1}", 100.0 * b[n].top1);
        }
        eprintln!("{line}");
    };
    let mut head = format!("{:<44} {:>8} {:>8}", "top-1 %", "steps", "model");
    for n in BASELINES {
        head += &format!(" {n:>13}");
    }
    eprintln!("{head}");
    for t in &report.traces {
        let file = Path::new(&t.trace)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for c in &t.cpus {
            row(
                &format!("{file} cpu {}", c.cpu),
                Some(c.steps),
                c.top1,
                &c.baselines,
            );
        }
        row(&format!("{file} (all CPUs)"), Some(t.steps), t.top1, &t.baselines);
    }
    for (w, o) in &report.workloads {
        row(&format!("workload {w}"), Some(o.steps), o.top1, &o.baselines);
    }
    let o = &report.overall;
    row("all traces (step-weighted)", Some(o.steps), o.top1, &o.baselines);
    let m = &report.workload_mean;
    row("workload mean", None, m.top1, &m.baselines);
    for (what, b) in [
        ("step-weighted", &report.best_baseline),
        ("workload mean", &report.best_baseline_workload_mean),
    ] {
        eprintln!(
            "{what}: strongest baseline {} {:.1}%, model {:+.1} points",
            b.name,
            100.0 * b.top1,
            b.margin_points
        );
    }
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
        let mut scores_out = self
            .scores_out
            .as_deref()
            .map(OutFile::create)
            .transpose()?;
        let mut times = Vec::new();
        let mut results = Vec::new();
        let mut all = Tally::default();
        let mut by_workload: BTreeMap<String, Tally> = BTreeMap::new();
        for path in &traces {
            let (r, t) = eval_trace(&mut model, path, &mut times, &mut scores_out)?;
            for g in &r.gaps {
                eprintln!("{}: {}", r.trace, trace_gaps::describe(g));
            }
            if t.steps > 0 {
                by_workload.entry(workload_of(&r)).or_default().add(&t);
            }
            results.push(r);
            all.add(&t);
        }
        if all.steps == 0 {
            bail!("no scheduling decision to score in any trace given (no switch with a known next task)");
        }
        if let Some(out) = scores_out {
            out.finish()?;
        }
        let workloads: BTreeMap<String, Overall> = by_workload
            .iter()
            .map(|(w, t)| (w.clone(), Overall::of(t)))
            .collect();
        let overall = Overall::of(&all);
        let mean = workload_mean(&workloads);
        let report = Report {
            model: self.model.display().to_string(),
            encoding_version: ENCODING_VERSION,
            traces: results,
            best_baseline: Best::of(overall.top1, &overall.baselines),
            best_baseline_workload_mean: Best::of(mean.top1, &mean.baselines),
            overall,
            workloads,
            workload_mean: mean,
            inference_us: Percentiles::of(&times),
            wall_s: start.elapsed().as_secs_f64(),
        };
        print_table(&report);
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
