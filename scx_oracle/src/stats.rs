//! The agent's metrics, declared once. Everything that reports them derives from [`Metrics`]:
//! the `--stats` line ([`Metrics::line`]), the stats server that `run --monitor` reads
//! (scx_stats, the sched_ext convention), the summary JSON and, through it, the VM harness.
//!
//! Counters are totals since attach. Rates and latency percentiles cover a window: the last
//! `--stats` interval, the time since a monitor's previous request, or the whole run in the
//! summary. BPF counters keep the names of `struct oracle_counters` in bpf/intf.h.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use scx_stats::prelude::*;
use scx_stats_derive::Stats;
use serde::{Deserialize, Serialize};

use crate::latency::Histogram;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
#[stat(top, desc = "scx_oracle agent metrics")]
pub struct Metrics {
    #[stat(desc = "seconds since the scheduler attached")]
    pub at_s: f64,
    #[stat(desc = "seconds covered by the rates and percentiles below")]
    pub window_s: f64,

    #[stat(desc = "decisions the agent sent to the kernel")]
    pub userspace_decisions: u64,
    #[stat(desc = "userspace decisions per second over the window")]
    pub decisions_per_s: f64,
    #[stat(desc = "tasks the agent holds, undecided or waiting for ring space (gauge)")]
    pub pending: u64,
    #[stat(desc = "decisions that found the user ring full and were retried")]
    pub ring_full_retries: u64,
    #[stat(desc = "queued-ring records too short to decode")]
    pub malformed_records: u64,
    #[stat(desc = "agent resident memory, KiB (gauge; locked, model included)")]
    pub rss_kib: u64,

    #[stat(desc = "BPF: tasks sent to the agent")]
    pub queued: u64,
    #[stat(desc = "BPF: agent decisions applied in ops.dispatch")]
    pub user_dispatches: u64,
    #[stat(desc = "BPF: tasks dispatched in BPF without the agent")]
    pub direct_dispatches: u64,
    #[stat(desc = "BPF: of the direct dispatches, kernel threads")]
    pub kthread_dispatches: u64,
    #[stat(desc = "BPF: queued ring full, task sent straight to the shared DSQ")]
    pub congested: u64,
    #[stat(desc = "BPF: decisions dropped because the task was no longer waiting")]
    pub stale_dropped: u64,
    #[stat(desc = "BPF: decisions whose target CPU the task may not use (shared DSQ instead)")]
    pub bounced: u64,
    #[stat(desc = "BPF: times the agent itself was put on a CPU")]
    pub agent_dispatches: u64,
    #[stat(desc = "BPF: heartbeat timer kicks of an idle-looking agent")]
    pub heartbeats: u64,
    #[stat(desc = "BPF: CPUs preempted to run a parked agent")]
    pub agent_preempts: u64,
    #[stat(desc = "BPF: bpf_user_ringbuf_drain() failures")]
    pub drain_errors: u64,
    #[stat(desc = "BPF: drains that found another CPU draining (-EBUSY; not failures)")]
    pub drain_busy: u64,
    #[stat(desc = "BPF: agent woken because a CPU's queue ran dry while it held tasks")]
    pub refill_wakeups: u64,
    #[stat(desc = "BPF: the agent's helper threads (reload, stats, writer) placed without it")]
    pub agent_thread_dispatches: u64,
    #[stat(desc = "BPF: slices ended on time by the per-CPU slice timer (not at the next tick)")]
    pub slice_timer_ends: u64,
    #[stat(desc = "BPF: CPUs preempted so a woken task need not wait out a running slice")]
    pub wakeup_preempts: u64,
    #[stat(desc = "BPF: running slices cut to end --wakeup-preempt-us after they began, for a woken task")]
    pub wakeup_slice_cuts: u64,

    #[stat(desc = "kernel-measured enqueue -> dispatch latency p50 (us) over the window")]
    pub enqueue_to_dispatch_p50_us: f64,
    #[stat(desc = "enqueue -> dispatch latency p90 (us)")]
    pub enqueue_to_dispatch_p90_us: f64,
    #[stat(desc = "enqueue -> dispatch latency p99 (us)")]
    pub enqueue_to_dispatch_p99_us: f64,
    #[stat(desc = "enqueue -> dispatch latency max (us)")]
    pub enqueue_to_dispatch_max_us: f64,
    #[stat(desc = "agent time in Policy::pick per decision, p50 (us) over the window")]
    pub pick_p50_us: f64,
    #[stat(desc = "Policy::pick time p99 (us)")]
    pub pick_p99_us: f64,
    #[stat(desc = "Policy::pick time max (us)")]
    pub pick_max_us: f64,
    // Policy-specific metrics, zero for policies that do not report them: the policy fills
    // them in Policy::report (see policy/mod.rs).
    #[stat(desc = "tasks a policy holds back until a CPU needs one (gauge; oracle policies)")]
    pub held: u64,
    #[stat(desc = "scheduler events (switch, wakeup, migrate, exit) the policy observed")]
    pub events_observed: u64,
    #[stat(desc = "scheduler events lost in the BPF rings before the policy saw them")]
    pub events_lost: u64,
    #[stat(desc = "events stamped with the latest time seen because they arrived late")]
    pub events_reordered: u64,
    #[stat(desc = "decisions made by the ranker: the model (oracle) or the rule (recent_wakeup)")]
    pub model_decisions: u64,
    #[stat(desc = "decisions that fell back to vruntime order, all reasons")]
    pub fallbacks: u64,
    #[stat(desc = "fallbacks: ranking over --budget-us, or skipped after a run of those")]
    pub fallback_over_budget: u64,
    #[stat(desc = "fallbacks: the model failed to run")]
    pub fallback_model_error: u64,
    #[stat(desc = "fallbacks: no waiting task of the CPU among the model's candidate slots")]
    pub fallback_not_in_candidates: u64,
    #[stat(desc = "fallbacks: a task waited longer than --max-wait-ms")]
    pub fallback_starving: u64,
    #[stat(desc = "fallbacks: an idle CPU took a task waiting for a busy one")]
    pub fallback_steal: u64,
    #[stat(desc = "share of model decisions vruntime would also have made")]
    pub agreement_with_vruntime: f64,
    #[stat(desc = "one ranking (encode the question + run the model) p50 (us), since attach")]
    pub inference_p50_us: f64,
    #[stat(desc = "one ranking p99 (us), since attach")]
    pub inference_p99_us: f64,
    #[stat(desc = "the most one ranking may take (us): --budget-us, or the default from its cost here")]
    pub decision_budget_us: u64,
    #[stat(desc = "tasks sent ahead to a CPU, never seen running there, given up on")]
    pub ahead_expired: u64,
    #[stat(desc = "model files reloaded on SIGHUP")]
    pub model_reloads: u64,
    #[stat(desc = "SIGHUP reloads refused (bad file): the old model kept deciding")]
    pub model_reload_failures: u64,
}

/// What the scheduling loop hands out: cumulative totals, plus the histograms a window
/// needs. Sent over the stats server's channel, so it must be cheap to take.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Counters, gauges and `at_s`; the window fields are left zero.
    pub totals: Metrics,
    pub dispatch_latency: Histogram,
    pub pick_latency: Histogram,
}

/// Metrics keep ms resolution for seconds and ns resolution for µs.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Sample {
    /// Metrics for the window from `earlier` (a sample of the same run, or
    /// `Sample::default()` for the whole run) to `self`.
    pub fn window_since(&self, earlier: &Sample) -> Metrics {
        let window_s = (self.totals.at_s - earlier.totals.at_s).max(0.0);
        let decided = self.totals.userspace_decisions.saturating_sub(earlier.totals.userspace_decisions);
        let lat = self.dispatch_latency.since(&earlier.dispatch_latency).percentiles();
        let pick = self.pick_latency.since(&earlier.pick_latency).percentiles();
        Metrics {
            window_s: round3(window_s),
            decisions_per_s: if window_s > 0.0 { (decided as f64 / window_s).round() } else { 0.0 },
            enqueue_to_dispatch_p50_us: round3(lat.p50),
            enqueue_to_dispatch_p90_us: round3(lat.p90),
            enqueue_to_dispatch_p99_us: round3(lat.p99),
            enqueue_to_dispatch_max_us: round3(lat.max),
            pick_p50_us: round3(pick.p50),
            pick_p99_us: round3(pick.p99),
            pick_max_us: round3(pick.max),
            ..self.totals.clone()
        }
    }
}

impl Metrics {
    /// One line, `name=value` for every metric in declaration order: the `--stats` line and
    /// what `--monitor` prints.
    pub fn line(&self) -> String {
        // serde writes fields in declaration order, and every value is a plain number.
        let json = serde_json::to_string(self).expect("metrics serialize");
        let body = json.trim_start_matches('{').trim_end_matches('}');
        let pairs: Vec<String> = body.split(',').map(|kv| kv.replacen("\":", "=", 1).replace('"', "")).collect();
        pairs.join(" ")
    }
}

/// The stats server's data: each client gets, per request, the window since its previous
/// request (scx_rustland's delta convention). The scheduling loop answers `()` with a
/// [`Sample`] over the server's crossbeam channels.
pub fn server_data() -> StatsServerData<(), Sample> {
    let open: Box<dyn StatsOpener<(), Sample>> = Box::new(move |(req, res)| {
        req.send(())?;
        let mut prev = res.recv()?;
        let read: Box<dyn StatsReader<(), Sample>> = Box::new(move |_args, (req, res)| {
            req.send(())?;
            let now = res.recv()?;
            let m = now.window_since(&prev);
            prev = now;
            m.to_json()
        });
        Ok(read)
    });
    StatsServerData::new().add_meta(Metrics::meta()).add_ops("top", StatsOps { open, close: None })
}

/// `run --monitor SECS`: print a running agent's metrics every SECS until SIGINT/SIGTERM.
pub fn monitor(every: Duration, shutdown: Arc<AtomicBool>) -> Result<()> {
    scx_utils::monitor_stats::<Metrics>(
        &[],
        every,
        || shutdown.load(Ordering::Relaxed),
        |m| {
            println!("[{:7.1}s] {}", m.at_s, m.line());
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_names() -> Vec<String> {
        Metrics::meta().fields.keys().cloned().collect()
    }

    #[test]
    fn line_names_every_declared_metric() {
        let mut names: Vec<String> =
            Metrics::default().line().split(' ').map(|kv| kv.split('=').next().unwrap().to_string()).collect();
        assert_eq!(names[0], "at_s", "declaration order");
        names.sort();
        assert_eq!(names, field_names());
    }

    #[test]
    fn line_values_match_the_fields() {
        let m = Metrics { userspace_decisions: 42, drain_errors: 3, pick_p99_us: 1.5, ..Default::default() };
        let line = m.line();
        for want in ["userspace_decisions=42", "drain_errors=3", "pick_p99_us=1.5"] {
            assert!(line.split(' ').any(|kv| kv == want), "{want} not in {line}");
        }
    }

    #[test]
    fn window_rates_and_latency_cover_only_the_window() {
        let mut a = Sample::default();
        a.totals.at_s = 1.0;
        a.totals.userspace_decisions = 100;
        a.dispatch_latency.record(1_000_000);
        let mut b = a.clone();
        b.totals.at_s = 3.0;
        b.totals.userspace_decisions = 300;
        b.totals.drain_errors = 7;
        b.dispatch_latency.record(2_000);
        let m = b.window_since(&a);
        assert_eq!((m.window_s, m.decisions_per_s), (2.0, 100.0));
        assert!((2.0..=2.5).contains(&m.enqueue_to_dispatch_max_us), "{m:?}");
        // Counters stay totals.
        assert_eq!((m.userspace_decisions, m.drain_errors, m.at_s), (300, 7, 3.0));
        let whole = b.window_since(&Sample::default());
        assert!(whole.enqueue_to_dispatch_max_us >= 1000.0, "{whole:?}");
    }

    #[test]
    fn server_data_describes_every_metric() {
        let mut out = Vec::new();
        server_data().describe_meta(&mut out, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        for name in field_names() {
            assert!(text.contains(&name), "{name} missing from the stats meta");
        }
    }
}
