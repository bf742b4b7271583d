//! Boots the VM, runs the agent with the FIFO policy under a short workload.
use tests::{assert_clean_run, run_scenario, u64_field};

#[test]
fn smoke_enables_and_decides_in_userspace() {
    let v = run_scenario("smoke", &[]);
    assert_clean_run(&v, 1000);
    // Decisions really made in userspace, not BPF fast paths.
    assert!(u64_field(&v, "user_dispatches") >= 1000, "{v}");
    assert!(u64_field(&v, "userspace_decisions") > u64_field(&v, "direct_dispatches"), "{v}");
    assert_eq!(v["agent"]["policy"], "fifo");
    assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "workload failed");
}
