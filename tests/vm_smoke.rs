//! Boots the VM, runs the agent with the FIFO policy under a short workload, and reads its
//! metrics three ways: the --stats lines, `run --monitor` from a second process, the summary.
use serde_json::Value;
use tests::{assert_clean_run, metric_lines, metric_names, run_scenario, run_scenario_as, u64_field};

#[test]
fn smoke_enables_and_decides_in_userspace() {
    let v = run_scenario("smoke", &[]);
    assert_clean_run(&v, 1000);
    // Decisions really made in userspace, not BPF fast paths.
    assert!(u64_field(&v, "user_dispatches") >= 1000, "{v}");
    assert!(u64_field(&v, "userspace_decisions") > u64_field(&v, "direct_dispatches"), "{v}");
    assert_eq!(v["agent"]["policy"], "fifo");
    assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "workload failed");
    monitor_matches_stats_line_and_summary(&v);
}

/// `run --monitor 1` attached to the running agent printed the metrics the agent's own
/// --stats lines and its summary JSON carry, under the same names, with live values.
fn monitor_matches_stats_line_and_summary(v: &Value) {
    assert_eq!(v["facts"]["monitor_exit_code"].as_i64(), Some(0), "monitor failed");
    let summary = metric_names(&v["metrics"]);
    assert!(summary.iter().any(|n| n == "drain_errors"), "{summary:?}");
    let stats = metric_lines(v, "stats_lines");
    let monitor = metric_lines(v, "monitor_lines");
    assert!(stats.len() >= 3, "{} --stats lines", stats.len());
    assert!(monitor.len() >= 3, "{} monitor lines: the monitor never reached the agent", monitor.len());
    for line in stats.iter().chain(monitor) {
        assert_eq!(metric_names(line), summary, "line {line} vs summary metrics");
    }
    // A live agent: decisions grew between monitor requests and stayed within the final total.
    let decided: Vec<u64> = monitor.iter().map(|l| u64_field(l, "userspace_decisions")).collect();
    assert!(decided.windows(2).all(|w| w[0] <= w[1]) && decided.first() < decided.last(), "{decided:?}");
    assert!(*decided.last().unwrap() <= u64_field(v, "userspace_decisions"), "{decided:?}");
}

/// The scheduler on the oldest sched_ext kernel Debian ships (6.16, trixie-backports), not only
/// on the VM's 7.3: built against 7.3's headers, it must load and decide where kfuncs and ops
/// fields are older.
#[test]
fn smoke_on_debian_6_16() {
    let v = run_scenario_as("smoke-6.16", "smoke", &["--kernel", "debian:6.16"]);
    assert!(v["kernel_release"].as_str().unwrap_or_default().starts_with("6.16."), "{}", v["kernel_release"]);
    assert_clean_run(&v, 1000);
    assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "workload failed");
}
