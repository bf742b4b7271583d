//! `scx_oracle encode`: a trace's encoded steps as JSON lines, in the format of
//! `python -m model encode` (model/dump.py), so the two encoders can be compared.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::encoding::{Encoder, Step};
use super::events::load_sorted;
use super::model::OracleModel;
use super::out_file::OutFile;
use super::spec::Spec;

#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// Trace file (.parquet or .csv).
    #[arg(long)]
    pub trace: PathBuf,
    /// Output JSON-lines file.
    #[arg(long)]
    pub out: PathBuf,
    /// Take the encoding constants from this model's metadata (default: the compiled-in spec).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: u64,
    cpu: u32,
    target: i32,
    cand_pids: Vec<i32>,
    step: Vec<f64>,
    cands: Vec<&'a [f64]>,
}

/// One step as a JSON line (the format `python -m model encode` writes).
pub fn write_step(w: &mut impl Write, s: &Step, cw: usize) -> Result<()> {
    let cands: Vec<f64> = s.cands.iter().map(|&v| f64::from(v)).collect();
    let line = Line {
        ts: s.ts,
        cpu: s.cpu,
        target: s.target,
        cand_pids: s.cand_pids.iter().map(|p| p.unwrap_or(-1)).collect(),
        step: s.step.iter().map(|&v| f64::from(v)).collect(),
        cands: cands.chunks(cw).collect(),
    };
    serde_json::to_writer(&mut *w, &line)?;
    w.write_all(b"\n")?;
    Ok(())
}

impl EncodeArgs {
    pub fn run(self) -> Result<i32> {
        let spec = match &self.model {
            Some(m) => OracleModel::load(m)?.spec().clone(),
            None => Spec::compiled(),
        };
        let cw = spec.candidate_width();
        let (meta, events) = load_sorted(&self.trace)?;
        let mut enc = Encoder::new(spec.for_trace(&meta))?;
        let mut step = Step::zeroed(&spec);
        let mut out = OutFile::create(&self.out)?;
        let mut n = 0u64;
        for ev in &events {
            if enc.event_into(ev, &mut step) {
                write_step(out.writer(), &step, cw)?;
                n += 1;
            }
        }
        out.finish()?;
        println!("encode: {n} steps -> {}", self.out.display());
        Ok(0)
    }
}
