//! kill -9 of the agent under load: the kernel must fall back to the fair
//! class and the workload must still finish.
use serde_json::Value;
use tests::{dmesg_errors, run_scenario, str_field};

#[test]
fn killed_agent_returns_to_fair_class() {
    let v = run_scenario("kill", &[]);
    assert_eq!(v["timed_out"], Value::Bool(false), "VM timed out");
    assert_eq!(str_field(&v, "state_while_running"), "enabled");
    // The kill landed on an attached, living agent; not on one already gone.
    let facts = &v["facts"];
    assert_eq!(facts["agent_alive_before_kill"], Value::Bool(true), "agent was dead before the kill: {facts}");
    assert_eq!(facts["state_before_kill"], "enabled", "scheduler not enabled at the kill: {facts}");
    assert_eq!(facts["agent_killed"], Value::Bool(true), "SIGKILL not sent: {facts}");
    assert_eq!(str_field(&v, "state_after"), "disabled");
    assert_eq!(v["workload_exit_code"].as_i64(), Some(0), "workload did not finish cleanly");
    let errors = dmesg_errors(&v);
    assert!(errors.iter().all(|l| !l.contains("BUG:") && !l.contains("WARNING:")), "{errors:#?}");
}
