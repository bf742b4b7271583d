//! The smoke workload under the vruntime policy and the agent's two BPF options, each checked
//! by the counter the option changes.
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
