//! The run summary: logged at exit and written as JSON (`--summary-json`) for the VM tests.
//! Its `metrics` are the one [`Metrics`] definition, over the whole run.
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use trace::atomic::write_atomic;

use crate::bpf_scheduler::ExitInfo;
use crate::stats::Metrics;

#[derive(Debug, Serialize)]
pub struct Summary {
    /// sched_ext ops name as the kernel reported it while attached.
    pub ops: String,
    pub policy: String,
    /// What the policy said of itself: its model and the backend it ran in (the hand rule...).
    pub policy_detail: Option<String>,
    pub runtime_s: f64,
    /// True when the kernel threw the scheduler out (error, stall, BPF error).
    pub ejected: bool,
    pub exit_kind: String,
    pub exit_reason: String,
    pub exit_message: String,
    pub metrics: Metrics,
}

impl Summary {
    pub fn new(ops: String, policy: &str, policy_detail: Option<String>, metrics: Metrics, exit: &ExitInfo) -> Self {
        Summary {
            ops,
            policy: policy.to_string(),
            policy_detail,
            runtime_s: metrics.at_s,
            ejected: exit.ejected,
            exit_kind: exit.kind_name.to_string(),
            exit_reason: exit.reason.clone(),
            exit_message: exit.message.clone(),
            metrics,
        }
    }

    /// The closing log line.
    pub fn describe(&self) -> String {
        let m = &self.metrics;
        let message = if self.exit_message.is_empty() { String::new() } else { format!(" ({})", self.exit_message) };
        format!(
            "detached after {:.1} s: {} userspace decisions ({}/s), enqueue->dispatch p50 {} us p99 {} us; \
             exit: {} {}{message}",
            self.runtime_s,
            m.userspace_decisions,
            m.decisions_per_s,
            m.enqueue_to_dispatch_p50_us,
            m.enqueue_to_dispatch_p99_us,
            self.exit_kind,
            self.exit_reason,
        )
    }

    /// Written whole or not at all (FILE.partial, then rename).
    pub fn write_json(&self, path: &Path) -> Result<()> {
        write_atomic(path, (serde_json::to_string_pretty(self)? + "\n").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scx_stats::Meta;

    #[test]
    fn json_carries_every_metric_under_its_name() {
        let exit = ExitInfo {
            kind_name: "unregistered",
            reason: "unregistered from user space".into(),
            message: String::new(),
            ejected: false,
        };
        let metrics = Metrics { drain_errors: 2, congested: 1, at_s: 3.0, ..Default::default() };
        let v = serde_json::to_value(Summary::new("oracle".into(), "fifo", None, metrics, &exit)).unwrap();
        let mut names: Vec<&String> = v["metrics"].as_object().unwrap().keys().collect();
        names.sort();
        let declared: Vec<String> = Metrics::meta().fields.keys().cloned().collect();
        assert_eq!(names, declared.iter().collect::<Vec<_>>());
        assert_eq!((v["metrics"]["drain_errors"].as_u64(), v["runtime_s"].as_f64()), (Some(2), Some(3.0)));
    }
}
