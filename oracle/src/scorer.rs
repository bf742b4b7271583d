//! One model, two ways to run it: ONNX Runtime (the reference, any graph) and the native step
//! (native.rs, the lean graph only, ~10x cheaper). Loading always opens the model in ORT, which
//! checks its metadata and shapes; then, if the graph is the lean one, the native step is built
//! from the same file and must agree with ORT on probe inputs before it is used.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::model::{LstmState, OracleModel};
use crate::native::NativeStep;
use crate::onnx_file::OnnxFile;
use crate::spec::Spec;

/// Which implementation runs the steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Native when the graph is the lean one and agrees with ORT, else ORT.
    Auto,
    Native,
    Ort,
}

/// What the load-time check found.
#[derive(Clone, Debug, Serialize)]
pub struct ParityCheck {
    pub probes: usize,
    /// Largest |native - ort| over the probes' scores, and over their h', c'.
    pub max_score_diff: f32,
    pub max_state_diff: f32,
}

/// Scores may differ by float rounding only: summation order and FMA, a few ulps of the
/// largest logits (|score| reaches ~30 on the bundled model).
const SCORE_TOL: f32 = 1e-3;
const STATE_TOL: f32 = 1e-4;
const PROBES: usize = 64;

pub struct Scorer {
    ort: OracleModel,
    native: Option<NativeStep>,
    use_native: bool,
    parity: Option<ParityCheck>,
    /// Why the native step is not used (None when it is).
    native_refused: Option<String>,
    scores: Vec<f32>,
    scratch: LstmState,
    /// What [`Scorer::step_cost`] measured last.
    ranking_cost: Option<Duration>,
}

/// Deterministic probe values (xorshift), so a refused model is refused every time.
struct Probe(u64);
impl Probe {
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Sparse 0/1 step features, a fifth of them set.
    fn step(&mut self, width: usize) -> Vec<f32> {
        (0..width).map(|_| if self.unit() < 0.2 { 1.0 } else { 0.0 }).collect()
    }
}

impl Scorer {
    pub fn load(path: &Path, backend: Backend) -> Result<Scorer> {
        let ort = OracleModel::load(path)?;
        let k = ort.spec().candidates;
        let mut s = Scorer {
            scores: vec![0.0; k],
            scratch: ort.zero_state(),
            ort,
            native: None,
            use_native: false,
            parity: None,
            native_refused: None,
            ranking_cost: None,
        };
        if backend == Backend::Ort {
            s.native_refused = Some("--backend ort".into());
            return Ok(s);
        }
        let native = OnnxFile::read(path).and_then(|f| NativeStep::from_onnx(&f, k));
        let refusal = match native {
            Ok(n) if n.s != s.ort.spec().step_width() || n.c != s.ort.spec().candidate_width() || n.h != s.ort.hidden() => {
                Err(format!("native step sizes (step {}, candidate {}, hidden {}) differ from the graph's", n.s, n.c, n.h))
            }
            Ok(n) => {
                s.native = Some(n);
                match s.check_parity()? {
                    p if p.max_score_diff <= SCORE_TOL && p.max_state_diff <= STATE_TOL => {
                        s.parity = Some(p);
                        Ok(())
                    }
                    p => {
                        let why = format!(
                            "native step disagrees with ONNX Runtime (scores by {:.2e}, state by {:.2e})",
                            p.max_score_diff, p.max_state_diff
                        );
                        s.parity = Some(p);
                        s.native = None;
                        Err(why)
                    }
                }
            }
            Err(e) => Err(format!("{e:#}")),
        };
        match refusal {
            Ok(()) => s.use_native = true,
            Err(why) if backend == Backend::Native => bail!("{}: --backend native: {why}", path.display()),
            Err(why) => s.native_refused = Some(why),
        }
        Ok(s)
    }

    /// Runs both implementations over the same random sequence of steps, carrying state.
    fn check_parity(&mut self) -> Result<ParityCheck> {
        let spec = self.ort.spec().clone();
        let (sw, k, cw) = (spec.step_width(), spec.candidates, spec.candidate_width());
        let native = self.native.as_mut().expect("checked by the caller");
        let mut rng = Probe(0x9e37_79b9_7f4a_7c15);
        let (mut a, mut b) = (self.ort.zero_state(), self.ort.zero_state());
        let (mut h2, mut c2) = (a.h.clone(), a.c.clone());
        let mut native_scores = vec![0.0; k];
        let mut check = ParityCheck { probes: PROBES, max_score_diff: 0.0, max_state_diff: 0.0 };
        for _ in 0..PROBES {
            // Sparse 0/1 step features and candidate rows with `present` set in a prefix.
            let step = rng.step(sw);
            let live = 1 + (rng.unit() * (k - 1) as f32) as usize;
            let mut cands = vec![0.0f32; k * cw];
            for row in cands.chunks_exact_mut(cw).take(live) {
                for x in row.iter_mut() {
                    *x = if rng.unit() < 0.5 { rng.unit() } else { 0.0 };
                }
                row[0] = 1.0;
            }
            let ort_scores = self.ort.run(&step, &cands, &mut a)?.to_vec();
            native.advance(&step, &b.h, &b.c, &mut h2, &mut c2);
            native.score(&h2, &cands, &mut native_scores);
            b.h.copy_from_slice(&h2);
            b.c.copy_from_slice(&c2);
            for (x, y) in ort_scores.iter().zip(&native_scores) {
                check.max_score_diff = check.max_score_diff.max((x - y).abs());
            }
            for (x, y) in a.h.iter().chain(&a.c).zip(b.h.iter().chain(&b.c)) {
                check.max_state_diff = check.max_state_diff.max((x - y).abs());
            }
        }
        Ok(check)
    }

    pub fn spec(&self) -> &Spec {
        self.ort.spec()
    }

    pub fn path(&self) -> &Path {
        self.ort.path()
    }

    pub fn zero_state(&self) -> LstmState {
        self.ort.zero_state()
    }

    pub fn backend(&self) -> &'static str {
        if self.use_native {
            "native"
        } else {
            "ort"
        }
    }

    pub fn parity(&self) -> Option<&ParityCheck> {
        self.parity.as_ref()
    }

    pub fn native_refused(&self) -> Option<&str> {
        self.native_refused.as_deref()
    }

    /// What one ranking costs on this machine, in the backend in use: the median of `rounds`
    /// peeks (a step and every slot scored) on deterministic probe inputs. An emulator or a
    /// slow CPU shows here before any decision is timed against a budget.
    pub fn step_cost(&mut self, rounds: usize) -> Result<Duration> {
        let spec = self.ort.spec().clone();
        let (sw, k, cw) = (spec.step_width(), spec.candidates, spec.candidate_width());
        let mut rng = Probe(0x2545_f491_4f6c_dd1d);
        let state = self.ort.zero_state();
        let mut took = Vec::with_capacity(rounds.max(1));
        for _ in 0..rounds.max(1) {
            let step = rng.step(sw);
            let mut cands = vec![0.0f32; k * cw];
            for row in cands.chunks_exact_mut(cw) {
                row.iter_mut().for_each(|x| *x = rng.unit());
                row[0] = 1.0;
            }
            let t0 = Instant::now();
            self.peek(&step, &cands, &state, None)?;
            took.push(t0.elapsed());
        }
        took.sort();
        let median = took[took.len() / 2];
        self.ranking_cost = Some(median);
        Ok(median)
    }

    /// What [`Scorer::step_cost`] measured, if it ran.
    pub fn ranking_cost(&self) -> Option<Duration> {
        self.ranking_cost
    }

    /// One step that counts: scores for the slots, and `state` moves on.
    pub fn run(&mut self, step: &[f32], cands: &[f32], state: &mut LstmState) -> Result<&[f32]> {
        match self.native.as_mut() {
            Some(n) if self.use_native => {
                Self::native_step(n, &mut self.scratch, step, state);
                n.score(&state.h, cands, &mut self.scores);
                Ok(&self.scores)
            }
            _ => self.ort.run(step, cands, state),
        }
    }

    /// The state moves on; no scores wanted (the native step skips the scoring head).
    pub fn advance(&mut self, step: &[f32], cands: &[f32], state: &mut LstmState) -> Result<()> {
        match self.native.as_mut() {
            Some(n) if self.use_native => {
                Self::native_step(n, &mut self.scratch, step, state);
                Ok(())
            }
            _ => self.ort.run(step, cands, state).map(|_| ()),
        }
    }

    /// A committed native step: from the state's primed gates, then primes the new state for
    /// the next switch and the picks ranked before it.
    fn native_step(n: &mut NativeStep, scratch: &mut LstmState, step: &[f32], state: &mut LstmState) {
        if state.hh.is_empty() {
            n.prime(&state.h, &mut state.hh);
        }
        n.advance_cached(step, &state.hh, &state.c, &mut scratch.h, &mut scratch.c);
        std::mem::swap(&mut state.h, &mut scratch.h);
        std::mem::swap(&mut state.c, &mut scratch.c);
        n.prime(&state.h, &mut state.hh);
    }

    /// True when the state update reads only the step row (the native step's LSTM cell), so a
    /// caller may skip encoding candidate rows for [`Scorer::advance`].
    pub fn advance_reads_step_only(&self) -> bool {
        self.use_native
    }

    /// Scores for a step that has not happened: `state` is left as it is. With `wanted`, only
    /// the marked slots need a score (the others may come back as absent).
    pub fn peek(&mut self, step: &[f32], cands: &[f32], state: &LstmState, wanted: Option<&[bool]>) -> Result<&[f32]> {
        match self.native.as_mut() {
            Some(n) if self.use_native => {
                if state.hh.is_empty() {
                    n.advance(step, &state.h, &state.c, &mut self.scratch.h, &mut self.scratch.c);
                } else {
                    n.advance_cached(step, &state.hh, &state.c, &mut self.scratch.h, &mut self.scratch.c);
                }
                n.score_only(&self.scratch.h, cands, wanted, &mut self.scores);
                Ok(&self.scores)
            }
            _ => {
                self.scratch.h.copy_from_slice(&state.h);
                self.scratch.c.copy_from_slice(&state.c);
                self.ort.run(step, cands, &mut self.scratch)
            }
        }
    }
}
