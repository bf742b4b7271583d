//! The exported network computed in plain Rust from the model file's own weights.
//!
//! ONNX Runtime charges ~3.5 µs per call plus ~0.5 µs per graph node, more than this network's
//! arithmetic (~20 k multiply-adds once the inputs' zeros are skipped). model/lean_graph.py
//! writes the one-step graph node by node; this file knows that graph and nothing else:
//! [`NativeStep::from_onnx`] accepts a file only when its operator sequence and weight shapes
//! are exactly the lean graph's, and the loader (scorer.rs) then checks its scores against ORT
//! on probe inputs before trusting it. Any other graph runs in ORT.
//!
//! The math, for one CPU (S step width, H hidden, K slots, C candidate width, D, D2 head widths,
//! P pool width):
//!   g = [x, h] · w_gates + b_gates          gates in the order i, f, o, g
//!   c' = σ(f)·c + σ(i)·tanh(g);  h' = σ(o)·tanh(c')
//!   pool = max over slots of relu(cand · w_embed)
//!   z_k = relu(h'·w_state + pool·w_pool + cand_k·w_cand)
//!   score_k = relu(z_k·w_h1 + b_h1)·w_h2   (absent slots: -1e9)
//! Inputs are sparse (one-hots, flags), so rows are accumulated only for non-zero inputs, and
//! absent slots are never computed.

use anyhow::{bail, Result};

use crate::onnx_file::OnnxFile;

/// Score of an absent slot, as the exported graph writes it.
pub const ABSENT: f32 = -1e9;

/// The lean graph's operators in order (model/lean_graph.py), with and without the set pool.
const LEAN_OPS: &[&str] = &[
    "Unsqueeze", "Concat", "MatMul", "Add", "Split", "Sigmoid", "Tanh", "Split", "Mul", "Mul",
    "Add", "Tanh", "Mul", "Transpose", "MatMul", "MatMul",
];
const POOL_OPS: &[&str] = &["MatMul", "Relu", "ReduceMax", "MatMul", "Add"];
const HEAD_OPS: &[&str] = &[
    "Add", "Relu", "MatMul", "Add", "Relu", "MatMul", "Squeeze", "Gather", "Greater", "Where",
];

#[derive(Clone, Debug)]
pub struct NativeStep {
    pub s: usize,
    pub h: usize,
    pub k: usize,
    pub c: usize,
    d: usize,
    p: usize,
    w_gates: Vec<f32>,
    b_gates: Vec<f32>,
    w_state: Vec<f32>,
    w_cand: Vec<f32>,
    w_embed: Vec<f32>,
    w_pool: Vec<f32>,
    w_h1: Vec<f32>,
    b_h1: Vec<f32>,
    w_h2: Vec<f32>,
    scratch: Scratch,
}

#[derive(Clone, Debug, Default)]
struct Scratch {
    gates: Vec<f32>,
    base: Vec<f32>,
    pool: Vec<f32>,
    e: Vec<f32>,
    z: Vec<f32>,
    y: Vec<f32>,
    /// (index, value) of an input's non-zero entries.
    nz: Vec<(usize, f32)>,
    /// `prime`'s output for the uncached `advance`.
    hh: Vec<f32>,
}

/// `out += Σ_j x_j · w[j, :]` over the (j, x_j) in `nz`, `w` row-major with `out.len()`
/// columns. Output-stationary: a block of 32 outputs stays in registers while every input row
/// is added, so the accumulators are not reloaded per row. `FUSED` uses fused multiply-add
/// (only where the CPU has it: elsewhere `mul_add` is a slow library call).
#[inline(always)]
fn gemv<const FUSED: bool>(out: &mut [f32], nz: &[(usize, f32)], w: &[f32]) {
    gemv_in::<FUSED>(out, Input::Sparse(nz), w)
}

/// A vector times a matrix, as [`gemv`], for inputs with few zeros (a state, a candidate
/// row): no index list to build, no branch per entry.
#[inline(always)]
fn gemv_dense<const FUSED: bool>(out: &mut [f32], x: &[f32], w: &[f32]) {
    gemv_in::<FUSED>(out, Input::Dense(x), w)
}

/// The rows to add: listed non-zero entries, or every entry of a dense vector.
#[derive(Clone, Copy)]
enum Input<'a> {
    Sparse(&'a [(usize, f32)]),
    Dense(&'a [f32]),
}

#[inline(always)]
fn gemv_in<const FUSED: bool>(out: &mut [f32], x: Input, w: &[f32]) {
    let cols = out.len();
    let mut start = gemv_blocks::<FUSED, 32>(out, 0, x, w, cols);
    start = gemv_blocks::<FUSED, 8>(out, start, x, w, cols);
    for (o, out) in out.iter_mut().enumerate().skip(start) {
        match x {
            Input::Sparse(nz) => nz.iter().for_each(|&(j, v)| *out += v * w[j * cols + o]),
            Input::Dense(d) => d.iter().enumerate().for_each(|(j, &v)| *out += v * w[j * cols + o]),
        }
    }
}

/// Columns from `start` in blocks of `B`; returns the first column not done.
#[inline(always)]
fn gemv_blocks<const FUSED: bool, const B: usize>(
    out: &mut [f32],
    mut start: usize,
    x: Input,
    w: &[f32],
    cols: usize,
) -> usize {
    while start + B <= cols {
        let mut acc: [f32; B] = out[start..start + B].try_into().unwrap();
        // SAFETY (both arms): every row index is a row of `w`: NativeStep::from_onnx checked
        // each weight's rows against the input it multiplies, and the index enumerates that
        // input.
        macro_rules! add_row {
            ($j:expr, $v:expr) => {{
                debug_assert!($j * cols + start + B <= w.len());
                let row = unsafe { &*w.as_ptr().add($j * cols + start).cast::<[f32; B]>() };
                for t in 0..B {
                    acc[t] = if FUSED { $v.mul_add(row[t], acc[t]) } else { acc[t] + $v * row[t] };
                }
            }};
        }
        match x {
            Input::Sparse(nz) => {
                for &(j, v) in nz {
                    add_row!(j, v);
                }
            }
            Input::Dense(d) => {
                for (j, &v) in d.iter().enumerate() {
                    add_row!(j, v);
                }
            }
        }
        out[start..start + B].copy_from_slice(&acc);
        start += B;
    }
    start
}

/// The non-zero entries of `x` (inputs are mostly one-hots and flags), with an index offset.
#[inline(always)]
fn nonzero(x: &[f32], offset: usize, nz: &mut Vec<(usize, f32)>) {
    nz.extend(x.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, &v)| (i + offset, v)));
}

/// e^x for the gates: Cephes' expf polynomial (within 2 ulp), written so loops of it
/// vectorise; libm's expf/tanhf were a quarter of a step.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let k = (x * std::f32::consts::LOG2_E).round();
    let r = x - k * 0.693_359_4 + k * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = p * r + c;
    }
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((k as i32 + 127) << 23) as u32)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

impl NativeStep {
    /// The network of a lean one-step graph, or an error saying why this graph is not one.
    pub fn from_onnx(m: &OnnxFile, k: usize) -> Result<NativeStep> {
        let ops: Vec<&str> = m.nodes.iter().map(|n| n.op_type.as_str()).collect();
        let pooled = [LEAN_OPS, POOL_OPS, HEAD_OPS].concat();
        let plain = [LEAN_OPS, HEAD_OPS].concat();
        let has_pool = if ops == pooled {
            true
        } else if ops == plain {
            false
        } else {
            bail!("not the lean one-step graph (operators {ops:?})");
        };
        let dims = |name: &str| -> Result<Vec<usize>> {
            match m.initializers.get(name) {
                Some(t) => Ok(t.dims.iter().map(|&d| d as usize).collect()),
                None => bail!("no initializer {name:?}"),
            }
        };
        let (gd, cd, h1) = (dims("w_gates")?, dims("w_cand")?, dims("w_h1")?);
        if gd.len() != 2 || cd.len() != 2 || h1.len() != 2 || gd[1] % 4 != 0 {
            bail!("unexpected weight shapes w_gates {gd:?} w_cand {cd:?} w_h1 {h1:?}");
        }
        let h = gd[1] / 4;
        if gd[0] <= h {
            bail!("w_gates {gd:?} leaves no step inputs for hidden size {h}");
        }
        let (s, c, d, d2) = (gd[0] - h, cd[0], cd[1], h1[1]);
        let p = if has_pool { dims("w_embed")?.get(1).copied().unwrap_or(0) } else { 0 };
        let (w_embed, w_pool) = if has_pool {
            (m.weights("w_embed", &[c, p])?.to_vec(), m.weights("w_pool", &[p, d])?.to_vec())
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(NativeStep {
            s,
            h,
            k,
            c,
            d,
            p,
            w_gates: m.weights("w_gates", &[s + h, 4 * h])?.to_vec(),
            b_gates: m.weights("b_gates", &[4 * h])?.to_vec(),
            w_state: m.weights("w_state", &[h, d])?.to_vec(),
            w_cand: m.weights("w_cand", &[c, d])?.to_vec(),
            w_embed,
            w_pool,
            w_h1: m.weights("w_h1", &[d, d2])?.to_vec(),
            b_h1: m.weights("b_h1", &[d2])?.to_vec(),
            w_h2: m.weights("w_h2", &[d2, 1])?.to_vec(),
            scratch: Scratch::default(),
        })
    }

    /// The LSTM cell alone: (h, c) -> (h', c') for one step; what a CPU's state needs when no
    /// ranking is wanted.
    pub fn advance(&mut self, step: &[f32], h: &[f32], c: &[f32], h_out: &mut [f32], c_out: &mut [f32]) {
        let mut hh = std::mem::take(&mut self.scratch.hh);
        self.prime(h, &mut hh);
        self.advance_cached(step, &hh, c, h_out, c_out);
        self.scratch.hh = hh;
    }

    /// `hh = b_gates + W_h·h`: the recurrent half of the gates, which depends on the state only.
    /// Computed once per switch, it serves that switch's successor and every pick ranked
    /// before it, each of which then adds only its few non-zero step inputs.
    pub fn prime(&mut self, h: &[f32], hh: &mut Vec<f32>) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { self.prime_avx2(h, hh) };
        }
        self.prime_body::<false>(h, hh)
    }

    /// [`NativeStep::advance`] from a [`NativeStep::prime`]d state.
    pub fn advance_cached(&mut self, step: &[f32], hh: &[f32], c: &[f32], h_out: &mut [f32], c_out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { self.advance_avx2(step, hh, c, h_out, c_out) };
        }
        self.advance_generic(step, hh, c, h_out, c_out)
    }

    /// Scores of the `k` slots given the new state `h` (absent slots -> ABSENT).
    pub fn score(&mut self, h: &[f32], cands: &[f32], scores: &mut [f32]) {
        self.score_only(h, cands, None, scores)
    }

    /// [`NativeStep::score`] computing only the slots `wanted` marks (the others get ABSENT):
    /// a policy needs the scores of the tasks it may dispatch, not of every candidate. The set
    /// summary still reads every present slot, so the wanted scores are the full graph's.
    pub fn score_only(&mut self, h: &[f32], cands: &[f32], wanted: Option<&[bool]>, scores: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { self.score_avx2(h, cands, wanted, scores) };
        }
        self.score_generic(h, cands, wanted, scores)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn prime_avx2(&mut self, h: &[f32], hh: &mut Vec<f32>) {
        self.prime_body::<true>(h, hh)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn advance_avx2(&mut self, step: &[f32], hh: &[f32], c: &[f32], h_out: &mut [f32], c_out: &mut [f32]) {
        self.advance_body::<true>(step, hh, c, h_out, c_out)
    }

    fn advance_generic(&mut self, step: &[f32], hh: &[f32], c: &[f32], h_out: &mut [f32], c_out: &mut [f32]) {
        self.advance_body::<false>(step, hh, c, h_out, c_out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn score_avx2(&mut self, h: &[f32], cands: &[f32], wanted: Option<&[bool]>, scores: &mut [f32]) {
        self.score_body::<true>(h, cands, wanted, scores)
    }

    fn score_generic(&mut self, h: &[f32], cands: &[f32], wanted: Option<&[bool]>, scores: &mut [f32]) {
        self.score_body::<false>(h, cands, wanted, scores)
    }

    #[inline(always)]
    fn prime_body<const F: bool>(&mut self, h: &[f32], hh: &mut Vec<f32>) {
        let (s, hd) = (self.s, self.h);
        hh.clear();
        hh.extend_from_slice(&self.b_gates);
        // The recurrent rows follow the step's in w_gates.
        gemv_dense::<F>(hh, &h[..hd], &self.w_gates[s * 4 * hd..]);
    }

    #[inline(always)]
    fn advance_body<const F: bool>(&mut self, step: &[f32], hh: &[f32], c: &[f32], h_out: &mut [f32], c_out: &mut [f32]) {
        let (s, hd) = (self.s, self.h);
        let sc = &mut self.scratch;
        sc.nz.clear();
        nonzero(&step[..s], 0, &mut sc.nz);
        sc.gates.clear();
        sc.gates.extend_from_slice(&hh[..4 * hd]);
        gemv::<F>(&mut sc.gates, &sc.nz, &self.w_gates);
        let g = &mut sc.gates;
        for x in &mut g[..3 * hd] {
            *x = sigmoid(*x);
        }
        for x in &mut g[3 * hd..] {
            *x = tanh(*x);
        }
        for j in 0..hd {
            c_out[j] = g[hd + j] * c[j] + g[j] * g[3 * hd + j];
        }
        for j in 0..hd {
            h_out[j] = g[2 * hd + j] * tanh(c_out[j]);
        }
    }

    #[inline(always)]
    fn score_body<const F: bool>(&mut self, h: &[f32], cands: &[f32], wanted: Option<&[bool]>, scores: &mut [f32]) {
        let (c, d, p) = (self.c, self.d, self.p);
        let sc = &mut self.scratch;
        // State and set-summary terms, shared by every slot.
        sc.base.clear();
        sc.base.resize(d, 0.0);
        gemv_dense::<F>(&mut sc.base, &h[..self.h], &self.w_state);
        if p > 0 {
            sc.pool.clear();
            sc.pool.resize(p, 0.0); // relu >= 0, so 0 is a neutral start for the max
            for row in cands.chunks_exact(c).take(self.k).filter(|r| r[0] > 0.0) {
                sc.e.clear();
                sc.e.resize(p, 0.0);
                gemv_dense::<F>(&mut sc.e, row, &self.w_embed);
                for (m, &e) in sc.pool.iter_mut().zip(&sc.e) {
                    *m = m.max(e);
                }
            }
            sc.nz.clear();
            nonzero(&sc.pool, 0, &mut sc.nz);
            gemv::<F>(&mut sc.base, &sc.nz, &self.w_pool);
        }
        for (slot, row) in cands.chunks_exact(c).take(self.k).enumerate() {
            if row[0] <= 0.0 || wanted.is_some_and(|w| !w[slot]) {
                scores[slot] = ABSENT;
                continue;
            }
            sc.z.clear();
            sc.z.extend_from_slice(&sc.base);
            gemv_dense::<F>(&mut sc.z, row, &self.w_cand);
            // relu(z), zeros and all: a branch per entry to skip them cost more than the
            // multiply-adds it saved.
            for v in &mut sc.z {
                *v = v.max(0.0);
            }
            sc.y.clear();
            sc.y.extend_from_slice(&self.b_h1);
            gemv_dense::<F>(&mut sc.y, &sc.z, &self.w_h1);
            scores[slot] = sc.y.iter().zip(&self.w_h2).map(|(&y, &w)| y.max(0.0) * w).sum();
        }
    }
}
