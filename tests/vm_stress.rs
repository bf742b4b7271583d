//! The scx CI recipe: stress-ng CPU + fork + affinity churn for 45 s.
use tests::{assert_clean_run, run_scenario, u64_field};

#[test]
fn stress_recipe_survives_without_ejection() {
    let v = run_scenario("stress", &[]);
    assert_clean_run(&v, 5000);
    assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "stress-ng failed");
    // The stall watchdog would have logged it; double check the counters.
    assert_eq!(u64_field(&v, "malformed_records"), 0);
}
