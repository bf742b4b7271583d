//! Host-side replay of a committed trace through the live model, the code path the `oracle`
//! policy runs in the agent: every event is stamped and observed (a switch steps its CPU's
//! LSTM state), and at every switch the CPU's next pick is prepared and ranked, as the policy
//! does when a CPU needs a task. No kernel needed.
//!
//! `cargo bench -p oracle --bench replay` (model: $ORACLE_MODEL or model/artifacts/oracle.onnx;
//! trace: $ORACLE_TRACE or data/small/traces/hackbench_pipe-2cpu-rep1.parquet). Both backends
//! run side by side in one process, alternating rounds, and one JSON line compares them:
//! model steps/s on one core (observed switches + decisions), decision cost p50/p99 (prepare +
//! rank), switch cost, RSS with the model loaded and the model file's size. Also written to
//! target/bench/replay.json.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oracle::events::load_sorted;
use oracle::live::LiveModel;
use oracle::timing::{rss_kib, Percentiles};
use oracle::{Backend, Scorer};
use trace::Event;

const ROUNDS: usize = 3;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root")
}

fn from_env(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| root().join(default), PathBuf::from)
}

#[derive(Default)]
struct Run {
    wall: Duration,
    model_steps: usize,
    decisions: Vec<Duration>,
    /// The two halves of a decision: encoding the question, and the model's ranking.
    prepares: Vec<Duration>,
    ranks: Vec<Duration>,
    switches: Vec<Duration>,
}

fn replay(live: &mut LiveModel, events: &[Event]) -> Run {
    let mut run = Run::default();
    let spec = live.scorer().expect("a model").spec().clone();
    let (width, col) = (spec.candidate_width(), spec.candidate_features.iter().position(|f| f == "woken_here").expect("woken_here feature"));
    let mut runnable = Vec::new();
    let start = Instant::now();
    for ev in events {
        let mut ev = ev.clone();
        live.stamp(&mut ev);
        let t0 = Instant::now();
        let observed = live.observe(&ev, false).expect("observe");
        let Some(o) = observed else { continue };
        run.switches.push(t0.elapsed());
        // The policy's question for this CPU: what runs after the task that just started?
        let t1 = Instant::now();
        // Eligible: the candidates runnable on this CPU (woken or preempted here), what the
        // policy's queue for this CPU holds (tasks wait in the queue of the CPU they woke on).
        let step = live.prepare(o.cpu, ev.ts_ns, Some("R"), None);
        let prepared = t1.elapsed();
        runnable.clear();
        runnable.extend(step.cands.chunks_exact(width).zip(&step.cand_pids).filter(|(r, _)| r[col] > 0.0).filter_map(|(_, p)| *p));
        let t2 = Instant::now();
        black_box(live.rank(|pid| runnable.contains(&pid)).expect("rank"));
        let ranked = t2.elapsed();
        run.decisions.push(prepared + ranked);
        run.prepares.push(prepared);
        run.ranks.push(ranked);
        run.model_steps += 2;
    }
    run.wall = start.elapsed();
    run
}

fn main() {
    let model_path = from_env("ORACLE_MODEL", "model/artifacts/oracle.onnx");
    let trace_path = from_env("ORACLE_TRACE", "data/small/traces/hackbench_pipe-2cpu-rep1.parquet");
    let (meta, events) = load_sorted(&trace_path).unwrap_or_else(|e| panic!("{e:#}"));
    let rss_before = rss_kib();
    let backends = [Backend::Native, Backend::Ort];
    // ORACLE_BACKEND=native profiles one backend alone (the JSON line then has no comparison).
    let only = std::env::var("ORACLE_BACKEND").ok();
    let load = |b| {
        let scorer = Scorer::load(&model_path, b).unwrap_or_else(|e| panic!("{e:#}"));
        LiveModel::new(scorer).and_then(|l| l.on_host(&meta)).expect("live model")
    };
    let mut parity = None;
    let mut rss_loaded = 0;
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        for (i, &b) in backends.iter().enumerate() {
            if only.as_deref().is_some_and(|o| !format!("{b:?}").eq_ignore_ascii_case(o)) {
                continue;
            }
            // A fresh model each round: every round replays the same work from zero state.
            let mut live = load(b);
            if round == 0 && b == Backend::Native {
                rss_loaded = rss_kib();
                parity = live.scorer().and_then(|s| s.parity()).map(|p| p.max_score_diff);
            }
            runs[i].push(replay(&mut live, &events));
        }
    }
    let summary = |rs: &[Run]| {
        let mut best = rs.iter().map(|r| r.model_steps as f64 / r.wall.as_secs_f64()).collect::<Vec<_>>();
        best.sort_by(f64::total_cmp);
        let all = |f: fn(&Run) -> &Vec<Duration>| Percentiles::of(&rs.iter().flat_map(|r| f(r).iter().copied()).collect::<Vec<_>>());
        let (d, s) = (all(|r| &r.decisions), all(|r| &r.switches));
        let (p, r) = (all(|r| &r.prepares), all(|r| &r.ranks));
        serde_json::json!({
            "steps_per_s_median": best[best.len() / 2],
            "decision_p50_us": d.p50, "decision_p99_us": d.p99, "decision_p999_us": d.p999,
            "encode_p50_us": p.p50, "rank_p50_us": r.p50,
            "switch_p50_us": s.p50, "switch_p99_us": s.p99,
            "decisions": d.count,
        })
    };
    if only.is_some() {
        for (b, rs) in backends.iter().zip(&runs).filter(|(_, rs)| !rs.is_empty()) {
            println!("{}", serde_json::json!({"bench": "replay", "backend": format!("{b:?}"), "result": summary(rs)}));
        }
        return;
    }
    let (native, ort) = (summary(&runs[0]), summary(&runs[1]));
    let ratio = native["steps_per_s_median"].as_f64().unwrap() / ort["steps_per_s_median"].as_f64().unwrap();
    let line = serde_json::json!({
        "bench": "replay",
        "trace": trace_path.display().to_string(),
        "events": events.len(),
        "rounds": ROUNDS,
        "native": native,
        "ort": ort,
        "native_over_ort_steps_per_s": ratio,
        "parity_max_score_diff": parity,
        "rss_kib_before_model": rss_before,
        "rss_kib_model_loaded": rss_loaded,
        "model_file_bytes": std::fs::metadata(&model_path).map(|m| m.len()).unwrap_or(0),
    });
    oracle::timing::write_bench_line("replay", &line);
}

