//! The run summary: printed at exit and written as JSON for the VM tests.
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::bpf_scheduler::{Counters, ExitInfo};
use crate::latency::Percentiles;

#[derive(Debug, Serialize)]
pub struct Summary {
    /// sched_ext ops name as the kernel reported it while attached.
    pub ops: String,
    pub policy: String,
    pub runtime_s: f64,
    /// Decisions the agent made and sent back to the kernel.
    pub userspace_decisions: u64,
    /// Of those, applied by ops.dispatch (the rest were stale or pending).
    pub user_dispatches_applied: u64,
    /// Tasks dispatched in BPF without the agent (per-CPU kthreads, ...).
    pub direct_dispatches: u64,
    pub kthread_dispatches: u64,
    pub congestion_fallbacks: u64,
    pub stale_dropped: u64,
    pub bounced: u64,
    pub queued_to_agent: u64,
    pub agent_runs: u64,
    pub heartbeats: u64,
    pub agent_preempts: u64,
    /// Decisions that found the user ring full and were retried.
    pub ring_full_retries: u64,
    pub malformed_records: u64,
    pub decisions_per_s: f64,
    /// Kernel clock from ops.enqueue() to the decision applied in ops.dispatch().
    pub enqueue_to_dispatch_ns: Percentiles,
    /// Agent time inside Policy::pick(), per decision.
    pub policy_ns: Percentiles,
    pub ejected: bool,
    pub exit_kind: String,
    pub exit_reason: String,
    pub exit_message: String,
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ops: String,
        policy: &str,
        runtime_s: f64,
        decisions: u64,
        ring_full_retries: u64,
        malformed_records: u64,
        c: &Counters,
        latency: Percentiles,
        policy_ns: Percentiles,
        exit: &ExitInfo,
    ) -> Self {
        Summary {
            ops,
            policy: policy.to_string(),
            runtime_s,
            userspace_decisions: decisions,
            user_dispatches_applied: c.user_dispatches,
            direct_dispatches: c.direct_dispatches,
            kthread_dispatches: c.kthread_dispatches,
            congestion_fallbacks: c.congested,
            stale_dropped: c.stale_dropped,
            bounced: c.bounced,
            queued_to_agent: c.queued,
            agent_runs: c.agent_dispatches,
            heartbeats: c.heartbeats,
            agent_preempts: c.agent_preempts,
            ring_full_retries,
            malformed_records,
            decisions_per_s: if runtime_s > 0.0 { decisions as f64 / runtime_s } else { 0.0 },
            enqueue_to_dispatch_ns: latency,
            policy_ns,
            ejected: exit.ejected,
            exit_kind: exit.kind_name.to_string(),
            exit_reason: exit.reason.clone(),
            exit_message: exit.message.clone(),
        }
    }

    /// Writes atomically (temp file + rename): a reader never sees half a file.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.partial");
        let body = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(&tmp, body).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
    }
}
