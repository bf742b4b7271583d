//! The smoke workload under the vruntime policy and the agent's two BPF options, each checked
//! by the counter the option changes; nice levels sharing a CPU by their weights.
use serde_json::Value;
use tests::{assert_clean_run, run_scenario_as, u64_field};

/// The smoke scenario under vruntime with one agent flag: a clean run, decided by vruntime.
fn vruntime_smoke_with(flag: &str) -> Value {
    let label = format!("vruntime{flag}");
    let v = run_scenario_as(&label, "smoke", &["--param", "policy=vruntime", "--param", &format!("agent_flags={flag}")]);
    assert_clean_run(&v, 1000);
    assert_eq!(v["agent"]["policy"], "vruntime");
    assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "workload failed");
    v
}

#[test]
fn vruntime_with_direct_idle_dispatches_idle_wakeups_in_bpf() {
    let v = vruntime_smoke_with("--direct-idle");
    // Without --direct-idle only kernel threads are dispatched in BPF.
    let direct = u64_field(&v, "direct_dispatches");
    let kthreads = u64_field(&v, "kthread_dispatches");
    assert!(direct >= kthreads + 10, "--direct-idle: {direct} direct dispatches, {kthreads} of them kthreads");
}

#[test]
fn lazy_agent_never_preempts_a_cpu() {
    let v = vruntime_smoke_with("--lazy-agent");
    // The default preempts thousands of times under this load (see the smoke run's agent_preempts).
    assert_eq!(u64_field(&v, "agent_preempts"), 0, "--lazy-agent preempted CPUs for the agent");
}

/// The fairness scenario (nice 0 and nice 5 busy loops on one CPU, 5 s): their CPU-time ratio.
fn nice_share(label: &str, policy: &str, flags: Option<&str>) -> f64 {
    let policy = format!("policy={policy}");
    let mut args = vec!["--param", policy.as_str()];
    let flags = flags.map(|f| format!("agent_flags={f}"));
    if let Some(f) = &flags {
        args.extend(["--param", f.as_str()]);
    }
    let v = run_scenario_as(label, "fairness", &args);
    assert_clean_run(&v, 100);
    let ratio = &v["facts"]["fairness_share_ratio"];
    ratio.as_f64().or_else(|| ratio.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{label}: no share ratio in {}", v["facts"]))
}

#[test]
fn nice_levels_share_a_cpu_by_weight_because_slices_end_on_time() {
    // Weights 1024 : 335 = 3.06. Slices follow the weight in every policy (5 ms and 1.6 ms);
    // BPF's per-CPU timer ends them on time. At the tick (4 ms at HZ=250) the same slices last
    // 4 and 8 ms: 2:1, what the timer fixes. Under TCG the timer fires late by an amount that
    // depends on the host, so the gain over the tick is judged in the same run. Measured: tick
    // 1.93-1.99; timer 2.79-2.90 (22 A/B rounds on one host), 2.42-2.54 (8 runs on a slower one).
    let tick = nice_share("fairness-tick", "vruntime", Some("--tick-slices"));
    assert!(tick < 2.4, "--tick-slices: nice 0 : nice 5 = {tick:.2}; the tick should hold it near 2");
    for policy in ["fifo", "vruntime"] {
        let r = nice_share(&format!("fairness-{policy}"), policy, None);
        assert!((2.2..=3.6).contains(&r), "{policy}: nice 0 : nice 5 = {r:.2}, weights 3.06");
        // The smallest gain measured was 0.46; a timer that no longer ends slices falls to the
        // tick's ratio (a gain near 0).
        assert!(r - tick >= 0.3, "{policy}: nice 0 : nice 5 = {r:.2}, at the tick {tick:.2}: the timer gains too little");
    }
}
