//! Per-step inference cost of the exported model, the way the agent pays it: one `run` per
//! switch with the CPU's LSTM state carried. Steps are real ones (a trace from data/small).
//!
//! `cargo bench -p scx_oracle --bench inference` (model: $ORACLE_MODEL or
//! model/artifacts/oracle.onnx; trace: $ORACLE_TRACE or data/small/traces/stress_pipe-2cpu-rep1).
//! Besides criterion's estimate it times STEPS single calls with `Instant` and prints one JSON
//! line of percentiles, also written to target/bench/inference.json.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::Criterion;
use oracle::events::load_sorted;
use oracle::timing::Percentiles;
use oracle::{Encoder, LstmState, OracleModel, Step};

const STEPS: usize = 20_000;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

fn from_env(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| root().join(default), PathBuf::from)
}

fn encode(trace: &Path, model: &OracleModel) -> Vec<Step> {
    let (_, events) = load_sorted(trace).unwrap_or_else(|e| panic!("{e:#}"));
    let mut enc = Encoder::new(model.spec().clone()).expect("model spec");
    events
        .iter()
        .filter_map(|e| enc.event(e))
        .take(STEPS)
        .collect()
}

/// One step with its CPU's state carried, as the agent does.
fn step(model: &mut OracleModel, states: &mut HashMap<u32, LstmState>, s: &Step) -> f32 {
    let state = states.entry(s.cpu).or_insert_with(|| model.zero_state());
    model.run(&s.step, &s.cands, state).expect("inference")[0]
}

fn main() {
    let model_path = from_env("ORACLE_MODEL", "model/artifacts/oracle.onnx");
    let trace = from_env(
        "ORACLE_TRACE",
        "data/small/traces/stress_pipe-2cpu-rep1.parquet",
    );
    if !model_path.is_file() {
        println!(
            "inference bench skipped: no model at {} (set ORACLE_MODEL=FILE.onnx or run \
             scripts/train-default-model)",
            model_path.display()
        );
        return;
    }
    let mut model = OracleModel::load(&model_path).unwrap_or_else(|e| panic!("{e:#}"));
    let steps = encode(&trace, &model);
    assert!(!steps.is_empty(), "{}: no switch steps", trace.display());

    let mut c = Criterion::default().configure_from_args();
    let (mut states, mut i) = (HashMap::new(), 0);
    c.bench_function("inference_step", |b| {
        b.iter(|| {
            let s = &steps[i % steps.len()];
            i += 1;
            black_box(step(&mut model, &mut states, black_box(s)))
        })
    });
    c.final_summary();

    // Single calls timed one by one: the tail matters to a scheduler, not just the mean.
    let mut states = HashMap::new();
    let mut times = Vec::with_capacity(STEPS);
    for s in steps.iter().cycle().take(STEPS) {
        let t0 = Instant::now();
        black_box(step(&mut model, &mut states, s));
        times.push(t0.elapsed());
    }
    let l = Percentiles::of(&times);
    let line = serde_json::json!({
        "bench": "inference_step",
        "p50_us": l.p50, "p99_us": l.p99, "p999_us": l.p999, "mean_us": l.mean,
        "steps": l.count,
        "model": model_path.display().to_string(), "trace": trace.display().to_string(),
        "hidden": model.hidden(), "layers": model.layers(),
    });
    println!("{line}");
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join("bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(dir.join("inference.json"), format!("{line}\n")).expect("inference.json");
}
