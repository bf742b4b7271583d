//! Pick-next policies. A policy receives queued tasks and hands back
//! decisions in the order it wants them run; it never touches the rings.
mod fifo;
pub mod oracle;
mod vruntime;

pub use fifo::Fifo;
pub use vruntime::Vruntime;

use crate::stats::Metrics;
use crate::task::{Decision, QueuedTask};
use trace::Event;

pub trait Policy {
    fn name(&self) -> &'static str;
    /// A task became runnable.
    fn enqueue(&mut self, task: QueuedTask);
    /// The next decision to send, or None when nothing is waiting.
    fn pick(&mut self) -> Option<Decision>;
    /// Decisions ready to send now (BPF keeps the agent running while there are any).
    fn pending(&self) -> usize;
    /// Tasks held back on purpose until a CPU needs one (BPF wakes the agent when a CPU's
    /// queue runs dry while there are any).
    fn held(&self) -> usize {
        0
    }
    /// Whether the policy reads the scheduler events (switch, wakeup, migrate, exit).
    fn wants_events(&self) -> bool {
        false
    }
    /// One scheduler event, in time order; the policy may re-stamp a late one (see
    /// oracle::live), and a recording keeps the stamp it leaves.
    fn observe(&mut self, _ev: &mut Event) -> anyhow::Result<()> {
        Ok(())
    }
    /// Fills the policy's own fields of the one metrics definition (totals since attach);
    /// the agent fills the rest. Fields a policy does not report stay zero.
    fn report(&self, _totals: &mut Metrics) {}
}

/// Names accepted by `--policy`.
pub const POLICY_NAMES: &[&str] = &["fifo", "vruntime"];

pub fn by_name(name: &str, slice_ns: u64, nr_cpus: usize) -> anyhow::Result<Box<dyn Policy>> {
    match name {
        "fifo" => Ok(Box::new(Fifo::new(slice_ns))),
        "vruntime" => Ok(Box::new(Vruntime::new(slice_ns, nr_cpus))),
        other => anyhow::bail!(
            "unknown policy '{other}' (valid: {})",
            POLICY_NAMES.join(", ")
        ),
    }
}
