//! The exported next-task LSTM (model/export.py's one-step graph) behind ONNX Runtime.
//!
//! Interface: inputs `step` [B,S], `cands` [B,K,C], `h`/`c` [L,B,H]; outputs `scores` [B,K]
//! (absent slots -1e9), `h_out`/`c_out` [L,B,H]; f32, B = 1 here. The caller carries one
//! [`LstmState`] per CPU.
//!
//! Per step we copy into input tensors allocated once and call the C API's `Run` with output
//! tensors bound up front, so a step allocates nothing on our side; ort's safe `run()` builds
//! names, input views and output values every call (measured 27.7 vs 24.1 µs p50 per step).
//! One session, one thread, no parallel executor: the agent is single-threaded and the graph
//! is too small to gain from threads.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;

use anyhow::{anyhow, bail, Context, Result};
use ort::memory::Allocator;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{Tensor, TensorElementType};
use ort::AsPointer;

use super::ortlib;
use super::spec::{Spec, META_ENCODING, META_MODEL, META_VERSION};

pub const INPUTS: [&str; 4] = ["step", "cands", "h", "c"];
pub const OUTPUTS: [&str; 3] = ["scores", "h_out", "c_out"];

/// One CPU's recurrent state, `[layers * hidden]` each (batch 1).
#[derive(Clone, Debug, PartialEq)]
pub struct LstmState {
    pub h: Vec<f32>,
    pub c: Vec<f32>,
    /// The native step's cache: the gates' bias plus the recurrent term `W_h·h`, the same for
    /// the next switch and for any pick ranked before it (empty: not computed; ORT ignores it).
    pub hh: Vec<f32>,
}

pub struct OracleModel {
    path: PathBuf,
    spec: Spec,
    info: serde_json::Value,
    layers: usize,
    hidden: usize,
    session: Session,
    // The tensors own the memory the raw pointers below point into; they live as long as self.
    _inputs: [Tensor<f32>; 4],
    _outputs: [Tensor<f32>; 3],
    in_data: [*mut f32; 4],
    out_data: [*const f32; 3],
    in_values: [*const ort::sys::OrtValue; 4],
    out_values: [*mut ort::sys::OrtValue; 3],
    _names: Vec<CString>,
    in_names: [*const c_char; 4],
    out_names: [*const c_char; 3],
}

// The raw pointers point into tensors this struct owns; moving it to another thread is fine
// (it is not Sync: one caller at a time, as ONNX Runtime's Run requires).
unsafe impl Send for OracleModel {}

/// One thread, sequential executor, all graph optimisations, and the exporter's symbolic
/// `batch` dim fixed to 1 (the agent's batch) so ORT folds the shape arithmetic at load time
/// (measured: ~1 µs of ~25 per step).
fn open_session(
    env: &ort::environment::Environment,
    path: &Path,
) -> std::result::Result<Session, String> {
    let s = |e: ort::Error<ort::session::builder::SessionBuilder>| e.to_string();
    Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_intra_threads(1)
        .map_err(s)?
        .with_inter_threads(1)
        .map_err(s)?
        .with_parallel_execution(false)
        .map_err(s)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(s)?
        .with_dimension_override("batch", 1)
        .map_err(s)?
        .commit_from_file(path)
        .map_err(|e| e.to_string())
}

fn meta_error(path: &Path, key: &str) -> anyhow::Error {
    anyhow!(
        "{}: not an scx_oracle model (no {key} in its ONNX metadata); export one with \
         `python -m model export`",
        path.display()
    )
}

/// Static dims of a graph input; dynamic ones are -1.
fn input_dims(session: &Session, path: &Path, name: &str) -> Result<Vec<i64>> {
    let outlet = session
        .inputs()
        .iter()
        .find(|o| o.name() == name)
        .ok_or_else(|| {
            let have: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
            anyhow!(
                "{}: the graph has no input {name:?} (inputs: {have:?}); expected {INPUTS:?}",
                path.display()
            )
        })?;
    let ty = outlet.dtype();
    if ty.tensor_type() != Some(TensorElementType::Float32) {
        bail!(
            "{}: input {name:?} is {ty:?}, expected a float32 tensor",
            path.display()
        );
    }
    Ok(ty.tensor_shape().map(|s| s.to_vec()).unwrap_or_default())
}

impl OracleModel {
    /// Loads and checks a model: metadata (encoding version and features), graph inputs and
    /// outputs against the spec, then one warm-up step.
    pub fn load(path: impl AsRef<Path>) -> Result<OracleModel> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            bail!("{}: no such model file", path.display());
        }
        let env = ortlib::environment()?;
        let session = open_session(env, &path)
            .map_err(|e| anyhow!("{}: cannot load as an ONNX model: {e}", path.display()))?;

        let meta = session
            .metadata()
            .map_err(|e| anyhow!("{}: reading ONNX metadata: {e}", path.display()))?;
        let version = meta
            .custom(META_VERSION)
            .ok_or_else(|| meta_error(&path, META_VERSION))?;
        let spec_json = meta
            .custom(META_ENCODING)
            .ok_or_else(|| meta_error(&path, META_ENCODING))?;
        let spec = Spec::check_model(&path, &version, &spec_json)?;
        let info: serde_json::Value = match meta.custom(META_MODEL) {
            Some(s) => serde_json::from_str(&s)
                .with_context(|| format!("{}: bad {META_MODEL} metadata", path.display()))?,
            None => serde_json::Value::Null,
        };
        drop(meta);

        let (s, k, c) = (spec.step_width(), spec.candidates, spec.candidate_width());
        let step = input_dims(&session, &path, "step")?;
        let cands = input_dims(&session, &path, "cands")?;
        if step.len() != 2 || step[1] != s as i64 {
            bail!(
                "{}: input \"step\" has shape {step:?}, the encoding needs [batch, {s}]",
                path.display()
            );
        }
        if cands.len() != 3 || cands[1] != k as i64 || cands[2] != c as i64 {
            bail!(
                "{}: input \"cands\" has shape {cands:?}, the encoding needs [batch, {k}, {c}]",
                path.display()
            );
        }
        let h = input_dims(&session, &path, "h")?;
        if h.len() != 3 || input_dims(&session, &path, "c")? != h {
            bail!(
                "{}: inputs \"h\" and \"c\" must both be [layers, batch, hidden], got {h:?}",
                path.display()
            );
        }
        // Prefer the graph's static dims; fall back to the exporter's info for dynamic ones.
        let dim = |graph: i64, key: &str| -> Result<usize> {
            if graph > 0 {
                return Ok(graph as usize);
            }
            info.get(key)
                .and_then(|v| v.as_u64())
                .map(|v| v as usize)
                .ok_or_else(|| {
                    anyhow!(
                        "{}: {key} is dynamic in the graph and missing from {META_MODEL}",
                        path.display()
                    )
                })
        };
        let (layers, hidden) = (dim(h[0], "layers")?, dim(h[2], "hidden")?);
        for name in OUTPUTS {
            if !session.outputs().iter().any(|o| o.name() == name) {
                bail!(
                    "{}: the graph has no output {name:?}; expected {OUTPUTS:?}",
                    path.display()
                );
            }
        }

        let alloc = Allocator::default();
        let new = |shape: Vec<usize>| -> Result<Tensor<f32>> {
            let mut t = Tensor::<f32>::new(&alloc, shape)?;
            t.extract_tensor_mut().1.fill(0.0);
            Ok(t)
        };
        let mut inputs = [
            new(vec![1, s])?,
            new(vec![1, k, c])?,
            new(vec![layers, 1, hidden])?,
            new(vec![layers, 1, hidden])?,
        ];
        let mut outputs = [
            new(vec![1, k])?,
            new(vec![layers, 1, hidden])?,
            new(vec![layers, 1, hidden])?,
        ];
        let in_data = inputs.each_mut().map(|t| t.data_ptr_mut().cast::<f32>());
        let out_data = outputs.each_mut().map(|t| t.data_ptr().cast::<f32>());
        let in_values = inputs.each_ref().map(|t| t.ptr());
        let out_values = outputs.each_mut().map(|t| t.ptr_mut());
        let names: Vec<CString> = INPUTS
            .iter()
            .chain(OUTPUTS.iter())
            .map(|n| CString::new(*n).unwrap())
            .collect();
        let in_names = [0, 1, 2, 3].map(|i| names[i].as_ptr());
        let out_names = [4, 5, 6].map(|i| names[i].as_ptr());
        let mut model = OracleModel {
            path,
            spec,
            info,
            layers,
            hidden,
            session,
            _inputs: inputs,
            _outputs: outputs,
            in_data,
            out_data,
            in_values,
            out_values,
            _names: names,
            in_names,
            out_names,
        };
        // Warm-up: ORT plans memory on the first run; a graph that cannot run fails here.
        let mut state = model.zero_state();
        let (st, ca) = (vec![0.0; s], vec![0.0; k * c]);
        model.run(&st, &ca, &mut state).context("warm-up step")?;
        Ok(model)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model's encoding spec (its constants drive the encoder).
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The exporter's `scx_oracle.model` info (Null if absent).
    pub fn info(&self) -> &serde_json::Value {
        &self.info
    }

    pub fn layers(&self) -> usize {
        self.layers
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    pub fn zero_state(&self) -> LstmState {
        let n = self.layers * self.hidden;
        LstmState {
            h: vec![0.0; n],
            c: vec![0.0; n],
            hh: Vec::new(),
        }
    }

    /// One decision: scores for the `candidates` slots (absent ones -1e9); `state` is read
    /// and replaced by the new state.
    pub fn run(&mut self, step: &[f32], cands: &[f32], state: &mut LstmState) -> Result<&[f32]> {
        let n = self.layers * self.hidden;
        let k = self.spec.candidates;
        let want = [
            self.spec.step_width(),
            k * self.spec.candidate_width(),
            n,
            n,
        ];
        let got = [step.len(), cands.len(), state.h.len(), state.c.len()];
        if got != want {
            bail!(
                "{}: wrong input sizes (step, cands, h, c) = {got:?}, this model takes {want:?}",
                self.path.display()
            );
        }
        for (i, src) in [step, cands, &state.h, &state.c].into_iter().enumerate() {
            // SAFETY: in_data[i] points to a live CPU tensor of exactly want[i] f32s.
            unsafe { ptr::copy_nonoverlapping(src.as_ptr(), self.in_data[i], src.len()) };
        }
        let api = ort::api();
        // SAFETY: names, input and output values are owned by self and match the graph; the
        // outputs are preallocated with the graph's output shapes, so ORT writes into them.
        let status = unsafe {
            (api.Run)(
                self.session.ptr().cast_mut(),
                ptr::null(),
                self.in_names.as_ptr(),
                self.in_values.as_ptr(),
                self.in_values.len(),
                self.out_names.as_ptr(),
                self.out_names.len(),
                self.out_values.as_mut_ptr(),
            )
        };
        if !status.0.is_null() {
            // SAFETY: a non-null status is ours to read and release.
            let msg = unsafe { CStr::from_ptr((api.GetErrorMessage)(status.0)) }
                .to_string_lossy()
                .into_owned();
            unsafe { (api.ReleaseStatus)(status.0) };
            bail!("{}: inference failed: {msg}", self.path.display());
        }
        // SAFETY: out_data point to the preallocated [1,K] and [L,1,H] output tensors.
        unsafe {
            ptr::copy_nonoverlapping(self.out_data[1], state.h.as_mut_ptr(), n);
            ptr::copy_nonoverlapping(self.out_data[2], state.c.as_mut_ptr(), n);
            Ok(std::slice::from_raw_parts(self.out_data[0], k))
        }
    }
}
