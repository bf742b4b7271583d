//! `scx_oracle trace` on the kernels researchers record on, not only the VM's 7.3: Debian 12's
//! stock 6.1 (CFS, no `bpf_rdonly_cast`: the tracer's probe-read path, and an older verifier)
//! and 6.12 (EEVDF), neither with sched_ext. Each boots the `collect` scenario under the fair
//! class and records hackbench over pipes and stress-ng's fork storm for 2 s.
//! 6.1's verifier once refused the whole tracer (an unbounded ring-buffer write length).
use std::process::Command;

use serde_json::Value;
use tests::{repo_root, run_scenario_as, str_field, u64_field};

#[test]
fn tracer_records_on_debian_6_1_and_6_12() {
    for series in ["6.1", "6.12"] {
        let kernel = format!("debian:{series}");
        let v = run_scenario_as(
            &format!("collect-{series}"),
            "collect",
            &["--kernel", &kernel, "--param", "duration=2", "--param", "workloads=hackbench_pipe,stress_fork"],
        );
        assert_eq!(v["timed_out"], Value::Bool(false), "{series}: VM timed out");
        let release = str_field(&v, "kernel_release");
        assert!(release.starts_with(&format!("{series}.")), "{series}: booted {release}");
        let results = std::path::PathBuf::from(str_field(&v, "results_dir"));
        let log = std::fs::read_to_string(results.join("collect.log")).unwrap_or_default();
        // workload_exit_code folds in every tracer's exit code (vm/scenarios/collect.sh).
        assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "{series}: {log}");
        for w in ["hackbench_pipe", "stress_fork"] {
            let trace = results.join(format!("traces/{w}-2cpu-rep1.parquet"));
            let out = Command::new(repo_root().join("target/release/scx_oracle"))
                .args(["stats", "--json"])
                .arg(&trace)
                .output()
                .expect("cannot run scx_oracle stats");
            assert!(out.status.success(), "{series} {w}: {}", String::from_utf8_lossy(&out.stderr));
            let s: Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
            let s = &s[0];
            assert_eq!(u64_field(s, "events_lost"), 0, "{series} {w}: {s}");
            let by = &s["events_by_type"];
            for (kind, min) in [("switch", 300), ("wakeup", 100), ("wakeup_new", 20), ("exit", 20)] {
                assert!(by[kind].as_u64().unwrap_or(0) >= min, "{series} {w}: {kind} {by}");
            }
        }
    }
}
