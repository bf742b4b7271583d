//! The native step against ONNX Runtime on real encoded steps of a committed trace, with each
//! CPU's state carried the way the agent carries it: same scores, same ranking.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oracle::events::load_sorted;
use oracle::rank::best;
use oracle::{Backend, Encoder, OracleModel, Scorer, Step};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn native_step_matches_onnx_runtime_on_a_real_trace() {
    let model = root().join("model/artifacts/oracle.onnx");
    let mut ort = OracleModel::load(&model).unwrap();
    let mut native = Scorer::load(&model, Backend::Native).unwrap();
    assert_eq!(native.backend(), "native");
    let (_, events) = load_sorted(&root().join("data/small/traces/hackbench_pipe-2cpu-rep1.parquet")).unwrap();
    let mut enc = Encoder::new(ort.spec().clone()).unwrap();
    let mut step = Step::zeroed(ort.spec());
    let (mut a, mut b) = (HashMap::new(), HashMap::new());
    let (mut steps, mut same_best, mut worst) = (0usize, 0usize, 0f32);
    for ev in events.iter() {
        if !enc.event_into(ev, &mut step) {
            continue;
        }
        let sa = a.entry(step.cpu).or_insert_with(|| ort.zero_state());
        let x = ort.run(&step.step, &step.cands, sa).unwrap().to_vec();
        let sb = b.entry(step.cpu).or_insert_with(|| native.zero_state());
        let y = native.run(&step.step, &step.cands, sb).unwrap();
        for (p, q) in x.iter().zip(y) {
            worst = worst.max((p - q).abs());
        }
        same_best += (best(&x) == best(y)) as usize;
        steps += 1;
        if steps == 4000 {
            break;
        }
    }
    assert_eq!(steps, 4000, "the trace has enough steps");
    assert!(worst < 1e-3, "max |ort - native| score difference {worst}");
    // Exact ties can break differently after rounding; anything more is a bug.
    assert!(same_best >= steps - 2, "{same_best} of {steps} top picks agree");
}

#[test]
fn auto_falls_back_to_ort_for_a_graph_it_does_not_know() {
    let dir = std::env::temp_dir().join(format!("native_parity_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The traced export (model/export.py --traced) is not the lean graph; a truncated file is
    // not a model at all. Only the first can load, and it must load in ORT.
    let bytes = std::fs::read(root().join("model/artifacts/oracle.onnx")).unwrap();
    let cut = dir.join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = Scorer::load(&cut, Backend::Auto).err().expect("a truncated model is refused");
    assert!(format!("{e:#}").contains("cut.onnx"), "{e:#}");
    let ort_only = Scorer::load(&root().join("model/artifacts/oracle.onnx"), Backend::Ort).unwrap();
    assert_eq!(ort_only.backend(), "ort");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn step_cost_times_the_backend_in_use_and_changes_nothing() {
    let model = root().join("model/artifacts/oracle.onnx");
    for backend in [Backend::Native, Backend::Ort] {
        let mut s = Scorer::load(&model, backend).unwrap();
        let (step, cands) = (vec![1.0; s.spec().step_width()], vec![0.5; s.spec().candidates * s.spec().candidate_width()]);
        let mut before = s.zero_state();
        let x = s.run(&step, &cands, &mut before).unwrap().to_vec();
        let cost = s.step_cost(8).unwrap();
        assert!(cost > std::time::Duration::ZERO, "{backend:?}: a ranking cannot be free");
        let mut after = s.zero_state();
        assert_eq!(s.run(&step, &cands, &mut after).unwrap(), &x[..], "{backend:?}: timing moved something");
        assert_eq!((before.h, before.c), (after.h, after.c));
    }
}
