//! Shared helpers for the VM integration tests: run one scenario through
//! scripts/vm-run and hand back its result JSON.
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Boots the VM for `scenario` and returns its result JSON. Panics with the
/// console log path when the harness itself fails: a VM test that cannot
/// run is a failure, never a skip.
pub fn run_scenario(scenario: &str, extra: &[&str]) -> Value {
    run_scenario_as(scenario, scenario, extra)
}

/// [`run_scenario`] with results under `target/vm-results/tests/LABEL/`, for tests that
/// run one scenario with different parameters. scripts/vm-run boots once more by itself when
/// the emulator lost a code patch before any result (`retried_after` in the JSON).
pub fn run_scenario_as(label: &str, scenario: &str, extra: &[&str]) -> Value {
    let root = repo_root();
    let out = root.join("target/vm-results/tests").join(label);
    let status = Command::new(root.join("scripts/vm-run"))
        .arg(scenario)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .current_dir(&root)
        .status()
        .expect("cannot start scripts/vm-run");
    let json_path = out.join(format!("{scenario}.json"));
    let log = out.join(format!("{scenario}.console.log"));
    assert!(status.success(), "scripts/vm-run {scenario} failed ({status}); console: {}", log.display());
    let text = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("no result {}: {e}", json_path.display()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON {}: {e}", json_path.display()));
    eprintln!("{scenario} result: {}", serde_json::to_string_pretty(&v).unwrap());
    v
}

pub fn u64_field(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("field {key} missing or not a count in {v}"))
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("field {key} missing or not a string in {v}"))
}

/// dmesg lines the harness flagged (BUG:, WARNING:, stalls...).
pub fn dmesg_errors(v: &Value) -> Vec<String> {
    v["dmesg_errors"]
        .as_array()
        .unwrap_or_else(|| panic!("dmesg_errors missing in {v}"))
        .iter()
        .map(|l| l.as_str().unwrap_or_default().to_string())
        .collect()
}

/// The agent's metric lines as the harness parsed them (`stats_lines`, `monitor_lines`).
pub fn metric_lines<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key].as_array().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// Sorted metric names of one metrics object (a summary's `metrics` or one parsed line).
pub fn metric_names(m: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        m.as_object().unwrap_or_else(|| panic!("not a metrics object: {m}")).keys().cloned().collect();
    names.sort();
    names
}

/// Checks shared by every scenario in which the agent ran and was stopped
/// cleanly: attached under our name, made real decisions, no ejection.
pub fn assert_clean_run(v: &Value, min_decisions: u64) {
    assert_eq!(v["timed_out"], Value::Bool(false), "VM timed out");
    assert_eq!(str_field(v, "state_while_running"), "enabled");
    assert!(str_field(v, "ops").starts_with("oracle"), "ops name: {}", v["ops"]);
    let decisions = u64_field(v, "userspace_decisions");
    assert!(decisions >= min_decisions, "only {decisions} userspace decisions (< {min_decisions})");
    assert_eq!(v["ejected"], Value::Bool(false), "scheduler was ejected: {}", v["exit_reason"]);
    assert_eq!(v["agent_exit_code"].as_i64(), Some(0), "agent exit code");
    assert_eq!(str_field(v, "state_after"), "disabled");
    let errors = dmesg_errors(v);
    assert!(errors.is_empty(), "dmesg errors: {errors:#?}");
}
